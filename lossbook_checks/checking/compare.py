"""Comparing a student's array with a reference, and saying precisely what is wrong.

A failure names the first worst element, expected vs got, the maximum absolute and
relative errors, how many elements are off, and a hint when the error has a
recognisable shape (a constant factor n: the mean's 1/n; -1: a sign; NaN: overflow).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lossbook_checks.cases.core import Hint

from .failure import CheckFailure
from .student import OpaqueValue

#: (rtol, atol) by dtype of the reference.
TOLERANCES = {np.dtype(np.float64): (1e-6, 1e-9), np.dtype(np.float32): (1e-4, 1e-5)}


def tolerances(dtype: Any) -> tuple[float, float]:
    """Default ``(rtol, atol)`` for a reference of this dtype."""
    return TOLERANCES.get(np.dtype(dtype), TOLERANCES[np.dtype(np.float64)])


def _as_array(got: Any, what: str) -> np.ndarray:
    if got is None:
        raise CheckFailure(f"{what}: returned None. Did you forget `return`?")
    if isinstance(got, OpaqueValue):
        raise CheckFailure(f"{what}: returned a {got.type_name} object; return a numpy array (or a number).")
    if type(got).__module__.startswith("torch"):
        raise CheckFailure(f"{what}: returned a torch object ({type(got).__name__}); return a numpy array.")
    try:
        arr = np.asarray(got)
    except Exception as err:  # noqa: BLE001 - anything unconvertible is the student's error to see
        raise CheckFailure(f"{what}: returned {type(got).__name__}, which is not an array ({err}).") from None
    if arr.dtype.kind not in "fiub":
        raise CheckFailure(f"{what}: returned an array of dtype {arr.dtype}; expected floating-point numbers.")
    return np.asarray(arr, dtype=np.float64)


def _fmt_index(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, index)) + "]" if index else "(the scalar)"


def _constant_factor(got: np.ndarray, expected: np.ndarray) -> float | None:
    mask = np.isfinite(got) & np.isfinite(expected) & (np.abs(expected) > 1e-12)
    if mask.sum() == 0:
        return None
    ratio = got[mask] / expected[mask]
    c = float(np.median(ratio))
    return c if np.allclose(ratio, c, rtol=1e-3, atol=1e-9) else None


def _factor_hint(c: float, mean_of: int | None, distinct: int, rtol: float) -> Hint | None:
    """The mistake a constant factor ``c`` points to; a factor without a known cause only when the reference has
    ``distinct`` >= 2 different values (one number is always "off by a factor") and ``c`` is beyond rounding and
    drift (more than 1 % from 1: closer, a common factor says nothing about the cause)."""
    if np.isclose(c, -1.0, rtol=1e-3):
        return Hint("wrong-sign", "Every element has the right size but the wrong sign: check the sign of each term.")
    if mean_of and mean_of > 1 and np.isclose(c, mean_of, rtol=1e-3):
        return Hint("mean-divisor-missing", f"Off by a factor n = {mean_of}: the mean reduction divides by the "
                                            "number of elements; was the 1/n forgotten?")
    if mean_of and mean_of > 1 and np.isclose(c, 1.0 / mean_of, rtol=1e-3):
        return Hint("mean-divisor-extra",
                    f"Off by a factor 1/n = 1/{mean_of}: dividing by n belongs to reduction='mean' only.")
    if np.isclose(c, 2.0, rtol=1e-3) or np.isclose(c, 0.5, rtol=1e-3):
        return Hint("factor-two", f"Off by a factor {c:g}: check the constant in front (d/dr r^2 = 2r; the 1/2 "
                                  "convention).")
    if np.isclose(c, 0.0, atol=1e-12):
        return Hint("all-zero", "Everything is zero where the reference is not.")
    if distinct >= 2 and abs(c - 1.0) > max(10 * rtol, 1e-2):
        return Hint("constant-factor", f"Off by a constant factor {c:.6g} everywhere.")
    return None


def _covers(mask: np.ndarray, bad: np.ndarray) -> bool:
    """Whether every wrong element lies in ``mask``; a mask of another shape (a note written for the per-element
    loss, read on a reduced one) covers nothing."""
    try:
        return bool(np.broadcast_to(mask, bad.shape)[bad].all())
    except ValueError:
        return False


def assert_close(got: Any, expected: np.ndarray, *, what: str, rtol: float | None = None,
                 atol: float | None = None, mean_of: int | None = None,
                 notes: Sequence[tuple[np.ndarray, Hint]] = (), warnings: Sequence[str] = ()) -> None:
    """Raise :class:`CheckFailure` unless ``got`` equals ``expected`` within tolerance.

    ``expected`` is the reference (shape and dtype define the tolerance). NaN in the
    reference must be NaN in ``got``. ``mean_of`` is the number of elements a mean
    reduction divides by, to recognise a forgotten or misplaced 1/n. Each entry of
    ``notes`` is ``(mask, hint)``: when every wrong element lies in ``mask`` the
    hint is added (e.g. "only at zero residuals: torch's gradient of |r| at 0 is 0"). Every
    hint is a line ``Hint [code]: message`` (:class:`~lossbook_checks.cases.core.Hint`).
    ``warnings`` are the numpy warnings the student's code raised, quoted on failure.
    """
    expected = np.asarray(expected)
    d_rtol, d_atol = tolerances(expected.dtype)
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    arr = _as_array(got, what)
    if arr.shape != expected.shape:
        msg = f"{what}: expected shape {expected.shape}, got shape {arr.shape}."
        if expected.shape == ():
            msg += " A reduced loss ('mean' or 'sum') is a scalar (0-d)."
        elif arr.shape == ():
            msg += " reduction='none' keeps one value per element; a gradient has the shape of its input."
        raise CheckFailure(msg)
    exp = expected.astype(np.float64)
    both_nan = np.isnan(arr) & np.isnan(exp)
    same_inf = np.isinf(exp) & (arr == exp)
    with np.errstate(invalid="ignore"):  # inf - inf where both are the same infinity: masked out
        err = np.where(both_nan | same_inf, 0.0, np.abs(arr - exp))
    err = np.where(np.isnan(err), np.inf, err)
    bad = err > atol + rtol * np.abs(np.nan_to_num(exp, posinf=0.0, neginf=0.0))
    if not bad.any():
        return
    lines = [f"{what}: {int(bad.sum())} of {bad.size} elements differ from the reference."]
    worst = np.unravel_index(int(np.argmax(np.where(bad, err, -1.0))), bad.shape) if bad.ndim else ()
    lines.append(f"  at {_fmt_index(tuple(int(i) for i in worst))}: expected {float(exp[worst]):.10g}, "
                 f"got {float(arr[worst]):.10g}")
    finite = bad & np.isfinite(err)
    if finite.any():
        scale = np.abs(exp[finite])
        with np.errstate(over="ignore"):  # a huge error over a tiny reference is reported as inf
            rel = np.divide(err[finite], scale, out=np.full(scale.shape, np.inf), where=scale > 0)
        lines.append(f"  max abs error {err[finite].max():.3g}, max rel error {rel.max():.3g} "
                     f"(tolerance: rtol={rtol:g}, atol={atol:g})")
    nonfinite = ~np.isfinite(arr) & np.isfinite(exp)
    if nonfinite.any():
        hint = Hint("nan-or-inf", f"got NaN or inf at {int(nonfinite.sum())} element(s) where the reference is "
                                  "finite: the formula overflows or divides by zero for extreme inputs; use a "
                                  "numerically stable form.")
        lines.append(f"  {hint}")
    elif np.isnan(exp).any() and not np.isnan(arr[np.isnan(exp)]).all():
        hint = Hint("nan-expected", "the reference is NaN here (e.g. the mean of an empty array); so should yours be.")
        lines.append(f"  {hint}")
    else:
        c = _constant_factor(arr, exp)
        distinct = np.unique(exp[np.isfinite(exp) & (exp != 0)]).size
        hint = _factor_hint(c, mean_of, distinct, rtol) if c is not None and not np.isclose(c, 1.0) else None
        if hint is None and np.allclose(arr[bad], -exp[bad], rtol=1e-3, atol=atol):
            hint = Hint("sign-where-wrong", "Where wrong, the value has the right size but the opposite sign.")
        if hint:
            lines.append(f"  {hint}")
        for mask, note in notes:
            if _covers(mask, bad):
                lines.append(f"  {note}")
    if warnings:
        lines.append("  numpy warned while running your code: " + "; ".join(warnings))
    raise CheckFailure("\n".join(lines))
