"""Seeded test cases for the ``backpropagation`` assignment (numpy and the standard library only).

The checks that compare them with torch are in :mod:`lossbook_checks.checking.backpropagation`; the
test programs that run on the student's side (``numerical_gradient``'s test functions, the
``Value`` graphs) are in :mod:`.backpropagation_programs`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from .core import DTYPES, Case, grad_output


def layer_cases(seed: int, *, dtypes: Sequence[type] = DTYPES, count: int = 4) -> Iterator[Case]:
    """Inputs ``x``, ``W``, ``b`` of a linear layer and its upstream gradient: random sizes, batch 1 included."""
    gen = np.random.default_rng(seed)
    for dtype in dtypes:
        for k in range(count):
            n = 1 if k == 0 else int(gen.integers(2, 9))
            d_in, d_out = (int(v) for v in gen.integers(1, 8, size=2))
            inputs = {"x": gen.normal(size=(n, d_in)), "W": gen.normal(size=(d_out, d_in)) / np.sqrt(d_in),
                      "b": gen.normal(size=d_out)}
            yield Case({k2: v.astype(dtype) for k2, v in inputs.items()}, {},
                       gen.normal(size=(n, d_out)).astype(dtype))


def activation_cases(seed: int, *, dtypes: Sequence[type] = DTYPES) -> Iterator[Case]:
    """Input ``x`` and upstream gradient: shapes (1, 1) to (2, 3, 4), exact zeros, and values up to +-1e4."""
    gen = np.random.default_rng(seed)
    for dtype in dtypes:
        for shape, scale in (((1, 1), 1.0), ((5, 3), 3.0), ((2, 3, 4), 10.0), ((4, 6), 1e4)):
            x = gen.normal(0.0, scale, size=shape)
            x.reshape(-1)[::5] = 0.0
            yield Case({"x": x.astype(dtype)}, {}, gen.normal(size=shape).astype(dtype))


def cross_entropy_cases(seed: int) -> Iterator[Case]:
    """Logits ``(N, C)`` of scales 1 to 1e4 and labels ``(N,)``, with a scalar upstream gradient."""
    gen = np.random.default_rng(seed)
    for dtype in DTYPES:
        for n, c, scale in ((1, 2, 1.0), (5, 4, 3.0), (8, 6, 1e4), (3, 10, 50.0)):
            inputs = {"logits": (scale * gen.normal(size=(n, c))).astype(dtype), "labels": gen.integers(0, c, size=n)}
            yield Case(inputs, {}, grad_output(gen, (), "mean", dtype), mean_of=n)


def cross_entropy_defaults(seed: int) -> Iterator[Case]:
    """One call with ``grad_output`` left out (its default is 1, as for ``loss.backward()``)."""
    gen = np.random.default_rng((seed, 0))
    yield Case({"logits": gen.normal(0.0, 2.0, size=(6, 4)), "labels": gen.integers(0, 4, size=6)}, {}, mean_of=6)


def mlp_cases(seed: int, *, dtypes: Sequence[type] = DTYPES, count: int = 3) -> Iterator[Case]:
    """``params`` of a ``D -> H1 -> H2 -> C`` MLP, ``x`` and ``labels``: random sizes, batch 1 included."""
    gen = np.random.default_rng(seed)
    for dtype in dtypes:
        for k in range(count):
            n = 1 if k == 0 else int(gen.integers(2, 12))
            d, h1, h2 = (int(v) for v in gen.integers(1, 9, size=3))
            c = int(gen.integers(2, 6))
            params = {}
            for i, (fan_in, fan_out) in enumerate(((d, h1), (h1, h2), (h2, c)), start=1):
                params[f"W{i}"] = (gen.normal(size=(fan_out, fan_in)) * 1.5 / np.sqrt(fan_in)).astype(dtype)
                params[f"b{i}"] = gen.normal(0.0, 0.5, size=fan_out).astype(dtype)
            yield Case({"params": params, "x": gen.normal(size=(n, d)).astype(dtype),
                        "labels": gen.integers(0, c, size=n)}, {})


def numerical_gradient_cases(seed: int) -> Iterator[tuple[np.ndarray, bool]]:
    """``(x, transposed)``: float64 points of shapes (), (5,), (3, 4), (2, 3, 2), and a (4, 3) transposed view."""
    gen = np.random.default_rng(seed)
    for shape in ((), (5,), (3, 4), (2, 3, 2)):
        yield gen.uniform(-1.5, 1.5, size=shape), False
    yield gen.uniform(-1.5, 1.5, size=(4, 3)), True


def hvp_cases(seed: int) -> Iterator[Case]:
    """Logits ``(N, C)`` of scales 1 to 1e3, labels and a direction ``v`` shaped like the logits."""
    gen = np.random.default_rng(seed)
    for dtype in DTYPES:
        for n, c, scale in ((1, 2, 1.0), (6, 4, 3.0), (5, 7, 1e3)):
            yield Case({"logits": (scale * gen.normal(size=(n, c))).astype(dtype),
                        "labels": gen.integers(0, c, size=n), "v": gen.normal(size=(n, c)).astype(dtype)}, {})
