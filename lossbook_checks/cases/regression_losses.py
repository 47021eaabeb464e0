"""Test cases of the ``regression_losses`` assignment: elementwise losses of ``(input, target)``.

Every shape (0-d, empty, 1-d to 3-d), both float dtypes, every reduction, and residual
scales from 1e-8 to 1e4, each drawn from a generator seeded by the test.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .core import DTYPES, REDUCTIONS, SHAPES, Case, Hint, defaults_case, grad_output

SCALES: tuple[float, ...] = (1e-8, 1.0, 1e4)


def elementwise_cases(seed: int, *, shapes: Sequence[tuple[int, ...]] = SHAPES,
                      dtypes: Sequence[type] = DTYPES, reductions: Sequence[str] = REDUCTIONS,
                      scales: Sequence[float] = SCALES, option_grid: Mapping[str, Sequence[Any]] | None = None,
                      ties: bool = False) -> Iterator[Case]:
    """Cases for a loss of ``(input, target, reduction=..., **options)``.

    Residuals ``input - target`` have magnitude about ``scale``; with ``ties`` every third
    element has a zero residual exactly (to test the gradient at a kink), and each case
    carries a note for wrong elements that are all ties.
    """
    gen = np.random.default_rng(seed)
    grid = dict(option_grid or {})
    option_sets = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    for shape, dtype, reduction, scale in itertools.product(shapes, dtypes, reductions, scales):
        for extra in option_sets:
            target = gen.normal(0.0, 3.0, size=shape)
            residual = scale * gen.uniform(0.5, 1.5, size=shape) * gen.choice([-1.0, 1.0], size=shape)
            inp = target + residual
            tie_mask = np.zeros(shape, dtype=bool)
            if ties and inp.size:
                tie_mask.reshape(-1)[::3] = True
                inp = np.where(tie_mask, target, inp)
            inputs = {"input": np.asarray(inp, dtype=dtype), "target": np.asarray(target, dtype=dtype)}
            case = Case(inputs, {"reduction": reduction, **extra}, grad_output(gen, shape, reduction, dtype),
                        mean_of=int(np.prod(shape)) if reduction == "mean" else None)
            if ties:
                case.notes.append((tie_mask, Hint("kink-gradient", "wrong only where the residual is exactly 0: "
                                                  "see the exercise text for the gradient the reference takes at the "
                                                  "kink.")))
            yield case


def elementwise_defaults(seed: int) -> Iterator[Case]:
    """One :func:`defaults_case` for a loss of ``(input, target)``: float64 ``(3, 5)``, residuals of
    both signs with magnitudes 0.05 to 3 (on both sides of any threshold of about 1)."""
    gen = np.random.default_rng((seed, 0))
    target = gen.normal(0.0, 3.0, size=(3, 5))
    residual = gen.uniform(0.05, 3.0, size=(3, 5)) * gen.choice([-1.0, 1.0], size=(3, 5))
    yield defaults_case({"input": target + residual, "target": target}, mean_of=15)
