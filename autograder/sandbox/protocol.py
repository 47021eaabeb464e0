"""The wire format between the grader and the sandboxed kernel, and the value codec.

A message is ``>II`` (length of a JSON header, number of buffers), the UTF-8 JSON header,
then each buffer as ``>Q`` length + bytes. Values cross as JSON trees whose dicts are tagged
(``{"nd": i, "dtype": .., "shape": ..}`` for an array in buffer ``i``, ``{"tuple": [..]}``,
``{"dict": [[k, v], ..]}``, ``{"object": type name, "handle": n}`` for anything else, which
stays in the kernel, and ``{"ref": n}`` to pass such an object back to it). Decoding builds
only plain Python values and numpy arrays of boolean/integer/float/complex dtype: whatever
the kernel sends, the grader receives data, never objects with behaviour of their own.

This module runs in both processes, so it imports nothing outside the standard library
and numpy. What both sides must agree on lives here, once: the packages hidden from graded
code (:data:`HIDDEN_PACKAGES`), the bounded output sink (:class:`BoundedText`) and the
one-line-per-frame view of a student's traceback (:func:`student_frames`).
"""

from __future__ import annotations

import io
import json
import math
import os
import select
import struct
import time
import traceback
from typing import Any

import numpy as np

HEAD = struct.Struct(">II")
BUFLEN = struct.Struct(">Q")
ARRAY_KINDS = "biufc"
MAX_DEPTH = 32
MAX_ITEMS = 100_000
# what graded code may not import, nor read from site-packages (lower-case prefixes of top-level names)
HIDDEN_PACKAGES = ("torch", "functorch", "torchgen", "nvidia", "triton")


def is_hidden(name: str) -> bool:
    """Whether a module or site-packages entry ``name`` belongs to a package hidden from graded code."""
    return name.lower().startswith(HIDDEN_PACKAGES)


class BoundedText(io.TextIOBase):
    """A text sink (stdout, stderr) that keeps ``limit`` characters and counts the ones it drops."""

    def __init__(self, limit: int) -> None:
        self.limit, self.parts, self.kept, self.dropped = limit, [], 0, 0

    def writable(self) -> bool:
        return True

    def write(self, text: Any) -> int:
        text = str(text)
        room = self.limit - self.kept
        if room > 0:
            self.parts.append(text[:room])
            self.kept += min(room, len(text))
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def text(self) -> str:
        """What was kept, and a line saying how much was dropped (if any)."""
        out = "".join(self.parts)
        if self.dropped:
            out += f"\n[... {self.dropped} more characters of output dropped by the grader]\n"
        return out


