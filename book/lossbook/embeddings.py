"""Helpers for the chapter-7 pages on embeddings, GANs, ranking and distillation: metrics, small exact
computations (divergences, mutual information) and the figures that several cells share."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from matplotlib.axes import Axes


def nn_accuracy(z: torch.Tensor, labels: torch.Tensor) -> float:
    """Leave-one-out 1-nearest-neighbour accuracy of embeddings ``z`` ``(n, d)`` (Euclidean distance)."""
    dist = torch.cdist(z, z) + torch.diag(torch.full((len(z),), float("inf"), dtype=z.dtype))
    return (labels[dist.argmin(1)] == labels).double().mean().item()


def info_nce_floor(n: int, tau: float) -> float:
    """The least mean InfoNCE of ``n`` candidates with cosine logits at temperature ``tau``:
    log(1 + (n - 1) exp(-n / ((n - 1) tau))), reached by a regular simplex (needs dimension >= n - 1)."""
    return float(np.log1p((n - 1) * np.exp(-n / ((n - 1) * tau))))


def regular_simplex(n: int) -> np.ndarray:
    """``n`` unit vectors in R^n ``(n, n)`` whose pairwise cosines are all -1/(n - 1)."""
    centred = np.eye(n) - 1.0 / n
    return centred / np.linalg.norm(centred, axis=1, keepdims=True)


def gaussian_pairs(shape: tuple[int, ...], dim: int, rho: float,
                   gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draws of (x, y), each ``(*shape, dim)``: standard normal coordinates, correlation ``rho`` per coordinate.

    Their mutual information is ``-dim/2 log(1 - rho^2)`` nats.
    """
    x = gen.normal(size=(*shape, dim))
    return x, rho * x + np.sqrt(1 - rho ** 2) * gen.normal(size=(*shape, dim))


def gaussian_log_density_ratio(x: np.ndarray, y: np.ndarray, rho: float) -> np.ndarray:
    """The optimal critic log p(y | x) / p(y) of :func:`gaussian_pairs` for every pair of a batch:
    ``x`` ``(..., n, dim)`` and ``y`` ``(..., m, dim)`` give ``(..., n, m)``."""
    var = 1 - rho ** 2
    diff = y[..., None, :, :] - rho * x[..., :, None, :]
    return (-(diff ** 2).sum(-1) / (2 * var) - 0.5 * x.shape[-1] * np.log(var)
            + 0.5 * (y[..., None, :, :] ** 2).sum(-1))


def info_nce_from_scores(scores: np.ndarray) -> float:
    """Mean InfoNCE of score matrices ``(..., n, m)``, m >= n, whose positive pairs are the diagonal (i, i)."""
    n = scores.shape[-2]
    top = scores.max(axis=-1, keepdims=True)
    log_norm = top[..., 0] + np.log(np.exp(scores - top).sum(axis=-1))
    return float(np.mean(log_norm - np.diagonal(scores[..., :n], axis1=-2, axis2=-1)))


def entropy(p: np.ndarray) -> float:
    """Shannon entropy in nats of a probability array (any shape; zero entries contribute 0)."""
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def mutual_information(joint: np.ndarray) -> float:
    """I(A; B) in nats of a joint probability table ``(|A|, |B|)``."""
    return entropy(joint.sum(1)) + entropy(joint.sum(0)) - entropy(joint)


def kl_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """KL(p || q) in nats of two probability vectors on the same support (inf if p puts mass where q has none)."""
    mask = p > 0
    if np.any(q[mask] == 0):
        return float("inf")
    return float(np.sum(p[mask] * np.log(p[mask] / q[mask])))


