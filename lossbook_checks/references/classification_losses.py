"""References for the ``classification_losses`` assignment.

Most are ``torch`` / ``torch.nn.functional`` themselves, wrapped only to fix the
argument names the exercise uses (``input``, ``target``, ``dim``, ...). Torch has no
sigmoid focal loss outside torchvision; :func:`sigmoid_focal_loss` is torchvision's
definition written in torch, so that autograd defines its gradient (including at
logits of +-1e4, where ``sigmoid`` saturates to exactly 0 or 1).
"""

from __future__ import annotations

from lossbook_checks.optional_torch import F, torch

from .reduction import apply_reduction


def sigmoid(input: torch.Tensor) -> torch.Tensor:
    """``torch.sigmoid``, elementwise."""
    return torch.sigmoid(input)


def log_sigmoid(input: torch.Tensor) -> torch.Tensor:
    """``F.logsigmoid``, elementwise."""
    return F.logsigmoid(input)


def softmax(input: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``F.softmax`` along ``dim``."""
    return F.softmax(input, dim=dim)


def log_softmax(input: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``F.log_softmax`` along ``dim``."""
    return F.log_softmax(input, dim=dim)


def logsumexp(input: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``torch.logsumexp`` along ``dim`` (the dimension is removed)."""
    return torch.logsumexp(input, dim=dim)


def binary_cross_entropy(input: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                         reduction: str = "mean") -> torch.Tensor:
    """``F.binary_cross_entropy`` on probabilities ``input`` (each log clamped at -100)."""
    return F.binary_cross_entropy(input, target, weight=weight, reduction=reduction)


def binary_cross_entropy_with_logits(input: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                                     pos_weight: torch.Tensor | None = None,
                                     reduction: str = "mean") -> torch.Tensor:
    """``F.binary_cross_entropy_with_logits``."""
    return F.binary_cross_entropy_with_logits(input, target, weight=weight, pos_weight=pos_weight,
                                              reduction=reduction)


def cross_entropy(input: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                  ignore_index: int = -100, reduction: str = "mean", label_smoothing: float = 0.0) -> torch.Tensor:
    """``F.cross_entropy``: class-index (integer) or class-probability (float) targets."""
    return F.cross_entropy(input, target, weight=weight, ignore_index=ignore_index, reduction=reduction,
                           label_smoothing=label_smoothing)


def sigmoid_focal_loss(input: torch.Tensor, target: torch.Tensor, alpha: float = 0.25, gamma: float = 2.0,
                       reduction: str = "none") -> torch.Tensor:
    """torchvision's ``sigmoid_focal_loss`` for binary targets (``alpha < 0``: no class weighting), with
    torchvision's defaults (``reduction='none'``).

    ``alpha_t * (1 - p_t)**gamma * BCE_with_logits(input, target)`` with ``p = sigmoid(input)``,
    ``p_t = p t + (1 - p)(1 - t)`` and ``alpha_t = alpha t + (1 - alpha)(1 - t)``.
    """
    p = torch.sigmoid(input)
    ce = F.binary_cross_entropy_with_logits(input, target, reduction="none")
    p_t = p * target + (1 - p) * (1 - target)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * target + (1 - alpha) * (1 - target)) * loss
    return apply_reduction(loss, reduction)


def multi_margin_loss(input: torch.Tensor, target: torch.Tensor, p: int = 1, margin: float = 1.0,
                      weight: torch.Tensor | None = None, reduction: str = "mean") -> torch.Tensor:
    """``F.multi_margin_loss`` (multiclass hinge, p = 1 or 2)."""
    return F.multi_margin_loss(input, target, p=p, margin=margin, weight=weight, reduction=reduction)