def student_frames(err: BaseException, skip: int = 1) -> str:
    """The last 3 frames of ``err``'s traceback after the first ``skip`` (the caller's own), one line each."""
    frames = traceback.extract_tb(err.__traceback__)[skip:]
    return "\n".join(f"  line {f.lineno} in {f.name}: {(f.line or '').strip()}" for f in frames[-3:])[:2000]


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed message."""


class Timeout(Exception):
    """No complete message arrived before the deadline."""


class Closed(Exception):
    """The other side closed the channel (it exited or died)."""


# -- values -------------------------------------------------------------------------------


def encode(value: Any, buffers: list[bytes], keep: Any = None, refer: Any = None, depth: int = 0) -> Any:
    """A JSON-able tree for ``value``; array data is appended to ``buffers``.

    A value that is not data becomes ``{"object": type name}``, with ``"handle": keep(value)``
    when ``keep`` is given (the kernel keeps such objects so the grader can pass them back);
    ``refer(value)`` may name a handle to send instead of a value (the grader's side).
    """
    def inner(v: Any) -> Any:
        return encode(v, buffers, keep, refer, depth + 1)

    handle = refer(value) if refer is not None else None
    if handle is not None:
        return {"ref": handle}
    if depth > MAX_DEPTH:
        return {"object": "too deeply nested value"}
    if value is None or isinstance(value, bool | str):
        return value
    if type(value) in (int, float):
        return value
    if isinstance(value, np.ndarray | np.generic) and np.asarray(value).dtype.kind in ARRAY_KINDS:
        arr = np.asarray(value)
        buffers.append(np.ascontiguousarray(arr).tobytes())
        return {"nd": len(buffers) - 1, "dtype": arr.dtype.str, "shape": list(arr.shape),
                "scalar": isinstance(value, np.generic)}
    if type(value) in (list, tuple):
        items = [inner(v) for v in value]
        return items if type(value) is list else {"tuple": items}
    if type(value) is dict and all(isinstance(k, str) for k in value):
        return {"dict": [[k, inner(v)] for k, v in value.items()]}
    described = {"object": type(value).__name__}
    if keep is not None:
        described["handle"] = keep(value)
    return described


class _Budget:
    def __init__(self) -> None:
        self.items = 0

    def take(self) -> None:
        self.items += 1
        if self.items > MAX_ITEMS:
            raise ProtocolError("value has too many items")


def decode(tree: Any, buffers: list[bytes], make_object: Any = None, lookup: Any = None, *,
           _budget: _Budget | None = None, _depth: int = 0) -> Any:
    """The value a tree from :func:`encode` stands for, built from data only.

    ``make_object(type_name, handle)`` makes the stand-in for a value that was not sent;
    ``lookup(handle)`` resolves a ``{"ref": handle}`` (only the kernel accepts those).
    """
    budget = _budget or _Budget()
    budget.take()
    if _depth > MAX_DEPTH + 1:
        raise ProtocolError("value nested too deeply")

    def inner(t: Any) -> Any:
        return decode(t, buffers, make_object, lookup, _budget=budget, _depth=_depth + 1)

    if tree is None or type(tree) in (bool, int, float, str):
        return tree
    if type(tree) is list:
        return [inner(t) for t in tree]
    if type(tree) is not dict:
        raise ProtocolError("malformed value")
    keys = set(tree)
    if keys == {"tuple"} and type(tree["tuple"]) is list:
        return tuple(inner(t) for t in tree["tuple"])
    if keys == {"dict"} and type(tree["dict"]) is list:
        out = {}
        for pair in tree["dict"]:
            if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not str:
                raise ProtocolError("malformed dict")
            out[pair[0]] = inner(pair[1])
        return out
    if keys in ({"object"}, {"object", "handle"}) and type(tree["object"]) is str \
            and type(tree.get("handle", 0)) is int:
        name = tree["object"][:100]
        return make_object(name, tree.get("handle")) if make_object else f"<{name}>"
    if keys == {"ref"} and lookup is not None and type(tree["ref"]) is int:
        return lookup(tree["ref"])
    if keys == {"nd", "dtype", "shape", "scalar"}:
        return _decode_array(tree, buffers)
    raise ProtocolError("malformed value")


def _decode_array(tree: dict, buffers: list[bytes]) -> Any:
    index, shape = tree.get("nd"), tree.get("shape")
    if type(index) is not int or not 0 <= index < len(buffers) or type(shape) is not list \
            or not all(type(n) is int and n >= 0 for n in shape) or len(shape) > 32:
        raise ProtocolError("malformed array")
    try:
        dtype = np.dtype(str(tree.get("dtype")))
    except TypeError:
        raise ProtocolError("unknown dtype") from None
    if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ProtocolError(f"dtype {dtype} not allowed")
    data = buffers[index]
    if math.prod(shape) * dtype.itemsize != len(data):
        raise ProtocolError("array data does not match its shape")
    arr = np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    return arr[()] if tree.get("scalar") is True and arr.ndim == 0 else arr


# -- framing ------------------------------------------------------------------------------


def send(fd: int, header: dict, buffers: list[bytes] = (), deadline: float | None = None) -> None:
    """Write one message; with a ``deadline``, raise :class:`Timeout` when the reader stops reading."""
    body = json.dumps(header, allow_nan=True).encode()
    parts = [HEAD.pack(len(body), len(buffers)), body]
    for buf in buffers:
        parts += [BUFLEN.pack(len(buf)), buf]
    view = memoryview(b"".join(parts))
    while view:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([], [fd], [], wait)[1]:
                raise Timeout()
        try:
            written = os.write(fd, view[:65536] if deadline is not None else view)
        except BrokenPipeError:
            raise Closed() from None
        view = view[written:]


def _read_exactly(fd: int, n: int, deadline: float | None) -> bytes:
    chunks, left = [], n
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise Timeout()
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise Closed()
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv(fd: int, deadline: float | None = None, max_bytes: int = 1 << 62) -> tuple[dict, list[bytes]]:
    """Read one message; ``deadline`` is a ``time.monotonic()`` value (None: wait forever)."""
    size, count = HEAD.unpack(_read_exactly(fd, HEAD.size, deadline))
    if size > max_bytes or count > 4096:
        raise ProtocolError("message too large")
    try:
        header = json.loads(_read_exactly(fd, size, deadline))
    except (ValueError, RecursionError):  # not UTF-8, not JSON, an int of too many digits, too deep
        raise ProtocolError("header is not JSON") from None
    if type(header) is not dict:
        raise ProtocolError("header is not an object")
    total, buffers = size, []
    for _ in range(count):
        (length,) = BUFLEN.unpack(_read_exactly(fd, BUFLEN.size, deadline))
        total += length
        if total > max_bytes:
            raise ProtocolError("message too large")
        buffers.append(_read_exactly(fd, length, deadline))
    return header, buffers
