"""The student side: a subprocess that imports and calls student code on request.

Run as ``python -m autograder.worker READ_FD WRITE_FD LIMITS_JSON`` by
:mod:`autograder.sandbox`. It is the only place student code ever runs. It
imports nothing from the trusted side except :mod:`autograder.protocol`, and
everything it sends back is plain data: whatever it says is treated as the
student's answer, never as a verdict.

While one contract name is called, every other contract name the student's code
can reach (other files' imports, and the other names of the same file) points at
a proxy for the grader's reference, served through the channel, so that one bug
costs points once (architecture rule 3). Without a reference (the student's own
laptop) those imports resolve to the student's own files.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import resource
import sys
import traceback
import types
import warnings
from typing import Any

import numpy as np

from autograder.protocol import Channel, decode, encode

OUTPUT_CAP = 4000  # characters of student output kept per call


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
    """An error raised by the grader's reference code during a callback."""


class GraderProxy:
    """A local stand-in for an object that lives in the grader (e.g. a reference optimizer)."""

    def __init__(self, worker: Worker, handle: dict) -> None:
        object.__setattr__(self, "_worker", worker)
        object.__setattr__(self, "_handle", handle)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._worker.callback({"kind": "getattr", "id": self._handle["id"], "name": name})

    def __setattr__(self, name: str, value: Any) -> None:
        self._worker.callback(
            {"kind": "setattr", "id": self._handle["id"], "name": name, "value": value})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._worker.callback(
            {"kind": "call_handle", "id": self._handle["id"], "args": args, "kwargs": kwargs})

    def __repr__(self) -> str:
        return f"<grader's {self._handle.get('type', 'object')}>"


class ForwardingModule(types.ModuleType):
    """What ``import losses`` gives student code: reference proxies for contract names
    (when grading) and the student's own module for everything else."""

    def __init__(self, worker: Worker, name: str) -> None:
        super().__init__(name)
        self._worker = worker

    def __getattr__(self, attr: str) -> Any:
        worker = self._worker
        if attr == "__all__":  # ``from losses import *``
            return self._public_names()
        if attr.startswith("__"):  # the import system probing (__path__, __spec__, ...)
            raise AttributeError(attr)
        if worker.use_reference and attr in worker.contract.get(self.__name__, ()):
            return worker.reference_proxy(self.__name__, attr)
        return getattr(worker.load(self.__name__), attr)

    def _public_names(self) -> list[str]:
        """The contract names, then the student's other public names (if the file loads)."""
        names = list(self._worker.contract.get(self.__name__, ()))
        with contextlib.suppress(BaseException):  # a broken file only loses its helpers here
            module = self._worker.load(self.__name__)
            names += [n for n in vars(module) if not n.startswith("_") and n not in names]
        return names


