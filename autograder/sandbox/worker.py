"""The untrusted side: a process that imports and runs code on the grader's request.

Run by :mod:`autograder.sandbox.process` as
``python -m autograder.sandbox.worker CONTROL_FD LIMITS_JSON``, inside the jail. It
imports nothing from the trusted side except :mod:`.protocol`, and its answers are
taken as answers, never as verdicts.

The same program serves two roles:

- ``student``: the student's files. While a graded call runs, every other
  contract name the student's code reaches (another file's import, or another
  name of the same file) is a proxy for the grader's reference, so that one bug
  costs points once; the broker decides which names it may reach. Outside a
  graded call (at import time) those names are the student's own; in an "own
  program" check, all but the ``served`` ones (the neighbours that failed on their own).
- ``reference``: the reference solution, serving the contract names that the
  student's code calls, so that reference code never runs with the student's
  arguments inside the grader.

As a zygote, the process compiles the student's files once and runs none of
them: it forks one child per context (a contract name, the visibility of its
tests, the pass), and the child imports the submission. The child closes every
descriptor but the pipes and the arena the grader made for it alone before any
code of the submission runs, so nothing one context leaves behind (threads,
timers, children, a pipe or a shared mapping made at import) reaches another.
"""

from __future__ import annotations

import builtins
import contextlib
import ctypes
import gc
import importlib
import importlib.util
import io
import json
import mmap
import os
import resource
import signal
import socket
import sys
import time
import traceback
import types
import warnings
from typing import Any

from autograder.sandbox import protocol as wire

OUTPUT_CAP = 4000  # characters of output kept per request
_PR_SET_CHILD_SUBREAPER = 36  # as in jail.py, which the worker may not import
_PR_SET_DUMPABLE = 4


