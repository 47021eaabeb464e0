"""Seeded test cases for the ``loss_design`` assignment (numpy and the standard library only).

One generator per exercise function. Every generator yields first a case with the
options and ``grad_output`` left out (the defaults, compared with torch's), then cases
over both float dtypes, every option and reduction, random shapes, and extreme scales.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .core import DTYPES, REDUCTIONS, Case, Hint, defaults_case, grad_output

GAN_KINDS: tuple[str, ...] = ("minimax", "non_saturating", "least_squares", "wasserstein")


def _case(gen: np.random.Generator, inputs: dict[str, np.ndarray], options: dict[str, Any],
          loss_shape: tuple[int, ...], dtype: type, **judged: Any) -> Case:
    """A case whose upstream gradient is shaped like the loss (``options['reduction']``, default a scalar)."""
    reduction = options.get("reduction", "mean")
    n = int(np.prod(loss_shape))
    return Case(inputs, options, grad_output(gen, loss_shape, reduction, dtype),
                mean_of=n if reduction == "mean" else None, **judged)


def _with_defaults(cases: Iterator[Case]) -> Iterator[Case]:
    """The cases, preceded by the first non-empty one again with every option and ``grad_output`` left out."""
    done = False
    for case in cases:
        if not done and all(np.size(v) for v in case.inputs.values()):
            defaults = defaults_case(case.inputs)
            defaults.rtol, defaults.atol = case.rtol, case.atol
            yield defaults
            done = True
        yield case


def defaults_first(generator: Callable[[int], Iterator[Case]]) -> Callable[[int], Iterator[Case]]:
    """Decorate a case generator so that it starts with its defaults case (see :func:`_with_defaults`)."""
    @functools.wraps(generator)
    def wrapped(seed: int) -> Iterator[Case]:
        return _with_defaults(generator(seed))
    return wrapped


def _cast(dtype: type, **arrays: np.ndarray) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, dtype=dtype) if np.asarray(v).dtype.kind == "f" else np.asarray(v)
            for k, v in arrays.items()}


@defaults_first
def uncertainty_weighted(seed: int) -> Iterator[Case]:
    """Task losses from 1e-3 to 1e4 and log-variances from -20 to 20, 1 to 6 tasks."""
    gen = np.random.default_rng(seed)
    for dtype, tasks, scale in itertools.product(DTYPES, (1, 2, 3, 6), (1e-3, 1.0, 1e4)):
        losses = scale * gen.uniform(0.1, 2.0, size=tasks)
        log_vars = gen.choice([-20.0, -2.0, 0.0, 1.5, 20.0], size=tasks) + gen.normal(0, 0.3, size=tasks)
        case = Case(_cast(dtype, losses=losses, log_vars=log_vars), {}, grad_output(gen, (), "sum", dtype))
        yield case


def _pairs(gen: np.random.Generator, n: int, d: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    x1 = gen.normal(0, scale, size=(n, d))
    return x1, x1 + gen.normal(0, scale, size=(n, d)) * gen.uniform(0.1, 2.0, size=(n, 1))


@defaults_first
def contrastive(seed: int) -> Iterator[Case]:
    """Pairs at distances below and above the margin, both labels, every margin and reduction."""
    gen = np.random.default_rng(seed)
    for dtype, (n, d), margin, reduction in itertools.product(DTYPES, ((1, 1), (6, 3), (20, 8), (0, 4)),
                                                              (0.5, 1.0, 3.0), REDUCTIONS):
        x1, x2 = _pairs(gen, n, d, margin / np.sqrt(d))
        similar = gen.integers(0, 2, size=n)
        case = _case(gen, _cast(dtype, x1=x1, x2=x2, similar=similar.astype(float)),
                     {"margin": margin, "reduction": reduction}, (n,), dtype)
        yield case


@defaults_first
def triplet(seed: int) -> Iterator[Case]:
    """Triplets of every p (1, 2, 3 and inf), eps, swap, margin and reduction; embeddings at scales 0.1 to 100;
    then the corners torch defines: ties at the hinge, ties of the swap's minimum, tied maxima of the inf-norm."""
    gen = np.random.default_rng(seed)
    for dtype, p, swap, reduction in itertools.product(DTYPES, (1.0, 2.0, 3.0, np.inf), (False, True), REDUCTIONS):
        n, d = int(gen.integers(1, 12)), int(gen.integers(1, 6))
        scale = float(gen.choice([0.1, 1.0, 100.0]))
        anchor = gen.normal(0, scale, size=(n, d))
        positive = anchor + gen.normal(0, scale, size=(n, d))
        negative = anchor + gen.normal(0, scale, size=(n, d))
        options = {"margin": float(gen.choice([0.1, 1.0, 2.0])) * scale, "p": p,
                   "eps": float(gen.choice([1e-6, 0.1])), "swap": swap, "reduction": reduction}
        case = _case(gen, _cast(dtype, anchor=anchor, positive=positive, negative=negative), options, (n,), dtype)
        yield case
    for dtype, reduction in itertools.product(DTYPES, REDUCTIONS):
        yield from _triplet_ties(gen, dtype, reduction)


