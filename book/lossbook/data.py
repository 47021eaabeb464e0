"""Seeded synthetic data sets for the experiments (no downloads: everything is generated)."""

from __future__ import annotations

import numpy as np


def line_with_outliers(n: int = 60, outlier_fraction: float = 0.1, slope: float = 2.0, intercept: float = 1.0,
                       noise: float = 0.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points ``y = slope x + intercept + noise`` on [0, 5], with a fraction pushed far up.

    Returns ``(x, y, is_outlier)``, each of shape (n,).
    """
    gen = np.random.default_rng(seed)
    x = np.sort(gen.uniform(0.0, 5.0, n))
    y = slope * x + intercept + gen.normal(0.0, noise, n)
    is_outlier = np.zeros(n, dtype=bool)
    is_outlier[gen.choice(n, int(round(outlier_fraction * n)), replace=False)] = True
    y[is_outlier] += gen.uniform(15.0, 25.0, is_outlier.sum())
    return x, y, is_outlier


def heteroscedastic(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``y = sin(x) + (0.1 + 0.3 x) * eps`` on x in [0, 5] with skewed (gamma) noise; shapes (n,)."""
    gen = np.random.default_rng(seed)
    x = np.sort(gen.uniform(0.0, 5.0, n))
    eps = gen.gamma(2.0, 1.0, n) - 2.0
    return x, np.sin(x) + (0.1 + 0.3 * x) * eps
