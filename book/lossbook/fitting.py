"""Fitting small models by full-batch gradient descent in torch, for the experiments."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch


def polynomial_features(x: np.ndarray, degree: int) -> torch.Tensor:
    """Columns ``1, x, ..., x**degree`` of ``x`` (shape (n,)) as a float64 tensor of shape (n, degree+1)."""
    return torch.tensor(np.vander(np.asarray(x, dtype=np.float64), degree + 1, increasing=True))


def fit_linear(features: torch.Tensor, y: np.ndarray, loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
               steps: int = 3000, lr: float = 0.1, decay: float = 300.0) -> np.ndarray:
    """Weights ``w`` (shape (d,)) minimising ``loss(features @ w, y)`` by gradient descent.

    The step size is ``lr / (1 + t / decay)`` at step ``t``: decaying steps let subgradient
    descent on non-smooth losses (absolute, pinball) converge too. Features should be on a
    unit scale for the default ``lr``.
    """
    target = torch.tensor(np.asarray(y, dtype=np.float64))
    w = torch.zeros(features.shape[1], dtype=torch.float64, requires_grad=True)
    for t in range(steps):
        value = loss(features @ w, target)
        (grad,) = torch.autograd.grad(value, w)
        with torch.no_grad():
            w -= lr / (1.0 + t / decay) * grad
    return w.detach().numpy()
