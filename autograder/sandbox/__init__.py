"""The wall between the grader and student code.

Student side (runs inside the jail, imports only :mod:`.protocol`):
    worker.py    imports and runs student (or reference) code on request
Both sides:
    protocol.py  the wire format and the message vocabulary, defined once
Trusted side (the grader):
    limits.py    resource limits and size caps
    jail.py      how sandboxed processes are confined (pool users, bubblewrap) and cleaned up
    process.py   one confined process: start, fork a child per contract name, kill
    broker.py    capabilities per graded call, routing between grader, worker and reference

This file stays empty of imports: the worker's copy of the package must not pull in
trusted code.
"""
