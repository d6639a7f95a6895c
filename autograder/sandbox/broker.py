"""The trusted side of the sandbox: one grading run's processes, capabilities and routing.

A :class:`Sandbox` owns three kinds of confined process (:mod:`.process`): the
student's zygote, which compiles the submission and runs none of it; one child of
it per context (a contract name, the visibility of the tests, the pass), which
imports the submission, runs that context's tests and is killed when they end,
with everything it wrote; and the reference process, started on first use, which
runs the reference functions the student's code calls. The grader itself never
runs reference code with the student's arguments.

The broker decides, for one graded call at a time, what the student's code may
reach. A call from a test opens a :class:`Context` on a stack:

- the reference names its code may call: every contract name but the graded one;
- the handles each process may use: the objects given to it in this context.

Callbacks nested inside the call stay in its context; nothing is served at import
time; when the call returns, every handle made in it dies. On the grader's own
objects (the tests' optimizers and callbacks) and on reference objects, only the
operations in the assignment's allowlist exist. Arguments that are arrays travel in
a shared arena that the grader reads back after the call: whether an argument was
modified is seen here, never reported by the student's process.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import math
import os
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autograder.sandbox import jail as jails
from autograder.sandbox import protocol as wire
from autograder.sandbox.errors import StudentCodeError, StudentCrashed, StudentRaised, StudentTimeout
from autograder.sandbox.limits import Allowlist, Limits
from autograder.sandbox.process import ARENA_BYTES, Child, Confined, ProcessGone, StartFailed, death_reason

MAX_ZYGOTE_RESTARTS = 3
RUN_ALLOWANCE = 90.0  # seconds for imports, forks and restarts, on top of the student's time
RECHECK_RESERVE = 0.25  # of the student code's time, kept for the own-program pass
OUTPUT_KEPT = 20_000  # characters of student output kept per test
GRADER_OBJECT_ELEMENTS = 1_000_000  # the broadcast size of one operation's arrays
GRADER_OBJECT_BYTES = 32 << 20  # array data given to the grader's objects in one call
MAX_NESTING = 24  # callbacks inside callbacks, between the processes of one graded call


@dataclass
class Context:
    """The capabilities of one graded call."""

    graded: str
    own: bool
    served: frozenset[str]  # in the own pass: the neighbours the reference still serves
    grants: dict[str, set[tuple[str, int]]] = field(
        default_factory=lambda: {"worker": set(), "reference": set()})
    grader_ids: list[int] = field(default_factory=list)
    reference_ids: list[int] = field(default_factory=list)
    given_bytes: int = 0  # array data handed to the grader's objects


class SandboxError(Exception):
    """The sandbox cannot run at all, or the run's own time is up (not the submission's
    fault): a grading that meets it is a grader error, never points lost or given."""


class Refused(Exception):
    """A request the broker does not serve; the asking code sees it as an error."""


class PeerFailed(Exception):
    """The channel to one process failed: it timed out, died or broke the protocol."""

    def __init__(self, role: str, cause: BaseException) -> None:
        super().__init__(f"{role}: {type(cause).__name__}")
        self.role = role
        self.cause = cause


class ReferenceFailed(Exception):
    """The reference process hung or died while serving the student's call."""

    def __init__(self, target: str, exc: BaseException) -> None:
        self.timed_out = isinstance(exc, wire.ChannelTimeout)
        what = "did not finish in the time the call had left" if self.timed_out else \
            death_reason(exc)
        super().__init__(f"your code called the grader's {target}, which {what}")


