"""Helpers for the optimisation chapter: quadratics, a small classification task, training loops, landscapes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes


def rotated_quadratic(eigenvalues: tuple[float, float], angle: float = 0.5) -> np.ndarray:
    """The 2x2 symmetric matrix with these eigenvalues, its eigenvectors rotated by ``angle`` radians."""
    c, s = np.cos(angle), np.sin(angle)
    rotation = np.array([[c, -s], [s, c]])
    return rotation @ np.diag(eigenvalues) @ rotation.T


def gd_iterates(matrix: np.ndarray, start: np.ndarray, lr: float, steps: int, momentum: float = 0.0) -> np.ndarray:
    """Iterates of gradient descent (heavy-ball momentum if ``momentum``) on ``f(x) = x^T A x / 2``.

    Returns an array of shape (steps + 1, d): the start, then each iterate. The heavy-ball
    update is torch's: ``b = momentum * b + grad`` (``b = grad`` at the first step), ``x -= lr * b``.
    """
    x, buffer, path = np.array(start, dtype=np.float64), None, [np.array(start, dtype=np.float64)]
    for _ in range(steps):
        grad = matrix @ x
        buffer = grad if buffer is None else momentum * buffer + grad
        x = x - lr * (buffer if momentum else grad)
        path.append(x)
    return np.array(path)


def contour_paths(ax: Axes, matrix: np.ndarray, paths: Mapping[str, np.ndarray], limit: float = 3.0) -> None:
    """Contours of ``x^T A x / 2`` on [-limit, limit]^2 and one path (shape (k, 2)) per label.

    A path that leaves the square is clipped by the axes (a diverging path runs off the panel).
    """
    grid = np.linspace(-limit, limit, 201)
    xx, yy = np.meshgrid(grid, grid)
    points = np.stack([xx, yy], axis=-1)
    values = 0.5 * np.einsum("...i,ij,...j->...", points, matrix, points)
    ax.contour(xx, yy, values, levels=np.geomspace(values.max() / 1e3, values.max(), 12), colors="0.75",
               linewidths=0.8)
    for label, path in paths.items():
        ax.plot(path[:, 0], path[:, 1], marker="o", markersize=2.5, lw=1.2, label=label)
    ax.plot(0, 0, "k+", markersize=8)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal")


def spirals(n: int = 400, noise: float = 0.25, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two interleaved spirals in the plane: inputs (n, 2) float32 and labels (n,) in {0, 1}."""
    gen = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    radius = gen.uniform(0.3, 1.0, n) * 3.0
    angle = radius * 2.2 + np.pi * labels
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1) + noise * gen.normal(size=(n, 2))
    return torch.tensor(x, dtype=torch.float32), torch.tensor(labels)


