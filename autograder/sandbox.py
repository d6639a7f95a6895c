"""The trusted side of the sandbox: start, talk to, time out and kill the worker.

One :class:`Sandbox` owns one worker process (:mod:`autograder.worker`) at a
time. A request that times out, or during which the worker dies, fails with a
clear :class:`StudentCodeError`; the worker is killed with its whole process
group (and any child that escaped it) and a fresh one is started for the next
request. A contract name whose call hung or crashed the worker is not run again:
later calls fail at once with the same message, so one infinite loop costs its
time once.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.protocol import Channel, ChannelTimeout, ProtocolError, decode, encode

PACKAGE_PARENT = Path(__file__).resolve().parent.parent
_PR_SET_CHILD_SUBREAPER = 36
STUB_MARK = "TODO: implement"  # the message of every generated stub's NotImplementedError


@dataclass(frozen=True)
class Limits:
    """Resource limits of the worker; every timeout is generous and reported as such."""

    call_timeout: float = 10.0  # seconds of wall time per request
    import_timeout: float = 30.0  # seconds to import one file (top-level code included)
    total_seconds: float = 420.0  # wall time for all requests of one grading run
    memory_mb: int = 512  # address space of the worker
    cpu_seconds: int = 300  # CPU time of one worker process
    file_size_mb: int = 16  # largest file the worker may write
    processes: int = 64  # only applied when the worker runs as its own user


class StudentCodeError(Exception):
    """Student code did not return a value: it raised, hung, crashed or is missing."""


class StudentRaised(StudentCodeError):
    """Student code raised an exception (``types`` lists its class and bases by name)."""

    def __init__(self, target: str, info: dict) -> None:
        self.types = [str(t) for t in info.get("types", [])]
        self.detail = str(info.get("message", ""))
        self.where = str(info.get("traceback", ""))
        kind = self.types[0] if self.types else "an exception"
        if kind == "NotImplementedError":
            text = f"{target} is not implemented yet (it raises NotImplementedError)"
        elif kind == "SystemExit":
            text = f"{target} {self.detail}, which ends the program; return a value instead"
        else:
            text = f"{target} raised {kind}: {self.detail}"
        super().__init__(text + (f"\n{self.where.rstrip()}" if self.where else ""))


class StudentTimeout(StudentCodeError):
    """Student code ran past its time limit (an infinite loop, or far too slow)."""


class StudentCrashed(StudentCodeError):
    """The worker died or broke the protocol while running student code."""


class Sandbox:
    """One worker process serving one submission's files."""

    def __init__(
        self,
        files: dict[str, Path],
        contract: dict[str, list[str]],
        reference: Callable[[str], Any] | None = None,
        limits: Limits | None = None,
        user: str | None = None,
    ) -> None:
        self.contract = contract
        self.reference = reference
        self.limits = limits or Limits()
        self.user = user
        self.proc: subprocess.Popen | None = None
        self.channel: Channel | None = None
        self.generation = 0
        self.broken: dict[str, StudentCodeError] = {}
        self.grader_objects: dict[int, Any] = {}
        self.output: list[str] = []
        self.last_reply: dict = {}
        self._graded = ""
        self.started_at = time.monotonic()
        self.scratch = Path(tempfile.mkdtemp(prefix="autograder-"))
        self.workdir = self.scratch / "work"
        self.workdir.mkdir()
        self.stderr_path = self.scratch / "worker-stderr.log"
        # The worker reads private copies of the submitted files, under canonical names.
        self.files = {}
        for module, path in files.items():
            self.files[module] = self.workdir / f"{module}.py"
            self.files[module].write_bytes(as_utf8(path.read_bytes()))
        if user:  # the worker's user may pass through scratch/ and owns only work/
            info = pwd.getpwnam(user)
            os.chmod(self.scratch, 0o711)
            for path in (self.workdir, *self.files.values()):
                os.chown(path, info.pw_uid, info.pw_gid)
        _become_subreaper()

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        """Start a fresh worker and send it the file list."""
        to_worker_r, to_worker_w = os.pipe()
        from_worker_r, from_worker_w = os.pipe()
        limits = {
            "memory": self.limits.memory_mb << 20,
            "cpu": self.limits.cpu_seconds,
            "fsize": self.limits.file_size_mb << 20,
            "nproc": self.limits.processes if self.user else None,
        }
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "PYTHONPATH": str(PACKAGE_PARENT),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONHASHSEED": "0",
            "HOME": str(self.workdir),
            "LANG": "C.UTF-8",
            **{k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
        }
        for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            if key in os.environ:
                env[key] = os.environ[key]
        user_args: dict[str, Any] = {}
        if self.user:
            info = pwd.getpwnam(self.user)
            user_args = {"user": info.pw_uid, "group": info.pw_gid, "extra_groups": []}
        with open(self.stderr_path, "ab") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "autograder.worker",
                 str(to_worker_r), str(from_worker_w), json.dumps(limits)],
                pass_fds=(to_worker_r, from_worker_w),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                cwd=self.workdir, env=env, start_new_session=True, **user_args,
            )
        os.close(to_worker_r)
        os.close(from_worker_w)
        self.channel = Channel(from_worker_r, to_worker_w)
        self.generation += 1
        files = {name: str(path) for name, path in self.files.items()}
        self._exchange({"op": "init", "files": files, "contract": self.contract,
                        "reference": self.reference is not None}, "starting the worker",
                       self.limits.import_timeout)

    def stop(self) -> None:
        """Kill the worker, its process group and anything it left behind."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait()
        for fd in (self.channel.read_fd, self.channel.write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        self.proc = self.channel = None
        _kill_strays(self.user)

    def close(self) -> None:
        """Stop the worker and remove the scratch folder."""
        self.stop()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def take_output(self) -> str:
        """Student output captured since the last call, then forgotten."""
        text = "".join(self.output)
        self.output.clear()
        return text

    # -- requests ------------------------------------------------------------------
    def call(self, target: str, args: tuple, kwargs: dict) -> Any:
        """Call contract function ``module.name`` (or class) with plain-data arguments."""
        return self.request(target, {"op": "call", "target": target},
                            args=args, kwargs=kwargs)

    def load(self, module: str) -> None:
        """Import the student's module (raises if it cannot be imported)."""
        self.request(module, {"op": "load", "module": module}, timeout=self.limits.import_timeout)

    def request(self, target: str, message: dict, args: tuple = (), kwargs: dict | None = None,
                generation: int | None = None, timeout: float | None = None) -> Any:
        """Send one request that runs student code and return the decoded answer."""
        module = target.split(".", 1)[0]
        for key in (target, module):
            if key in self.broken:
                raise self.broken[key]
        if generation is not None and generation != self.generation:
            raise StudentCrashed(f"{target}: this object was lost when the worker restarted "
                                 "after an earlier crash or timeout")
        if time.monotonic() - self.started_at > self.limits.total_seconds:
            raise StudentTimeout(f"{target} was not run: the grading time budget of "
                                 f"{self.limits.total_seconds:.0f} s is used up")
        if self.proc is None:
            self.start()
        message = dict(message)
        message["args"] = encode(list(args), self._register)
        message["kwargs"] = encode(dict(kwargs or {}), self._register)
        reply = self._exchange(message, target, timeout or self.limits.call_timeout)
        self.last_reply = reply
        if "error" in reply:
            error = StudentRaised(target, reply["error"] if isinstance(reply["error"], dict) else {})
            if error.types[:1] == ["NotImplementedError"] and error.detail.startswith(STUB_MARK):
                self.broken[target] = error  # an untouched stub: no need to call it again
            raise error
        if reply.get("callable"):
            return _CALLABLE
        try:
            return decode(reply.get("ok"), lambda handle: self._proxy(handle, target))
        except (ProtocolError, ValueError, TypeError, KeyError) as exc:
            raise StudentCrashed(f"{target} returned a value that could not be read: {exc}") \
                from None

    def _exchange(self, message: dict, target: str, timeout: float) -> dict:
        """Send ``message``, serve callbacks until the answer comes, handle death and time."""
        deadline = time.monotonic() + timeout
        self._graded = ".".join(target.split(".")[:2])
        try:
            self.channel.send(message)
            while True:
                reply = self.channel.receive(deadline)
                if reply.get("op") == "callback":
                    self.channel.send(self._serve_callback(reply))
                    continue
                self.output.append(_as_text(reply.get("out", "")))
                return reply
        except ChannelTimeout:
            error: StudentCodeError = StudentTimeout(
                f"{target} did not finish within {timeout:.0f} s "
                "(an infinite loop, or a loop that never meets its stopping condition?)")
        except (EOFError, OSError, ProtocolError) as exc:
            error = StudentCrashed(f"{target} ended the Python process{self._death_reason(exc)}"
                                   " (os._exit, a crash, or the memory limit of "
                                   f"{self.limits.memory_mb} MB?)")
        self.stop()
        self.broken[target] = error
        raise error

    def _death_reason(self, exc: BaseException) -> str:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=1.0)
        code = self.proc.returncode if self.proc is not None else None
        if isinstance(exc, ProtocolError):
            return f": it wrote garbage to the grader's channel ({exc})"
        if code is None:
            return ""
        if code < 0:
            return f" (killed by signal {signal.Signals(-code).name})"
        return f" with exit code {code}"

    # -- the grader's objects, as seen from the worker -------------------------------
    def _register(self, obj: Any) -> dict:
        """Send a grader-side object (a reference optimizer, a callback) as a handle."""
        if isinstance(obj, RemoteObject):
            return {"$": "handle", "id": obj._id, "home": "worker"}
        handle_id = len(self.grader_objects) + 1
        self.grader_objects[handle_id] = obj
        return {"$": "handle", "id": handle_id, "type": type(obj).__name__, "home": "grader"}

    def _proxy(self, handle: dict, origin: str = "") -> Any:
        """The local face of a handle: our own object, or a proxy for a student object
        (``origin`` names the call that made it, for messages and time-outs)."""
        if handle.get("home") == "grader":
            return self.grader_objects[int(handle["id"])]
        return RemoteObject(self, int(handle["id"]), str(handle.get("type", "object")), origin)

    def _serve_callback(self, request: dict) -> dict:
        """Run grader-side code the worker asked for; student data is plain data here."""
        try:
            args = decode(request.get("args", {"$": "list", "items": []}), self._proxy)
            kwargs = decode(request.get("kwargs", {"$": "dict", "items": []}), self._proxy)
            kind = request.get("kind")
            if kind == "call":
                if self.reference is None:
                    raise LookupError("no reference is available here")
                if request.get("target") == self._graded:
                    raise LookupError(f"{self._graded} cannot call the grader's own "
                                      f"{self._graded} while it is being graded")
                result = self.reference(str(request["target"]))(*args, **kwargs)
            else:
                obj = self.grader_objects[int(request["id"])]
                name = str(request.get("name", ""))
                if name.startswith("_"):
                    raise AttributeError(f"{name} is private")
                if kind == "getattr":
                    result = getattr(obj, name)
                    if callable(result):
                        return {"callable": True}
                elif kind == "setattr":
                    setattr(obj, name, decode(request.get("value"), self._proxy))
                    result = None
                elif kind == "method":
                    result = getattr(obj, name)(*args, **kwargs)
                elif kind == "call_handle":
                    result = obj(*args, **kwargs)
                else:
                    raise ValueError(f"unknown callback {kind!r}")
            return {"ok": encode(result, self._register)}
        except Exception as exc:  # the student's code sees this as a raised error
            return {"error": f"{type(exc).__name__}: {exc}"}