class CappedWriter(io.TextIOBase):
    """A text stream that keeps the first ``OUTPUT_CAP`` characters and counts the rest."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        room = OUTPUT_CAP - self.kept
        self.parts.append(text[:room])
        self.kept += min(room, len(text))
        self.dropped += max(0, len(text) - room)
        return len(text)

    def text(self) -> str:
        """What was printed, with a note on how much was cut."""
        out = "".join(self.parts)
        if self.dropped:
            out += f"\n[... {self.dropped} more characters of output were cut]"
        return out


class GraderError(Exception):
    """The grader refused a request of this process, or the code it ran raised."""


class NeighbourProxy:
    """What student code gets for another contract name: the grader's reference while a
    graded call runs, the student's own definition otherwise."""

    def __init__(self, worker: Worker, module: str, name: str) -> None:
        self._worker = worker
        self._module = module
        self.__name__ = self.__qualname__ = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        worker = self._worker
        if worker.routed(f"{self._module}.{self.__name__}"):
            return worker.ask(wire.request(wire.CALL, target=f"{self._module}.{self.__name__}"),
                              args, kwargs)
        return getattr(worker.load(self._module), self.__name__)(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<contract function {self._module}.{self.__name__}>"


class ForwardingModule(types.ModuleType):
    """What ``import losses`` gives student code: :class:`NeighbourProxy` for contract
    names and the student's own module for everything else."""

    def __init__(self, worker: Worker, name: str) -> None:
        super().__init__(name)
        self._worker = worker

    def __getattr__(self, attr: str) -> Any:
        worker = self._worker
        if attr == "__all__":  # ``from losses import *``
            return self._public_names()
        if attr.startswith("__"):  # the import system probing (__path__, __spec__, ...)
            raise AttributeError(attr)
        if attr in worker.contract.get(self.__name__, ()):
            return NeighbourProxy(worker, self.__name__, attr)
        return getattr(worker.load(self.__name__), attr)

    def _public_names(self) -> list[str]:
        """The contract names, then the student's other public names (if the file loads)."""
        names = list(self._worker.contract.get(self.__name__, ()))
        with contextlib.suppress(BaseException):  # a broken file only loses its helpers here
            module = self._worker.load(self.__name__)
            names += [n for n in vars(module) if not n.startswith("_") and n not in names]
        return names


class Worker:
    """Serves requests from the grader until the channel closes."""

    def __init__(self, channel: wire.Channel, arena: memoryview | None) -> None:
        self.channel = channel
        self.arena = arena
        self.registry = wire.Registry("worker")
        self.files: dict[str, str] = {}
        self.contract: dict[str, list[str]] = {}
        self.student = True
        self.modules: dict[str, types.ModuleType] = {}
        self.load_errors: dict[str, BaseException] = {}
        self.graded_depth = 0  # how many graded calls are running (nested callbacks count)
        self.own = False  # an "own program" check: neighbours are the student's own...
        self.served: frozenset[str] = frozenset()  # ...except these, still the grader's
        self.code: dict[str, types.CodeType] = {}  # the student's files, compiled at INIT
        self.zygote = False  # a student-mode process that has not forked: runs none of it
        self.private_ipc = False  # its System V IPC namespace is its own (bubblewrap)

    # -- the channel ---------------------------------------------------------------
    def serve(self) -> None:
        """Answer requests one at a time; return when the grader closes the channel."""
        while True:
            try:
                message = self.channel.receive()
            except EOFError:
                return
            answer = self.handle(message)
            if answer is not None:
                self.send(answer)

    def send(self, answer: dict) -> None:
        """Send a reply; one too large to send becomes an error the grader can report."""
        try:
            self.channel.send(answer)
        except wire.FrameTooLarge as exc:
            self.channel.send(wire.reply(error=describe_exception(exc), out=answer.get("out")))

    def ask(self, message: dict, args: tuple, kwargs: dict) -> Any:
        """Send a request to the grader; serve its nested requests until the reply comes."""
        message["args"] = wire.encode(list(args), self.registry.register)
        message["kwargs"] = wire.encode(dict(kwargs), self.registry.register)
        self.channel.send(message)
        while True:
            answer = self.channel.receive()
            if answer["op"] != wire.REPLY:
                self.send(self.handle(answer))
                continue
            if "error" in answer:
                raise grader_error(answer["error"])
            if answer.get("method"):
                return wire.METHOD_MARK
            return self.decode(answer.get("ok"))

    def decode(self, data: Any) -> Any:
        """A value from the grader: our own objects come back as themselves."""
        return wire.decode(data, self._local_or_proxy, self.arena)

    def routed(self, target: str) -> bool:
        """Whether a call of contract name ``target`` goes to the grader's reference."""
        return bool(self.graded_depth) and (not self.own or target in self.served)

    def _local_or_proxy(self, data: dict) -> Any:
        if data["home"] == self.registry.home:
            return self.registry.get(data)
        return wire.Proxy(self.ask, data)

    # -- files ---------------------------------------------------------------------
    def load(self, name: str) -> types.ModuleType:
        """Import the file of module ``name`` once; re-raise its import error."""
        if name in self.modules:
            return self.modules[name]
        if name in self.load_errors:
            raise self.load_errors[name]
        if name not in self.files:
            raise ImportError(f"{name}.py was not submitted")
        if self.zygote:
            raise RuntimeError("the zygote runs no code of the submission")
        if not self.student:  # the reference's files import each other by name
            folder = os.path.dirname(self.files[name])
            if folder not in sys.path:
                sys.path.insert(0, folder)
            self.modules[name] = importlib.import_module(name)
            return self.modules[name]
        spec = importlib.util.spec_from_file_location(name, self.files[name])
        module = importlib.util.module_from_spec(spec)
        self.modules[name] = module  # visible while it runs, as in a normal import
        try:
            exec(self.code[name], module.__dict__)  # noqa: S102 - the file, compiled at INIT
        except BaseException as exc:
            del self.modules[name]
            self.load_errors[name] = exc
            raise
        return module

    @contextlib.contextmanager
    def graded(self, module: str, keep: str, own: bool, served: frozenset[str]):
        """While ``module.keep`` runs, the module's other contract names are neighbours
        (with ``own``, only the ``served`` ones: the rest runs as the student wrote it)."""
        outer = self.own, self.served
        self.graded_depth += 1
        self.own, self.served = own, served
        mod = self.modules.get(module) if self.student else None
        saved = {}
        if mod is not None:
            for name in self.contract.get(module, ()):
                if name != keep and name in mod.__dict__ and self.routed(f"{module}.{name}"):
                    saved[name] = mod.__dict__[name]
                    mod.__dict__[name] = NeighbourProxy(self, module, name)
        try:
            yield
        finally:
            self.graded_depth -= 1
            self.own, self.served = outer
            if mod is not None:
                mod.__dict__.update(saved)

    # -- requests ------------------------------------------------------------------
    def handle(self, message: dict) -> dict | None:
        """Answer one request (``None``: a zygote's fork, answered by the child)."""
        op = message["op"]
        if op == wire.INIT:
            self.files = dict(message["files"])
            self.contract = {m: list(names) for m, names in message["contract"].items()}
            self.student = message["mode"] == "student"
            for module, why in dict(message.get("unavailable", {})).items():
                self.load_errors[module] = ImportError(why)
            self.registry.home = "worker" if self.student else "reference"
            self.private_ipc = bool(message.get("private_ipc"))
            if self.student:
                self.zygote = True
                self.compile_files()
                for module in self.contract:
                    sys.modules[module] = ForwardingModule(self, module)
                gc.freeze()  # a child's collections skip the zygote's objects: no page copied
            return wire.reply()
        if op == wire.FORK:
            return self.fork()
        if op == wire.LOAD and self.zygote:
            return wire.reply(error={"types": ["RuntimeError"],
                                     "message": "the zygote runs no code of the submission"})
        if op == wire.RELEASE:
            self.registry.release([int(i) for i in message.get("ids", [])])
            return wire.reply()
        return self.run(message)

    def compile_files(self) -> None:
        """Read and compile the student's files once, running none of them: every child
        imports the same code, whatever a file on disk becomes later."""
        for name, path in self.files.items():
            if name in self.load_errors:
                continue
            try:
                with open(path, "rb") as f:
                    self.code[name] = compile(f.read(), path, "exec", dont_inherit=True)
            except (SyntaxError, ValueError, OSError) as exc:
                self.load_errors[name] = exc

    def fork(self) -> dict | None:
        """Continue as a fresh child on the pipes and arena the grader sends with the
        request; the zygote waits for that child, then kills what it left behind."""
        control = socket.socket(fileno=os.dup(self.channel.read_fd))
        _, fds, _, _ = socket.recv_fds(control, 1, 3)
        control.close()
        read_fd, write_fd, arena_fd = fds
        pid = os.fork()
        if pid == 0:
            _close_all_but(fds)
            self.zygote = False
            self.channel = wire.Channel(read_fd, write_fd)
            self.arena = memoryview(mmap.mmap(arena_fd, os.fstat(arena_fd).st_size))
            os.close(arena_fd)
            return wire.reply()
        for fd in fds:
            os.close(fd)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        _kill_children()
        if self.private_ipc:
            _remove_ipc()
        return None

    def run(self, message: dict) -> dict:
        """Run one request that may execute student code, capturing what it prints."""
        out = CappedWriter()
        answer: dict[str, Any]
        with warnings.catch_warnings(record=True) as caught, \
                contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            warnings.simplefilter("always")
            try:
                args = self.decode(message.get("args", {"$": "list", "items": []}))
                kwargs = self.decode(message.get("kwargs", {"$": "dict", "items": []}))
                result = self.dispatch(message, args, kwargs)
                if result is wire.METHOD_MARK:
                    answer = wire.reply(method=True)
                else:
                    answer = wire.reply(wire.encode(result, self.registry.register))
            except BaseException as exc:  # noqa: BLE001 - sys.exit and friends are answers too
                answer = wire.reply(error=describe_exception(exc))
        answer["out"] = out.text()
        answer["warnings"] = [f"{w.category.__name__}: {w.message}"[:300] for w in caught[:5]]
        return answer

    def dispatch(self, message: dict, args: list, kwargs: dict) -> Any:
        op, own = message["op"], bool(message.get("own"))
        served = frozenset(str(n) for n in message.get("served") or ())
        if op == wire.LOAD:
            for module, why in dict(message.get("unavailable") or {}).items():
                self.load_errors.setdefault(module, ImportError(why))
            self.load(message["module"])
            return None
        if op == wire.CALL:
            module, name = str(message["target"]).split(".", 1)
            func = getattr(self.load(module), name)
            with self.graded(module, name, own, served):
                return func(*args, **kwargs)
        obj = self.registry.get(message["handle"])
        name = str(message.get("name", ""))
        cls = type(obj)
        with self.graded(cls.__module__, cls.__name__, own, served):
            if op == wire.GETATTR:
                value = getattr(obj, name)
                if callable(value) and not isinstance(value, type):
                    return wire.METHOD_MARK
                return value
            if op == wire.SETATTR:
                setattr(obj, name, args[0])
                return None
            if op == wire.METHOD:
                return getattr(obj, name)(*args, **kwargs)
            if op == wire.INVOKE:
                return obj(*args, **kwargs)
        raise ValueError(f"unknown request {op!r}")


def grader_error(info: Any) -> Exception:
    """The exception student code sees when the grader refused, or the reference raised:
    a built-in exception type keeps its type (``ValueError`` stays a ValueError)."""
    info = info if isinstance(info, dict) else {}
    kind = getattr(builtins, str((info.get("types") or ["?"])[0]), None)
    message = str(info.get("message", ""))
    if not message.startswith("(from the grader)"):
        message = f"(from the grader) {message}"
    if isinstance(kind, type) and issubclass(kind, Exception):
        return kind(message)
    return GraderError(message)


def describe_exception(exc: BaseException) -> dict:
    """Plain-data description of an exception raised by student code."""
    if isinstance(exc, SystemExit):
        return {"types": ["SystemExit"], "message": f"called sys.exit({exc.code!r})"[:200],
                "traceback": ""}
    frames = traceback.extract_tb(exc.__traceback__)
    student = [f for f in frames if "autograder" not in f.filename.replace(os.sep, "/")
               and not f.filename.startswith("<frozen ")]  # the toolkit's and the importer's
    lines = traceback.format_list(student[-4:])
    if isinstance(exc, SyntaxError):
        lines.append(f'  File "{os.path.basename(exc.filename or "?")}", line {exc.lineno}\n'
                     f"    {(exc.text or '').strip()}\n")
    try:
        text = str(exc)
    except BaseException:  # noqa: BLE001 - a __str__ that raises is the student's problem
        text = "(the exception's message could not be shown)"
    return {"types": [c.__name__ for c in type(exc).__mro__][:10], "message": text[:2000],
            "traceback": "".join(lines)[-3000:]}


def _remove_ipc() -> None:
    """Delete every System V shared memory segment, semaphore set and message queue of this
    process's IPC namespace (bubblewrap's, shared by the zygote's children alone)."""
    libc = ctypes.CDLL(None, use_errno=True)
    remove = {"shm": lambda i: libc.shmctl(i, 0, None), "sem": lambda i: libc.semctl(i, 0, 0),
              "msg": lambda i: libc.msgctl(i, 0, None)}  # 0: IPC_RMID
    for kind, rmid in remove.items():
        with contextlib.suppress(OSError):
            with open(f"/proc/sysvipc/{kind}") as f:
                rows = f.read().splitlines()[1:]
            for row in rows:
                rmid(int(row.split()[1]))


def _close_all_but(keep: list[int]) -> None:
    """Close every descriptor above 2 except ``keep`` (what the zygote held: its channel)."""
    for entry in os.listdir("/proc/self/fd"):
        fd = int(entry)
        if fd > 2 and fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)


