"""The wire format between the trusted grader and the sandboxed worker.

Both sides import this module, so it uses only the standard library and numpy.
A message is a 4-byte big-endian length followed by UTF-8 JSON. Values cross as
plain data only:

- ``None``, bools, ints, floats (NaN and infinities included) and strings as themselves;
- ``{"$": "nd", "dtype", "shape", "b64"}`` for numeric and bool numpy arrays;
- ``{"$": "list" | "tuple" | "dict" | "iter", ...}`` for containers (an iterator
  is consumed, at most ``MAX_ITEMS`` items);
- ``{"$": "rng", "seed": s}`` for a seeded ``numpy.random.Generator``;
- ``{"$": "handle", "id", "type"}`` for an object that stays in the process that
  made it (the other side gets a proxy that calls back for attributes).

Nothing is ever unpickled.
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

MAX_MESSAGE = 64 * 1024 * 1024
MAX_ITEMS = 100_000
_ARRAY_KINDS = "biuf"  # bool, signed int, unsigned int, float


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed message."""


class ChannelTimeout(Exception):
    """No complete message arrived before the deadline."""


class SeededRNG:
    """Stands for ``numpy.random.default_rng(seed)`` on the other side of the channel."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)

    def __repr__(self) -> str:
        return f"np.random.default_rng({self.seed})"


def encode(value: Any, register: Callable[[Any], dict]) -> Any:
    """Turn ``value`` into JSON-ready plain data; ``register`` wraps anything else as a handle."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item() if value.dtype.kind in _ARRAY_KINDS else register(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in _ARRAY_KINDS:
            try:
                value = value.astype(np.float64)
            except (TypeError, ValueError):
                return register(value)
        data = np.array(value, order="C", copy=True)
        return {
            "$": "nd",
            "dtype": data.dtype.str,
            "shape": list(data.shape),
            "b64": base64.b64encode(data.tobytes()).decode("ascii"),
        }
    if isinstance(value, SeededRNG):
        return {"$": "rng", "seed": value.seed}
    if isinstance(value, (list, tuple)):
        kind = "tuple" if isinstance(value, tuple) else "list"
        return {"$": kind, "items": [encode(v, register) for v in value]}
    if isinstance(value, dict):
        return {"$": "dict", "items": [[encode(k, register), encode(v, register)]
                                       for k, v in value.items()]}
    if isinstance(value, Iterator):
        items = []
        for item in value:
            if len(items) >= MAX_ITEMS:
                break
            items.append(encode(item, register))
        return {"$": "iter", "items": items}
    return register(value)


def decode(data: Any, make_proxy: Callable[[dict], Any]) -> Any:
    """Inverse of :func:`encode`; ``make_proxy`` turns a handle into a local proxy object."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):  # only ever inside a tagged container
        return [decode(v, make_proxy) for v in data]
    if not isinstance(data, dict):
        raise ProtocolError(f"unexpected JSON value of type {type(data).__name__}")
    tag = data.get("$")
    if tag == "nd":
        return _decode_array(data)
    if tag in ("list", "iter"):
        return [decode(v, make_proxy) for v in _items(data)]
    if tag == "tuple":
        return tuple(decode(v, make_proxy) for v in _items(data))
    if tag == "dict":
        pairs = [(decode(k, make_proxy), decode(v, make_proxy)) for k, v in _items(data)]
        try:
            return dict(pairs)
        except TypeError as exc:
            raise ProtocolError(f"dict with unhashable key: {exc}") from None
    if tag == "rng":
        return np.random.default_rng(int(data["seed"]))
    if tag == "handle":
        return make_proxy(data)
    raise ProtocolError(f"unknown tag {tag!r}")


def _items(data: dict) -> list:
    items = data.get("items")
    if not isinstance(items, list):
        raise ProtocolError("container without an item list")
    return items


def _decode_array(data: dict) -> np.ndarray:
    dtype = np.dtype(str(data.get("dtype")))
    if dtype.kind not in _ARRAY_KINDS:
        raise ProtocolError(f"array of dtype {dtype} is not plain data")
    shape = tuple(int(n) for n in data.get("shape", []))
    raw = base64.b64decode(str(data.get("b64", "")), validate=True)
    count = int(np.prod(shape)) if shape else 1
    if count * dtype.itemsize != len(raw):
        raise ProtocolError("array shape does not match its data")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


class Channel:
    """A pair of pipe file descriptors carrying length-prefixed JSON messages."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd = read_fd
        self.write_fd = write_fd

    def send(self, message: dict) -> None:
        """Write one message (blocks until the pipe takes it)."""
        body = json.dumps(message, allow_nan=True, separators=(",", ":")).encode()
        view = memoryview(struct.pack(">I", len(body)) + body)
        while view:
            written = os.write(self.write_fd, view)
            view = view[written:]

    def receive(self, deadline: float | None = None) -> dict:
        """Read one message; raise :class:`ChannelTimeout` past ``deadline`` (monotonic)."""
        (length,) = struct.unpack(">I", self._read_exact(4, deadline))
        if length > MAX_MESSAGE:
            raise ProtocolError(f"message of {length} bytes is over the {MAX_MESSAGE} limit")
        try:
            message = json.loads(self._read_exact(length, deadline))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ProtocolError(f"malformed message: {exc}") from None
        if not isinstance(message, dict):
            raise ProtocolError("a message must be a JSON object")
        return message

    def _read_exact(self, n: int, deadline: float | None) -> bytes:
        chunks: list[bytes] = []
        remaining = n
        while remaining:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.read_fd], [], [], left)[0]:
                    raise ChannelTimeout()
            chunk = os.read(self.read_fd, min(remaining, 1 << 20))
            if not chunk:
                raise EOFError("the other side closed the channel")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