class _CallableMarker:
    pass


_CALLABLE = _CallableMarker()


class RemoteObject:
    """A student object (e.g. an optimizer instance) that lives in the worker."""

    def __init__(self, sandbox: Sandbox, handle_id: int, type_name: str, origin: str) -> None:
        object.__setattr__(self, "_sandbox", sandbox)
        object.__setattr__(self, "_id", handle_id)
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_origin", origin)
        object.__setattr__(self, "_generation", sandbox.generation)
        object.__setattr__(self, "_methods", set())

    def _request(self, op: str, name: str, args: tuple = (), kwargs: dict | None = None) -> Any:
        target = self._origin if op != "method" else f"{self._origin}.{name}"
        return self._sandbox.request(target, {"op": op, "id": self._id, "name": name},
                                     args=args, kwargs=kwargs, generation=self._generation)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in self._methods:
            value = self._request("getattr", name)
            if value is not _CALLABLE:
                return value
            self._methods.add(name)  # a method stays a method: later calls skip the look-up
        return lambda *args, **kwargs: self._request("method", name, args, kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        self._request("setattr", name, (value,))

    def __repr__(self) -> str:
        return f"<student's {self._type}>"


def as_utf8(source: bytes) -> bytes:
    """Python source as UTF-8: a file saved as Windows-1252 (an accent in a comment) would
    otherwise not import at all."""
    try:
        source.decode("utf-8")
    except UnicodeDecodeError:
        if b"coding" not in source[:200]:
            return source.decode("cp1252", errors="replace").encode("utf-8")
    return source


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _become_subreaper() -> None:
    """Orphans of the worker (children that called setsid) are re-parented to us, so we
    can find and kill them."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _kill_strays(user: str | None) -> None:
    """Kill processes the worker left behind (our re-parented children, and, as root,
    everything the sandbox user owns), and reap the ones that were our children."""
    uid = pwd.getpwnam(user).pw_uid if user else None
    me = os.getpid()
    for _ in range(100):
        ours = [(pid, ppid, state) for pid, ppid, owner, state in _processes()
                if pid != me and (ppid == me or (uid is not None and owner == uid))]
        alive = [pid for pid, _, state in ours if state != "Z"]
        for pid in alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        zombies = [pid for pid, ppid, state in ours if ppid == me and state == "Z"]
        for pid in zombies:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)
        if not alive and not zombies:
            return
        time.sleep(0.02)


def _processes() -> list[tuple[int, int, int, str]]:
    """(pid, parent pid, owner uid, state) of every process we can see."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
            owner = os.stat(f"/proc/{entry}").st_uid
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1:
            found.append((int(entry), int(fields[1]), owner, fields[0]))
    return found
