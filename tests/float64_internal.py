"""A correct implementation that computes in float64 inside, for the float32 fairness tests.

:func:`in_float64` turns an instructor solution into one that receives float32 arrays, computes in float64 and
returns float32 again (as a careful student may do); :func:`run_test_cells` runs an assignment's test cells,
hidden tests included, on such replacements: every case the grader runs must accept them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
from grading_helpers import solutions, test_cells


def _is_float32(value: Any) -> bool:
    return isinstance(value, np.ndarray | np.floating) and value.dtype == np.float32


def _convert(value: Any, dtype: type) -> Any:
    """``value`` with every float32 (to float64) or float64 (back to float32) array inside lists, tuples and dicts."""
    if isinstance(value, np.ndarray | np.floating) and value.dtype.kind == "f":
        return np.asarray(value, dtype=dtype) if isinstance(value, np.ndarray) else dtype(value)
    if isinstance(value, list | tuple):
        return type(value)(_convert(v, dtype) for v in value)
    if isinstance(value, dict):
        return {k: _convert(v, dtype) for k, v in value.items()}
    return value


def _has_float32(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return any(_has_float32(v) for v in value)
    if isinstance(value, dict):
        return any(_has_float32(v) for v in value.values())
    return _is_float32(value)


def in_float64(fn: Callable[..., Any], keep: tuple[str, ...] = ()) -> Callable[..., Any]:
    """``fn`` computing in float64 when any argument holds float32 arrays, its result returned in float32
    (arguments named in ``keep``, e.g. an optimiser's state, pass through unchanged both ways)."""
    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        single = _has_float32(list(args) + [v for k, v in kwargs.items() if k not in keep])
        if not single:
            return fn(*args, **kwargs)
        result = fn(*_convert(list(args), np.float64),
                    **{k: v if k in keep else _convert(v, np.float64) for k, v in kwargs.items()})
        if keep and isinstance(result, tuple) and len(result) == 2:  # (new_params, new_state): the state stays float64
            return _convert(result[0], np.float32), result[1]
        return _convert(result, np.float32)
    return run


def run_test_cells(assignment: str, replace: Callable[[str, Callable[..., Any]], Callable[..., Any]],
                   names: set[str]) -> list[str]:
    """Run every test cell of ``assignment`` (hidden tests included) with each solution function in ``names``
    replaced by ``replace(name, function)``; return the grade ids of the cells that passed."""
    namespace = solutions(assignment)
    for name in names:
        namespace[name] = replace(name, namespace[name])
    passed = []
    for grade_id, source in test_cells(assignment).items():
        exec(compile(source, f"<{assignment}: {grade_id}>", "exec"), namespace)  # noqa: S102
        passed.append(grade_id)
    return passed
