"""Small helpers for test cells: seeded inputs and checks against hand-computed values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .checks import describe
from .compare import assert_close
from .student import call_student


def rng(seed: int) -> np.random.Generator:
    """A seeded generator: hidden tests draw every random input from one of these."""
    return np.random.default_rng(seed)


def check_value(student: Callable[..., Any], inputs: Mapping[str, Any], options: Mapping[str, Any] | None,
                expected: Any, *, rtol: float = 1e-7, atol: float = 1e-12) -> None:
    """``student(**inputs, **options)`` must equal a value worked out by hand (a visible test)."""
    options = dict(options or {})
    what = describe(getattr(student, "__name__", "function"), inputs, options)
    result = call_student(student, **inputs, **options, what=what)
    assert_close(result.value, np.asarray(expected, dtype=np.float64), what=what, rtol=rtol, atol=atol,
                 warnings=result.warnings)