class Sandbox:
    """The processes of one grading run, and the broker between them and the tests."""

    def __init__(self, files: dict[str, bytes], contract: dict[str, list[str]],
                 reference: dict[str, bytes] | None = None, limits: Limits | None = None,
                 pool: str | None = None, allow: Allowlist | None = None) -> None:
        self.contract = contract
        self.names = [f"{m}.{n}" for m, names in contract.items() for n in names]
        self.limits = limits or Limits()
        self.allow = allow or Allowlist()
        # First: a pool it cannot lease leaves no scratch.
        self.jail = jails.open_jail(pool, self.limits.run_memory_mb)
        self.scratch = Path(tempfile.mkdtemp(prefix="autograder-"))
        os.chmod(self.scratch, 0o711)  # pool users pass through to their own folders only
        self.zygote = Confined(self.jail, "worker", files, contract, self.limits, self.scratch)
        self.reference = None if reference is None else \
            Confined(self.jail, "reference", reference, contract, self.limits, self.scratch)
        self.import_errors: dict[str, StudentCodeError] | None = None
        self.failure: SandboxError | None = None  # the sandbox could not run: nothing counts
        self.restarts = 0
        self.child: Child | None = None
        self.name: str | None = None
        self.serving: tuple[str, str] | None = None  # the (name, visibility) the child serves
        self.serial = 0
        self.contexts: list[Context] = []
        self.nesting = 0
        self.grader_objects = wire.Registry("grader")
        self.broken: dict[str, StudentCodeError] = {}
        self.uses = reference_uses(reference or {}, contract)  # name -> names it relies on
        self.reached: dict[str, set[str]] = {}  # graded name -> the reference names it called
        self.neighbour_calls = 0
        self.own = False  # the "own program" pass: neighbours are the student's own...
        self.served: frozenset[str] = frozenset()  # ...except those that failed on their own
        self.plan: list[str] = []
        self.spent: dict[str, float] = {}
        self.shares: dict[str, float] = {}
        self.output: list[str] = []
        self.last_reply: dict = {}
        self.digests: dict[str, Any] | None = None  # name -> hash of its answers (audit)
        self.started = time.monotonic()

    # -- imports and names -----------------------------------------------------------
    def load(self, module: str) -> None:
        """Raise the import error of the student's ``module``, if it had one."""
        self.start()
        if module in self.import_errors:
            raise self.import_errors[module]

    def start(self) -> None:
        """Start the zygote and import the submission; :class:`SandboxError` when the
        sandbox itself cannot run (a toolkit problem, not the student's)."""
        if self.import_errors is None:
            self._start_zygote()

    def _start_zygote(self) -> None:
        """Start the zygote, then import every file once in a probe child, each within the
        import timeout: the import errors are the same in every context."""
        self.import_errors = errors = {}
        self._restart_zygote()
        probe = None
        for module in self.zygote.paths:
            try:
                probe = probe or self._fork()
                answer = self._load(probe, module)
            except StudentCrashed as exc:  # the zygote kept dying
                errors[module] = exc
                continue
            except ProcessGone as exc:
                kind = StudentTimeout if exc.timed_out else StudentCrashed
                errors[module] = kind(f"importing {module}.py {exc}" + (
                    " (code at the top level of the file runs at import time: a loop "
                    "or a sleep there?)" if exc.timed_out else ""))
                answer = {}
            if not self.zygote.alive():
                errors[module] = StudentCrashed(f"importing {module}.py ended the process that "
                                                "starts each test (it killed its parent)")
                self._restart_zygote()
            elif "error" in answer:
                info = answer["error"] if isinstance(answer["error"], dict) else {}
                errors[module] = StudentRaised(f"importing {module}.py", info)
            if module in errors and probe is not None:
                self._end(probe)
                probe = None
        if probe is not None:
            self._end(probe)

    def _restart_zygote(self) -> None:
        """(Re)start the zygote, telling it which files not to import again."""
        self.zygote.unavailable = self._unavailable()
        self.zygote.stop()
        try:
            self.zygote.start()
        except StartFailed as exc:
            raise self._cannot_start("worker", exc) from None

    def _unavailable(self) -> dict[str, str]:
        """Module -> why it is not imported again (its import failed in the probe)."""
        return {m: str(e).splitlines()[0] for m, e in (self.import_errors or {}).items()}

    def _load(self, child: Child, module: str) -> dict:
        """Import ``module`` in ``child`` (time no contract name is charged for)."""
        timeout = max(min(self.limits.import_timeout, self._time_left()), 0.1)
        return child.ask(wire.request(wire.LOAD, module=module,
                                      unavailable=self._unavailable()), timeout)

    def _cannot_start(self, role: str, exc: StartFailed) -> SandboxError:
        """Remember that a process of the sandbox cannot start (whatever else happens, the
        grading has failed), and return the error to raise."""
        user = self.jail.users.get(role)
        who = f" as user {user.pw_name}" if user is not None else ""
        what = "the submission's code" if role == "worker" else "the reference solution"
        self.failure = SandboxError(
            f"the grader could not start Python{who} to run {what} ({exc}): the autograder's "
            "installation is at fault, not the submission")
        return self.failure

    def begin(self, plan: Iterable[str]) -> None:
        """The contract names about to be graded, in order (for fair time shares)."""
        self.plan = list(plan)

    def enter(self, name: str, visibility: str = "") -> None:
        """Give the context (contract name ``name``, the ``visibility`` of its tests) a
        fresh process of its own; the name gets its share of the student code's time."""
        if self.serving == (name, visibility) and self.child is not None:
            return
        self._end_child()
        self.name, self.serving = name, (name, visibility)
        if name not in self.shares:
            budget = self.limits.total_seconds * (1 - RECHECK_RESERVE) - sum(self.spent.values())
            left = [n for n in self.plan if n not in self.shares] or [name]
            self.shares[name] = max(budget, 0.0) / len(left)
            self.spent.setdefault(name, 0.0)

    def start_own_pass(self, names: Iterable[str], served: Iterable[str]) -> None:
        """From now on, neighbours are the student's own, except the ``served`` ones (they
        failed on their own: the reference stands in, so one bug still costs once). Each
        name checked again gets fresh processes and a share of the time the first pass
        left, which is never less than the reserve kept for this pass."""
        self._end_child()
        self.own, self.served = True, frozenset(served)
        self.name = self.serving = None
        names = list(names)
        for name in names:
            self.broken.pop(name, None)
        left = self.limits.total_seconds - sum(self.spent.values())
        share = max(left, self.limits.total_seconds * RECHECK_RESERVE) / max(len(names), 1)
        self.spent = dict.fromkeys(names, 0.0)
        self.shares = dict.fromkeys(names, share)

    def _out_of_time(self) -> SandboxError:
        """The run's own time is up (restarts, imports, the grader's work): a grader error,
        so that a test that could not run neither gives nor takes a point."""
        self.failure = SandboxError("the grading ran out of time before every test ran (not "
                                    "the submission's fault): grade it again")
        return self.failure

    def _time_left(self) -> float:
        """Seconds left of the whole run's wall-clock budget: the student code's time,
        plus one allowance for imports, forks and restarts (Gradescope stops at 10 min)."""
        return self.started + self.limits.total_seconds + RUN_ALLOWANCE - time.monotonic()

    def _fork(self) -> Child:
        """A fresh child of the zygote (restarted when it died: a child may kill it)."""
        while True:
            try:
                child = self.zygote.fork(self.limits.import_timeout)
            except ProcessGone:
                if self.restarts >= MAX_ZYGOTE_RESTARTS:
                    raise StudentCrashed(
                        "the process that imported your files kept dying between tests; "
                        "code that runs at import time (a timer, a thread) must not end "
                        "the program") from None
                self.restarts += 1
                self._restart_zygote()
                continue
            self.serial += 1
            child.generation = self.serial
            return child

    def _fork_context(self, graded: str) -> Child:
        """The current context's child, with every file the probe imported imported again
        (the import's time is charged to no name)."""
        self.start()
        child = self._fork()
        for module in self.zygote.paths:
            if module in self.import_errors:
                continue
            try:
                answer = self._load(child, module)
            except ProcessGone as exc:
                answer = {"error": {"message": str(exc)}}
            if "error" in answer:
                self._end(child)
                error = StudentCrashed(f"{graded}: importing {module}.py again failed, although "
                                       "it worked the first time (does the code at the top "
                                       "level of the file depend on time or chance?)")
                self.broken[graded] = error
                raise error
        return child

    def _end(self, child: Child) -> None:
        """Kill ``child`` and remove everything its context left."""
        self.zygote.end_children()
        child.close()

    def _end_child(self) -> None:
        if self.child is not None:
            self._end(self.child)
            self.child = None

    def _keep_output(self, text: str) -> None:
        kept = sum(map(len, self.output))
        if kept < OUTPUT_KEPT:
            self.output.append(text[:OUTPUT_KEPT - kept])

    def take_output(self) -> str:
        """Student output captured since the last call, then forgotten."""
        text = "".join(self.output)
        self.output.clear()
        return text

    def close(self) -> None:
        """Stop every process, remove what the sandbox users left, and the scratch."""
        self._end_child()
        self.zygote.stop(graceful=True)
        if self.reference is not None:
            self.reference.stop(graceful=True)
        jails.kill_until_gone(lambda: jails.descendants(os.getpid()))  # orphans came back to us
        self.jail.close(self.scratch)

    # -- requests from the tests -----------------------------------------------------------
    def call(self, target: str, args: tuple, kwargs: dict) -> Any:
        """Call the student's contract function (or class) ``module.name``."""
        __tracebackhide__ = True
        return self.request(target, wire.request(wire.CALL, target=target), args, kwargs)

    def request(self, graded: str, message: dict, args: tuple = (), kwargs: dict | None = None,
                generation: int | None = None) -> Any:
        """Send one request that runs student code, in a context of its own, and return
        the decoded answer. ``graded`` is the contract name the code belongs to."""
        __tracebackhide__ = True
        what = graded if message["op"] == wire.CALL else f"{graded}.{message.get('name')}"
        if graded in self.broken:
            raise self.broken[graded]
        if self.name is None:
            self.enter(graded)
        if generation is not None and (self.child is None or generation != self.child.generation):
            raise StudentCrashed(f"{what}: this object was lost when the process running "
                                 f"{graded} ended (after an earlier crash or time-out)")
        for attempt in (1, 2):
            if self.child is None:
                self.child = self._fork_context(graded)
            try:
                return self._request_once(graded, what, message, args, kwargs or {})
            except PeerFailed as exc:
                self._end_child()
                if attempt == 2 or message["op"] != wire.CALL:
                    error = StudentCrashed(f"{what} {death_reason(exc.cause)}")
                    self.broken[graded] = error
                    raise error from None
                # A crash is charged only once a fresh process confirms it.
        raise AssertionError("unreachable")

    def _request_once(self, graded: str, what: str, message: dict, args: tuple,
                      kwargs: dict) -> Any:
        __tracebackhide__ = True
        name = self.name or graded
        left = self.shares.get(name, self.limits.total_seconds) - self.spent.get(name, 0.0)
        if left <= 0:
            error = StudentTimeout(f"{what} was not run: {name} used up its share of the "
                                   f"grading time ({self.shares[name]:.0f} s of student code)")
            self.broken[graded] = error
            raise error
        if self._time_left() <= 0:
            raise self._out_of_time()
        timeout = min(self.limits.call_timeout, left, self._time_left())
        context = Context(graded, self.own, self.served)
        self.contexts.append(context)
        started = time.monotonic()
        try:
            message = dict(message, own=self.own, **self._served())
            watched = self._put_arguments(message, args, kwargs, context)
            answer = self._exchange("worker", message, started + timeout)
            if self.digests is not None:
                self._digest(graded, answer, watched)
            warned = answer.get("warnings")
            self.last_reply = {"mutated": self._mutated(watched), "warnings": [
                str(w)[:300] for w in (warned if isinstance(warned, list) else [])][:5]}
            return self._answer(graded, what, answer, context)
        except (PeerFailed, ReferenceFailed) as exc:
            if isinstance(exc, PeerFailed) and isinstance(exc.cause, EOFError):
                raise  # replayed once before it is charged
            self._end_child()
            cause = exc.cause if isinstance(exc, PeerFailed) else exc
            if isinstance(exc, ReferenceFailed):
                error: StudentCodeError = (StudentTimeout if exc.timed_out else StudentCrashed)(
                    f"{what}: {exc}")
            elif isinstance(cause, wire.ChannelTimeout) and self._time_left() <= 0:
                raise self._out_of_time() from None
            elif isinstance(cause, wire.ChannelTimeout) and timeout < self.limits.call_timeout:
                error = StudentTimeout(f"{what} was stopped: {name} used up its share of the "
                                       f"grading time ({self.shares[name]:.0f} s of student "
                                       "code; is it far too slow?)")
            elif isinstance(cause, wire.ChannelTimeout):
                error = StudentTimeout(
                    f"{what} did not finish within {timeout:.0f} s (an infinite loop, or a loop "
                    "that never meets its stopping condition?)")
            else:
                error = StudentCrashed(f"{what} {death_reason(cause)}")
            self.broken[graded] = error
            raise error from None
        finally:
            self.spent[name] = self.spent.get(name, 0.0) + time.monotonic() - started
            self.contexts.pop()
            self._release(context)

    def _served(self) -> dict[str, list[str]]:
        """The ``served`` field of a request: only in the own pass, and only when not empty."""
        return {"served": sorted(self.served)} if self.own and self.served else {}

    def _digest(self, graded: str, answer: dict, watched: list[tuple[str, int, bytes]]) -> None:
        """Fold what one call of ``graded`` answered (its value, or the type of its error:
        messages are the student's own words, and its arguments as the call left them) into
        the name's digest: two programs with equal digests answered every call alike (the
        audit's test for an equivalent mutant)."""
        digest = self.digests.setdefault(graded, hashlib.sha256())
        error = answer.get("error") if isinstance(answer.get("error"), dict) else {}
        digest.update(wire.dump({"ok": answer.get("ok"), "method": answer.get("method"),
                                 "raised": error.get("types")}))
        for _, offset, data in watched:
            digest.update(self.child.arena[offset:offset + len(data)])

    def _answer(self, graded: str, what: str, answer: dict, context: Context) -> Any:
        __tracebackhide__ = True
        if "error" in answer:
            error = StudentRaised(what, answer["error"] if isinstance(answer["error"], dict)
                                  else {})
            if error.is_stub:
                self.broken[graded] = error
            raise error
        if answer.get("method"):
            return wire.METHOD_MARK
        try:
            return wire.decode(answer.get("ok"), functools.partial(self._for_test, graded,
                                                                    context))
        except (wire.ProtocolError, ValueError, TypeError, LookupError) as exc:
            raise StudentCrashed(f"{what} returned a value that could not be read: {exc}") \
                from None

    def _for_test(self, graded: str, context: Context, data: dict) -> Any:
        """What a handle in an answer becomes for the test."""
        if data["home"] == "worker":
            ask = functools.partial(self._ask_object, graded, self.child.generation)
            return wire.Proxy(ask, data)
        if data["home"] == "grader" and ("grader", data["id"]) in context.grants["worker"]:
            return self.grader_objects.get(data)
        raise LookupError("it is an object of the grader's, not one your code made")

    def _ask_object(self, graded: str, generation: int, message: dict, args: tuple,
                    kwargs: dict) -> Any:
        return self.request(graded, message, args, kwargs, generation)

    # -- arguments in the arena --------------------------------------------------------------
    def _put_arguments(self, message: dict, args: tuple, kwargs: dict,
                       context: Context) -> list[tuple[str, int, bytes]]:
        """Encode the arguments; top-level arrays go into the child's arena. When this
        call's arrays do not fit after those of earlier calls, the arena is reused from its
        start, before this call's first array (never between two arrays of one call); an
        array that still does not fit travels in the message."""
        watched: list[tuple[str, int, bytes]] = []
        register = functools.partial(self._give, context)
        child = self.child
        arrays = [v for v in (*args, *kwargs.values()) if _in_arena(v)]
        if child.used + sum(_aligned(v.nbytes) for v in arrays) > ARENA_BYTES:
            child.used = 0  # (a name passing 32 MB of arrays)

        def put(label: str, value: Any) -> Any:
            if _in_arena(value) and child.used + value.nbytes <= ARENA_BYTES:
                data = np.ascontiguousarray(value).tobytes()
                offset = child.used
                child.arena[offset:offset + len(data)] = data
                child.used += _aligned(len(data))
                watched.append((label, offset, data))
                return {"$": "shm", "offset": offset, "dtype": value.dtype.str,
                        "shape": list(value.shape)}
            return wire.encode(value, register)

        message["args"] = {"$": "list", "items": [put(f"argument {i + 1}", a)
                                                  for i, a in enumerate(args)]}
        message["kwargs"] = {"$": "dict", "items": [[k, put(k, v)] for k, v in kwargs.items()]}
        return watched

    def _mutated(self, watched: list[tuple[str, int, bytes]]) -> list[str]:
        arena = self.child.arena
        return [label for label, offset, data in watched
                if arena[offset:offset + len(data)] != data]

    # -- routing ---------------------------------------------------------------------------
    def _peer(self, role: str) -> wire.Channel:
        if role == "worker":
            return self.child.channel, self.child.alive
        if self.reference.control is None:
            try:
                self.reference.start()
            except StartFailed as exc:
                raise self._cannot_start("reference", exc) from None
        return self.reference.control, self.reference.alive

    def _exchange(self, role: str, message: dict, deadline: float) -> dict:
        """Send ``message`` to ``role``; serve its requests until its reply comes."""
        channel, alive = self._peer(role)
        self._send(role, message, deadline)
        while True:
            try:
                answer = channel.receive(deadline, alive)
                if channel.had_handles:
                    self._check_handles(role, answer)
            except (wire.ChannelTimeout, EOFError, OSError, wire.ProtocolError) as exc:
                raise PeerFailed(role, exc) from None
            if role == "worker" and isinstance(answer.get("out"), str) and answer["out"]:
                self._keep_output(answer["out"])
            if answer["op"] == wire.REPLY:
                return answer
            served = self._serve(role, answer, deadline)
            try:
                self._send(role, served, deadline)
            except wire.ProtocolError as exc:  # nothing was sent: it still gets an answer
                self._send(role, wire.reply(error={"types": ["ValueError"],
                                                   "message": str(exc)}), deadline)

    def _send(self, role: str, message: dict, deadline: float) -> None:
        """Send, granting ``role`` every foreign handle the message gives it first; a
        malformed message raises :class:`ProtocolError` before anything is sent."""
        channel, alive = self._peer(role)
        body = wire.dump(message)
        if wire.may_hold_handles(body) and self.contexts:
            grants = self.contexts[-1].grants[role]
            for key in ("args", "kwargs", "ok"):
                grants.update((data["home"], data["id"]) for data in
                              wire.handles_in(message.get(key)) if data["home"] != role)
        try:
            channel.write(body, deadline, alive)
        except (wire.ChannelTimeout, EOFError, OSError) as exc:
            raise PeerFailed(role, exc) from None

    def _check_handles(self, role: str, message: dict) -> None:
        """Every foreign handle ``role`` sends must have been given to it in this call."""
        for key in ("args", "kwargs", "ok"):
            for data in wire.handles_in(message.get(key)):
                if data["home"] == "reference" and role == "reference" and self.contexts:
                    self.contexts[-1].reference_ids.append(data["id"])
                if data["home"] != role and not self._granted(role, data):
                    raise wire.ProtocolError("it used an object that was never given to it")

    def _granted(self, role: str, data: dict) -> bool:
        key = (data["home"], data["id"])
        return any(key in context.grants[role] for context in self.contexts)

    def _serve(self, asker: str, message: dict, deadline: float) -> dict:
        """Answer a request of a sandboxed process, within the current context."""
        self.nesting += 1
        try:
            if not self.contexts:
                raise Refused("the grader's functions and objects can only be used while one "
                              "of your functions is being graded, not at import time")
            if self.nesting > MAX_NESTING:
                raise Refused(f"calls between your code and the grader's are nested more than "
                              f"{MAX_NESTING} deep (endless recursion?)")
            context = self.contexts[-1]
            op = message["op"]
            if op == wire.CALL:
                return self._call_reference(asker, context, str(message.get("target")),
                                            message, deadline)
            if op not in wire.OBJECT_OPS:
                raise Refused(f"unknown request {op!r}")
            data = wire.check_handle(message.get("handle"))
            if data["home"] == asker or not self._granted(asker, data):
                raise Refused("this object is not yours to use here (it belonged to an "
                              "earlier call, or was never given to your code)")
            name = str(message.get("name", ""))
            if data["home"] != "worker":
                self._check_allowed(op, name, data)
            forward = wire.request(op, handle=data, name=name, args=message.get("args"),
                                   kwargs=message.get("kwargs"), own=context.own,
                                   **self._served())
            if data["home"] == "grader":
                return self._serve_grader_object(data, op, name, message)
            if data["home"] == "reference":
                return self._on_reference(f"{data['type']}.{name}", forward, deadline)
            return self._exchange("worker", forward, deadline)
        except (PeerFailed, ReferenceFailed, SandboxError):
            raise  # a process failed: the whole call fails
        except Refused as exc:
            return wire.reply(error={"types": ["PermissionError"], "message": str(exc)})
        except Exception as exc:  # noqa: BLE001 - whatever the request did, it gets an answer
            return wire.reply(error={"types": [type(exc).__name__, "ValueError"],
                                     "message": str(exc)[:500]})
        finally:
            self.nesting -= 1

    def _call_reference(self, asker: str, context: Context, target: str, message: dict,
                        deadline: float) -> dict:
        if asker != "worker" or self.reference is None or (
                context.own and target not in context.served):
            raise Refused(f"the grader's {target} is not available here")
        if target not in self.names:
            raise Refused(f"{target} is not a contract function")
        if target == context.graded:
            raise Refused(f"{target} cannot use the grader's own {target} while it is being "
                          "graded")
        if context.graded in self.uses.get(target, ()):
            raise Refused(f"the grader's {target} is not available while {context.graded} is "
                          f"being graded, because it uses {context.graded}")
        self.reached.setdefault(context.graded, set()).add(target)
        self.neighbour_calls += 1
        forward = wire.request(wire.CALL, target=target, args=message.get("args"),
                               kwargs=message.get("kwargs"))
        return self._on_reference(target, forward, deadline)

    def _on_reference(self, what: str, message: dict, deadline: float) -> dict:
        try:
            return self._exchange("reference", message, deadline)
        except PeerFailed as exc:
            self.reference.stop()  # it may be left waiting in the middle of a call
            if exc.role != "reference":
                raise
            raise ReferenceFailed(what, exc.cause) from None
        except BaseException:
            self.reference.stop()
            raise

    def _check_allowed(self, op: str, name: str, data: dict) -> None:
        allow = self.allow
        ok = {wire.METHOD: name in allow.methods,
              wire.GETATTR: name in allow.methods | allow.attributes,
              wire.SETATTR: name in allow.settable,
              wire.INVOKE: data["home"] == "grader"}[op]
        if not ok:
            usable = ", ".join(sorted(allow.methods | allow.attributes)) or "none"
            raise Refused(f"the grader's {data['type']} has no {name or 'call'!r} your code may "
                          f"use (it offers: {usable})")

    def _serve_grader_object(self, data: dict, op: str, name: str, message: dict) -> dict:
        """Run one allowed operation on a test's object; plain data in and out."""
        try:
            obj = self.grader_objects.get(data)
        except LookupError as exc:
            raise Refused(str(exc)) from None
        args = wire.decode(message.get("args", {"$": "list", "items": []}), _no_handles)
        kwargs = wire.decode(message.get("kwargs", {"$": "dict", "items": []}), _no_handles)
        self._check_size(args, kwargs)
        try:
            if op == wire.INVOKE:
                if isinstance(obj, type) or not callable(obj):  # a test's callback only
                    raise Refused(f"the grader's {data['type']} cannot be called")
                result = obj(*args, **kwargs)
            elif op == wire.GETATTR:
                if name in self.allow.methods:
                    return wire.reply(method=True)
                result = getattr(obj, name)
            elif op == wire.SETATTR:
                setattr(obj, name, settable_value(name, args))
                result = None
            else:
                result = getattr(obj, name)(*args, **kwargs)
            return wire.reply(wire.encode(result, _no_handles))
        except (ArithmeticError, AssertionError, AttributeError, LookupError, TypeError,
                ValueError, StudentCodeError) as exc:
            return wire.reply(error={"types": [type(exc).__name__], "message": str(exc)[:500]})

    def _check_size(self, args: list, kwargs: dict) -> None:
        """Work done for student code in the grader stays small: the arrays given to one
        operation broadcast to at most ``GRADER_OBJECT_ELEMENTS`` elements, and one call
        gives the grader's objects at most ``GRADER_OBJECT_BYTES`` in all."""
        arrays = [np.asarray(v) for v in (*args, *kwargs.values())
                  if isinstance(v, (np.ndarray, list, tuple))]
        try:
            shape = np.broadcast_shapes(*(a.shape for a in arrays))
        except ValueError:
            shape = ()
        if int(np.prod(shape)) > GRADER_OBJECT_ELEMENTS:
            raise Refused(f"arrays of shapes {[a.shape for a in arrays]} are too large for the "
                          f"grader's objects (more than {GRADER_OBJECT_ELEMENTS} elements)")
        context = self.contexts[-1]
        context.given_bytes += sum(a.nbytes for a in arrays)
        if context.given_bytes > GRADER_OBJECT_BYTES:
            raise Refused(f"your code gave the grader's objects more than "
                          f"{GRADER_OBJECT_BYTES >> 20} MB of data in one call")

    def _give(self, context: Context, obj: Any) -> dict:
        """A test's object sent to the worker: a handle it may use in this context only."""
        if isinstance(obj, wire.Proxy):
            return obj._handle
        data = self.grader_objects.register(obj)
        context.grader_ids.append(data["id"])
        return data

    def _release(self, context: Context) -> None:
        """Every handle made in the context dies with it."""
        self.grader_objects.release(context.grader_ids)
        if context.reference_ids and self.reference is not None and self.reference.alive():
            with contextlib.suppress(ProcessGone):
                self.reference.ask(wire.request(wire.RELEASE, ids=context.reference_ids), 5)


