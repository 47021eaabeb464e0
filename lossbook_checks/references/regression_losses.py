"""References for the ``regression_losses`` assignment.

``mse``, ``mae`` and ``huber`` are ``torch.nn.functional``'s own losses. Torch has no
log-cosh or quantile loss, so those are torch expressions chosen so that autograd
gives the gradient the exercise asks for:

- log-cosh: ``|r| + softplus(-2|r|) - log 2``, finite for any residual; gradient ``tanh(r)``.
- quantile (pinball): ``|r|/2 + (tau - 1/2) r`` with ``r = target - input``, equal to
  ``max(tau r, (tau - 1) r)``; at ``r = 0`` its gradient w.r.t. the input is ``1/2 - tau``
  (the midpoint of the subdifferential, as torch's ``l1_loss`` takes 0 for ``|r|``).
"""

from __future__ import annotations

import math

from lossbook_checks.optional_torch import F, torch

from .reduction import apply_reduction


def mse(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """``F.mse_loss``."""
    return F.mse_loss(input, target, reduction=reduction)


def mae(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """``F.l1_loss``: its gradient at a zero residual is 0."""
    return F.l1_loss(input, target, reduction=reduction)


def huber(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean", delta: float = 1.0) -> torch.Tensor:
    """``F.huber_loss``."""
    return F.huber_loss(input, target, reduction=reduction, delta=delta)


def log_cosh(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """``log(cosh(input - target))`` in a form that cannot overflow."""
    r = (input - target).abs()
    return apply_reduction(r + F.softplus(-2.0 * r) - math.log(2.0), reduction)


def quantile(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean", tau: float = 0.5) -> torch.Tensor:
    """Pinball loss of the residual ``target - input`` at quantile level ``tau``."""
    r = target - input
    return apply_reduction(0.5 * r.abs() + (tau - 0.5) * r, reduction)
