"""The reference cache: each reference value computed once per grading process, reused for every submission.

The hidden tests are the same for every student (same seeds, same cases, same references), so the values
torch computes for them are the same too. :func:`computed` is the one place where a live reference value
is computed (:func:`lossbook_checks.checking.record.reference_value` calls it): the first submission of a
batch computes each value, every later submission that the same process grades reads it back. Each
``--jobs`` worker and each Dask worker process fills its own cache, lazily, from its first submission.

A value is found by a content hash (:func:`identity`) of

- the computation: its description ``what`` (``"forward <reference>"``, ``"trajectory <optimiser>"``...)
  and ``args``, everything it depends on, by exact content (arrays by dtype, shape and bytes; Python
  numbers by ``repr``), the contract that the record of visible values already relies on;
- the callables the computation closes over, by module and qualified name (``compute``'s closure,
  and the closures of the course's own functions inside it): a callable from outside the course's
  package and torch (a student's function, a lambda of a test cell) makes the value uncacheable,
  and it is computed every time;
- the code: a hash of every source file of ``lossbook_checks`` (the references, the computations,
  their helpers), torch's version and commit, and the device the reference runs on.

So a changed case, option, reference or torch never reuses a stale value. A value goes in and comes
out as a deep copy (a check that writes into its expected array harms no other submission). An error
that torch raises (:data:`lossbook_checks.checking.record.RECORDED_ERRORS`) is cached too and raised
again as a new exception of the same type and message. ``LOSSBOOK_REFERENCE_CACHE=0`` turns the
cache off (every value computed live, as before). At most :data:`MAX_BYTES` of values are kept.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import inspect
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from lossbook_checks.optional_torch import HAS_TORCH, torch

T = TypeVar("T")
PACKAGE = Path(__file__).resolve().parent.parent
#: Modules whose callables are named by module and qualified name (their code is in the key).
NAMED_MODULES = ("lossbook_checks", "torch")
#: The most bytes of values one process keeps; beyond it, new values are computed every time.
MAX_BYTES = 512 * 2**20

_values: dict[str, tuple[str, Any]] = {}  # identity -> ("value", value) or ("raises", exception)
_stored_bytes = 0
_stats = {"hits": 0, "misses": 0, "uncacheable": 0}
_observer: Callable[[str, Callable[[], Any]], None] | None = None  # see observed()


def enabled() -> bool:
    """Whether the cache is on (``LOSSBOOK_REFERENCE_CACHE`` unset, or anything but ``0``)."""
    return os.environ.get("LOSSBOOK_REFERENCE_CACHE", "1") != "0"


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Compute every value live inside the block (the cache is neither read nor filled)."""
    previous = os.environ.get("LOSSBOOK_REFERENCE_CACHE")
    os.environ["LOSSBOOK_REFERENCE_CACHE"] = "0"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["LOSSBOOK_REFERENCE_CACHE"]
        else:
            os.environ["LOSSBOOK_REFERENCE_CACHE"] = previous


@contextlib.contextmanager
def observed(observer: Callable[[str, Callable[[], Any]], None]) -> Iterator[None]:
    """Inside the block, ``observer(what, compute)`` sees every live reference computation before it is
    computed or read back (``make gpu-check`` runs each one on two devices)."""
    global _observer
    previous, _observer = _observer, observer
    try:
        yield
    finally:
        _observer = previous


def clear() -> None:
    """Forget every value (and the counts of :func:`stats`)."""
    global _stored_bytes
    _values.clear()
    _stored_bytes = 0
    _stats.update(hits=0, misses=0, uncacheable=0)


def stats() -> dict[str, int]:
    """How many values were read back (``hits``), computed and kept (``misses``), computed uncacheable,
    and how many are kept now (``entries``)."""
    return {**_stats, "entries": len(_values)}


