"""Small helpers for test cells: seeded inputs, checks against hand-computed values, hints."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from lossbook_checks.cases.core import Hint, hints_in

from .checks import describe
from .compare import assert_close
from .failure import CheckFailure
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


@contextmanager
def hint(code: str, message: str) -> Iterator[None]:
    """Add the line ``Hint [code]: message`` to a :class:`CheckFailure` raised inside the block (for
    visible tests): ``code`` names the mistake for the class report (:class:`~lossbook_checks.cases.core.Hint`)."""
    named = Hint(code, message)
    try:
        yield
    except CheckFailure as failure:
        if any(h.code == "not-implemented" for h in hints_in(str(failure))):
            raise  # a stub made no mistake yet: the hint would be counted against it
        raise CheckFailure(f"{failure}\n  {named}") from None


def first_gradient(backward: Callable[..., Any]) -> Callable[..., Any]:
    """A student's backward that returns a tuple, reduced to its first gradient.

    For checks with respect to one input only (e.g. a variance passed as a Python float,
    which has no gradient). Keeps the student's function name for messages.
    """
    @functools.wraps(backward)
    def first(*args: Any, **kwargs: Any) -> Any:
        grads = backward(*args, **kwargs)
        return grads[0] if isinstance(grads, tuple | list) else grads
    return first
