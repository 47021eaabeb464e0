"""The book's figure style and the plots several chapters share."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .verify import autograd_derivative

plt.rcParams.update({"figure.dpi": 110, "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False,
                     "axes.spines.right": False, "legend.frameon": False})


def loss_and_derivative(losses: Mapping[str, Callable[[torch.Tensor], torch.Tensor]],
                        r: np.ndarray | None = None, xlabel: str = "residual $r$") -> Figure:
    """Two panels: each elementwise loss and its derivative (by autograd) against ``r``."""
    r = np.linspace(-3.0, 3.0, 601) if r is None else r
    fig, (ax_l, ax_d) = plt.subplots(1, 2, figsize=(10, 3.6))
    for name, f in losses.items():
        with torch.no_grad():
            ax_l.plot(r, f(torch.tensor(r)).numpy(), label=name)
        ax_d.plot(r, autograd_derivative(f, r), label=name)
    ax_l.set(xlabel=xlabel, ylabel="loss", title="loss")
    ax_d.set(xlabel=xlabel, ylabel="derivative", title="derivative (torch autograd)")
    ax_l.legend()
    fig.tight_layout()
    return fig


def scatter_with_fits(ax: Axes, x: np.ndarray, y: np.ndarray, fits: Mapping[str, np.ndarray],
                      highlight: np.ndarray | None = None) -> None:
    """Data points (``highlight`` marks e.g. outliers) and one fitted curve per entry of ``fits``."""
    ax.scatter(x, y, s=12, color="0.5", label="data")
    if highlight is not None and highlight.any():
        ax.scatter(x[highlight], y[highlight], s=24, color="crimson", marker="x", label="outliers")
    for name, fitted in fits.items():
        ax.plot(x, fitted, lw=2, label=name)
    ax.legend()