def js_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q)/2, in nats."""
    m = (p + q) / 2
    return 0.5 * kl_divergence(p, m) + 0.5 * kl_divergence(q, m)


def wasserstein_1d(x: np.ndarray, p: np.ndarray, y: np.ndarray, q: np.ndarray) -> float:
    """Earth-mover (W1) distance between two distributions on the line: atoms ``x`` with masses ``p`` and
    atoms ``y`` with masses ``q``; the area between the two cumulative distribution functions."""
    grid = np.union1d(x, y)
    cdf_p = np.array([p[x <= t].sum() for t in grid])
    cdf_q = np.array([q[y <= t].sum() for t in grid])
    return float(np.sum(np.abs(cdf_p - cdf_q)[:-1] * np.diff(grid)))


def normal_log_density(x: torch.Tensor, mean: torch.Tensor | float, std: torch.Tensor | float) -> torch.Tensor:
    """log N(x; mean, std^2), elementwise."""
    mean, std = torch.as_tensor(mean, dtype=x.dtype), torch.as_tensor(std, dtype=x.dtype)
    return -0.5 * ((x - mean) / std) ** 2 - torch.log(std) - 0.5 * np.log(2 * np.pi)


def gan_1d(generator_loss: Callable[[torch.Tensor], torch.Tensor], steps: int = 200, lr: float = 0.2,
           data_mean: float = 5.0, nodes: int = 40) -> np.ndarray:
    """Train the affine generator G(z) = a z + b, from (a, b) = (1, 0), against data N(data_mean, 1) by SGD.

    The discriminator is logistic on (1, x, x^2) and kept at its optimum at every step: for two Gaussians
    that optimum is the exact D* = p_data / (p_data + p_g), whose logit is log p_data - log p_g (quadratic in x).
    It is held fixed (detached) while the generator steps, as in the alternating algorithm. Expectations over
    z ~ N(0, 1) use ``nodes``-point Gauss-Hermite quadrature, so the run is deterministic.
    ``generator_loss(logits_on_fakes)`` is the generator's loss per sample.

    Returns ``(steps + 1, 3)``: the generated mean b, standard deviation |a| and mean D(G(z)) at every step.
    """
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    z, w = torch.tensor(z), torch.tensor(w / w.sum())
    params = torch.tensor([1.0, 0.0], dtype=torch.float64, requires_grad=True)           # a, b
    opt = torch.optim.SGD([params], lr=lr)
    path = []
    for step in range(steps + 1):
        std, mean = params[0].detach().abs(), params[1].detach()
        fake = params[0] * z + params[1]
        logit = normal_log_density(fake, data_mean, 1.0) - normal_log_density(fake, mean, std)
        path.append([mean.item(), std.item(), (w * torch.sigmoid(logit)).sum().item()])
        if step < steps:
            opt.zero_grad()
            (w * generator_loss(logit)).sum().backward()
            opt.step()
    return np.array(path)


def plot_triplet_zones(ax: Axes, d_ap: float, margin: float, negatives: np.ndarray, zone: np.ndarray) -> None:
    """Anchor at the origin, its positive at distance ``d_ap`` on the x-axis, the circles of radius d_ap and
    d_ap + margin, and ``negatives`` ``(n, 2)`` coloured by ``zone`` (0 hard, 1 semi-hard, 2 easy)."""
    angle = np.linspace(0, 2 * np.pi, 200)
    ax.fill(np.r_[(d_ap + margin) * np.cos(angle), d_ap * np.cos(angle[::-1])],
            np.r_[(d_ap + margin) * np.sin(angle), d_ap * np.sin(angle[::-1])], color="gold", alpha=0.25,
            label="semi-hard band")
    for radius, style in ((d_ap, "-"), (d_ap + margin, "--")):
        ax.plot(radius * np.cos(angle), radius * np.sin(angle), style, color="0.4", lw=1)
    colours, names = ("crimson", "darkorange", "seagreen"), ("hard", "semi-hard", "easy")
    for k in range(3):
        ax.scatter(*negatives[zone == k].T, s=12, color=colours[k], label=f"{names[k]} negatives")
    ax.scatter([0], [0], marker="*", s=160, color="k", label="anchor")
    ax.scatter([d_ap], [0], marker="s", s=50, color="royalblue", label="positive")
    ax.annotate("", xy=(d_ap + margin, 0), xytext=(d_ap, 0), arrowprops={"arrowstyle": "<->"})
    ax.text(d_ap + margin / 2, 0.08, "$m$", ha="center")
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
