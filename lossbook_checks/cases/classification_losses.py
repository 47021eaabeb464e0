"""Seeded test cases for the ``classification_losses`` assignment (numpy and the standard library only).

Every generator yields :class:`~lossbook_checks.cases.core.Case` objects drawn from a
generator seeded by the test. ``extreme=False`` keeps logits within +-6, where even a
formula without the stability tricks is accurate in float32; ``extreme=True`` puts
logits of +-1e4 in every case (probabilities of exactly 0 and 1 for BCE on
probabilities), where only a numerically stable formula gives torch's values. Hidden
tests keep the two apart, so a submission that is right but unstable loses exactly
the stability cells.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .core import DTYPES, REDUCTIONS, Case, defaults_case, grad_output

ELEMENTWISE_SHAPES: tuple[tuple[int, ...], ...] = ((), (1,), (7,), (3, 4), (2, 3, 5))
LOSS_SHAPES: tuple[tuple[int, ...], ...] = ((), (7,), (3, 4), (2, 3, 5))
CLASS_SHAPES: tuple[tuple[int, ...], ...] = ((6, 5), (4, 3, 2), (5,))
EXTREME = 1e4
#: float32 rtol for extreme cases: at |z| = 1e4 one float32 ulp is 1e-3, so torch's own
#: log-sum-exp carries an absolute error up to 5e-4, and so does exp(z - logsumexp(z)).
EXTREME_FLOAT32_RTOL = 2e-3
#: extreme cases test stability, which does not depend on how the losses are reduced
EXTREME_REDUCTIONS: tuple[str, ...] = ("none", "sum")


def with_tolerance(case: Case) -> Case:
    """``case`` with the rtol its checks use: the default by dtype (None) unless the case is
    extreme and float32 (then :data:`EXTREME_FLOAT32_RTOL`)."""
    x = case.inputs["input"]
    if x.dtype == np.float32 and np.any(np.abs(x) >= EXTREME):
        case.rtol = EXTREME_FLOAT32_RTOL
    return case



def logits(gen: np.random.Generator, shape: Sequence[int], dtype: type, extreme: bool) -> np.ndarray:
    """Logits within +-6; with ``extreme``, about half of them (at least one) replaced by +-1e4."""
    z = np.clip(gen.normal(0.0, 2.0, size=shape), -6.0, 6.0)
    if extreme and z.size:
        mask = gen.random(size=shape) < 0.5
        mask.reshape(-1)[gen.integers(z.size)] = True
        z = np.where(mask, EXTREME * gen.choice([-1.0, 1.0], size=shape), z)
    return np.asarray(z, dtype=dtype)


def activation_cases(seed: int, *, extreme: bool = False) -> Iterator[Case]:
    """Elementwise functions of ``input`` (sigmoid, log-sigmoid); grad_output shaped like the input."""
    gen = np.random.default_rng(seed)
    for shape, dtype in itertools.product(ELEMENTWISE_SHAPES, DTYPES):
        yield with_tolerance(Case({"input": logits(gen, shape, dtype, extreme)}, {},
                                  grad_output(gen, shape, "none", dtype)))


def softmax_cases(seed: int, *, extreme: bool = False, keepdim: bool = True) -> Iterator[Case]:
    """Functions of ``(input, dim)`` for every dim of 1-d to 3-d inputs, negative dims included.

    ``keepdim=False`` (logsumexp): grad_output has the input's shape without ``dim``.
    """
    gen = np.random.default_rng(seed)
    for shape, dtype in itertools.product(((5,), (3, 4), (2, 3, 4)), DTYPES):
        for dim in (*range(len(shape)), -1):
            out_shape = shape if keepdim else tuple(np.delete(shape, dim))
            yield with_tolerance(Case({"input": logits(gen, shape, dtype, extreme)}, {"dim": dim},
                                      grad_output(gen, out_shape, "none", dtype)))


def _binary_targets(gen: np.random.Generator, shape: tuple[int, ...], dtype: type, soft: bool = True) -> np.ndarray:
    """Targets in {0, 1}; with ``soft``, about half of them replaced by probabilities in (0, 1)."""
    t = gen.integers(0, 2, size=shape).astype(np.float64)
    if soft:
        t = np.where(gen.random(size=shape) < 0.5, gen.uniform(0.0, 1.0, size=shape), t)
    return np.asarray(t, dtype=dtype)


def _weight(gen: np.random.Generator, shape: tuple[int, ...], dtype: type) -> np.ndarray:
    return np.asarray(gen.uniform(0.2, 3.0, size=shape), dtype=dtype)


def bce_cases(seed: int, *, extreme: bool = False) -> Iterator[Case]:
    """BCE on probabilities: hard and soft targets, with and without ``weight``, every reduction
    (extreme cases: those of :data:`EXTREME_REDUCTIONS`).

    Ordinary probabilities lie in [0.02, 0.98]; with ``extreme`` about half are exactly 0 or 1.
    """
    gen = np.random.default_rng(seed)
    for shape, dtype, reduction, weighted in itertools.product(
            ELEMENTWISE_SHAPES, DTYPES, EXTREME_REDUCTIONS if extreme else REDUCTIONS, (False, True)):
        p = gen.uniform(0.02, 0.98, size=shape)
        if extreme:
            p = np.where(gen.random(size=shape) < 0.5, gen.integers(0, 2, size=shape), p)
        inputs = {"input": np.asarray(p, dtype=dtype), "target": _binary_targets(gen, shape, dtype)}
        if weighted:
            inputs["weight"] = _weight(gen, shape[-1:], dtype)
        yield with_tolerance(Case(inputs, {"reduction": reduction}, grad_output(gen, shape, reduction, dtype),
                                  mean_of=int(np.prod(shape)) if reduction == "mean" else None))


def bce_logits_cases(seed: int, *, extreme: bool = False) -> Iterator[Case]:
    """BCE with logits: hard and soft targets, ``weight`` and ``pos_weight`` (shape of the last dim)."""
    gen = np.random.default_rng(seed)
    for shape, dtype, reduction, weighted, positive in itertools.product(
            LOSS_SHAPES, DTYPES, EXTREME_REDUCTIONS if extreme else REDUCTIONS, (False, True), (False, True)):
        inputs = {"input": logits(gen, shape, dtype, extreme), "target": _binary_targets(gen, shape, dtype)}
        if weighted:
            inputs["weight"] = _weight(gen, shape, dtype)
        if positive:
            inputs["pos_weight"] = _weight(gen, shape[-1:], dtype)
        yield with_tolerance(Case(inputs, {"reduction": reduction}, grad_output(gen, shape, reduction, dtype),
                                  mean_of=int(np.prod(shape)) if reduction == "mean" else None))


def _class_indices(gen: np.random.Generator, loss_shape: tuple[int, ...], n_classes: int,
                   ignore_index: int) -> np.ndarray:
    """Class indices with about a quarter ignored (set to ``ignore_index``), never all of them."""
    target = np.array(gen.integers(0, n_classes, size=loss_shape))
    ignored = np.array((gen.random(size=loss_shape) < 0.25) | (target == ignore_index))
    ignored.reshape(-1)[0] = False
    if 0 <= ignore_index < n_classes:
        target.reshape(-1)[0] = (ignore_index + 1) % n_classes
    return np.where(ignored, ignore_index, target).astype(np.int64)


def cross_entropy_cases(seed: int, *, probabilities: bool = False, smoothing: Sequence[float] = (0.0,),
                        extreme: bool = False) -> Iterator[Case]:
    """``F.cross_entropy`` on (N, C), (N, C, d1) and unbatched (C,) logits.

    Ordinary cases: class-index targets (int64) with and without ``weight``, ``ignore_index``
    -100 and 1 (a real class), about a quarter of the targets ignored; or class-probability
    targets (``probabilities``) with and without ``weight``; each ``label_smoothing`` in
    ``smoothing``; every reduction. Extreme cases (logits of +-1e4) have no weight, no ignored
    target, no smoothing and the reductions of :data:`EXTREME_REDUCTIONS`, so that they test
    stability and nothing else.
    """
    gen = np.random.default_rng(seed)
    weights = (False,) if extreme else (False, True)
    ignore_indices = (-100,) if probabilities or extreme else (-100, 1)
    for shape, dtype, reduction, weighted, ignore_index, eps in itertools.product(
            CLASS_SHAPES, DTYPES, EXTREME_REDUCTIONS if extreme else REDUCTIONS, weights, ignore_indices,
            (0.0,) if extreme else smoothing):
        class_axis = 0 if len(shape) == 1 else 1
        n_classes, loss_shape = shape[class_axis], tuple(np.delete(shape, class_axis))
        if probabilities:
            raw = gen.uniform(0.0, 1.0, size=shape)
            target = np.asarray(raw / raw.sum(axis=class_axis, keepdims=True), dtype=dtype)
        elif extreme:
            target = np.array(gen.integers(0, n_classes, size=loss_shape))
        else:
            target = _class_indices(gen, loss_shape, n_classes, ignore_index)
        inputs = {"input": logits(gen, shape, dtype, extreme), "target": target}
        if weighted:
            inputs["weight"] = _weight(gen, (n_classes,), dtype)
        options: dict[str, Any] = {"reduction": reduction}
        if eps:
            options["label_smoothing"] = eps
        if ignore_index != -100:
            options["ignore_index"] = ignore_index
        yield with_tolerance(Case(inputs, options, grad_output(gen, loss_shape, reduction, dtype)))


def focal_cases(seed: int, *, extreme: bool = False) -> Iterator[Case]:
    """Binary sigmoid focal loss: alpha 0.25 or -1 (off), several gammas, every reduction (extreme
    cases: alpha 0.25 and the reductions of :data:`EXTREME_REDUCTIONS`).

    With ``extreme`` gamma is 0, 1 or 2: for 0 < gamma < 1 torch's own gradient is NaN where
    sigmoid saturates (0 times the infinite derivative of q**gamma at q = 0).
    """
    gen = np.random.default_rng(seed)
    gammas = (0.0, 1.0, 2.0) if extreme else (0.0, 0.5, 2.0)
    alphas = (0.25,) if extreme else (0.25, -1.0)
    reductions = EXTREME_REDUCTIONS if extreme else REDUCTIONS
    for shape, dtype, reduction, alpha, gamma in itertools.product(
            LOSS_SHAPES[1::2], DTYPES, reductions, alphas, gammas):
        inputs = {"input": logits(gen, shape, dtype, extreme), "target": _binary_targets(gen, shape, dtype, False)}
        yield with_tolerance(Case(inputs, {"alpha": alpha, "gamma": gamma, "reduction": reduction},
                                  grad_output(gen, shape, reduction, dtype),
                                  mean_of=int(np.prod(shape)) if reduction == "mean" else None))


def multi_margin_cases(seed: int) -> Iterator[Case]:
    """``F.multi_margin_loss`` on (N, C) and unbatched (C,) scores: p 1 and 2, two margins, ``weight``."""
    gen = np.random.default_rng(seed)
    for shape, dtype, reduction, p, margin, weighted in itertools.product(
            ((6, 4), (1, 3), (5,)), DTYPES, REDUCTIONS, (1, 2), (1.0, 0.5), (False, True)):
        loss_shape = shape[:-1]
        inputs = {"input": np.asarray(gen.normal(0.0, 1.0, size=shape), dtype=dtype),
                  "target": gen.integers(0, shape[-1], size=loss_shape).astype(np.int64)}
        if weighted:
            inputs["weight"] = _weight(gen, shape[-1:], dtype)
        yield with_tolerance(Case(inputs, {"p": p, "margin": margin, "reduction": reduction},
                                  grad_output(gen, loss_shape, reduction, dtype),
                                  mean_of=int(np.prod(loss_shape)) if reduction == "mean" else None))


# ---------------------------------------------------------------- defaults and corners of torch's API


def _reduced_shape(shape: tuple[int, ...], dim: int, keepdim: bool) -> tuple[int, ...]:
    return shape if keepdim or not shape else tuple(np.delete(shape, dim))


def softmax_defaults(seed: int, *, keepdim: bool = True) -> Iterator[Case]:
    """``dim`` left out (torch's -1, the last dimension) on a 3-d input, where dim 1 would differ."""
    gen = np.random.default_rng((seed, 0))
    yield defaults_case({"input": logits(gen, (2, 3, 4), np.float64, False)},
                        grad_output(gen, _reduced_shape((2, 3, 4), -1, keepdim), "none", np.float64))


def degenerate_softmax_cases(seed: int, *, keepdim: bool = True) -> Iterator[Case]:
    """Empty and 0-d inputs, as torch takes them: a reduced dimension of size 0 gives an empty
    result (``logsumexp``: ``-inf``), an empty other dimension an empty result, and a 0-d input
    (``dim`` 0 or -1) a 0-d result and a 0-d gradient."""
    gen = np.random.default_rng((seed, 1))
    for (shape, dim), dtype in itertools.product(
            (((3, 0), -1), ((0, 4), 1), ((0,), 0), ((2, 0, 3), 1), ((), 0), ((), -1)), DTYPES):
        yield Case({"input": logits(gen, shape, dtype, False)}, {"dim": dim},
                   grad_output(gen, _reduced_shape(shape, dim, keepdim), "none", dtype))


def bce_defaults(seed: int) -> Iterator[Case]:
    """``weight`` and ``reduction`` left out (no weight, ``'mean'``), and ``grad_output`` (1)."""
    gen = np.random.default_rng((seed, 0))
    yield defaults_case({"input": gen.uniform(0.02, 0.98, size=(3, 4)),
                         "target": _binary_targets(gen, (3, 4), np.float64)}, mean_of=12)


def bce_logits_defaults(seed: int) -> Iterator[Case]:
    """``weight``, ``pos_weight`` and ``reduction`` left out (none, none, ``'mean'``), and ``grad_output``."""
    gen = np.random.default_rng((seed, 0))
    yield defaults_case({"input": logits(gen, (3, 4), np.float64, False),
                         "target": _binary_targets(gen, (3, 4), np.float64)}, mean_of=12)


def cross_entropy_defaults(seed: int, *, probabilities: bool = False) -> Iterator[Case]:
    """Every option left out: no weight, ``ignore_index`` -100 (one target is -100), ``'mean'``,
    no smoothing; and ``grad_output``. With ``probabilities``, class-probability targets."""
    gen = np.random.default_rng((seed, 0))
    if probabilities:
        raw = gen.uniform(0.0, 1.0, size=(5, 4))
        target = raw / raw.sum(axis=1, keepdims=True)
    else:
        target = gen.permutation([0, 1, 2, 3, -100])  # every class: a default ignore_index that is one shows
    yield defaults_case({"input": logits(gen, (5, 4), np.float64, False), "target": target})


def all_ignored_cases(seed: int, *, smoothing: Sequence[float] = (0.0,)) -> Iterator[Case]:
    """Every target ignored (a batch of padding): (N, C) with N = 3 and N = 1, (N, C, d1), and an
    unbatched (C,) input, with and without ``weight``, ``ignore_index`` -100 and 1, every
    reduction. torch: ``'mean'`` is NaN (0 / 0), ``'sum'`` 0, and the gradient is 0 everywhere."""
    gen = np.random.default_rng((seed, 2))
    for shape, dtype, reduction, weighted, ignore_index, eps in itertools.product(
            ((3, 4), (1, 4), (2, 3, 2), (4,)), DTYPES, REDUCTIONS, (False, True), (-100, 1), smoothing):
        class_axis = 0 if len(shape) == 1 else 1
        loss_shape = tuple(np.delete(shape, class_axis))
        inputs = {"input": logits(gen, shape, dtype, False), "target": np.full(loss_shape, ignore_index)}
        if weighted:
            inputs["weight"] = _weight(gen, (shape[class_axis],), dtype)
        options: dict[str, Any] = {"reduction": reduction, "ignore_index": ignore_index}
        if eps:
            options["label_smoothing"] = eps
        yield Case(inputs, options, grad_output(gen, loss_shape, reduction, dtype))


def rejected_cross_entropy_cases(seed: int) -> Iterator[Case]:
    """Calls torch rejects: class-probability targets with an ``ignore_index`` that is a class
    (0 or more), with and without ``weight``."""
    gen = np.random.default_rng((seed, 3))
    for shape, ignore_index in (((3, 4), 0), ((4,), 2), ((2, 3, 2), 1)):
        class_axis = 0 if len(shape) == 1 else 1
        raw = gen.uniform(0.0, 1.0, size=shape)
        yield Case({"input": logits(gen, shape, np.float64, False), "target": raw / raw.sum(class_axis, keepdims=True)},
                   {"ignore_index": ignore_index})


def focal_defaults(seed: int) -> Iterator[Case]:
    """``alpha``, ``gamma`` and ``reduction`` left out (torchvision's 0.25, 2 and ``'none'``), and
    ``grad_output`` (for ``'none'``: ones)."""
    gen = np.random.default_rng((seed, 0))
    yield defaults_case({"input": logits(gen, (3, 4), np.float64, False),
                         "target": _binary_targets(gen, (3, 4), np.float64, False)})


def multi_margin_defaults(seed: int) -> Iterator[Case]:
    """``p``, ``margin``, ``weight`` and ``reduction`` left out (1, 1.0, none, ``'mean'``), and ``grad_output``."""
    gen = np.random.default_rng((seed, 0))
    yield defaults_case({"input": gen.normal(0.0, 1.0, size=(6, 4)), "target": gen.integers(0, 4, size=6)},
                        mean_of=6)