def mlp(hidden: int = 32, seed: int = 0, classes: int = 2) -> torch.nn.Module:
    """A 2-input tanh MLP with two hidden layers of width ``hidden``, initialised from ``seed``."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, hidden),
                               torch.nn.Tanh(), torch.nn.Linear(hidden, classes))


def train(model: torch.nn.Module, optimiser: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, steps: int,
          batch_size: int | None = None, seed: int = 0,
          scheduler: torch.optim.lr_scheduler.LRScheduler | None = None) -> np.ndarray:
    """Train with cross-entropy for ``steps`` steps on mini-batches drawn without replacement.

    Returns the full-data training loss before each step and after the last, shape (steps + 1,).
    ``batch_size=None`` is full-batch gradient descent.
    """
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        with torch.no_grad():
            losses.append(torch.nn.functional.cross_entropy(model(x), y).item())
        index = torch.randperm(len(x), generator=gen)[:batch_size] if batch_size else slice(None)
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(model(x[index]), y[index]).backward()
        optimiser.step()
        if scheduler is not None:
            scheduler.step()
    with torch.no_grad():
        losses.append(torch.nn.functional.cross_entropy(model(x), y).item())
    return np.array(losses)


def band(ax: Axes, curves: np.ndarray, label: str, log: bool = True) -> None:
    """The median of several curves (shape (runs, steps)) with their min-max band."""
    steps = np.arange(curves.shape[1])
    line, = ax.plot(steps, np.median(curves, axis=0), label=label)
    ax.fill_between(steps, curves.min(axis=0), curves.max(axis=0), color=line.get_color(), alpha=0.2)
    if log:
        ax.set_yscale("log")


def filter_normalised_direction(model: torch.nn.Module, gen: torch.Generator) -> list[torch.Tensor]:
    """A random direction in parameter space, each filter (row) rescaled to the norm of the model's row.

    Biases (1-d parameters) get a zero direction, as in Li et al. (2018).
    """
    direction = []
    for p in model.parameters():
        d = torch.randn(p.shape, generator=gen, dtype=p.dtype)
        if p.dim() <= 1:
            d.zero_()
        else:
            d *= p.detach().norm(dim=1, keepdim=True) / d.norm(dim=1, keepdim=True)
        direction.append(d)
    return direction


def loss_along(model: torch.nn.Module, loss: Callable[[], torch.Tensor], directions: Iterable[list[torch.Tensor]],
               coordinates: np.ndarray) -> np.ndarray:
    """``loss()`` at ``theta + sum_k c_k d_k`` for each row ``c`` of ``coordinates`` (shape (m, k)); shape (m,)."""
    directions = list(directions)
    origin = [p.detach().clone() for p in model.parameters()]
    values = []
    with torch.no_grad():
        for c in coordinates:
            for k, p in enumerate(model.parameters()):
                p.copy_(origin[k] + sum(float(ci) * d[k] for ci, d in zip(c, directions, strict=True)))
            values.append(loss().item())
        for p, o in zip(model.parameters(), origin, strict=True):
            p.copy_(o)
    return np.array(values)


def learning_curve_axes(ncols: int, width: float = 4.2, height: float = 3.2) -> tuple[plt.Figure, np.ndarray]:
    """A row of ``ncols`` axes for learning curves."""
    fig, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False)
    return fig, axes[0]


def mlp_parameters(model: torch.nn.Module) -> list[np.ndarray]:
    """The parameters of a :func:`mlp` as float64 numpy arrays: W1 (h, 2), b1 (h,), W2 (h, h), b2, W3 (c, h), b3."""
    return [p.detach().double().numpy().copy() for p in model.parameters()]


def mlp_mse_and_gradient(params: list[np.ndarray], x: np.ndarray,
                         targets: np.ndarray) -> tuple[float, list[np.ndarray]]:
    """Loss ``sum((f(x) - targets)^2) / (2 n)`` of the two-hidden-layer tanh MLP of :func:`mlp`, and its gradient.

    ``x`` has shape (n, 2), ``targets`` (n, c); the gradient is a list shaped like ``params``. Plain numpy: a
    full-batch step of this tiny network costs microseconds, where torch's per-call overhead dominates.
    """
    w1, b1, w2, b2, w3, b3 = params
    h1 = np.tanh(x @ w1.T + b1)
    h2 = np.tanh(h1 @ w2.T + b2)
    residual = h2 @ w3.T + b3 - targets
    d3 = residual / len(x)
    d2 = (d3 @ w3) * (1 - h2**2)
    d1 = (d2 @ w2) * (1 - h1**2)
    gradient = [d1.T @ x, d1.sum(0), d2.T @ h1, d2.sum(0), d3.T @ h2, d3.sum(0)]
    return 0.5 * float((residual**2).sum()) / len(x), gradient


def sharpness(gradient: Callable[[list[np.ndarray]], list[np.ndarray]], params: list[np.ndarray],
              direction: list[np.ndarray], iterations: int, eps: float = 1e-5) -> tuple[float, list[np.ndarray]]:
    """The Hessian eigenvalue of largest magnitude (near a minimum: the sharpness), by power iteration.

    ``direction`` (shaped like ``params``) is the start.

    Hessian-vector products are central differences of ``gradient``; returns the eigenvalue estimate (the
    norm of the last product) and the unit direction to warm-start the next call.
    """
    norm = 0.0
    for _ in range(iterations):
        plus = gradient([p + eps * d for p, d in zip(params, direction, strict=True)])
        minus = gradient([p - eps * d for p, d in zip(params, direction, strict=True)])
        product = [(a - b) / (2 * eps) for a, b in zip(plus, minus, strict=True)]
        norm = float(np.sqrt(sum((v**2).sum() for v in product)))
        direction = [v / norm for v in product]
    return norm, direction
