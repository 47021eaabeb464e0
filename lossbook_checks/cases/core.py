"""Test cases: :class:`Case`, and what every assignment's generators share.

Hidden tests check a function on cases (with ``checking.check_cases``), each drawn from a
generator seeded by the test, so a grade never depends on chance. Every function is also
called once with its defaults (:func:`defaults_case`), which are part of its API: a test
that always passes ``delta`` or ``grad_output`` cannot see a wrong default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SHAPES: tuple[tuple[int, ...], ...] = ((), (1,), (7,), (3, 4), (2, 3, 5), (0,))
DTYPES: tuple[type, ...] = (np.float64, np.float32)
REDUCTIONS: tuple[str, ...] = ("mean", "sum", "none")

#: A mistake code: lowercase words (letters, digits) joined by hyphens, e.g. ``mean-divisor-missing``.
MISTAKE_CODE = r"[a-z0-9]+(?:-[a-z0-9]+)*"
#: How a failure shows a hint: one line ``Hint [code]: message``, also in nbgrader's autograded notebook.
HINT_LINE = re.compile(rf"^[ \t]*Hint \[(?P<code>{MISTAKE_CODE})\]: (?P<message>.*)$", re.MULTILINE)


@dataclass(frozen=True)
class Hint:
    """A named mistake: the diagnosis a check attaches to a failure.

    ``message`` tells the student what is wrong; ``code`` names the diagnosis for the
    instructor's class report (``python -m autograder report``), which counts failures
    by code, not by text: "factor n = 4" and "factor n = 7" are one mistake. A code is
    stable once released; ``str(hint)`` is the line the student sees, ``Hint [code]: message``.
    """

    code: str
    message: str

    def __post_init__(self) -> None:
        if not re.fullmatch(MISTAKE_CODE, self.code):
            raise ValueError(f"mistake code {self.code!r}: lowercase words joined by hyphens")

    def __str__(self) -> str:
        return f"Hint [{self.code}]: {self.message}"


def hints_in(text: str) -> list[Hint]:
    """The hints in a failure's text (a message, or an output of an autograded notebook), in order."""
    return [Hint(m["code"], m["message"]) for m in HINT_LINE.finditer(text)]


@dataclass
class Case:
    """One call of a function under test, and how to judge it.

    ``inputs`` are the arrays (by argument name) and ``options`` the plain keyword
    arguments; an option left out is the function's default, which must equal torch's.
    ``grad_output`` is the upstream gradient a backward receives; ``None`` leaves the
    argument out (the student's default must then be 1, as for ``loss.backward()``).
    ``mean_of`` is n of a mean reduction (to recognise a forgotten 1/n), ``notes`` are
    ``(mask, hint)`` pairs shown when every wrong element lies in the mask, and ``rtol``/
    ``atol`` override the tolerance of the reference's dtype (``None``: the default).
    """

    inputs: dict[str, np.ndarray]
    options: dict[str, Any]
    grad_output: Any = None
    mean_of: int | None = None
    notes: list[tuple[np.ndarray, Hint]] = field(default_factory=list)
    rtol: float | None = None
    atol: float | None = None


def grad_output(gen: np.random.Generator, shape: tuple[int, ...], reduction: str, dtype: type) -> Any:
    """A seeded upstream gradient: an array shaped like the loss for "none", else a scalar in [0.5, 2)."""
    if reduction == "none":
        return gen.uniform(-2.0, 2.0, size=shape).astype(dtype)
    return dtype(gen.uniform(0.5, 2.0))


def defaults_case(inputs: Mapping[str, Any], grad_output: Any = None, *, mean_of: int | None = None) -> Case:
    """The call with every option left out, compared with torch called with torch's defaults.

    ``grad_output`` is left out too (``None``) unless the function requires it.
    """
    return Case(dict(inputs), {}, grad_output, mean_of)
