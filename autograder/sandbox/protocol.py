"""The wire format between the grader and the sandboxed kernel, and the value codec.

A message is ``>II`` (length of a JSON header, number of buffers), the UTF-8 JSON header,
the length of each buffer as ``>Q``, then the buffers' bytes one after the other (so that a
message of many small arrays takes four reads, not two per array). Values cross as JSON trees whose dicts are tagged
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

import functools
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
ARRAY_KINDS = "biufc"
MAX_DEPTH = 32
MAX_ITEMS = 100_000
MAX_BUFFERS = 4096  # array buffers in one message
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


def encode(value: Any, buffers: list[bytes], keep: Any = None, refer: Any = None) -> Any:
    """A JSON-able tree for ``value``; array data is appended to ``buffers``.

    A value that is not data becomes ``{"object": type name}``, with ``"handle": keep(value)``
    when ``keep`` is given (the kernel keeps such objects so the grader can pass them back);
    ``refer(value)`` may name a handle to send instead of a value (the grader's side).
    """
    return _Encoder(buffers, keep, refer).tree(value, 0)


class _Encoder:
    def __init__(self, buffers: list[bytes], keep: Any, refer: Any) -> None:
        self.buffers, self.keep, self.refer = buffers, keep, refer

    def tree(self, value: Any, depth: int) -> Any:
        if self.refer is not None:
            handle = self.refer(value)
            if handle is not None:
                return {"ref": handle}
        if depth > MAX_DEPTH:
            return {"object": "too deeply nested value"}
        kind = type(value)
        if value is None or kind in (int, float, bool, str) or isinstance(value, str):
            return value
        if isinstance(value, np.ndarray | np.generic):
            arr = np.asarray(value)
            if arr.dtype.kind in ARRAY_KINDS:
                self.buffers.append(arr.tobytes())  # C order, whatever the array's own
                return {"nd": len(self.buffers) - 1, "dtype": arr.dtype.str, "shape": list(arr.shape),
                        "scalar": kind is not np.ndarray and isinstance(value, np.generic)}
        elif kind is list:
            return [self.tree(v, depth + 1) for v in value]
        elif kind is tuple:
            return {"tuple": [self.tree(v, depth + 1) for v in value]}
        elif kind is dict and all(isinstance(k, str) for k in value):
            return {"dict": [[k, self.tree(v, depth + 1)] for k, v in value.items()]}
        described = {"object": kind.__name__}
        if self.keep is not None:
            described["handle"] = self.keep(value)
        return described


def decode(tree: Any, buffers: list[bytes], make_object: Any = None, lookup: Any = None) -> Any:
    """The value a tree from :func:`encode` stands for, built from data only.

    ``make_object(type_name, handle)`` makes the stand-in for a value that was not sent;
    ``lookup(handle)`` resolves a ``{"ref": handle}`` (only the kernel accepts those).
    """
    return _Decoder(buffers, make_object, lookup).value(tree, 0)


_ARRAY_KEYS = frozenset({"nd", "dtype", "shape", "scalar"})


class _Decoder:
    def __init__(self, buffers: list[bytes], make_object: Any, lookup: Any) -> None:
        self.buffers, self.make_object, self.lookup, self.items = buffers, make_object, lookup, 0

    def value(self, tree: Any, depth: int) -> Any:
        self.items += 1
        if self.items > MAX_ITEMS:
            raise ProtocolError("value has too many items")
        if depth > MAX_DEPTH + 1:
            raise ProtocolError("value nested too deeply")
        kind = type(tree)
        if tree is None or kind in (bool, int, float, str):
            return tree
        if kind is list:
            return [self.value(t, depth + 1) for t in tree]
        if kind is not dict:
            raise ProtocolError("malformed value")
        if len(tree) == 1:
            if type(tree.get("tuple")) is list:
                return tuple(self.value(t, depth + 1) for t in tree["tuple"])
            if type(tree.get("dict")) is list:
                return self._dict(tree["dict"], depth)
            if "ref" in tree and self.lookup is not None and type(tree["ref"]) is int:
                return self.lookup(tree["ref"])
        if "object" in tree and len(tree) == 1 + ("handle" in tree) and type(tree["object"]) is str \
                and type(tree.get("handle", 0)) is int:
            name = tree["object"][:100]
            return self.make_object(name, tree.get("handle")) if self.make_object else f"<{name}>"
        if len(tree) == 4 and tree.keys() == _ARRAY_KEYS:
            return _decode_array(tree, self.buffers)
        raise ProtocolError("malformed value")

    def _dict(self, pairs: list, depth: int) -> dict:
        out = {}
        for pair in pairs:
            if type(pair) is not list or len(pair) != 2 or type(pair[0]) is not str:
                raise ProtocolError("malformed dict")
            out[pair[0]] = self.value(pair[1], depth + 1)
        return out


def round_trip(value: Any) -> Any:
    """What ``decode(encode(value, buffers, keep), buffers, make_object)`` gives on the kernel's side, where
    ``make_object`` returns the object kept under the handle, without building the tree or the bytes: data
    is copied (arrays C-contiguous, str subclasses as str), every other object is itself. Raises
    :class:`ProtocolError` where the grader could not read the value (too many items) or not send it
    back (an object nested too deeply to have a handle). Used by the kernel to make calls ahead."""
    return _RoundTrip().value(value, 0)


class _RoundTrip:
    def __init__(self) -> None:
        self.items = 0

    def value(self, value: Any, depth: int) -> Any:
        self.items += 1
        if self.items > MAX_ITEMS:
            raise ProtocolError("value has too many items")
        if depth > MAX_DEPTH:
            raise ProtocolError("value nested too deeply to be sent back")
        kind = type(value)
        if kind is int and value.bit_length() > 14_000:  # JSON reads at most 4,300 digits
            raise ProtocolError("integer too large")
        if value is None or kind in (bool, int, float, str):
            return value
        if isinstance(value, str):
            return str.__str__(value)
        if isinstance(value, np.ndarray | np.generic):
            arr = np.asarray(value)
            if arr.dtype.kind in ARRAY_KINDS:
                if arr.ndim > 32 or arr.dtype.fields is not None or arr.dtype.subdtype is not None:
                    raise ProtocolError("malformed array")
                arr = arr.copy(order="C")
                return arr[()] if isinstance(value, np.generic) and arr.ndim == 0 else arr
        elif kind is list:
            return [self.value(v, depth + 1) for v in value]
        elif kind is tuple:
            return tuple(self.value(v, depth + 1) for v in value)
        elif kind is dict and all(isinstance(k, str) for k in value):
            return {str.__str__(k): self.value(v, depth + 1) for k, v in value.items()}
        return value


def _decode_array(tree: dict, buffers: list[bytes]) -> Any:
    index, shape = tree["nd"], tree["shape"]
    if type(index) is not int or not 0 <= index < len(buffers) or type(shape) is not list or len(shape) > 32:
        raise ProtocolError("malformed array")
    for n in shape:
        if type(n) is not int or n < 0:
            raise ProtocolError("malformed array")
    try:
        dtype = _dtype(tree["dtype"])
    except TypeError:
        raise ProtocolError("unknown dtype") from None
    if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ProtocolError(f"dtype {dtype} not allowed")
    data = buffers[index]
    if math.prod(shape) * dtype.itemsize != len(data):
        raise ProtocolError("array data does not match its shape")
    arr = np.frombuffer(data, dtype=dtype).reshape(shape).copy()
    return arr[()] if tree["scalar"] is True and arr.ndim == 0 else arr


@functools.lru_cache(maxsize=64)
def _dtype(name: Any) -> np.dtype:
    return np.dtype(str(name))


# -- framing ------------------------------------------------------------------------------


def send(fd: int, header: dict, buffers: list[bytes] = (), deadline: float | None = None) -> None:
    """Write one message; with a ``deadline``, raise :class:`Timeout` when the reader stops reading."""
    body = json.dumps(header, allow_nan=True).encode()
    lengths = struct.pack(f">{len(buffers)}Q", *map(len, buffers))
    view = memoryview(b"".join([HEAD.pack(len(body), len(buffers)), body, lengths, *buffers]))
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


def recv(fd: int, deadline: float | None = None, max_bytes: int = 1 << 62) -> tuple[dict, list[memoryview]]:
    """Read one message; ``deadline`` is a ``time.monotonic()`` value (None: wait forever). The buffers are
    read-only views of one block of bytes."""
    size, count = HEAD.unpack(_read_exactly(fd, HEAD.size, deadline))
    if size > max_bytes or count > MAX_BUFFERS:
        raise ProtocolError("message too large")
    try:
        header = json.loads(_read_exactly(fd, size, deadline))
    except (ValueError, RecursionError):  # not UTF-8, not JSON, an int of too many digits, too deep
        raise ProtocolError("header is not JSON") from None
    if type(header) is not dict:
        raise ProtocolError("header is not an object")
    lengths = struct.unpack(f">{count}Q", _read_exactly(fd, 8 * count, deadline))
    if size + sum(lengths) > max_bytes:
        raise ProtocolError("message too large")
    data, buffers, start = memoryview(_read_exactly(fd, sum(lengths), deadline)), [], 0
    for length in lengths:
        buffers.append(data[start:start + length])
        start += length
    return header, buffers
