"""References for the ``optimizers`` assignment.

The optimisers and schedulers are torch's own classes (``torch.optim``,
``torch.optim.lr_scheduler``); the grader runs them on the same gradients as the student
(:mod:`lossbook_checks.checking.optimizers`). ``newton_step`` is the damped Newton step in
torch, and ``OBJECTIVES`` are the twice-differentiable functions whose gradients and
Hessians ``torch.func`` computes for the Newton iterations.
"""

from __future__ import annotations

from lossbook_checks.optional_torch import F, torch

sgd = torch.optim.SGD
rmsprop = torch.optim.RMSprop
adagrad = torch.optim.Adagrad
adam = torch.optim.Adam
adamw = torch.optim.AdamW
cosine_annealing = torch.optim.lr_scheduler.CosineAnnealingLR
linear_warmup = torch.optim.lr_scheduler.LinearLR


def newton_step(params: torch.Tensor, grad: torch.Tensor, hessian: torch.Tensor, lr: float = 1.0,
                damping: float = 0.0) -> torch.Tensor:
    """``params - lr * (hessian + damping I)^{-1} grad`` for ``params`` and ``grad`` of shape (n,)."""
    eye = torch.eye(params.shape[0], dtype=hessian.dtype, device=hessian.device)
    return params - lr * torch.linalg.solve(hessian + damping * eye, grad)


def logistic(theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, l2: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy of the logits ``x @ theta`` plus ``l2 / 2 * |theta|^2``."""
    return F.binary_cross_entropy_with_logits(x @ theta, y) + l2 / 2 * (theta @ theta)


def quartic(theta: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``sum(a * theta^4 / 4 + theta^2 / 2 - b * theta)``: convex, its Hessian grows away from 0."""
    return (a * theta**4 / 4 + theta**2 / 2 - b * theta).sum()


def quadratic(theta: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``theta^T a theta / 2 - b^T theta``: one Newton step (lr 1) reaches the minimiser."""
    return theta @ a @ theta / 2 - b @ theta


OBJECTIVES = {"logistic": logistic, "quartic": quartic, "quadratic": quadratic}
