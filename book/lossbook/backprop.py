"""Helpers of the backpropagation chapter: drawing computational graphs, timing, and counting
the bytes autograd saves for the backward pass."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from matplotlib.axes import Axes


def draw_graph(ax: Axes, positions: Mapping[str, tuple[float, float]], labels: Mapping[str, str],
               edges: Sequence[tuple[str, str, str]], highlight: Sequence[str] = ()) -> None:
    """Draw a computational graph: one box per node at ``positions[name]`` showing ``labels[name]``,
    and an arrow per edge ``(source, target, text)`` with ``text`` (e.g. a local derivative) at its middle.
    Nodes in ``highlight`` (inputs, say) get a different colour. No Graphviz needed."""
    for source, target, text in edges:
        (x0, y0), (x1, y1) = positions[source], positions[target]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "-|>", "color": "0.35", "shrinkA": 26, "shrinkB": 30, "lw": 1.2})
        ax.text((x0 + x1) / 2, (y0 + y1) / 2, text, fontsize=8.5, color="firebrick", ha="center", va="center",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.9})
    for name, (x, y) in positions.items():
        colour = "#dbe9f6" if name in highlight else "#fdf1d6"
        ax.text(x, y, labels[name], ha="center", va="center", fontsize=10,
                bbox={"boxstyle": "round,pad=0.4", "fc": colour, "ec": "0.3"})
    xs, ys = zip(*positions.values(), strict=True)
    ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    ax.axis("off")


def value_grad_labels(values: Mapping[str, float], grads: Mapping[str, float]) -> dict[str, str]:
    """Node labels in micrograd's style: the node's name, then "value | grad" (the forward value and the
    gradient of the output with respect to it), both to three significant digits."""
    return {name: f"{name}\n{values[name]:.3g} | {grads[name]:.3g}" for name in values}


def median_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Median wall-clock seconds of ``fn()`` over ``repeat`` runs, after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


@contextmanager
def saved_bytes(exclude: Iterable[torch.Tensor] = ()) -> Iterator[list[int]]:
    """Count the bytes of the tensors autograd saves for backward inside the ``with`` block.

    Yields a one-element list whose value is the running total. Tensors sharing memory with one
    of ``exclude`` (the parameters, say, which exist anyway) are not counted; the others are
    counted each time an operation saves them.
    """
    total = [0]
    skip = {t.untyped_storage().data_ptr() for t in exclude}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        if tensor.untyped_storage().data_ptr() not in skip:
            total[0] += tensor.numel() * tensor.element_size()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        yield total
