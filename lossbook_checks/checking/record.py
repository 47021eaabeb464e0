"""Reference values without torch: recorded when the release is built, read back where torch is missing.

Every value a check takes from PyTorch goes through :func:`reference_value`, with a description of
the computation (``what``: e.g. the reference's name) and everything it depends on (``args``:
arrays, numbers, strings, options). With torch installed the value is computed live; inside
:func:`recording` it is also kept. ``python -m autograder release`` runs each released notebook's
visible tests that way (``autograder/recording.py``) and writes what they computed to
``lossbook_checks/recorded/<assignment>.json``, package data. Without torch (or with the environment
variable ``LOSSBOOK_CHECKS_RECORDED=1``), the value is read from those files: the same comparison, the
same tolerances and the same messages. A computation that torch rejects is recorded as the error it
raised, and raised again.

A computation is found by its key, a hash of ``what`` and of ``args`` with every float array (and
numpy float) replaced by its dtype and shape, and then by its float inputs, which the record keeps:
they must agree to :data:`MATCH_RTOL`. Exact bytes would be too strict: numpy's ``log`` or ``exp``
may differ in the last bit between numpy versions and CPUs, which changes no check's verdict.
Everything else (integers, options, Python numbers written in a test) must be equal. Nothing of the
hidden tests is recorded: the released notebooks do not contain them.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from lossbook_checks.optional_torch import HAS_TORCH, INSTALL_TORCH

from . import cache
from .failure import CheckFailure

RECORDED = Path(__file__).resolve().parent.parent / "recorded"
FORMAT = 1
#: The errors a reference may raise that a check expects (torch rejecting a call), recorded and raised again.
RECORDED_ERRORS = (RuntimeError, ValueError, IndexError)

#: How closely a student's float inputs must agree with the recorded ones, by dtype (0 stays exactly 0).
MATCH_RTOL = {"f8": 1e-12, "f4": 1e-6, "f2": 1e-3}

T = TypeVar("T")
Record = dict[str, list[dict[str, Any]]]   # key -> entries {"what", "inputs" (encoded floats), "value"}
_recording: Record | None = None
_loaded: Record | None = None


def live() -> bool:
    """Whether reference values are computed by torch now (else they are read from the record)."""
    return HAS_TORCH and os.environ.get("LOSSBOOK_CHECKS_RECORDED", "") in ("", "0")


def encode(value: Any) -> Any:
    """``value`` as JSON data, exactly: arrays keep dtype, shape and bytes (little-endian)."""
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        array = array.astype(array.dtype.newbyteorder("<"), copy=False)
        return {"array": array.dtype.str, "shape": list(array.shape),
                "data": base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")}
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, tuple):
        return {"tuple": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, Mapping):
        return {"dict": [[str(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, BaseException):
        return {"raises": type(value).__name__, "message": str(value)}
    raise TypeError(f"cannot record a {type(value).__name__}")


def decode(data: Any) -> Any:
    """The value :func:`encode` made ``data`` of (an error comes back as the exception, not raised)."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "array" in data:
        flat = np.frombuffer(base64.b64decode(data["data"]), dtype=np.dtype(data["array"]))
        return flat.reshape(data["shape"]).astype(np.dtype(data["array"]).newbyteorder("="))
    if "float" in data:
        return float(data["float"])
    if "tuple" in data:
        return tuple(decode(v) for v in data["tuple"])
    if "dict" in data:
        return {k: decode(v) for k, v in data["dict"]}
    error = getattr(builtins, data["raises"], None)
    error = error if isinstance(error, type) and issubclass(error, Exception) else RuntimeError
    return error(data["message"])


def skeleton(args: Any, floats: list[np.ndarray]) -> Any:
    """``args`` with each float (array, numpy or Python float) replaced by its dtype and shape, appended to
    ``floats`` (a Python float as a 0-d float64 array)."""
    if isinstance(args, float) and not isinstance(args, np.generic):
        floats.append(np.asarray(args, dtype=np.float64))
        return {"float": "python"}
    if isinstance(args, np.ndarray | np.generic) and np.asarray(args).dtype.kind == "f":
        floats.append(np.asarray(args))
        return {"floats": np.asarray(args).dtype.str, "shape": list(np.shape(args))}
    if isinstance(args, tuple | list):
        return [type(args).__name__, [skeleton(v, floats) for v in args]]
    if isinstance(args, Mapping):
        return {"dict": [[str(k), skeleton(v, floats)] for k, v in args.items()]}
    return encode(args)


