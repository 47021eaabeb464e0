"""Seeded test cases for the ``gradient_flow`` assignment (numpy and the standard library only).

Every generator ends with one case whose options are all left out (the function's defaults,
which must equal torch's) and whose ``grad_output`` is ``None`` (the student's default, 1).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .core import DTYPES, SHAPES, Case


def _option_sets(grid: Mapping[str, Sequence[Any]] | None) -> list[dict[str, Any]]:
    grid = dict(grid or {})
    return [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]


def activation(seed: int, option_grid: Mapping[str, Sequence[Any]] | None = None) -> Iterator[Case]:
    """``{"input"}`` of every shape in :data:`~.core.SHAPES`, both dtypes, scales 1, 4 and 1e4
    (every fifth element exactly 0, the kink), each option set of ``option_grid``."""
    gen = np.random.default_rng(seed)
    for shape, dtype, scale in itertools.product(SHAPES, DTYPES, (1.0, 4.0, 1e4)):
        for options in _option_sets(option_grid):
            x = gen.normal(0.0, scale, size=shape)
            x.reshape(-1)[::5] = 0.0
            yield Case({"input": x.astype(dtype)}, options, gen.uniform(-2.0, 2.0, size=shape).astype(dtype))
    yield Case({"input": gen.normal(0.0, 3.0, size=(4, 5))}, {})


GAIN_OPTIONS: tuple[dict[str, Any], ...] = (
    *({"nonlinearity": name} for name in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                                          "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh", "relu",
                                          "selu")),
    {"nonlinearity": "relu", "param": 0.3}, {"nonlinearity": "leaky_relu", "param": 0.2},
    {"nonlinearity": "leaky_relu", "param": 0.0}, {"nonlinearity": "leaky_relu", "param": math.sqrt(5.0)},
    {"nonlinearity": "leaky_relu", "param": None},
    {"nonlinearity": "leaky_relu"},
    {"nonlinearity": "softmax"}, {"nonlinearity": "leaky_relu", "param": True},
)


def gain() -> Iterator[Case]:
    """Every nonlinearity ``calculate_gain`` knows; ``leaky_relu`` with slopes 0.2, 0 (not 0.01!),
    sqrt(5) and none given; one it does not know, and a slope ``True`` (torch raises ``ValueError`` for both)."""
    for options in GAIN_OPTIONS:
        yield Case({}, dict(options))


def weight_shapes(gen: np.random.Generator) -> list[tuple[int, ...]]:
    """Linear ``(out, in)`` and conv ``(out, in, *kernel)`` weight shapes, 1-d to 3-d kernels."""
    def size() -> int:
        return int(gen.integers(1, 65))

    def kernel() -> int:
        return int(gen.integers(1, 6))

    return [(size(), size()), (3, 200), (200, 3), (size(), size(), kernel()),
            (size(), size(), kernel(), kernel()), (size(), size(), kernel(), kernel(), kernel())]


def fans(seed: int) -> Iterator[Case]:
    """``{"shape"}`` for linear and conv weights, and a 1-d shape (torch raises ``ValueError``)."""
    for shape in [*weight_shapes(np.random.default_rng(seed)), (7,)]:
        yield Case({}, {"shape": shape})


def xavier(seed: int) -> Iterator[Case]:
    """Weight shapes with gains 1, 5/3 and sqrt(2); then the default gain."""
    shapes = weight_shapes(np.random.default_rng(seed))
    for shape, g in itertools.product(shapes, (1.0, 5.0 / 3.0, math.sqrt(2.0))):
        yield Case({}, {"shape": shape, "gain": g})
    yield Case({}, {"shape": shapes[0]})


def kaiming(seed: int) -> Iterator[Case]:
    """Weight shapes with every mode, several nonlinearities and slopes ``a``; then the defaults."""
    shapes = weight_shapes(np.random.default_rng(seed))
    grid = itertools.product(shapes, ("fan_in", "fan_out"), ("relu", "leaky_relu", "tanh", "linear"),
                             (0.0, 0.2, math.sqrt(5.0)))
    for shape, mode, nonlinearity, a in grid:
        yield Case({}, {"shape": shape, "a": a, "mode": mode, "nonlinearity": nonlinearity})
    yield Case({}, {"shape": shapes[2]})


def sampler(seed: int) -> Iterator[Case]:
    """Large weight shapes (about 5e4 to 1.3e5 elements, fans that differ) for the sampler's statistics."""
    gen = np.random.default_rng(seed)
    for shape, options in (((256, 512), {"mode": "fan_in", "nonlinearity": "relu"}),
                           ((512, 128), {"mode": "fan_out", "nonlinearity": "tanh"}),
                           ((64, 32, 5, 5), {"a": math.sqrt(5.0)}),
                           ((300, 200), {})):
        yield Case({}, {"shape": shape, "seed": int(gen.integers(0, 2**31)), **options})


