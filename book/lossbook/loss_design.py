"""Helpers for the chapter "Loss design": generated data, a full-batch trainer, metrics and plots."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from matplotlib.axes import Axes


def blobs(counts: list[int] | np.ndarray, dim: int = 2, spread: float = 1.0, radius: float = 2.5,
          seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian classes with centres on a circle (first two coordinates); ``counts[k]`` points of class k.

    Returns ``X`` ``(n, dim)`` float64 and integer labels ``y`` ``(n,)``, in class order.
    """
    gen = np.random.default_rng(seed)
    k = len(counts)
    angles = 2 * np.pi * np.arange(k) / k
    centres = np.zeros((k, dim))
    centres[:, 0], centres[:, 1] = radius * np.cos(angles), radius * np.sin(angles)
    X = np.concatenate([centres[c] + spread * gen.normal(size=(n, dim)) for c, n in enumerate(counts)])
    y = np.repeat(np.arange(k), counts)
    return X, y


def long_tail_counts(n_max: int, classes: int, ratio: float) -> np.ndarray:
    """Class sizes falling geometrically from ``n_max`` to ``n_max / ratio`` (the imbalance ratio)."""
    return np.maximum(1, np.round(n_max * ratio ** (-np.arange(classes) / (classes - 1)))).astype(int)


def mlp(d_in: int, d_out: int, hidden: int = 32, seed: int = 0) -> torch.nn.Sequential:
    """A float64 two-layer tanh network, seeded."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(d_in, hidden), torch.nn.Tanh(),
                               torch.nn.Linear(hidden, d_out)).double()


def fit(params: list[torch.Tensor], objective: Callable[[], torch.Tensor], steps: int = 300,
        lr: float = 0.05) -> list[float]:
    """Minimise ``objective()`` over ``params`` by full-batch Adam; return the loss at every step."""
    opt = torch.optim.Adam(params, lr=lr)
    history = []
    for _ in range(steps):
        opt.zero_grad()
        loss = objective()
        loss.backward()
        opt.step()
        history.append(loss.item())
    return history


def balanced_accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    """The mean over classes of the recall (classes present in ``y``)."""
    return float(np.mean([np.mean(pred[y == c] == c) for c in np.unique(y)]))


def reliability_bins(probs: np.ndarray, y: np.ndarray, bins: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-class confidence against accuracy in ``bins`` equal-width confidence bins.

    ``probs`` ``(n, K)`` rows of class probabilities, ``y`` ``(n,)`` integer labels. Returns, per bin, the mean
    confidence, the accuracy and the fraction of the examples in it (``nan`` confidence/accuracy for empty bins).
    """
    confidence, pred = probs.max(axis=1), probs.argmax(axis=1)
    which = np.clip(np.digitize(confidence, np.linspace(0, 1, bins + 1)[1:-1]), 0, bins - 1)
    mean_conf, accuracy, share = np.full(bins, np.nan), np.full(bins, np.nan), np.zeros(bins)
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            mean_conf[b], accuracy[b] = confidence[in_bin].mean(), np.mean(pred[in_bin] == y[in_bin])
            share[b] = in_bin.mean()
    return mean_conf, accuracy, share


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """ECE of the top-class confidence: the bin-weighted mean of |accuracy - confidence| over equal-width bins."""
    mean_conf, accuracy, share = reliability_bins(probs, y, bins)
    filled = share > 0
    return float(np.sum(share[filled] * np.abs(accuracy[filled] - mean_conf[filled])))


def plot_reliability(ax: Axes, probs: np.ndarray, y: np.ndarray, label: str, bins: int = 10) -> None:
    """Reliability diagram: accuracy against mean confidence per bin, with the diagonal of perfect calibration."""
    mean_conf, accuracy, _ = reliability_bins(probs, y, bins)
    ax.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1)
    ax.plot(mean_conf, accuracy, "o-", ms=4, label=f"{label} (ECE {expected_calibration_error(probs, y, bins):.3f})")
    ax.set(xlabel="confidence (mean in bin)", ylabel="accuracy in bin", xlim=(0, 1), ylim=(0, 1))
    ax.set_aspect("equal")


def expected_binary_focal(q: torch.Tensor, p: float, gamma: float) -> torch.Tensor:
    """Expected binary focal loss of the prediction ``q`` (elementwise) for a label that is 1 with probability ``p``.

    ``-p (1 - q)^gamma log q - (1 - p) q^gamma log(1 - q)``; ``gamma = 0`` is the expected cross-entropy.
    """
    return -p * (1 - q) ** gamma * torch.log(q) - (1 - p) * q ** gamma * torch.log(1 - q)


def dcg_at_k(relevance_in_ranked_order: np.ndarray, k: int) -> np.ndarray:
    """DCG@k of rows of relevance grades listed in ranked order: sum of (2^rel - 1) / log2(position + 1)."""
    rel = relevance_in_ranked_order[..., :k]
    discounts = np.log2(np.arange(2, rel.shape[-1] + 2))
    return np.sum((2.0 ** rel - 1) / discounts, axis=-1)


def ndcg_at_k(scores: np.ndarray, relevance: np.ndarray, k: int) -> np.ndarray:
    """NDCG@k per list (row): DCG of the ranking by ``scores`` over that of the ideal ranking.

    A list with no relevant item (ideal DCG 0) scores 1.
    """
    by_score = np.take_along_axis(relevance, np.argsort(-scores, axis=-1, kind="stable"), axis=-1)
    ideal = dcg_at_k(-np.sort(-relevance, axis=-1), k)
    return np.where(ideal > 0, dcg_at_k(by_score, k) / np.where(ideal > 0, ideal, 1.0), 1.0)


def scatter_classes(ax: Axes, Z: np.ndarray, y: np.ndarray, title: str) -> None:
    """2-D points coloured by class, equal axes."""
    ax.scatter(Z[:, 0], Z[:, 1], c=y, cmap="tab10", s=8, vmin=0, vmax=9)
    ax.set_title(title, fontsize=10)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xticks([])
    ax.set_yticks([])
