"""References for the ``likelihood_information`` assignment.

Distributions are probability vectors along the **last** axis: ``p`` of shape ``(..., K)``
gives one value per distribution, shape ``(...)``. Torch has no entropy, cross-entropy or
Jensen-Shannon function of two probability tensors, so those are torch expressions built
on ``torch.special.entr`` and ``torch.special.xlogy`` (``0 log 0 = 0``, as in information
theory). The others are torch's own functions:

- ``kl_div``: ``F.kl_div`` (``input`` holds log-probabilities; ``reduction`` may be
  ``'batchmean'``; ``log_target`` says whether ``target`` holds log-probabilities too);
- ``gaussian_nll``: ``F.gaussian_nll_loss`` (variance clamped at ``eps`` without stopping its
  gradient; a variance with one dimension fewer, or size 1 in one dimension, broadcasts);
- ``poisson_nll``: ``F.poisson_nll_loss`` (``log_input``, ``full`` with Stirling's term, ``eps``);
- ``laplace_nll`` and ``student_t_nll``: minus ``torch.distributions`` ``log_prob``, elementwise;
- ``mixture_nll``: minus the log-density of a 1-D Gaussian mixture, by ``MixtureSameFamily``,
  which works in log space (log-sum-exp) and so stays finite far from every component.
"""

from __future__ import annotations

import warnings

from lossbook_checks.optional_torch import F, torch

from .reduction import apply_reduction

D = torch.distributions


def entropy(p: torch.Tensor) -> torch.Tensor:
    """``H(p) = -sum_k p_k log p_k`` over the last axis (nats); ``0 log 0 = 0``."""
    return torch.special.entr(p).sum(-1)


def cross_entropy_dist(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``H(p, q) = -sum_k p_k log q_k`` over the last axis (nats); ``0 log 0 = 0``."""
    return -torch.special.xlogy(p, q).sum(-1)


def kl_div(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean",
           log_target: bool = False) -> torch.Tensor:
    """``F.kl_div``; its deprecation warning for ``reduction='mean'`` is silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return F.kl_div(input, target, reduction=reduction, log_target=log_target)


def js_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """``JS(p, q) = KL(p || m)/2 + KL(q || m)/2`` with ``m = (p + q)/2``, over the last axis."""
    m = 0.5 * (p + q)
    kl_pm = (torch.special.xlogy(p, p) - torch.special.xlogy(p, m)).sum(-1)
    kl_qm = (torch.special.xlogy(q, q) - torch.special.xlogy(q, m)).sum(-1)
    return 0.5 * (kl_pm + kl_qm)


def gaussian_nll(input: torch.Tensor, target: torch.Tensor, var: torch.Tensor | float, full: bool = False,
                 eps: float = 1e-6, reduction: str = "mean") -> torch.Tensor:
    """``F.gaussian_nll_loss``."""
    return F.gaussian_nll_loss(input, target, var, full=full, eps=eps, reduction=reduction)


def poisson_nll(input: torch.Tensor, target: torch.Tensor, log_input: bool = True, full: bool = False,
                eps: float = 1e-8, reduction: str = "mean") -> torch.Tensor:
    """``F.poisson_nll_loss``."""
    return F.poisson_nll_loss(input, target, log_input=log_input, full=full, eps=eps, reduction=reduction)


def laplace_nll(value: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``-Laplace(loc, scale).log_prob(value)``, elementwise."""
    return -D.Laplace(loc, scale).log_prob(value)


def student_t_nll(value: torch.Tensor, df: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``-StudentT(df, loc, scale).log_prob(value)``, elementwise."""
    return -D.StudentT(df, loc, scale).log_prob(value)


def mixture_nll(y: torch.Tensor, logits: torch.Tensor, means: torch.Tensor, log_scales: torch.Tensor,
                reduction: str = "mean") -> torch.Tensor:
    """NLL of ``y`` (shape ``(N,)``) under K-component Gaussian mixtures (parameters ``(N, K)``).

    Mixture weights ``softmax(logits)``, component means ``means``, standard deviations
    ``exp(log_scales)``.
    """
    mixture = D.MixtureSameFamily(D.Categorical(logits=logits), D.Normal(means, log_scales.exp()))
    loss = -mixture.log_prob(y)
    return apply_reduction(loss, reduction)
