"""torch's ``reduction`` argument, for references that torch has no loss function for."""

from __future__ import annotations

from lossbook_checks.optional_torch import torch


def apply_reduction(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    """``"mean"`` over all elements (NaN when empty), ``"sum"`` (0 when empty) or ``"none"``."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"unknown reduction {reduction!r}")
