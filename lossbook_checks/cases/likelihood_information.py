"""Seeded test cases for the ``likelihood_information`` assignment.

Every generator is seeded by the test that calls it, so a grade never depends on chance.
Probability vectors lie along the last axis and range from flat to very peaked (Dirichlet
concentrations 0.05 to 20); ``zeros=True`` puts exact zeros in them, where the quantity is
still defined. Every case is run in float64 and float32.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np

from .core import DTYPES, Case, Hint, defaults_case
from .core import grad_output as upstream

BATCH_SHAPES: tuple[tuple[int, ...], ...] = ((), (5,), (2, 3))
CONCENTRATIONS: tuple[float, ...] = (0.05, 1.0, 20.0)


def probability_vectors(gen: np.random.Generator, shape: tuple[int, ...], concentration: float,
                        zeros: bool = False) -> np.ndarray:
    """Probability vectors of ``shape`` (last axis K), float64, each summing to 1.

    Entries are at least about ``1e-6 / K`` unless ``zeros``, which sets every third
    entry to exactly 0 (keeping at least one positive entry per vector) and renormalises.
    """
    k = shape[-1]
    p = gen.dirichlet(np.full(k, concentration), size=shape[:-1])
    p = (1.0 - 1e-6) * p + 1e-6 / k
    if zeros and k > 1:
        mask = np.zeros(shape, dtype=bool)
        mask[..., ::3] = True
        mask[..., -1] = False
        p = np.where(mask, 0.0, p)
    return p / p.sum(-1, keepdims=True)


def distribution_pair_cases(seed: int, *, zeros: bool = False, names: tuple[str, str] = ("p", "q"),
                            zeros_in_second: bool = True) -> Iterator[Case]:
    """Pairs of probability tensors ``(..., K)`` for K in 1, 4, 10 and every batch shape.

    With ``zeros``, the first has exact zeros, and so does the second when ``zeros_in_second``
    (for quantities that stay finite there, such as Jensen-Shannon). ``grad_output`` has the
    batch shape, one upstream gradient per distribution.
    """
    gen = np.random.default_rng(seed)
    for batch, k, dtype, alpha in itertools.product(BATCH_SHAPES, (1, 4, 10), DTYPES, CONCENTRATIONS):
        shape = (*batch, k)
        first = probability_vectors(gen, shape, alpha, zeros)
        second = probability_vectors(gen, shape, alpha, zeros and zeros_in_second)
        inputs = {names[0]: first.astype(dtype), names[1]: second.astype(dtype)}
        yield Case(inputs, {}, upstream(gen, batch, "none", dtype))


def distribution_cases(seed: int, *, zeros: bool = False) -> Iterator[Case]:
    """The first distribution ``p`` of each of :func:`distribution_pair_cases` (the same draws)."""
    for case in distribution_pair_cases(seed, zeros=zeros):
        yield Case({"p": case.inputs["p"]}, {}, case.grad_output)


KL_SHAPES: tuple[tuple[int, ...], ...] = ((), (6,), (4, 5), (2, 3, 4))


def kl_cases(seed: int, *, zeros: bool = False) -> Iterator[Case]:
    """Inputs of ``F.kl_div``: ``input`` log-probabilities (or any reals), ``target`` probabilities.

    Every reduction (``'mean'``, ``'batchmean'``, ``'sum'``, ``'none'``) and both ``log_target``.
    With ``zeros`` (only with ``log_target=False``), the target has exact zeros, where the
    pointwise value is 0. ``mean_of`` is what ``'mean'`` or ``'batchmean'`` divides by.
    """
    gen = np.random.default_rng(seed)
    reductions = ("mean", "batchmean", "sum", "none")
    for shape, dtype, reduction, log_target in itertools.product(KL_SHAPES, DTYPES, reductions, (False, True)):
        if zeros and log_target:
            continue
        if shape:
            log_q = np.log(probability_vectors(gen, shape, float(gen.choice(CONCENTRATIONS))))
            p = probability_vectors(gen, shape, float(gen.choice(CONCENTRATIONS)), zeros)
        else:
            log_q, p = np.log(gen.uniform(0.05, 1.0)), np.asarray(0.0 if zeros else gen.uniform(0.05, 1.0))
        if gen.uniform() < 0.3:
            log_q = log_q + gen.normal(0.0, 2.0, size=np.shape(log_q))  # torch does not ask for log-probabilities
        target = np.log(p) if log_target else p
        size = int(np.prod(shape))
        mean_of = {"mean": size, "batchmean": shape[0] if shape else None}.get(reduction)
        grad_output = upstream(gen, shape, reduction, dtype)
        inputs = {"input": np.asarray(log_q, dtype=dtype), "target": np.asarray(target, dtype=dtype)}
        yield Case(inputs, {"reduction": reduction, "log_target": log_target}, grad_output, mean_of)


#: ``(input shape, var shape or None for a Python float)``: every variance layout torch accepts.
GAUSSIAN_LAYOUTS: tuple[tuple[tuple[int, ...], tuple[int, ...] | None], ...] = (
    ((7,), (7,)), ((7,), None), ((4, 3), (4, 3)), ((4, 3), (4,)), ((4, 3), (4, 1)), ((4, 3), (1, 3)),
    ((4, 3), None), ((2, 3, 4), (2, 3, 1)), ((2, 3, 4), (2, 1, 4)), ((2, 3, 4), (2, 3)),
)


def gaussian_cases(seed: int, *, float_var: bool | None = None) -> Iterator[Case]:
    """Inputs of ``F.gaussian_nll_loss`` for every variance layout, ``full``, ``eps`` and reduction.

    Variances span 1e-9 to 1e3 (about a quarter below ``eps``, where torch clamps them);
    a ``None`` layout passes the variance as a Python float. ``float_var`` True or False
    keeps only the cases whose variance is (or is not) a float, from the same draws.
    """
    gen = np.random.default_rng(seed)
    grid = itertools.product(GAUSSIAN_LAYOUTS, DTYPES, ("mean", "sum", "none"), (False, True), (1e-6, 1e-2))
    for (shape, var_shape), dtype, reduction, full, eps in grid:
        target = gen.normal(0.0, 3.0, size=shape)
        inp = target + gen.normal(0.0, 1.0, size=shape) * 10.0 ** gen.uniform(-3, 1, size=shape)
        if var_shape is None:
            var: Any = float(10.0 ** gen.uniform(-3, 2))
        else:
            var = np.asarray(10.0 ** gen.uniform(-9, 3, size=var_shape), dtype=dtype)
        inputs = {"input": inp.astype(dtype), "target": target.astype(dtype), "var": var}
        options = {"full": full, "eps": eps, "reduction": reduction}
        case = Case(inputs, options, upstream(gen, shape, reduction, dtype),
                    int(np.prod(shape)) if reduction == "mean" else None)
        if float_var is None or float_var == isinstance(var, float):
            yield case


def poisson_cases(seed: int) -> Iterator[Case]:
    """Inputs of ``F.poisson_nll_loss``: counts 0 to ~200 (0 and 1 sit on the Stirling mask's edge).

    With ``log_input`` the input is a log-rate in [-8, 6]; without, a rate in [0, 50] with
    exact zeros, where ``eps`` keeps the log finite.
    """
    gen = np.random.default_rng(seed)
    shapes = ((), (7,), (3, 4), (2, 3, 5))
    grid = itertools.product(shapes, DTYPES, ("mean", "sum", "none"), (True, False), (False, True), (1e-8, 1e-3))
    for shape, dtype, reduction, log_input, full, eps in grid:
        rate = 10.0 ** gen.uniform(-2, 2, size=shape)
        target = np.asarray(gen.poisson(rate), dtype=np.float64)
        if target.size:
            target.reshape(-1)[:2] = [0.0, 1.0][: target.size]
        if log_input:
            inp = gen.uniform(-8.0, 6.0, size=shape)
        else:
            inp = gen.uniform(0.0, 50.0, size=shape)
            inp.reshape(-1)[::4] = 0.0
        inputs = {"input": np.asarray(inp, dtype=dtype), "target": np.asarray(target, dtype=dtype)}
        options = {"log_input": log_input, "full": full, "eps": eps, "reduction": reduction}
        yield Case(inputs, options, upstream(gen, shape, reduction, dtype),
                   int(np.prod(shape)) if reduction == "mean" else None)


def location_scale_cases(seed: int, *, with_df: bool = False) -> Iterator[Case]:
    """Elementwise ``value, loc, scale`` (and ``df`` in [0.3, 100]) of one shape.

    Scales span 1e-2 to 1e2 and standardised residuals 1e-3 to 1e3, so points lie in the
    centre and far in the tails; every third value equals its ``loc`` exactly (the kink of
    the Laplace NLL, where torch's gradient with respect to ``loc`` is 0), and each case
    carries a note for wrong elements that are all such ties. ``grad_output`` has the
    shape of the values.
    """
    gen = np.random.default_rng(seed)
    for shape, dtype in itertools.product(((), (7,), (3, 4), (2, 3, 5)), DTYPES):
        loc = gen.normal(0.0, 5.0, size=shape)
        scale = 10.0 ** gen.uniform(-2, 2, size=shape)
        z = gen.choice([-1.0, 1.0], size=shape) * 10.0 ** gen.uniform(-3, 3, size=shape)
        tie = np.zeros(shape, dtype=bool)
        tie.reshape(-1)[::3] = True
        inputs = {"value": np.where(tie, loc, loc + scale * z)}
        if with_df:
            inputs["df"] = 10.0 ** gen.uniform(np.log10(0.3), 2, size=shape)
        inputs.update(loc=loc, scale=scale)
        inputs = {name: np.asarray(value, dtype=dtype) for name, value in inputs.items()}
        note = (tie, Hint("sign-at-zero", "wrong only where value == loc exactly: torch takes sign(0) = 0 there."))
        yield Case(inputs, {}, upstream(gen, shape, "none", dtype), notes=[note])


def mixture_cases(seed: int, *, far: bool = False) -> Iterator[Case]:
    """Points ``y`` ``(N,)`` and mixture parameters ``(N, K)`` for K in 1, 3, 6, every reduction.

    Logits in [-10, 10], means N(0, 5), log-scales in [-3, 2]. With ``far``, every point lies
    30 to 3,000 of its mixture's largest standard deviations away from every mean, where each
    component's density underflows to 0 and only a log-sum-exp evaluation stays finite.
    """
    gen = np.random.default_rng(seed)
    for n, k, dtype, reduction in itertools.product((1, 8), (1, 3, 6), DTYPES, ("mean", "sum", "none")):
        logits = gen.uniform(-10.0, 10.0, size=(n, k))
        means = gen.normal(0.0, 5.0, size=(n, k))
        log_scales = gen.uniform(-3.0, 2.0, size=(n, k))
        if far:
            reach = np.exp(log_scales).max(1) * 10.0 ** gen.uniform(1.5, 3.5, size=n)
            y = np.where(gen.uniform(size=n) < 0.5, means.min(1) - reach, means.max(1) + reach)
        else:
            pick = gen.integers(k, size=n)
            rows = np.arange(n)
            y = means[rows, pick] + np.exp(log_scales[rows, pick]) * gen.normal(0.0, 1.5, size=n)
        inputs = {"y": y, "logits": logits, "means": means, "log_scales": log_scales}
        inputs = {name: value.astype(dtype) for name, value in inputs.items()}
        yield Case(inputs, {"reduction": reduction}, upstream(gen, (n,), reduction, dtype),
                   n if reduction == "mean" else None)


# ---------------------------------------------------------------- defaults and corners of torch's API


def kl_defaults(seed: int) -> Iterator[Case]:
    """``reduction`` and ``log_target`` left out (``'mean'``, False), and ``grad_output`` (1)."""
    gen = np.random.default_rng((seed, 0))
    yield defaults_case({"input": np.log(probability_vectors(gen, (4, 5), 1.0)),
                         "target": probability_vectors(gen, (4, 5), 1.0)}, mean_of=20)


def gaussian_defaults(seed: int) -> Iterator[Case]:
    """``full``, ``eps`` and ``reduction`` left out (False, 1e-6, ``'mean'``), and ``grad_output``;
    a third of the variances lie below 1e-6, where the default ``eps`` clamps them."""
    gen = np.random.default_rng((seed, 0))
    target = gen.normal(0.0, 3.0, size=(4, 3))
    var = 10.0 ** gen.uniform(-3, 1, size=(4, 3))
    var.reshape(-1)[::3] = 10.0 ** gen.uniform(-9, -7, size=4)
    yield defaults_case({"input": target + gen.normal(0.0, 1e-3, size=(4, 3)), "target": target, "var": var},
                        mean_of=12)


def rejected_gaussian_cases(seed: int) -> Iterator[Case]:
    """Calls torch rejects with ``ValueError``: a ``var`` of a shape that is none of the accepted
    layouts, and negative variances (an array entry, or the float)."""
    gen = np.random.default_rng((seed, 3))
    for shape, var_shape in (((4, 3), (3,)), ((4, 3), (4, 2)), ((4, 3), (1, 1)), ((2, 3, 4), (3, 4)),
                             ((2, 3, 4), (2, 1, 1))):
        target = gen.normal(size=shape)
        yield Case({"input": target + gen.normal(size=shape), "target": target,
                    "var": gen.uniform(0.5, 2.0, size=var_shape)}, {})
    target = gen.normal(size=(4, 3))
    negative = gen.uniform(0.5, 2.0, size=(4, 3))
    negative[1, 2] = -0.25
    yield Case({"input": target + 1.0, "target": target, "var": negative}, {})
    yield Case({"input": target + 1.0, "target": target, "var": -0.5}, {})


def poisson_defaults(seed: int) -> Iterator[Case]:
    """``log_input``, ``full``, ``eps``, ``reduction`` left out (True, False, 1e-8, ``"mean"``), and ``grad_output``."""
    gen = np.random.default_rng((seed, 0))
    yield defaults_case({"input": gen.uniform(-3.0, 3.0, size=(3, 4)),
                         "target": gen.poisson(3.0, size=(3, 4)).astype(np.float64)}, mean_of=12)


def mixture_defaults(seed: int) -> Iterator[Case]:
    """``reduction`` left out (``'mean'``), and ``grad_output``."""
    gen = np.random.default_rng((seed, 0))
    yield defaults_case({"y": gen.normal(0.0, 3.0, size=5), "logits": gen.uniform(-2.0, 2.0, size=(5, 3)),
                         "means": gen.normal(0.0, 3.0, size=(5, 3)),
                         "log_scales": gen.uniform(-1.0, 1.0, size=(5, 3))}, mean_of=5)
