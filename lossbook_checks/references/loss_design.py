"""References for the ``loss_design`` assignment.

``triplet_margin``, ``cosine_embedding`` and ``margin_ranking`` are ``torch.nn.functional``'s
own losses. The others have no torch function; each is a short torch expression written
from the original paper, and autograd through it defines the expected backward pass:

- uncertainty weighting (Kendall, Gal and Cipolla, 2018), with ``s = log sigma^2``:
  ``sum_i (exp(-s_i) L_i + s_i) / 2``;
- contrastive (Hadsell, Chopra and LeCun, 2006), ``similar = 1`` for a similar pair:
  ``(similar d^2 + (1 - similar) max(0, margin - d)^2) / 2``, ``d = ||x1 - x2||``;
- InfoNCE: cross-entropy of the cosine similarities divided by the temperature, the
  positive of query ``i`` being key ``i``;
- center loss (Wen et al., 2016): ``||x_i - c_{y_i}||^2 / 2`` per sample;
- soft Dice: ``1 - (2 sum p y + eps) / (sum p + sum y + eps)`` per sample and class;
- distillation (Hinton, Vinyals and Dean, 2015): ``alpha T^2 KL(teacher_T || student_T)``
  (``F.kl_div``, ``batchmean``) ``+ (1 - alpha)`` cross-entropy with the labels;
- GAN losses from the discriminator's logits via ``F.binary_cross_entropy_with_logits``;
- ListNet (Cao et al., 2007): ``F.cross_entropy`` with the softmax of the relevance as target.
"""

from __future__ import annotations

from lossbook_checks.optional_torch import F, torch

from .reduction import apply_reduction

GAN_KINDS = ("minimax", "non_saturating", "least_squares", "wasserstein")


def uncertainty_weighted(losses: torch.Tensor, log_vars: torch.Tensor) -> torch.Tensor:
    """``sum_i (exp(-s_i) L_i + s_i) / 2`` for task losses ``L`` and ``s = log sigma^2``, both ``(M,)`` (M tasks)."""
    return 0.5 * (torch.exp(-log_vars) * losses + log_vars).sum()


def contrastive(x1: torch.Tensor, x2: torch.Tensor, similar: torch.Tensor, margin: float = 1.0,
                reduction: str = "mean") -> torch.Tensor:
    """Contrastive loss of pairs ``(N, D)``; ``similar`` is 1 for a similar pair, 0 for a dissimilar one."""
    d = torch.linalg.vector_norm(x1 - x2, dim=-1)
    loss = 0.5 * (similar * d ** 2 + (1 - similar) * torch.clamp_min(margin - d, 0) ** 2)
    return apply_reduction(loss, reduction)


def triplet_margin(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float = 1.0,
                   p: float = 2.0, eps: float = 1e-6, swap: bool = False, reduction: str = "mean") -> torch.Tensor:
    """``F.triplet_margin_loss``."""
    return F.triplet_margin_loss(anchor, positive, negative, margin=margin, p=p, eps=eps, swap=swap,
                                 reduction=reduction)


def cosine_embedding(input1: torch.Tensor, input2: torch.Tensor, target: torch.Tensor, margin: float = 0.0,
                     reduction: str = "mean") -> torch.Tensor:
    """``F.cosine_embedding_loss``."""
    return F.cosine_embedding_loss(input1, input2, target, margin=margin, reduction=reduction)


