"""The wire between the trusted grader and the sandboxed processes, defined once.

Both sides import this module, so it uses only the standard library and numpy.
A frame is a 4-byte big-endian length followed by UTF-8 JSON, at most
``MAX_FRAME`` bytes. Values cross as plain data only, never pickled:

- ``None``, bools, ints, floats (NaN and infinities included) and strings as themselves;
- ``{"$": "nd", "dtype", "shape", "b64"}`` for numeric and bool numpy arrays;
- ``{"$": "shm", "offset", "dtype", "shape"}`` for an argument array placed in the
  shared arena, which the grader reads back after the call (mutation is seen, not told);
- ``{"$": "list" | "tuple" | "dict" | "iter", "items"}`` for containers (an iterator
  is consumed, at most ``MAX_ITEMS`` items); nesting deeper than ``MAX_DEPTH`` is refused;
- ``{"$": "rng", "seed"}`` for a seeded ``numpy.random.Generator``;
- ``{"$": "handle", "home", "id", "type"}`` for an object that stays in the process
  that made it (``home``: ``grader``, ``worker`` or ``reference``).

Messages are dicts with an ``op``. A request (:func:`request`) asks the other side
to run something; while waiting for its :func:`reply`, a side serves the requests
the other side sends it (callbacks), so calls nest in both directions.
"""

from __future__ import annotations

import base64
import json
import os
import select
import struct
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

MAX_FRAME = 8 * 1024 * 1024  # bytes of one message (a reply of 60 MB is refused, not read)
MAX_DEPTH = 48  # nesting of containers in one value
MAX_ITEMS = 100_000  # items taken from an iterator
_ARRAY_KINDS = "biuf"  # bool, signed int, unsigned int, float

# -- the message vocabulary -------------------------------------------------------------
CALL = "call"  # call contract name ``target`` (the grader: the student's; a worker: the reference)
METHOD = "method"  # call method ``name`` of ``handle``
GETATTR = "getattr"  # read attribute ``name`` of ``handle``
SETATTR = "setattr"  # set attribute ``name`` of ``handle`` to ``args[0]``
INVOKE = "invoke"  # call ``handle`` itself
INIT = "init"  # grader -> process: ``files``, ``contract``, ``mode``
LOAD = "load"  # grader -> process: import ``module``
FORK = "fork"  # grader -> zygote: continue in a fresh child process
RELEASE = "release"  # grader -> process: forget the handles ``ids``
REPLY = "reply"  # the answer: ``ok`` (a value), ``method`` (true), or ``error``
OBJECT_OPS = (METHOD, GETATTR, SETATTR, INVOKE)


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed message."""


class FrameTooLarge(ProtocolError):
    """A frame longer than ``MAX_FRAME``: refused before it is read."""


class ChannelTimeout(Exception):
    """No complete message arrived before the deadline."""


class SeededRNG:
    """Stands for ``numpy.random.default_rng(seed)`` on the other side of the channel."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)

    def __repr__(self) -> str:
        return f"np.random.default_rng({self.seed})"


def request(op: str, *, target: str | None = None, handle: dict | None = None,
            name: str | None = None, args: Any = None, kwargs: Any = None, **extra: Any) -> dict:
    """A request message; ``args``/``kwargs`` are already encoded."""
    message = {"op": op, **extra}
    for key, value in (("target", target), ("handle", handle), ("name", name),
                       ("args", args), ("kwargs", kwargs)):
        if value is not None:
            message[key] = value
    return message


def reply(ok: Any = None, *, error: dict | None = None, method: bool = False,
          **extra: Any) -> dict:
    """A reply message: an encoded value, the marker that an attribute is a method, or an error."""
    if error is not None:
        return {"op": REPLY, "error": error, **extra}
    if method:
        return {"op": REPLY, "method": True, **extra}
    return {"op": REPLY, "ok": ok, **extra}