def _channel_stats(gen: np.random.Generator, channels: int, dtype: type) -> dict[str, np.ndarray]:
    return {"running_mean": gen.normal(0.0, 1.0, size=channels).astype(dtype),
            "running_var": gen.uniform(0.5, 2.0, size=channels).astype(dtype)}


def batch_norm(seed: int, *, forward: bool) -> Iterator[Case]:
    """Inputs ``(N, C)``, ``(N, C, L)`` and ``(N, C, H, W)``, both dtypes, training and eval, with and
    without ``weight``/``bias``, two momenta and eps values; one channel of each batch constant (zero
    variance); empty batches (N = 0) in both modes, which torch accepts. ``forward`` adds the case torch
    rejects: one value per channel in training mode."""
    gen = np.random.default_rng(seed)
    shapes = ((8, 3), (5, 4, 6), (3, 2, 4, 5), (2, 3))
    grid = itertools.product(shapes, DTYPES, (True, False), (True, False), ((0.1, 1e-5), (0.5, 1e-3)))
    for shape, dtype, training, affine, (momentum, eps) in grid:
        channels = shape[1]
        x = gen.normal(0.0, 1.0, size=shape) * gen.uniform(0.1, 10.0, size=(1, channels) + (1,) * (len(shape) - 2))
        x = x + gen.normal(0.0, 3.0, size=(1, channels) + (1,) * (len(shape) - 2))
        x[:, 0] = 1.5  # a constant channel: its batch variance is 0
        inputs = {"input": x.astype(dtype), **_channel_stats(gen, channels, dtype)}
        if affine:
            inputs["weight"] = gen.uniform(0.5, 2.0, size=channels).astype(dtype)
            inputs["bias"] = gen.normal(0.0, 1.0, size=channels).astype(dtype)
        # float32: torch's mean of a constant channel is off by an ulp, which 1/sqrt(eps) amplifies
        yield Case(inputs, {"training": training, "momentum": momentum, "eps": eps},
                   gen.normal(0.0, 1.0, size=shape).astype(dtype), atol=2e-4 if dtype == np.float32 else None)
    for shape, dtype, training in itertools.product(((0, 3), (0, 2, 4)), DTYPES, (True, False)):
        channels = shape[1]
        inputs = {"input": np.zeros(shape, dtype=dtype), **_channel_stats(gen, channels, dtype),
                  "weight": gen.uniform(0.5, 2.0, size=channels).astype(dtype),
                  "bias": gen.normal(0.0, 1.0, size=channels).astype(dtype)}
        yield Case(inputs, {"training": training}, np.zeros(shape, dtype=dtype))
    if forward:
        yield Case({"input": gen.normal(size=(1, 3)), **_channel_stats(gen, 3, np.float64)}, {"training": True})
    yield Case({"input": gen.normal(size=(6, 3)), **_channel_stats(gen, 3, np.float64)}, {})


def layer_norm(seed: int) -> Iterator[Case]:
    """Inputs ``(D,)``, ``(N, D)`` and ``(N, T, D)`` normalised over the last one or two dimensions, both
    dtypes, with and without ``weight``/``bias``, two eps values; one row of each constant."""
    gen = np.random.default_rng(seed)
    layouts = (((7,), (7,)), ((4, 6), (6,)), ((3, 4, 5), (5,)), ((3, 4, 5), (4, 5)), ((2, 1), (1,)))
    for (shape, normalized), dtype, affine, eps in itertools.product(layouts, DTYPES, (True, False), (1e-5, 1e-2)):
        x = gen.normal(0.0, 1.0, size=shape) * gen.uniform(0.1, 10.0) + gen.normal(0.0, 3.0)
        x.reshape(-1, int(np.prod(normalized)))[0] = -0.75  # a constant row: its variance is 0
        inputs = {"input": x.astype(dtype)}
        if affine:
            inputs["weight"] = gen.uniform(0.5, 2.0, size=normalized).astype(dtype)
            inputs["bias"] = gen.normal(0.0, 1.0, size=normalized).astype(dtype)
        yield Case(inputs, {"normalized_shape": normalized, "eps": eps}, gen.normal(size=shape).astype(dtype))
    yield Case({"input": gen.normal(size=(3, 4))}, {"normalized_shape": (4,)})


