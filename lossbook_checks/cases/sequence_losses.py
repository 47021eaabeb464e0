"""Seeded test cases for the ``sequence_losses`` assignment (numpy and the standard library only).

Conventions (torch's): time-major arrays, ``(T, N, ...)`` with ``T`` steps and a batch of ``N``;
weights ``(out, in)``, so that a layer computes ``x @ W.T``. Each generator yields first a case with
every option and upstream gradient left out (the defaults, compared with torch's), then cases over
both float dtypes, several shapes and options, and extreme inputs: saturated gates, confident
predictions whose alignments have probabilities far below the smallest float, emission scores of 1e3.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

from .core import DTYPES, REDUCTIONS, Case, defaults_case, grad_output


def _floats(dtype: type, **arrays: np.ndarray) -> dict[str, np.ndarray]:
    return {name: np.asarray(value, dtype=dtype) for name, value in arrays.items()}


def rnn_weights(gen: np.random.Generator, input_size: int, hidden: int, scale: float,
                gates: int = 1) -> dict[str, np.ndarray]:
    """``weight_ih`` ``(gates H, D)``, ``weight_hh`` ``(gates H, H)``, ``bias_ih`` and ``bias_hh`` ``(gates H,)``,
    drawn with standard deviation ``scale / sqrt(fan_in)`` (weights) and ``scale / 2`` (biases)."""
    return {"weight_ih": gen.normal(0, scale / np.sqrt(input_size), size=(gates * hidden, input_size)),
            "weight_hh": gen.normal(0, scale / np.sqrt(hidden), size=(gates * hidden, hidden)),
            "bias_ih": gen.normal(0, scale / 2, size=gates * hidden),
            "bias_hh": gen.normal(0, scale / 2, size=gates * hidden)}


#: ``(T, N, D, H)`` of the RNN cases: one step of one unit, short and long sequences.
RNN_SHAPES: tuple[tuple[int, int, int, int], ...] = ((1, 1, 1, 1), (3, 2, 4, 5), (8, 3, 2, 4), (25, 2, 3, 3))


def rnn(seed: int, *, backward: bool) -> Iterator[Case]:
    """A tanh RNN over every shape of :data:`RNN_SHAPES`, both dtypes, weight scales 0.5 (small gradients
    that vanish over time), 1.5 and 4 (saturated units); with ``backward`` an upstream gradient ``(T, N, H)``."""
    gen = np.random.default_rng(seed)
    T, N, D, H = 4, 2, 3, 3
    first = {"input": gen.normal(size=(T, N, D)), "hx": gen.normal(size=(N, H)), **rnn_weights(gen, D, H, 1.0)}
    yield defaults_case(first)
    for dtype, (T, N, D, H), scale in itertools.product(DTYPES, RNN_SHAPES, (0.5, 1.5, 4.0)):
        inputs = _floats(dtype, input=gen.normal(size=(T, N, D)), hx=gen.uniform(-1, 1, size=(N, H)),
                         **rnn_weights(gen, D, H, scale))
        upstream = gen.normal(size=(T, N, H)).astype(dtype) if backward else None
        yield Case(inputs, {}, upstream, rtol=1e-3 if dtype is np.float32 else None,
                   atol=1e-4 if dtype is np.float32 else None)


#: ``(N, D, H)`` of the LSTM cell cases.
LSTM_SHAPES: tuple[tuple[int, int, int], ...] = ((1, 1, 1), (4, 3, 5), (2, 6, 2), (0, 2, 3))


def lstm_cell(seed: int, *, backward: bool) -> Iterator[Case]:
    """One step of an LSTM cell: every shape of :data:`LSTM_SHAPES` (an empty batch included), both dtypes,
    pre-activations of scale 0.3 to 30 (saturated gates), and a forget-gate bias of 0 or 5 (``f`` near 1, the
    cell's additive path). With ``backward`` the inputs include the upstream gradients ``grad_h``, ``grad_c``."""
    gen = np.random.default_rng(seed)
    for dtype, (N, D, H), scale, forget_bias in itertools.product(DTYPES, LSTM_SHAPES, (0.3, 2.0, 30.0), (0.0, 5.0)):
        weights = rnn_weights(gen, D, H, scale, gates=4)
        weights["bias_hh"][H:2 * H] += forget_bias
        inputs = {"input": gen.normal(size=(N, D)), "hx": gen.uniform(-1, 1, size=(N, H)),
                  "cx": gen.normal(0, 2, size=(N, H)), **weights}
        if backward:
            inputs |= {"grad_h": gen.normal(size=(N, H)), "grad_c": gen.normal(size=(N, H))}
        yield Case(_floats(dtype, **inputs), {}, rtol=1e-3 if dtype is np.float32 else None,
                   atol=1e-4 if dtype is np.float32 else None)


def ctc_batch(gen: np.random.Generator, T: int, C: int, target_lengths: list[int], blank: int, scale: float,
              dtype: type, *, repeats: bool = False, short_inputs: bool = True) -> dict[str, np.ndarray]:
    """``log_probs`` ``(T, N, C)`` (a log-softmax of normal logits of standard deviation ``scale``, rounded to
    multiples of 2^-16), targets ``(N, S)`` padded with random labels, ``input_lengths`` (``T``, or random in
    ``[T/2, T]`` with ``short_inputs``) and ``target_lengths``; labels are never ``blank``, and with
    ``repeats`` every target of two labels or more repeats its first label.

    The rounding makes the arrays the same bits on every machine (numpy's ``exp`` and ``log`` may differ in
    the last bit between versions and processors), so that a visible test finds its recorded reference
    value; the rows are then normalised to within about 1e-5, which CTC's posteriors do not see."""
    N, S = len(target_lengths), max(target_lengths, default=0)
    logits = gen.normal(0, scale, size=(T, N, C))
    log_probs = logits - logits.max(axis=-1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(axis=-1, keepdims=True))
    log_probs = np.round(log_probs * 2.0**16) / 2.0**16
    labels = np.array([c for c in range(C) if c != blank])
    targets = gen.choice(labels, size=(N, max(S, 1)))[:, :S]
    if repeats:
        targets[:, 1:2] = targets[:, :1]
    lengths = np.full(N, T) if not short_inputs else gen.integers((T + 1) // 2, T + 1, size=N)
    return {"log_probs": log_probs.astype(dtype), "targets": targets.astype(np.int64),
            "input_lengths": lengths.astype(np.int64), "target_lengths": np.array(target_lengths, dtype=np.int64)}


def _ctc_upstream(gen: np.random.Generator, batch: int, reduction: str, dtype: type) -> object:
    return grad_output(gen, (batch,), reduction, dtype)


def ctc(seed: int) -> Iterator[Case]:
    """CTC against ``F.ctc_loss``: batches of 1 to 4 with targets of 0 to 6 labels, repeated labels, targets too
    long for their input (impossible: an infinite loss), the blank first or last, every reduction and
    ``zero_infinity``, both dtypes, logits of scale 1 and 30, and long inputs (``T`` = 80) whose alignments
    have probabilities far below the smallest float32 and float64 (only log-space arithmetic survives)."""
    gen = np.random.default_rng(seed)
    batch = ctc_batch(gen, 6, 4, [2, 3], 0, 1.0, np.float64)
    yield defaults_case(batch)
    for dtype, reduction, zero_infinity, blank_last in itertools.product(DTYPES, REDUCTIONS, (False, True),
                                                                          (False, True)):
        C = int(gen.integers(3, 7))
        blank = C - 1 if blank_last else 0
        options = {"blank": blank, "reduction": reduction, "zero_infinity": zero_infinity}
        loose = {"rtol": 1e-3, "atol": 1e-4} if dtype is np.float32 else {}
        ordinary = ctc_batch(gen, int(gen.integers(4, 12)), C, [int(gen.integers(0, 4)) for _ in range(3)],
                             blank, 1.0, dtype)
        yield Case(ordinary, options, _ctc_upstream(gen, 3, reduction, dtype), **loose)
        # (a, a, b) needs a blank between the a's: 4 steps at least; 3 steps make it impossible
        repeated = ctc_batch(gen, 5, C, [3, 2, 3], blank, 1.0, dtype, repeats=True, short_inputs=False)
        repeated["input_lengths"] = np.array([5, 4, 3], dtype=np.int64)
        yield Case(repeated, options, _ctc_upstream(gen, 3, reduction, dtype), **loose)
        confident = ctc_batch(gen, 80, C, [6, 1], blank, 30.0, dtype)
        yield Case(confident, options, _ctc_upstream(gen, 2, reduction, dtype), **loose)


def ctc_small(seed: int) -> Iterator[Case]:
    """Tiny CTC problems (``T`` <= 5, ``C`` <= 3: at most 243 paths per sequence), for the enumeration of every
    alignment: targets of 0 to 2 labels (a repeat included), every alignment possible, every reduction, the
    blank first or last, both dtypes."""
    gen = np.random.default_rng(seed)
    for dtype, reduction, blank_last in itertools.product(DTYPES, REDUCTIONS, (False, True)):
        C = int(gen.integers(2, 4))
        blank = C - 1 if blank_last else 0
        T = int(gen.integers(3, 6))
        batch = ctc_batch(gen, T, C, [int(gen.integers(0, 3)), 2], blank, 1.5, dtype, repeats=True,
                          short_inputs=False)
        batch["input_lengths"] = np.array([T, max(3, T - 1)], dtype=np.int64)
        yield Case(batch, {"blank": blank, "reduction": reduction}, _ctc_upstream(gen, 2, reduction, dtype),
                   rtol=1e-3 if dtype is np.float32 else None, atol=1e-4 if dtype is np.float32 else None)


def ctc_rejected(seed: int) -> Iterator[Case]:
    """Calls ``F.ctc_loss`` rejects with ``ValueError``: an unknown ``reduction``."""
    gen = np.random.default_rng(seed)
    for reduction in ("avg", "batchmean"):
        yield Case(ctc_batch(gen, 5, 3, [2], 0, 1.0, np.float64), {"reduction": reduction})


def crf_problem(gen: np.random.Generator, T: int, N: int, K: int, scale: float, dtype: type) -> dict[str, np.ndarray]:
    """``emissions`` ``(T, N, K)`` of standard deviation ``scale``, ``tags`` ``(T, N)``, ``transitions`` ``(K, K)``,
    ``start`` and ``end`` ``(K,)``."""
    return {**_floats(dtype, emissions=gen.normal(0, scale, size=(T, N, K)),
                      transitions=gen.normal(0, scale, size=(K, K)), start=gen.normal(0, scale, size=K),
                      end=gen.normal(0, scale, size=K)),
            "tags": gen.integers(0, K, size=(T, N)).astype(np.int64)}


#: ``(T, N, K)`` small enough to enumerate every tag sequence (at most 3^4 = 81), and larger.
CRF_SMALL: tuple[tuple[int, int, int], ...] = ((1, 1, 1), (1, 2, 3), (3, 2, 2), (4, 3, 3), (2, 1, 4))
CRF_LARGE: tuple[tuple[int, int, int], ...] = ((12, 3, 5), (30, 2, 4), (7, 4, 8))


def crf(seed: int, *, small: bool) -> Iterator[Case]:
    """Linear-chain CRF problems, small (:data:`CRF_SMALL`, for enumeration) or large (:data:`CRF_LARGE`),
    both dtypes, every reduction, scores of scale 1 and large ones that overflow ``exp`` (only log-space
    arithmetic survives): 1e3 in float64, 100 in float32 (whose rounding of a log-partition of ~1e4 would
    otherwise exceed any useful tolerance); each with an upstream gradient shaped like the loss."""
    gen = np.random.default_rng(seed)
    yield defaults_case(crf_problem(gen, 3, 2, 3, 1.0, np.float64))
    shapes = CRF_SMALL if small else CRF_LARGE
    for dtype, (T, N, K), large, reduction in itertools.product(DTYPES, shapes, (False, True), REDUCTIONS):
        scale = (1e3 if dtype is np.float64 else 100.0) if large else 1.0
        tolerance = {"rtol": 1e-3, "atol": 1e-3 if large else 1e-4} if dtype is np.float32 else {}
        yield Case(crf_problem(gen, T, N, K, scale, dtype), {"reduction": reduction},
                   grad_output(gen, (N,), reduction, dtype), **tolerance)


def crf_rejected(seed: int) -> Iterator[Case]:
    """An unknown ``reduction`` must raise ``ValueError``."""
    gen = np.random.default_rng(seed)
    yield Case(crf_problem(gen, 3, 2, 3, 1.0, np.float64), {"reduction": "avg"})