def handle(home: str, handle_id: int, type_name: str) -> dict:
    """The wire form of an object that stays in process ``home``."""
    return {"$": "handle", "home": home, "id": handle_id, "type": type_name}


# -- values -----------------------------------------------------------------------------
def encode(value: Any, register: Callable[[Any], dict], depth: int = 0) -> Any:
    """Turn ``value`` into JSON-ready plain data; ``register`` wraps anything else as a handle."""
    if depth > MAX_DEPTH:
        raise ProtocolError(f"a value nested more than {MAX_DEPTH} levels deep")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item() if value.dtype.kind in _ARRAY_KINDS else register(value)
    if isinstance(value, np.ndarray):
        if value.nbytes > MAX_FRAME:  # refused before any copy is made
            raise FrameTooLarge(f"an array of {value.nbytes / 2**20:.0f} MB; at most "
                                f"{MAX_FRAME >> 20} MB can cross the sandbox's wall")
        if value.dtype.kind not in _ARRAY_KINDS:
            try:
                value = value.astype(np.float64)
            except (TypeError, ValueError):
                return register(value)
        data = np.array(value, order="C")  # a copy (ascontiguousarray turns 0-d into 1-d)
        return {"$": "nd", "dtype": data.dtype.str, "shape": list(data.shape),
                "b64": base64.b64encode(data.tobytes()).decode("ascii")}
    if isinstance(value, SeededRNG):
        return {"$": "rng", "seed": value.seed}
    if isinstance(value, (list, tuple)):
        kind = "tuple" if isinstance(value, tuple) else "list"
        return {"$": kind, "items": [encode(v, register, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"$": "dict", "items": [[encode(k, register, depth + 1),
                                        encode(v, register, depth + 1)]
                                       for k, v in value.items()]}
    if isinstance(value, Iterator):
        items = []
        for item in value:
            if len(items) >= MAX_ITEMS:
                break
            items.append(encode(item, register, depth + 1))
        return {"$": "iter", "items": items}
    return register(value)


def decode(data: Any, make_proxy: Callable[[dict], Any],
           arena: memoryview | None = None, depth: int = 0) -> Any:
    """Inverse of :func:`encode`; ``make_proxy`` turns a handle into a local object and
    ``arena`` (the worker's mapping of the shared arena) backs ``shm`` arrays."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if depth > MAX_DEPTH:
        raise ProtocolError(f"a value nested more than {MAX_DEPTH} levels deep")
    if not isinstance(data, dict):
        raise ProtocolError(f"unexpected JSON value of type {type(data).__name__}")
    tag = data.get("$")
    if tag == "nd":
        return _decode_array(data)
    if tag == "shm" and arena is not None:
        return _arena_array(data, arena)
    if tag in ("list", "iter"):
        return [decode(v, make_proxy, arena, depth + 1) for v in _items(data)]
    if tag == "tuple":
        return tuple(decode(v, make_proxy, arena, depth + 1) for v in _items(data))
    if tag == "dict":
        pairs = []
        for pair in _items(data):
            if not isinstance(pair, list) or len(pair) != 2:
                raise ProtocolError("a dict item is not a key-value pair")
            pairs.append((decode(pair[0], make_proxy, arena, depth + 1),
                          decode(pair[1], make_proxy, arena, depth + 1)))
        try:
            return dict(pairs)
        except TypeError as exc:
            raise ProtocolError(f"dict with unhashable key: {exc}") from None
    if tag == "rng":
        seed = _int(data.get("seed"))
        if seed < 0:
            raise ProtocolError("a negative seed")
        return np.random.default_rng(seed)
    if tag == "handle":
        return make_proxy(check_handle(data))
    raise ProtocolError(f"unknown tag {tag!r}")


def handles_in(data: Any, depth: int = 0) -> Iterator[dict]:
    """Every handle inside encoded ``data`` (checked, without decoding any array)."""
    if depth > MAX_DEPTH:
        raise ProtocolError(f"a value nested more than {MAX_DEPTH} levels deep")
    if isinstance(data, dict):
        if data.get("$") == "handle":
            yield check_handle(data)
        elif data.get("$") in ("list", "tuple", "iter", "dict"):
            for item in _items(data):
                yield from handles_in(item, depth + 1)
    elif isinstance(data, list):  # a dict's key-value pair
        for item in data:
            yield from handles_in(item, depth + 1)


def check_handle(data: dict) -> dict:
    """A well-formed handle (home, integer id, type name), or :class:`ProtocolError`."""
    if not isinstance(data, dict) or data.get("$") != "handle" \
            or data.get("home") not in ("grader", "worker", "reference"):
        raise ProtocolError("malformed handle")
    return handle(str(data["home"]), _int(data.get("id")), str(data.get("type", "object"))[:80])


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProtocolError(f"expected an integer, got {type(value).__name__}")
    return value


def _items(data: dict) -> list:
    items = data.get("items")
    if not isinstance(items, list):
        raise ProtocolError("container without an item list")
    return items


def _shape_and_dtype(data: dict) -> tuple[tuple[int, ...], np.dtype, int]:
    try:
        dtype = np.dtype(str(data.get("dtype")))
    except TypeError as exc:
        raise ProtocolError(f"bad dtype: {exc}") from None
    if dtype.kind not in _ARRAY_KINDS:
        raise ProtocolError(f"array of dtype {dtype} is not plain data")
    shape = data.get("shape")
    if not isinstance(shape, list) or len(shape) > 32:
        raise ProtocolError("bad array shape")
    shape_t = tuple(_int(n) for n in shape)
    if any(n < 0 for n in shape_t):
        raise ProtocolError("negative array dimension")
    count = 1
    for n in shape_t:
        count *= n
    if count * dtype.itemsize > MAX_FRAME:
        raise ProtocolError("array larger than a frame")
    return shape_t, dtype, count


def _decode_array(data: dict) -> np.ndarray:
    shape, dtype, count = _shape_and_dtype(data)
    try:
        raw = base64.b64decode(str(data.get("b64", "")), validate=True)
    except ValueError as exc:
        raise ProtocolError(f"bad array data: {exc}") from None
    if count * dtype.itemsize != len(raw):
        raise ProtocolError("array shape does not match its data")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _arena_array(data: dict, arena: memoryview) -> np.ndarray:
    shape, dtype, count = _shape_and_dtype(data)
    offset = _int(data.get("offset"))
    if offset < 0 or offset + count * dtype.itemsize > len(arena):
        raise ProtocolError("arena array out of bounds")
    return np.frombuffer(arena, dtype=dtype, count=count, offset=offset).reshape(shape)


# -- objects that stay home -------------------------------------------------------------
class Registry:
    """The objects one process has handed out as handles, by id."""

    def __init__(self, home: str) -> None:
        self.home = home
        self.objects: dict[int, Any] = {}
        self.next_id = 1

    def register(self, obj: Any) -> dict:
        """Keep ``obj`` here and return its handle."""
        handle_id = self.next_id
        self.next_id += 1
        self.objects[handle_id] = obj
        return handle(self.home, handle_id, type(obj).__name__)

    def get(self, data: dict) -> Any:
        """The object behind one of our own handles."""
        try:
            return self.objects[data["id"]]
        except KeyError:
            raise LookupError("this object no longer exists (it belonged to an earlier "
                              "call)") from None

    def release(self, ids: list[int]) -> None:
        """Forget the given handles."""
        for handle_id in ids:
            self.objects.pop(handle_id, None)


class Proxy:
    """The local face of an object that lives in another process: attribute reads,
    writes, method calls and calls become requests sent through ``ask``."""

    def __init__(self, ask: Callable[[dict, tuple, dict], Any], data: dict) -> None:
        object.__setattr__(self, "_ask", ask)
        object.__setattr__(self, "_handle", data)
        object.__setattr__(self, "_methods", set())

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in self._methods:
            value = self._ask(request(GETATTR, handle=self._handle, name=name), (), {})
            if value is not METHOD_MARK:
                return value
            self._methods.add(name)  # a method stays a method: later calls skip the look-up
        return lambda *args, **kwargs: self._ask(
            request(METHOD, handle=self._handle, name=name), args, kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        self._ask(request(SETATTR, handle=self._handle, name=name), (value,), {})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._ask(request(INVOKE, handle=self._handle), args, kwargs)

    def __repr__(self) -> str:
        return f"<{self._handle['home']}'s {self._handle['type']}>"


class _MethodMark:
    """What a GETATTR answers with when the attribute is a method."""


METHOD_MARK = _MethodMark()


# -- frames -----------------------------------------------------------------------------
def dump(message: dict) -> bytes:
    """The JSON text of one message, or :class:`FrameTooLarge`."""
    body = json.dumps(message, allow_nan=True, separators=(",", ":")).encode()
    if len(body) > MAX_FRAME:
        raise FrameTooLarge(f"{len(body) / 2**20:.0f} MB of data; at most "
                            f"{MAX_FRAME >> 20} MB can cross the sandbox's wall")
    return body


def may_hold_handles(body: bytes) -> bool:
    """False only when the JSON text cannot hold a handle: the word "handle" does not occur,
    not even spelled with escapes (a cheap test that spares walking every message)."""
    return b"handle" in body or b"\\u" in body


class Channel:
    """A pair of pipe file descriptors carrying length-prefixed JSON messages."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd
        self.had_handles = True

    def send(self, message: dict) -> None:
        """Write one message, blocking until the pipe takes it (the sandboxed side)."""
        self.write(dump(message))

    def write(self, body: bytes, deadline: float | None = None,
              alive: Callable[[], bool] | None = None) -> None:
        """Write one dumped message. With a deadline (the grader), raise
        :class:`ChannelTimeout` when the other side stops reading."""
        view = memoryview(struct.pack(">I", len(body)) + body)
        if deadline is not None:
            os.set_blocking(self.write_fd, False)
        while view:
            if deadline is not None:
                self._wait(deadline, alive, write=True)
            try:
                written = os.write(self.write_fd, view)
            except BlockingIOError:
                continue
            view = view[written:]

    def _wait(self, deadline: float, alive: Callable[[], bool] | None, write: bool) -> None:
        """Until the channel is readable (or writable), the deadline, or the peer's death."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChannelTimeout()
            fds = ([], [self.write_fd]) if write else ([self.read_fd], [])
            if any(select.select(*fds, [], min(left, 0.25))[:2]):
                return
            if alive is not None and not alive():
                raise EOFError("the other side is gone")

    def receive(self, deadline: float | None = None,
                alive: Callable[[], bool] | None = None) -> dict:
        """Read one message; raise :class:`ChannelTimeout` past ``deadline`` (monotonic),
        and ``EOFError`` as soon as ``alive()`` says the sender is gone."""
        (length,) = struct.unpack(">I", self._read_exact(4, deadline, alive))
        if length > MAX_FRAME:
            raise FrameTooLarge(f"a message of {length} bytes is over the "
                                f"{MAX_FRAME >> 20} MB limit")
        body = self._read_exact(length, deadline, alive)
        self.had_handles = may_hold_handles(body)  # whether the last message read may hold one
        try:
            message = json.loads(body)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ProtocolError(f"malformed message: {type(exc).__name__}") from None
        if not isinstance(message, dict) or not isinstance(message.get("op"), str):
            raise ProtocolError("a message must be a JSON object with an op")
        return message

    def _read_exact(self, n: int, deadline: float | None,
                    alive: Callable[[], bool] | None) -> bytes:
        chunks: list[bytes] = []
        remaining = n
        while remaining:
            if deadline is not None:
                self._wait(deadline, alive, write=False)
            try:
                chunk = os.read(self.read_fd, min(remaining, 1 << 20))
            except BlockingIOError:
                continue
            if not chunk:
                raise EOFError("the other side closed the channel")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
