"""Data, model and plots for the classification chapter's experiment."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from matplotlib.axes import Axes


def imbalanced_blobs(n: int, minority_fraction: float = 0.05, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two-dimensional points ``X`` (n, 2) and labels ``y`` (n,) in {0, 1}.

    The majority class 0 is a wide cloud around the origin, densest at radius about 2; the minority
    class 1 (about ``minority_fraction`` of the points) is a small blob near the centre, inside it.
    """
    gen = np.random.default_rng(seed)
    y = (gen.random(n) < minority_fraction).astype(np.int64)
    angle = gen.uniform(0, 2 * np.pi, size=n)
    radius = np.abs(gen.normal(2.0, 0.8, size=n))
    majority = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    minority = gen.normal([0.6, 0.4], 0.55, size=(n, 2))
    return np.where(y[:, None] == 1, minority, majority), y


class QuadraticLogistic(torch.nn.Module):
    """Logistic regression on the quadratic features (x1, x2, x1^2, x2^2, x1 x2) of a 2-d point.

    Its decision boundary (logit = 0) is a conic: enough to enclose a blob inside a wider cloud.
    """

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(5, 1, dtype=torch.float64)
        torch.nn.init.zeros_(self.linear.weight)
        torch.nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (n, 1) for points ``x`` (n, 2)."""
        x1, x2 = x[:, 0], x[:, 1]
        return self.linear(torch.stack([x1, x2, x1 * x1, x2 * x2, x1 * x2], dim=1))


def train(model: torch.nn.Module, X: np.ndarray, y: np.ndarray,
          loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], iterations: int = 100) -> float:
    """Minimise ``loss_fn(logits, targets)`` over the training set with L-BFGS; return the final loss."""
    inputs, targets = torch.tensor(X), torch.tensor(y, dtype=torch.float64)
    opt = torch.optim.LBFGS(model.parameters(), max_iter=iterations, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = loss_fn(model(inputs).squeeze(1), targets)
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float(loss_fn(model(inputs).squeeze(1), targets))


def predict(model: torch.nn.Module, X: np.ndarray) -> np.ndarray:
    """Predicted labels (logit > 0) for the points ``X``."""
    with torch.no_grad():
        return (model(torch.tensor(X)).squeeze(1) > 0).numpy().astype(np.int64)


def recall_per_class(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Recall of class 0 and of class 1: the fraction of each class's points predicted as that class."""
    return np.array([np.mean(pred[y == k] == k) for k in (0, 1)])


def plot_decision_boundary(ax: Axes, model: torch.nn.Module, X: np.ndarray, y: np.ndarray, title: str,
                           extent: float = 4.0) -> None:
    """The points of ``X`` by class and the region the model predicts as class 1."""
    grid = np.linspace(-extent, extent, 201)
    gx, gy = np.meshgrid(grid, grid)
    region = predict(model, np.stack([gx.ravel(), gy.ravel()], axis=1)).reshape(gx.shape)
    ax.contourf(gx, gy, region, levels=[-0.5, 0.5, 1.5], colors=["white", "#f4c7a1"], alpha=0.8)
    ax.contour(gx, gy, region, levels=[0.5], colors="k", linewidths=1)
    ax.scatter(*X[y == 0].T, s=3, color="0.55", label="class 0 (majority)")
    ax.scatter(*X[y == 1].T, s=8, color="crimson", label="class 1 (minority)")
    ax.set(title=title, xlim=(-extent, extent), ylim=(-extent, extent), aspect="equal")
