"""Closed forms for the ELBO page (chapter 1): Gaussian KL divergences and a linear Gaussian latent model.

All functions are elementwise in numpy and broadcast their arguments.
"""

from __future__ import annotations

import numpy as np

ArrayLike = np.ndarray | float


def gaussian_kl(mu: ArrayLike, sigma: ArrayLike, m: ArrayLike, s: ArrayLike) -> np.ndarray:
    """KL(N(mu, sigma^2) || N(m, s^2)) = log(s/sigma) + (sigma^2 + (mu - m)^2) / (2 s^2) - 1/2, elementwise."""
    mu, sigma, m, s = (np.asarray(a, dtype=np.float64) for a in (mu, sigma, m, s))
    return np.log(s / sigma) + (sigma**2 + (mu - m) ** 2) / (2 * s**2) - 0.5


def linear_gaussian_evidence(x: ArrayLike, w: float, tau: float) -> np.ndarray:
    """log p(x) for z ~ N(0, 1), x | z ~ N(w z, tau^2): the log-density of N(0, w^2 + tau^2) at x."""
    variance = w**2 + tau**2
    return -0.5 * np.log(2 * np.pi * variance) - np.asarray(x, dtype=np.float64) ** 2 / (2 * variance)


def linear_gaussian_elbo(mu: ArrayLike, sigma: ArrayLike, x: ArrayLike, w: float, tau: float) -> np.ndarray:
    """ELBO of q = N(mu, sigma^2) for the model z ~ N(0, 1), x | z ~ N(w z, tau^2), in closed form.

    E_q[log p(x | z)] = -log(2 pi tau^2)/2 - ((x - w mu)^2 + w^2 sigma^2) / (2 tau^2), minus KL(q || N(0, 1)).
    """
    mu, sigma, x = (np.asarray(a, dtype=np.float64) for a in (mu, sigma, x))
    reconstruction = -0.5 * np.log(2 * np.pi * tau**2) - ((x - w * mu) ** 2 + w**2 * sigma**2) / (2 * tau**2)
    return reconstruction - gaussian_kl(mu, sigma, 0.0, 1.0)