def check_start(pool: str | None) -> None:
    """Start a sandboxed worker (with nothing to import) and stop it: :class:`SandboxError`
    when the sandbox cannot run here (setup.sh's last check)."""
    sandbox = Sandbox({}, {}, pool=pool)
    try:
        sandbox.start()
    finally:
        sandbox.close()


def reference_uses(sources: dict[str, bytes], contract: dict[str, list[str]]
                   ) -> dict[str, set[str]]:
    """For each contract name, every contract name its reference code relies on, directly
    or through others (read from the syntax tree: ``gd_step(...)`` inside ``GradientDescent``,
    ``from losses import sigmoid``, ``losses.softmax``). While a name is graded, no
    reference that relies on it may be called: it would compute the answer for it."""
    direct: dict[str, set[str]] = {}
    for module, source in sources.items():
        tree = ast.parse(source)
        aliases = {n: f"{module}.{n}" for n in contract.get(module, ())}
        modules = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in contract:
                for alias in node.names:
                    if alias.name in contract[node.module]:
                        aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                modules.update({a.asname or a.name: a.name for a in node.names
                                if a.name in contract})
        for node in tree.body:
            name = getattr(node, "name", None)
            if name not in contract.get(module, ()):
                continue
            found = set()
            for inner in ast.walk(node):
                if isinstance(inner, ast.Name) and inner.id in aliases:
                    found.add(aliases[inner.id])
                elif isinstance(inner, ast.Attribute) and isinstance(inner.value, ast.Name) \
                        and modules.get(inner.value.id) and \
                        inner.attr in contract[modules[inner.value.id]]:
                    found.add(f"{modules[inner.value.id]}.{inner.attr}")
            direct[f"{module}.{name}"] = found - {f"{module}.{name}"}
    closed = {}
    for name in direct:
        seen, stack = set(), list(direct[name])
        while stack:
            other = stack.pop()
            if other not in seen:
                seen.add(other)
                stack.extend(direct.get(other, ()))
        closed[name] = seen
    return closed


def settable_value(name: str, args: list) -> float:
    """The value student code sets a grader object's attribute to: a settable attribute (a
    learning rate) holds one finite real number, so no later operation of the grader's
    computes on an array the student chose."""
    value = args[0] if args else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value):
        raise Refused(f"{name} can only be set to a finite number, not {type(value).__name__} "
                      f"{str(value)[:40]}")
    return value


def _no_handles(data: dict) -> Any:
    raise wire.ProtocolError("only plain data (numbers, strings, lists, arrays) may be given "
                             "to the grader's objects")


def _in_arena(value: Any) -> bool:
    """Whether an argument goes into the arena: an array of plain numbers."""
    return isinstance(value, np.ndarray) and value.dtype.kind in "biuf"


def _aligned(size: int) -> int:
    """``size`` rounded up to the arena's 64-byte alignment."""
    return (size + 63) // 64 * 64