def info_nce(queries: torch.Tensor, keys: torch.Tensor, temperature: float = 0.1,
             reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy over ``cos(q_i, k_j) / temperature``; the positive of query ``i`` is key ``i``."""
    logits = F.normalize(queries, dim=-1) @ F.normalize(keys, dim=-1).T / temperature
    labels = torch.arange(queries.shape[0], device=queries.device)
    return F.cross_entropy(logits, labels, reduction=reduction)


def center(features: torch.Tensor, labels: torch.Tensor, centers: torch.Tensor,
           reduction: str = "mean") -> torch.Tensor:
    """``||x_i - c_{y_i}||^2 / 2`` per sample; features ``(N, D)``, labels ``(N,)``, centers ``(K, D)``."""
    return apply_reduction(0.5 * ((features - centers[labels]) ** 2).sum(dim=-1), reduction)


def soft_dice(probs: torch.Tensor, target: torch.Tensor, eps: float = 1.0, squared: bool = False,
              reduction: str = "mean") -> torch.Tensor:
    """``1 - Dice`` per sample and class of ``(N, K, *spatial)`` probabilities; ``'none'`` gives ``(N, K)``."""
    dims = tuple(range(2, probs.ndim))
    intersection = (probs * target).sum(dim=dims)
    if squared:
        total = (probs ** 2).sum(dim=dims) + (target ** 2).sum(dim=dims)
    else:
        total = probs.sum(dim=dims) + target.sum(dim=dims)
    return apply_reduction(1 - (2 * intersection + eps) / (total + eps), reduction)


def distillation(student_logits: torch.Tensor, teacher_logits: torch.Tensor, target: torch.Tensor,
                 T: float = 2.0, alpha: float = 0.5) -> torch.Tensor:
    """``alpha T^2 KL(softmax(t/T) || softmax(s/T))`` per example ``+ (1 - alpha) CE(s, target)``, batch means."""
    soft = F.kl_div(F.log_softmax(student_logits / T, dim=-1), F.log_softmax(teacher_logits / T, dim=-1),
                    reduction="batchmean", log_target=True)
    return alpha * T * T * soft + (1 - alpha) * F.cross_entropy(student_logits, target)


def _bce(logits: torch.Tensor, label: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


def discriminator(real_logits: torch.Tensor, fake_logits: torch.Tensor,
                  kind: str = "non_saturating") -> torch.Tensor:
    """The discriminator's (critic's) loss, to be minimised, from its outputs on real and fake batches."""
    if kind in ("minimax", "non_saturating"):
        return _bce(real_logits, 1.0) + _bce(fake_logits, 0.0)
    if kind == "least_squares":
        return 0.5 * ((real_logits - 1) ** 2).mean() + 0.5 * (fake_logits ** 2).mean()
    if kind == "wasserstein":
        return fake_logits.mean() - real_logits.mean()
    raise ValueError(f"unknown kind {kind!r}")


def generator(fake_logits: torch.Tensor, kind: str = "non_saturating") -> torch.Tensor:
    """The generator's loss from the discriminator's outputs on a fake batch."""
    if kind == "minimax":
        return -_bce(fake_logits, 0.0)        # mean log(1 - D(G(z)))
    if kind == "non_saturating":
        return _bce(fake_logits, 1.0)         # -mean log D(G(z))
    if kind == "least_squares":
        return 0.5 * ((fake_logits - 1) ** 2).mean()
    if kind == "wasserstein":
        return -fake_logits.mean()
    raise ValueError(f"unknown kind {kind!r}")


def gradient_penalty(gradients: torch.Tensor, weight: float = 10.0) -> torch.Tensor:
    """WGAN-GP: ``weight * mean_i (||g_i||_2 - 1)^2`` over the first axis of ``(N, ...)`` gradients (NaN for N = 0:
    ``flatten(1)``, unlike ``reshape(0, -1)``, accepts an empty batch)."""
    norms = torch.linalg.vector_norm(gradients.flatten(1), dim=1)
    return weight * ((norms - 1) ** 2).mean()


def margin_ranking(input1: torch.Tensor, input2: torch.Tensor, target: torch.Tensor, margin: float = 0.0,
                   reduction: str = "mean") -> torch.Tensor:
    """``F.margin_ranking_loss``."""
    return F.margin_ranking_loss(input1, input2, target, margin=margin, reduction=reduction)


def listnet(scores: torch.Tensor, relevance: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy between ``softmax(relevance)`` and ``softmax(scores)`` per list of ``(N, L)``."""
    return F.cross_entropy(scores, F.softmax(relevance, dim=-1), reduction=reduction)