#: (p, offset of the positive, offset of the negative, margin) whose hinge margin + d(a, p) - d(a, n) is exactly 0
HINGE_TIES = ((1.0, (1.0, 0.5, 0.0), (2.0, 0.5, 0.0), 1.0), (2.0, (3.0, 4.0, 0.0), (0.0, 6.0, 8.0), 5.0))


def _triplet_ties(gen: np.random.Generator, dtype: type, reduction: str) -> Iterator[Case]:
    """Exact ties (eps = 0, offsets of small dyadic numbers): the hinge exactly 0 in the even rows (p = 1 and 2);
    anchor == positive with swap, so that d(a, n) = d(p, n) (p = 1, 2, inf); two equal largest |a - p| (p = inf)."""
    n = 6
    for p, to_positive, to_negative, margin in HINGE_TIES:
        anchor = gen.integers(-3, 4, size=(n, 3)).astype(float)
        positive = anchor + gen.integers(-2, 3, size=(n, 3))
        negative = anchor + gen.integers(-4, 5, size=(n, 3))
        positive[::2] = anchor[::2] + np.array(to_positive) * gen.choice([1.0, -1.0], size=(n // 2, 3))
        negative[::2] = anchor[::2] + np.array(to_negative) * gen.choice([1.0, -1.0], size=(n // 2, 3))
        yield _case(gen, _cast(dtype, anchor=anchor, positive=positive, negative=negative),
                    {"margin": margin, "p": p, "eps": 0.0, "reduction": reduction}, (n,), dtype)
    for p in (1.0, 2.0, np.inf):
        anchor = gen.normal(size=(n, 4))
        yield _case(gen, _cast(dtype, anchor=anchor, positive=anchor.copy(), negative=gen.normal(size=(n, 4))),
                    {"margin": 5.0, "p": p, "swap": True, "reduction": reduction}, (n,), dtype)
    anchor = gen.integers(-3, 4, size=(n, 3)).astype(float)
    positive = anchor + np.array([2.0, -2.0, 1.0]) * gen.choice([1.0, -1.0], size=(n, 3))
    negative = anchor + gen.integers(-4, 5, size=(n, 3))
    yield _case(gen, _cast(dtype, anchor=anchor, positive=positive, negative=negative),
                {"margin": 3.0, "p": np.inf, "eps": 0.0, "reduction": reduction}, (n,), dtype)


@defaults_first
def cosine_embedding(seed: int) -> Iterator[Case]:
    """Targets 1 and -1, margins -0.5 to 0.5, vectors of norm 1e-3 to 1e3."""
    gen = np.random.default_rng(seed)
    for dtype, margin, reduction, scale in itertools.product(DTYPES, (-0.5, 0.0, 0.5), REDUCTIONS, (1e-3, 1.0, 1e3)):
        n, d = int(gen.integers(1, 12)), int(gen.integers(2, 6))
        input1 = gen.normal(0, scale, size=(n, d))
        input2 = input1 * gen.uniform(-1, 1, size=(n, 1)) + gen.normal(0, scale, size=(n, d))
        target = gen.choice([1, -1], size=n)
        case = _case(gen, _cast(dtype, input1=input1, input2=input2, target=target),
                     {"margin": margin, "reduction": reduction}, (n,), dtype)
        yield case


@defaults_first
def info_nce(seed: int) -> Iterator[Case]:
    """Batches of 1 to 12 query-key pairs, temperatures 0.05 to 1, vectors of norm 1e-3 to 1e3; in every fourth
    batch a zero query and a zero key, and rows of norm 1e-13 and 1e-10 (either side of ``F.normalize``'s clamp
    at 1e-12); then empty batches (N = 0)."""
    gen = np.random.default_rng(seed)
    for k, (dtype, temperature, reduction) in enumerate(itertools.product(DTYPES, (0.05, 0.1, 0.5, 1.0),
                                                                           REDUCTIONS)):
        n, d = int(gen.integers(1, 13)), int(gen.integers(2, 9))
        scale = float(gen.choice([1e-3, 1.0, 1e3]))
        queries = gen.normal(0, scale, size=(n, d))
        keys = queries + gen.normal(0, scale * gen.uniform(0.1, 1.5), size=(n, d))
        if k % 4 == 3:  # F.normalize's clamp max(|x|, 1e-12): a zero row, one below the clamp, one just above
            queries[0], keys[-1] = 0.0, 0.0
            if n > 1:
                queries[-1] *= 1e-13 / np.linalg.norm(queries[-1])
                keys[0] *= 1e-10 / np.linalg.norm(keys[0])
        loose = {"rtol": 1e-3, "atol": 1e-4} if dtype is np.float32 else {}  # float32 logits up to 1/temperature
        case = _case(gen, _cast(dtype, queries=queries, keys=keys), {"temperature": temperature,
                                                                    "reduction": reduction}, (n,), dtype, **loose)
        yield case
    for dtype, reduction in itertools.product(DTYPES, REDUCTIONS):
        yield _case(gen, _cast(dtype, queries=np.zeros((0, 3)), keys=np.zeros((0, 3))), {"reduction": reduction},
                    (0,), dtype)


@defaults_first
def center(seed: int) -> Iterator[Case]:
    """Labels with repeats and absent classes; 1 to 20 samples, 1 to 5 classes."""
    gen = np.random.default_rng(seed)
    for dtype, (n, c, d), reduction in itertools.product(DTYPES, ((1, 1, 1), (7, 3, 4), (20, 5, 2), (4, 6, 3)),
                                                        REDUCTIONS):
        centers = gen.normal(0, 3, size=(c, d))
        labels = gen.integers(0, c, size=n)
        features = centers[labels] + gen.normal(0, 1, size=(n, d))
        case = _case(gen, _cast(dtype, features=features, labels=labels, centers=centers),
                     {"reduction": reduction}, (n,), dtype)
        yield case


DICE_SHAPES: tuple[tuple[int, ...], ...] = ((1, 1, 4, 4), (2, 3, 5, 5), (2, 2, 9), (3, 2, 4, 3, 2))


@defaults_first
def soft_dice(seed: int) -> Iterator[Case]:
    """Probabilities against targets with a tiny or empty foreground; every eps, squared and reduction."""
    gen = np.random.default_rng(seed)
    for dtype, shape, eps, squared, reduction in itertools.product(DTYPES, DICE_SHAPES, (1.0, 1e-5),
                                                                  (False, True), REDUCTIONS):
        probs = gen.uniform(0, 1, size=shape) ** gen.choice([1.0, 4.0])
        target = (gen.uniform(size=shape) < gen.choice([0.0, 0.05, 0.5])).astype(float)
        case = _case(gen, _cast(dtype, probs=probs, target=target),
                     {"eps": eps, "squared": squared, "reduction": reduction}, shape[:2], dtype)
        yield case


@defaults_first
def distillation(seed: int) -> Iterator[Case]:
    """Temperatures 1 to 10, alpha 0 to 1, logits at scales 1 to 1e3."""
    gen = np.random.default_rng(seed)
    for dtype, T, alpha, scale in itertools.product(DTYPES, (1.0, 2.0, 4.0, 10.0), (0.0, 0.5, 0.9, 1.0),
                                                    (1.0, 30.0, 1e3)):
        n, k = int(gen.integers(1, 10)), int(gen.integers(2, 8))
        student = gen.normal(0, scale, size=(n, k))
        teacher = gen.normal(0, scale, size=(n, k))
        target = gen.integers(0, k, size=n)
        case = Case(_cast(dtype, student_logits=student, teacher_logits=teacher, target=target),
                    {"T": T, "alpha": alpha}, grad_output(gen, (), "mean", dtype))
        yield case


def _logits(gen: np.random.Generator, scale: float) -> np.ndarray:
    shape = [(int(gen.integers(1, 9)),), (int(gen.integers(1, 9)), 1), (2, 3)][int(gen.integers(0, 3))]
    return gen.normal(0, scale, size=shape)


@defaults_first
def discriminator(seed: int) -> Iterator[Case]:
    """Every kind; real and fake batches of different sizes; logits at scales 1 to 1e4."""
    gen = np.random.default_rng(seed)
    for dtype, kind, scale in itertools.product(DTYPES, GAN_KINDS, (1.0, 30.0, 1e4)):
        inputs = _cast(dtype, real_logits=_logits(gen, scale), fake_logits=_logits(gen, scale))
        case = Case(inputs, {"kind": kind}, grad_output(gen, (), "mean", dtype))
        yield case


@defaults_first
def generator(seed: int) -> Iterator[Case]:
    """Every kind; logits at scales 1 to 1e4."""
    gen = np.random.default_rng(seed)
    for dtype, kind, scale in itertools.product(DTYPES, GAN_KINDS, (1.0, 30.0, 1e4)):
        case = Case(_cast(dtype, fake_logits=_logits(gen, scale)), {"kind": kind}, grad_output(gen, (), "mean", dtype))
        yield case


@defaults_first
def gradient_penalty(seed: int) -> Iterator[Case]:
    """Critic gradients of shape (N, D) and (N, C, H, W), norms from 0.1 to 100, weights 1 and 10, a zero row in
    every other case (the norm's gradient at 0); then empty batches (N = 0)."""
    gen = np.random.default_rng(seed)
    for k, (dtype, shape, weight, scale) in enumerate(itertools.product(DTYPES, ((1, 3), (6, 2), (4, 2, 3, 3)),
                                                                         (1.0, 10.0), (0.1, 1.0, 100.0))):
        gradients = gen.normal(0, scale / np.sqrt(np.prod(shape[1:])), size=shape)
        if k % 2:
            gradients[-1] = 0.0
        case = Case(_cast(dtype, gradients=gradients), {"weight": weight}, grad_output(gen, (), "mean", dtype))
        yield case
    for dtype, shape in itertools.product(DTYPES, ((0, 3), (0, 2, 3))):
        yield Case(_cast(dtype, gradients=np.zeros(shape)), {}, grad_output(gen, (), "mean", dtype))


#: (input1, input2, target) shapes that broadcast: torch's own OpInfo sample (5, 2), (5, 1), (1, 2), and others
#: (torch requires the three to have the same number of dimensions)
BROADCAST_SHAPES: tuple[tuple[tuple[int, ...], ...], ...] = (((5, 2), (5, 1), (1, 2)), ((1,), (6,), (1,)),
                                                             ((3, 1), (1, 4), (3, 4)))


@defaults_first
def margin_ranking(seed: int) -> Iterator[Case]:
    """Shapes from 0-d to 2-d and empty, targets 1 and -1, margins 0 to 1, and ties at the hinge; then inputs
    and targets of shapes that broadcast (each gradient has its own input's shape)."""
    gen = np.random.default_rng(seed)
    for dtype, shape, margin, reduction in itertools.product(DTYPES, ((), (1,), (9,), (3, 4), (0,)),
                                                             (0.0, 0.5, 1.0), REDUCTIONS):
        input1 = np.round(gen.normal(0, 2, size=shape) * 8) / 8      # multiples of 1/8: the ties below are exact
        input2 = input1 + gen.normal(0, 1, size=shape)
        target = gen.choice([1.0, -1.0], size=shape)
        tie = np.zeros(shape, dtype=bool)
        tie.reshape(-1)[::4] = True                                   # -target (x1 - x2) + margin = 0 exactly
        input2 = np.where(tie, input1 - target * margin, input2)
        case = _case(gen, _cast(dtype, input1=input1, input2=input2, target=target),
                     {"margin": margin, "reduction": reduction}, shape, dtype,
                     notes=[(tie, Hint("hinge-tie-gradient", "wrong only where -target*(input1 - input2) + margin is "
                                  "exactly 0: torch's clamp_min passes the gradient there (derivative 1), see the "
                                  "exercise text."))])
        yield case
    for dtype, shapes, reduction in itertools.product(DTYPES, BROADCAST_SHAPES, REDUCTIONS):
        input1, input2 = gen.normal(0, 2, size=shapes[0]), gen.normal(0, 2, size=shapes[1])
        target = gen.choice([1.0, -1.0], size=shapes[2])
        loss_shape = np.broadcast_shapes(*shapes)
        yield _case(gen, _cast(dtype, input1=input1, input2=input2, target=target),
                    {"margin": float(gen.choice([0.0, 0.5])), "reduction": reduction}, loss_shape, dtype)


@defaults_first
def listnet(seed: int) -> Iterator[Case]:
    """Lists of 2 to 20 items, graded or real relevance, scores at scales 1 to 1e3."""
    gen = np.random.default_rng(seed)
    for dtype, reduction, scale, graded in itertools.product(DTYPES, REDUCTIONS, (1.0, 30.0, 1e3), (False, True)):
        n, length = int(gen.integers(1, 8)), int(gen.integers(2, 21))
        scores = gen.normal(0, scale, size=(n, length))
        relevance = gen.integers(0, 5, size=(n, length)).astype(float) if graded else gen.normal(0, 2, (n, length))
        case = _case(gen, _cast(dtype, scores=scores, relevance=relevance), {"reduction": reduction}, (n,), dtype)
        yield case
