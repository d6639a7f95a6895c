"""Resource limits of sandboxed processes, size caps, and the allowlist of operations
on the grader's objects."""

from __future__ import annotations

from dataclasses import dataclass

SUBMISSION_TIMEOUT = 900  # seconds for one whole grading in grade-batch, far above a normal run


@dataclass(frozen=True)
class Limits:
    """Every timeout is generous and reported as such when it is hit."""

    call_timeout: float = 10.0  # seconds of wall time per request
    import_timeout: float = 30.0  # seconds to import one file (top-level code included)
    total_seconds: float = 420.0  # wall time of student code in one run, shared fairly by name
    memory_mb: int = 512  # address space of each sandboxed process
    run_memory_mb: int = 512  # memory of all of a run's sandboxed processes together (as root,
    # where a cgroup can be made): below Gradescope's 768 MB, which the grader shares
    cpu_seconds: int = 300  # CPU time of one sandboxed process
    file_size_mb: int = 16  # largest file a sandboxed process may write
    processes: int = 32  # processes and threads of one pool user (pool mode only)
    source_kb: int = 1024  # largest submitted source file that is graded

    def rlimits(self, own_user: bool) -> dict[str, int | None]:
        """The worker's ``setrlimit`` values."""
        return {"memory": self.memory_mb << 20, "cpu": self.cpu_seconds,
                "fsize": self.file_size_mb << 20, "nproc": self.processes if own_user else None,
                "msgqueue": 0}  # no POSIX message queue: one would outlive its context


@dataclass(frozen=True)
class Allowlist:
    """The operations that exist on the grader's objects (the contract's API)."""

    methods: frozenset[str] = frozenset()
    attributes: frozenset[str] = frozenset()
    settable: frozenset[str] = frozenset()  # each may be set to one finite number only
