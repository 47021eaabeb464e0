"""Checks that a formula stated on a page is true; each raises AssertionError if not.

A failing check fails the page's execution and therefore the book build.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch


def autograd_derivative(f: Callable[[torch.Tensor], torch.Tensor], x: np.ndarray) -> np.ndarray:
    """Elementwise derivative of an elementwise torch function ``f`` at the points ``x`` (float64)."""
    t = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    (grad,) = torch.autograd.grad(f(t).sum(), t)
    return grad.numpy()


def check_derivative(name: str, f: Callable[[torch.Tensor], torch.Tensor],
                     formula: Callable[[np.ndarray], np.ndarray], x: np.ndarray,
                     rtol: float = 1e-9, atol: float = 1e-12) -> None:
    """Assert that ``formula(x)`` is the derivative torch's autograd computes for ``f`` at ``x``.

    Prints one line saying what was checked, so the page shows the evidence.
    """
    x = np.asarray(x, dtype=np.float64)
    expected = autograd_derivative(f, x)
    stated = np.asarray(formula(x), dtype=np.float64)
    err = np.abs(expected - stated)
    worst = int(np.argmax(err)) if err.size else 0
    assert np.allclose(stated, expected, rtol=rtol, atol=atol), (
        f"{name}: the stated derivative is wrong at x={x.ravel()[worst]!r}: "
        f"formula {stated.ravel()[worst]!r}, autograd {expected.ravel()[worst]!r}")
    print(f"checked: {name} at {x.size} points (max abs difference from autograd {err.max(initial=0.0):.1e})")


def check_close(name: str, stated: np.ndarray | float, computed: np.ndarray | float,
                rtol: float = 1e-9, atol: float = 1e-12) -> None:
    """Assert that a stated value or identity holds numerically; print what was checked."""
    stated_arr, computed_arr = np.asarray(stated, dtype=np.float64), np.asarray(computed, dtype=np.float64)
    assert np.allclose(stated_arr, computed_arr, rtol=rtol, atol=atol, equal_nan=True), (
        f"{name}: stated {stated_arr!r} but computed {computed_arr!r}")
    diff = np.abs(stated_arr - computed_arr)
    print(f"checked: {name} (max abs difference {np.nanmax(diff, initial=0.0):.1e})")


def check_true(name: str, condition: bool | np.bool_) -> None:
    """Assert a stated inequality or property; print what was checked."""
    assert bool(condition), f"{name}: does not hold"
    print(f"checked: {name}")
