"""Test cases: :class:`Case`, and the seeded generators every assignment shares.

Hidden tests check a function on these (with ``checking.check_cases``): for elementwise
losses of ``(input, target)``, every shape (0-d, empty, 1-d to 3-d), both float dtypes,
every reduction, and residual scales from 1e-8 to 1e4, each drawn from a generator
seeded by the test, so a grade never depends on chance. Every function is also called
once with its defaults (:func:`defaults_case`), which are part of its API: a test that
always passes ``delta`` or ``grad_output`` cannot see a wrong default.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

SHAPES: tuple[tuple[int, ...], ...] = ((), (1,), (7,), (3, 4), (2, 3, 5), (0,))
DTYPES: tuple[type, ...] = (np.float64, np.float32)
REDUCTIONS: tuple[str, ...] = ("mean", "sum", "none")
SCALES: tuple[float, ...] = (1e-8, 1.0, 1e4)


@dataclass
class Case:
    """One call of a function under test, and how to judge it.

    ``inputs`` are the arrays (by argument name) and ``options`` the plain keyword
    arguments; an option left out is the function's default, which must equal torch's.
    ``grad_output`` is the upstream gradient a backward receives; ``None`` leaves the
    argument out (the student's default must then be 1, as for ``loss.backward()``).
    ``mean_of`` is n of a mean reduction (to recognise a forgotten 1/n), ``notes`` are
    ``(mask, hint)`` pairs shown when every wrong element lies in the mask, and ``rtol``/
    ``atol`` override the tolerance of the reference's dtype (``None``: the default).
    """

    inputs: dict[str, np.ndarray]
    options: dict[str, Any]
    grad_output: Any = None
    mean_of: int | None = None
    notes: list[tuple[np.ndarray, str]] = field(default_factory=list)
    rtol: float | None = None
    atol: float | None = None


def grad_output(gen: np.random.Generator, shape: tuple[int, ...], reduction: str, dtype: type) -> Any:
    """A seeded upstream gradient: an array shaped like the loss for "none", else a scalar in [0.5, 2)."""
    if reduction == "none":
        return gen.uniform(-2.0, 2.0, size=shape).astype(dtype)
    return dtype(gen.uniform(0.5, 2.0))


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
                case.notes.append((tie_mask, "wrong only where the residual is exactly 0: see the exercise "
                                             "text for the gradient the reference takes at the kink."))
            yield case


def defaults_case(inputs: Mapping[str, Any], grad_output: Any = None, *, mean_of: int | None = None) -> Case:
    """The call with every option left out, compared with torch called with torch's defaults.

    ``grad_output`` is left out too (``None``) unless the function requires it.
    """
    return Case(dict(inputs), {}, grad_output, mean_of)


def elementwise_defaults(seed: int) -> Iterator[Case]:
    """One :func:`defaults_case` for a loss of ``(input, target)``: float64 ``(3, 5)``, residuals of
    both signs with magnitudes 0.05 to 3 (on both sides of any threshold of about 1)."""
    gen = np.random.default_rng((seed, 0))
    target = gen.normal(0.0, 3.0, size=(3, 5))
    residual = gen.uniform(0.05, 3.0, size=(3, 5)) * gen.choice([-1.0, 1.0], size=(3, 5))
    yield defaults_case({"input": target + residual, "target": target}, mean_of=15)