def mlp(seed: int) -> Iterator[Case]:
    """``{"params", "x", "y"}`` for MLPs of depth 1 to 12, widths 1 to 8, both dtypes, every activation."""
    gen = np.random.default_rng(seed)
    for depth, dtype, activation_name in itertools.product((1, 2, 5, 12), DTYPES,
                                                           ("relu", "tanh", "sigmoid", "linear")):
        widths = [int(w) for w in gen.integers(1, 9, size=depth + 1)]
        batch = int(gen.integers(1, 7))
        params = [((gen.normal(size=(o, i)) * math.sqrt(2.0 / i)).astype(dtype),
                   gen.normal(0.0, 0.1, size=o).astype(dtype)) for i, o in zip(widths[:-1], widths[1:], strict=True)]
        yield Case({"params": params, "x": gen.normal(size=(batch, widths[0])).astype(dtype),
                    "y": gen.normal(size=(batch, widths[-1])).astype(dtype)}, {"activation": activation_name})
    params = [(gen.normal(size=(4, 3)), gen.normal(size=4)), (gen.normal(size=(2, 4)), gen.normal(size=2))]
    yield Case({"params": params, "x": gen.normal(size=(5, 3)), "y": gen.normal(size=(5, 2))}, {})


def _gradients(gen: np.random.Generator, dtype: type, scale: float) -> list[np.ndarray]:
    shapes = [tuple(int(s) for s in gen.integers(1, 6, size=gen.integers(0, 3))) for _ in range(gen.integers(1, 5))]
    return [(scale * gen.normal(size=shape)).astype(dtype) for shape in shapes]


def clip_norm(seed: int) -> Iterator[Case]:
    """Lists of 1 to 4 gradients (0-d to 2-d), both dtypes, scales 0 (zero gradients), 1e-3, 1 and 1e4, every
    ``norm_type`` (2, 1, inf), ``max_norm`` below and above the norm; non-finite gradients with and without
    ``error_if_nonfinite``; lists with an empty gradient (torch raises ``RuntimeError`` for the inf-norm of one);
    an empty list."""
    gen = np.random.default_rng(seed)
    for dtype, scale, norm_type, max_norm in itertools.product(DTYPES, (0.0, 1e-3, 1.0, 1e4), (2.0, 1.0, math.inf),
                                                               (0.5, 50.0)):
        yield Case({"grads": _gradients(gen, dtype, scale)}, {"max_norm": max_norm, "norm_type": norm_type})
    for bad, norm_type, error in itertools.product((math.inf, math.nan), (2.0, math.inf), (False, True)):
        grads = _gradients(gen, np.float64, 1.0)
        grads[0].reshape(-1)[0] = bad
        yield Case({"grads": grads}, {"max_norm": 1.0, "norm_type": norm_type, "error_if_nonfinite": error})
    for dtype, norm_type in itertools.product(DTYPES, (2.0, 1.0, math.inf)):
        grads = [np.zeros((0,), dtype=dtype), *_gradients(gen, dtype, 1.0)]
        yield Case({"grads": grads}, {"max_norm": 1.0, "norm_type": norm_type})
    yield Case({"grads": []}, {"max_norm": 1.0})
    yield Case({"grads": _gradients(gen, np.float64, 3.0)}, {"max_norm": 1.0})


def clip_value(seed: int) -> Iterator[Case]:
    """Lists of gradients, both dtypes, scales 1e-3 to 1e4, clip values 0.01 to 1e3; an infinite and a NaN
    element."""
    gen = np.random.default_rng(seed)
    for dtype, scale, clip in itertools.product(DTYPES, (1e-3, 1.0, 1e4), (0.01, 1.0, 1e3)):
        yield Case({"grads": _gradients(gen, dtype, scale)}, {"clip_value": clip})
    grads = _gradients(gen, np.float64, 1.0)
    grads[0].reshape(-1)[0] = math.inf
    grads[-1].reshape(-1)[-1] = math.nan
    yield Case({"grads": grads}, {"clip_value": 0.5})
