"""The bias-variance experiment of chapter 2: many training sets, one least-squares fit each.

Shapes: ``sets`` training sets of ``n`` points are arrays of shape (sets, n); the predictions of all fits
on ``m`` test inputs form an array of shape (sets, m).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def shrinkage_mse(mu: float, c: float, sigma: float, n: int, draws: int,
                  rng: np.random.Generator) -> tuple[float, float]:
    """Mean squared error of ``c * mean(y)`` as an estimate of ``mu``, for ``n`` draws of N(mu, sigma^2).

    Returns (bias^2 + variance computed exactly, the same quantity estimated from ``draws`` simulated data sets).
    """
    exact = ((c - 1) * mu) ** 2 + c**2 * sigma**2 / n
    estimates = c * rng.normal(mu, sigma, size=(draws, n)).mean(axis=1)
    return exact, float(np.mean((estimates - mu) ** 2))


def training_sets(f: Callable[[np.ndarray], np.ndarray], n: int, sets: int, sigma: float,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``sets`` training sets at the same ``n`` evenly spaced inputs on [-1, 1], y = f(x) + N(0, sigma^2).

    Both arrays have shape (sets, n): the inputs are fixed (a fixed design), only the noise is drawn anew.
    """
    x = np.broadcast_to(np.linspace(-1, 1, n), (sets, n))
    return x, f(x) + sigma * rng.standard_normal((sets, n))


def fit_predict_polynomials(x: np.ndarray, y: np.ndarray, x_test: np.ndarray, degree: int,
                            ridge: float = 0.0) -> np.ndarray:
    """Fit one polynomial of ``degree`` per training set by (ridge-penalised) least squares; predict at ``x_test``.

    ``x`` and ``y`` have shape (sets, n), ``x_test`` shape (m,); the result has shape (sets, m). The basis is
    Legendre polynomials on [-1, 1] (well conditioned up to high degrees); ``ridge`` adds
    ``ridge * ||w||^2`` to the sum of squared residuals (0: plain least squares).
    """
    A = np.polynomial.legendre.legvander(x, degree)                     # (sets, n, degree+1)
    gram = A.transpose(0, 2, 1) @ A + ridge * np.eye(degree + 1)
    w = np.linalg.solve(gram, (A.transpose(0, 2, 1) @ y[..., None]))[..., 0]
    return w @ np.polynomial.legendre.legvander(x_test, degree).T


@dataclass(frozen=True)
class Decomposition:
    """The three terms of the expected squared error, each averaged over the test inputs."""

    bias2: float
    variance: float
    noise: float
    expected_error: float


def decompose(predictions: np.ndarray, f_test: np.ndarray, sigma: float) -> Decomposition:
    """Split the expected squared error of ``predictions`` (sets, m) against y = f + noise at the test inputs.

    ``expected_error`` = mean over sets and test inputs of (prediction - f)^2, plus sigma^2: the error against a
    noisy target, with the expectation over the test noise taken exactly. The averages over training sets are
    the empirical ones, so ``bias2 + variance + noise == expected_error`` up to rounding.
    """
    average_fit = predictions.mean(axis=0)
    return Decomposition(bias2=float(np.mean((average_fit - f_test) ** 2)),
                         variance=float(np.mean((predictions - average_fit) ** 2)),
                         noise=sigma**2,
                         expected_error=float(np.mean((predictions - f_test) ** 2) + sigma**2))