class Worker:
    """Serves call requests from the grader until the channel closes."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.files: dict[str, str] = {}
        self.contract: dict[str, list[str]] = {}
        self.use_reference = False
        self.modules: dict[str, types.ModuleType] = {}
        self.load_errors: dict[str, BaseException] = {}
        self.handles: dict[int, Any] = {}

    # -- the channel ---------------------------------------------------------------
    def serve(self) -> None:
        """Answer requests one at a time; return when the grader closes the channel."""
        while True:
            try:
                request = self.channel.receive()
            except EOFError:
                return
            self.channel.send(self.handle_request(request))

    def callback(self, request: dict) -> Any:
        """Ask the grader to run reference code for us, and wait for its answer."""
        request = dict(request)
        for key in ("args", "kwargs", "value"):
            if key in request:
                request[key] = encode(request[key], self.register)
        self.channel.send({"op": "callback", **request})
        reply = self.channel.receive()
        if "error" in reply:
            raise GraderError(reply["error"])
        if reply.get("callable"):
            return lambda *a, **k: self.callback(
                {"kind": "method", "id": request["id"], "name": request["name"],
                 "args": a, "kwargs": k})
        return decode(reply.get("ok"), self.make_proxy)

    def register(self, obj: Any) -> dict:
        """Keep a student object here and send a handle for it."""
        if isinstance(obj, GraderProxy):
            return obj._handle
        handle_id = len(self.handles) + 1
        self.handles[handle_id] = obj
        return {"$": "handle", "id": handle_id, "type": type(obj).__name__, "home": "worker"}

    def make_proxy(self, handle: dict) -> Any:
        if handle.get("home") == "worker":
            return self.handles[int(handle["id"])]
        return GraderProxy(self, handle)

    def reference_proxy(self, module: str, name: str) -> Any:
        """A callable that runs the grader's reference ``module.name``."""
        def call(*args: Any, **kwargs: Any) -> Any:
            return self.callback({"kind": "call", "target": f"{module}.{name}",
                                  "args": args, "kwargs": kwargs})
        call.__name__ = name
        return call

    # -- student modules -----------------------------------------------------------
    def load(self, name: str) -> types.ModuleType:
        """Import the student's file for module ``name`` once; re-raise its import error."""
        if name in self.modules:
            return self.modules[name]
        if name in self.load_errors:
            raise self.load_errors[name]
        if name not in self.files:
            raise ImportError(f"{name}.py was not submitted")
        spec = importlib.util.spec_from_file_location(name, self.files[name])
        module = importlib.util.module_from_spec(spec)
        self.modules[name] = module  # visible while it runs, as in a normal import
        try:
            spec.loader.exec_module(module)
        except BaseException as exc:
            del self.modules[name]
            self.load_errors[name] = exc
            raise
        return module

    @contextlib.contextmanager
    def reference_neighbours(self, module: str, keep: str):
        """While ``module.keep`` runs, the module's other contract names call the reference."""
        mod = self.modules.get(module)
        if not self.use_reference or mod is None:
            yield
            return
        saved = {}
        for name in self.contract.get(module, ()):
            if name != keep and name in mod.__dict__:
                saved[name] = mod.__dict__[name]
                mod.__dict__[name] = self.reference_proxy(module, name)
        try:
            yield
        finally:
            mod.__dict__.update(saved)

    # -- requests ------------------------------------------------------------------
    def handle_request(self, request: dict) -> dict:
        op = request.get("op")
        if op == "init":
            self.files = dict(request["files"])
            self.contract = {m: list(names) for m, names in request["contract"].items()}
            self.use_reference = bool(request["reference"])
            for module in self.contract:
                sys.modules[module] = ForwardingModule(self, module)
            return {"ok": None}
        return self.run_student(op, request)

    def run_student(self, op: str, request: dict) -> dict:
        """Run one request that may execute student code, capturing everything it does."""
        out = CappedWriter()
        reply: dict[str, Any] = {}
        args = decode(request.get("args", {"$": "list", "items": []}), self.make_proxy)
        kwargs = decode(request.get("kwargs", {"$": "dict", "items": []}), self.make_proxy)
        before = _array_snapshot(args, kwargs)
        with warnings.catch_warnings(record=True) as caught, \
                contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            warnings.simplefilter("always")
            try:
                result = self.dispatch(op, request, args, kwargs)
                if isinstance(result, _Callable):
                    reply["callable"] = True
                else:
                    reply["ok"] = encode(result, self.register)  # consumes generators here
            except BaseException as exc:  # noqa: BLE001 - sys.exit and friends are answers too
                reply["error"] = describe_exception(exc)
        reply["out"] = out.text()
        reply["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught[:5]]
        reply["mutated"] = _mutated(before, args, kwargs)
        return reply

    def dispatch(self, op: str, request: dict, args: list, kwargs: dict) -> Any:
        if op == "load":
            self.load(request["module"])
            return None
        if op == "call":
            module, name = request["target"].split(".", 1)
            func = getattr(self.load(module), name)
            with self.reference_neighbours(module, name):
                return func(*args, **kwargs)
        obj = self.handles[int(request["id"])]
        if op == "getattr":
            value = getattr(obj, request["name"])
            if callable(value) and not isinstance(value, type):
                return _Callable()
            return value
        if op == "setattr":
            setattr(obj, request["name"], args[0])
            return None
        if op == "method":
            method = getattr(obj, request["name"])
            module = type(obj).__module__
            with self.reference_neighbours(module, type(obj).__name__):
                return method(*args, **kwargs)
        raise ValueError(f"unknown request {op!r}")


class _Callable:
    """Marker: the attribute asked for is a method."""


def describe_exception(exc: BaseException) -> dict:
    """Plain-data description of an exception raised by student code."""
    if isinstance(exc, SystemExit):
        return {"types": ["SystemExit"], "message": f"called sys.exit({exc.code!r})",
                "traceback": ""}
    frames = traceback.extract_tb(exc.__traceback__)
    student = [f for f in frames if "autograder" not in f.filename.replace(os.sep, "/")]
    lines = traceback.format_list(student[-4:])
    if isinstance(exc, SyntaxError):
        lines.append(f'  File "{os.path.basename(exc.filename or "?")}", line {exc.lineno}\n'
                     f"    {(exc.text or '').strip()}\n")
    return {
        "types": [c.__name__ for c in type(exc).__mro__],
        "message": str(exc)[:2000],
        "traceback": "".join(lines)[-3000:],
    }


def _array_snapshot(args: list, kwargs: dict) -> dict:
    """The bytes of every array argument (bytes equality cannot be monkeypatched)."""
    named = {f"argument {i + 1}": a for i, a in enumerate(args)} | kwargs
    return {k: (v.shape, v.tobytes()) for k, v in named.items() if isinstance(v, np.ndarray)}


def _mutated(before: dict, args: list, kwargs: dict) -> list[str]:
    """Names of the array arguments the call changed in place."""
    after = _array_snapshot(args, kwargs)
    return [k for k, v in before.items() if after.get(k) != v]


def apply_limits(limits: dict) -> None:
    """Lower this process's resource limits (hard and soft, so student code cannot raise them)."""
    names = {"memory": resource.RLIMIT_AS, "cpu": resource.RLIMIT_CPU,
             "fsize": resource.RLIMIT_FSIZE, "nproc": resource.RLIMIT_NPROC}
    for key, value in limits.items():
        if value is not None:
            resource.setrlimit(names[key], (int(value), int(value)))


def main() -> None:
    """Entry point of the worker process."""
    read_fd, write_fd = int(sys.argv[1]), int(sys.argv[2])
    apply_limits(json.loads(sys.argv[3]))
    Worker(Channel(read_fd, write_fd)).serve()


if __name__ == "__main__":
    main()