def key(what: str, args: Any) -> tuple[str, list[np.ndarray]]:
    """The record's key of a computation (a hash of its description and of ``args`` without their float
    values), and those float inputs, in order."""
    floats: list[np.ndarray] = []
    text = json.dumps([what, skeleton(args, floats)], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32], floats


def matches(floats: list[np.ndarray], recorded: list[Any]) -> bool:
    """Whether ``floats`` agree with the recorded inputs (encoded) to :data:`MATCH_RTOL`, NaN with NaN."""
    if len(floats) != len(recorded):
        return False
    for got, data in zip(floats, recorded, strict=True):
        kept = decode(data)
        if got.shape != kept.shape or got.dtype != kept.dtype:
            return False
        rtol = MATCH_RTOL.get(got.dtype.str[1:], 0.0)
        if not np.allclose(got, kept, rtol=rtol, atol=0.0, equal_nan=True):
            return False
    return True


def reference_name(reference: Any) -> str:
    """A stable name of a reference: ``module.qualname`` for the course's, the bare name for torch's own."""
    module = getattr(reference, "__module__", "") or ""
    if module.startswith("lossbook_checks"):
        return f"{module}.{reference.__qualname__}"
    return getattr(reference, "__name__", type(reference).__name__)


@contextlib.contextmanager
def recording() -> Iterator[Record]:
    """Keep every value computed live inside the block: ``{key: [{"what", "inputs", "value"}, ...]}``."""
    global _recording
    previous, _recording = _recording, {}
    try:
        yield _recording
    finally:
        _recording = previous


def recording_active() -> bool:
    """Whether a :func:`recording` block is open (references then run on the CPU, for a reproducible record)."""
    return _recording is not None


def _record() -> Record:
    """Every shipped record, merged (read once)."""
    global _loaded
    if _loaded is None:
        _loaded = {}
        for path in sorted(RECORDED.glob("*.json")):
            for entry_key, entries in json.loads(path.read_text())["values"].items():
                _loaded.setdefault(entry_key, []).extend(entries)
    return _loaded


def reference_value(what: str, args: Any, compute: Callable[[], T]) -> T:
    """``compute()`` when torch is live (kept inside :func:`recording`), else the recorded value. Live, a value
    is computed once per process and reused (:mod:`.cache`).

    An error of :data:`RECORDED_ERRORS` that ``compute`` raises is recorded, and raised again either way.
    """
    if not live():
        entry_key, floats = key(what, args)
        entry = next((e for e in _record().get(entry_key, []) if matches(floats, e["inputs"])), None)
        if entry is None:
            raise CheckFailure(f"No recorded reference value for {what} on these inputs: the values recorded with "
                               f"the package cover the visible tests as released ({INSTALL_TORCH}).")
        value = decode(entry["value"])
        if isinstance(value, Exception):
            raise value
        return value
    try:
        value = cache.computed(what, args, compute, RECORDED_ERRORS)
    except RECORDED_ERRORS as error:
        _kept(what, args, error)
        raise
    _kept(what, args, value)
    return value


def _kept(what: str, args: Any, value: Any) -> None:
    """Keep ``value`` inside :func:`recording` (its key is computed only then)."""
    if _recording is not None:
        entry_key, floats = key(what, args)
        _keep(entry_key, what, floats, value)


def _keep(entry_key: str, what: str, floats: list[np.ndarray], value: Any) -> None:
    if _recording is None:
        return
    inputs, encoded = [encode(f) for f in floats], encode(value)
    entries = _recording.setdefault(entry_key, [])
    same = [e for e in entries if e["inputs"] == inputs]
    if same and same[0]["value"] != encoded:
        raise ValueError(f"two different values recorded for {what} on the same inputs")
    if any(matches(floats, e["inputs"]) for e in entries if e["inputs"] != inputs):
        raise ValueError(f"{what}: two recorded inputs agree to MATCH_RTOL; the record could not tell them apart")
    if not same:
        entries.append({"what": what, "inputs": inputs, "value": encoded})


def write(path: Path, values: Record, torch_version: str) -> None:
    """Write a record file: the values sorted by key, one per line (small diffs when they change)."""
    lines = [json.dumps(k) + ": " + json.dumps(values[k], sort_keys=True) for k in sorted(values)]
    body = ",\n".join(lines)
    path.write_text(f'{{"format": {FORMAT}, "torch": {json.dumps(torch_version)}, "values": {{\n{body}\n}}}}\n')