def _quiet() -> None:
    """Point standard output and error at /dev/null: the log the process started with
    is never inherited by a child (what one context writes, another could read)."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)


def _kill_children() -> None:
    """Kill and reap every child of this process (orphans re-parented to us included)."""
    me = os.getpid()
    for _ in range(200):
        children = []
        for entry in filter(str.isdigit, os.listdir("/proc")):
            with contextlib.suppress(OSError, IndexError), open(f"/proc/{entry}/stat", "rb") as f:
                if int(f.read().rsplit(b")", 1)[-1].split()[1]) == me:
                    children.append(int(entry))
        for pid in children:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        if not children:
            return
        time.sleep(0.001)


def apply_limits(limits: dict) -> None:
    """Lower this process's resource limits (hard and soft, so its code cannot raise them)."""
    names = {"memory": resource.RLIMIT_AS, "cpu": resource.RLIMIT_CPU,
             "fsize": resource.RLIMIT_FSIZE, "nproc": resource.RLIMIT_NPROC,
             "msgqueue": resource.RLIMIT_MSGQUEUE}
    for key, value in limits.items():
        if value is not None:
            resource.setrlimit(names[key], (int(value), int(value)))


def main() -> None:
    """Entry point of a sandboxed process: serve the grader on the control socket."""
    control_fd = int(sys.argv[1])
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # orphans of a fork come back to us
        libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)  # a child of the same user cannot trace us
    apply_limits(json.loads(sys.argv[2]))
    _quiet()  # the log took what Python said while starting; nothing written later is kept
    Worker(wire.Channel(control_fd, control_fd), None).serve()


if __name__ == "__main__":
    main()
