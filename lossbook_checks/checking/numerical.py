"""Finite-difference gradients and the relative error used to judge them."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of a scalar function ``f`` at ``x`` (any shape, float64).

    ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` for every element ``i``; the
    truncation error is O(eps^2). ``x`` is restored before returning.
    """
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        f_plus = float(f(x))
        flat[i] = old - eps
        f_minus = float(f(x))
        flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """``max |a - b| / max(|a| + |b|)``, 0 when both are zero: scale-free, symmetric."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    denom = float(np.max(np.abs(a) + np.abs(b), initial=0.0))
    return 0.0 if denom == 0.0 else float(np.max(np.abs(a - b), initial=0.0)) / denom
