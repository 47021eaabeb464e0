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

Keys are a hash of ``what`` and ``args`` (array bytes, dtypes and shapes included), so a value is
found only for exactly the inputs it was computed on. Nothing of the hidden tests is recorded:
the released notebooks do not contain them.
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

from .failure import CheckFailure

RECORDED = Path(__file__).resolve().parent.parent / "recorded"
FORMAT = 1
#: The errors a reference may raise that a check expects (torch rejecting a call), recorded and raised again.
RECORDED_ERRORS = (RuntimeError, ValueError, IndexError)

T = TypeVar("T")
_recording: dict[str, dict[str, Any]] | None = None
_loaded: dict[str, dict[str, Any]] | None = None


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


def key(what: str, args: Any) -> str:
    """The record's key of a computation: a hash of its description and everything it depends on."""
    text = json.dumps([what, encode(args)], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def reference_name(reference: Any) -> str:
    """A stable name of a reference: ``module.qualname`` for the course's, the bare name for torch's own."""
    module = getattr(reference, "__module__", "") or ""
    if module.startswith("lossbook_checks"):
        return f"{module}.{reference.__qualname__}"
    return getattr(reference, "__name__", type(reference).__name__)


@contextlib.contextmanager
def recording() -> Iterator[dict[str, dict[str, Any]]]:
    """Keep every value computed live inside the block: ``{key: {"what": ..., "value": encoded}}``."""
    global _recording
    previous, _recording = _recording, {}
    try:
        yield _recording
    finally:
        _recording = previous


def recording_active() -> bool:
    """Whether a :func:`recording` block is open (references then run on the CPU, for a reproducible record)."""
    return _recording is not None


def _record() -> dict[str, dict[str, Any]]:
    """Every shipped record, merged (read once)."""
    global _loaded
    if _loaded is None:
        _loaded = {}
        for path in sorted(RECORDED.glob("*.json")):
            _loaded.update(json.loads(path.read_text())["values"])
    return _loaded


def reference_value(what: str, args: Any, compute: Callable[[], T]) -> T:
    """``compute()`` when torch is live (kept inside :func:`recording`), else the recorded value.

    An error of :data:`RECORDED_ERRORS` that ``compute`` raises is recorded, and raised again either way.
    """
    entry_key = key(what, args)
    if not live():
        entry = _record().get(entry_key)
        if entry is None:
            raise CheckFailure(f"No recorded reference value for {what} on these inputs: the values recorded with "
                               f"the package cover the visible tests as released ({INSTALL_TORCH}).")
        value = decode(entry["value"])
        if isinstance(value, Exception):
            raise value
        return value
    try:
        value = compute()
    except RECORDED_ERRORS as error:
        _keep(entry_key, what, error)
        raise
    _keep(entry_key, what, value)
    return value


def _keep(entry_key: str, what: str, value: Any) -> None:
    if _recording is None:
        return
    encoded = encode(value)
    kept = _recording.setdefault(entry_key, {"what": what, "value": encoded})
    if kept["value"] != encoded:
        raise ValueError(f"two different values recorded for {what} on the same inputs")


def write(path: Path, values: Mapping[str, dict[str, Any]], torch_version: str) -> None:
    """Write a record file: the values sorted by key, one per line (small diffs when they change)."""
    lines = [json.dumps(k) + ": " + json.dumps(values[k], sort_keys=True) for k in sorted(values)]
    body = ",\n".join(lines)
    path.write_text(f'{{"format": {FORMAT}, "torch": {json.dumps(torch_version)}, "values": {{\n{body}\n}}}}\n')