@functools.cache
def code_identity() -> str:
    """A hash of every source file of ``lossbook_checks``, torch's version, commit and CUDA version."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    if HAS_TORCH:
        digest.update(f"{torch.__version__} {torch.version.git_version} {torch.version.cuda}".encode())
    return digest.hexdigest()


def callable_name(fn: Any) -> str | None:
    """``module.qualname`` of a callable of :data:`NAMED_MODULES` (a function, class or builtin), else None."""
    if isinstance(fn, functools.partial):
        return None
    qualname = getattr(fn, "__qualname__", None)
    if qualname is None or _package(fn) not in NAMED_MODULES:
        return None
    return f"{_module(fn)}.{qualname}"


def _module(fn: Any) -> str:
    return getattr(fn, "__module__", None) or getattr(getattr(fn, "__self__", None), "__name__", None) or ""


def _package(fn: Any) -> str:
    return _module(fn).partition(".")[0]


def closed_over(fn: Callable[..., Any], data_allowed: bool = True) -> list[str] | None:
    """The names (:func:`callable_name`) of the callables ``fn``'s closure holds, recursively through the
    closures of the course's functions; None when one cannot be named, or when a nested closure holds data
    (which ``args`` need not describe). ``data_allowed``: data in ``fn``'s own closure is described by
    ``args`` (the contract of :func:`lossbook_checks.checking.record.reference_value`)."""
    names: list[str] = []
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            content = cell.cell_contents
        except ValueError:  # an empty cell: a name bound later, e.g. the function itself
            continue
        if not callable(content):  # data
            if not data_allowed:
                return None
            continue
        name = callable_name(content)
        if name is None:
            return None
        names.append(name)
        if inspect.isfunction(content) and _package(content) == "lossbook_checks":
            inner = closed_over(content, data_allowed=False)
            if inner is None:
                return None
            names += inner
    return names


def identity(what: str, args: Any, compute: Callable[[], Any]) -> str | None:
    """The content hash a value is kept under (see the module docstring), or None if it cannot be cached."""
    from .reference import device  # here: reference imports record, which imports this module

    callables = closed_over(compute)
    if callables is None or callable_name(compute) is None:
        return None
    digest = hashlib.sha256("\0".join([code_identity(), str(device()), callable_name(compute), *callables, what,
                                       ""]).encode())
    try:
        _feed(digest, args)
    except TypeError:  # an argument without an exact description
        return None
    return digest.hexdigest()


def _feed(digest: Any, value: Any) -> None:
    """Add ``value``'s exact content to ``digest``: arrays (and numpy scalars) by type, dtype, shape and bytes;
    Python scalars by type and ``repr`` (exact for floats); lists and tuples by length then item by item, dicts
    by length then key and value, in order. Each part is self-delimiting, so the whole is too."""
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise TypeError("an object array has no exact content")
        digest.update(f"{type(value).__name__} {array.dtype.str} {array.shape}\0".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    elif isinstance(value, bool | int | float | str) or value is None:
        digest.update(f"{type(value).__name__} {value!r}\0".encode())
    elif isinstance(value, list | tuple):
        digest.update(f"{type(value).__name__} {len(value)}\0".encode())
        for item in value:
            _feed(digest, item)
    elif isinstance(value, dict):
        digest.update(f"{type(value).__name__} {len(value)}\0".encode())
        for key, item in value.items():
            _feed(digest, key)
            _feed(digest, item)
    else:
        raise TypeError(f"no exact description of a {type(value).__name__}")


def computed(what: str, args: Any, compute: Callable[[], T], errors: tuple[type[Exception], ...]) -> T:
    """``compute()``, or the copy of its value kept from an earlier call with the same :func:`identity`.
    An error of ``errors`` is kept as well, and raised again as a new exception."""
    if _observer is not None:
        _observer(what, compute)
    key = identity(what, args, compute) if enabled() else None
    if key is None:
        _stats["uncacheable"] += enabled()
        return compute()
    if key in _values:
        _stats["hits"] += 1
        kind, kept = _values[key]
        if kind == "raises":
            raise copy.copy(kept)
        return _copy(kept)
    _stats["misses"] += 1
    try:
        value = compute()
    except errors as error:
        again = copy.copy(error)
        if type(again) is type(error) and str(again) == str(error):
            _keep(key, "raises", again.with_traceback(None))
        raise
    _keep(key, "value", _copy(value))
    return value


def _keep(key: str, kind: str, value: Any) -> None:
    global _stored_bytes
    size = _size(value)
    if _stored_bytes + size <= MAX_BYTES:
        _values[key] = (kind, value)
        _stored_bytes += size


def _size(value: Any) -> int:
    """Roughly the bytes ``value`` holds: its arrays' data, 64 for anything else."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, list | tuple):
        return 64 + sum(_size(v) for v in value)
    if isinstance(value, dict):
        return 64 + sum(_size(v) for v in value.values())
    return 64


def _copy(value: Any) -> Any:
    """A deep copy of a reference value: new arrays, lists, tuples and dicts; anything else by ``copy.deepcopy``."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list | tuple) and type(value) in (list, tuple):
        return type(value)(_copy(v) for v in value)
    if type(value) is dict:
        return {k: _copy(v) for k, v in value.items()}
    return copy.deepcopy(value)
