"""Helpers of the sequence pages: numpy backprop through time for a tanh RNN, an LSTM cell's forward and
backward pass, CTC and linear-chain CRF losses with their gradients, and the small training loops the
pages measure.

Conventions follow PyTorch so that every function can be checked against it:

* time-major arrays, ``(T, N, ...)`` with ``T`` steps and a batch of ``N``; row vectors, so a layer
  computes ``x @ W.T`` with ``W`` of shape ``(out, in)``, as ``torch.nn.RNN`` and ``torch.nn.LSTMCell``;
* one bias ``b`` where torch has two (``b_ih + b_hh``): their gradients are equal, and equal to ``b``'s;
* CTC: ``log_probs`` of shape ``(T, N, C)`` (log-softmax over the ``C`` classes), targets padded to
  ``(N, S)``, class ``blank`` (default 0) is the blank, as ``torch.nn.functional.ctc_loss``;
* CRF: one sequence, ``emissions`` ``(T, K)``, ``transitions[i, j]`` the score of tag ``i`` followed by
  tag ``j``, ``start`` and ``end`` ``(K,)`` the scores of the first and last tag.

The exercise functions (``rnn_bptt``, ``lstm_cell_forward``/``_backward``, ``ctc_loss``/``ctc_backward``,
``crf_nll``/``crf_backward`` and what they call) work in float64 numpy and use no torch; the experiment
helpers at the end use torch.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import torch
from matplotlib.axes import Axes

from .backprop import draw_graph


def logsumexp(v: np.ndarray | list[float], axis: int | None = None) -> np.ndarray:
    """``log(sum(exp(v)))`` along ``axis`` without overflow; ``-inf`` where every term is ``-inf``."""
    v = np.asarray(v, dtype=np.float64)
    top = np.max(v, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):                    # log(0) = -inf is the right answer
        return np.squeeze(top, axis=axis) + np.log(np.sum(np.exp(v - top), axis=axis))


def sigmoid(v: np.ndarray) -> np.ndarray:
    """The logistic function ``1 / (1 + exp(-v))``, without overflow for large negative ``v``."""
    return np.exp(-np.logaddexp(0.0, -v))


# ----------------------------------------------------------------------------------------------------------
# A tanh RNN and backprop through time


def rnn_forward(x: np.ndarray, h0: np.ndarray, W_ih: np.ndarray, W_hh: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hidden states of the tanh RNN ``a_t = tanh(x_t W_ih^T + a_{t-1} W_hh^T + b)``.

    ``x`` is ``(T, N, D)``, ``h0`` ``(N, H)``, ``W_ih`` ``(H, D)``, ``W_hh`` ``(H, H)``, ``b`` ``(H,)``.
    Returns ``a`` of shape ``(T + 1, N, H)`` with ``a[0] = h0`` and ``a[t]`` the state after step ``t``
    (so ``a[1:]`` is what ``torch.nn.RNN`` returns as its output).
    """
    a = np.empty((x.shape[0] + 1, *h0.shape))
    a[0] = h0
    for t in range(x.shape[0]):
        a[t + 1] = np.tanh(x[t] @ W_ih.T + a[t] @ W_hh.T + b)
    return a


def rnn_bptt(x: np.ndarray, h0: np.ndarray, W_ih: np.ndarray, W_hh: np.ndarray, b: np.ndarray,
             grad_a: np.ndarray, truncation: int | None = None) -> dict[str, np.ndarray]:
    """Backprop through time for :func:`rnn_forward`.

    ``grad_a`` ``(T, N, H)`` is the gradient of the loss with respect to each output state ``a[1:]``
    directly (not through later states), e.g. ``(a[1:] - y) / N`` for a squared error at every step.
    Going backwards, ``delta_t = (grad_a[t] + delta_{t+1} W_hh) * (1 - a_t^2)`` is the gradient with
    respect to step ``t``'s pre-activation, and the weight gradients are sums over time of
    ``delta_t^T (input of step t)``.

    ``truncation = k`` gives truncated BPTT as torch computes it when the state is detached every ``k``
    steps (chunks of steps ``1..k``, ``k+1..2k``, ...): the gradient carried from a chunk into the state
    that entered it is dropped. Returns a dict with the gradients ``W_ih``, ``W_hh``, ``b``, ``h0`` and
    ``x``, each of its argument's shape.
    """
    a = rnn_forward(x, h0, W_ih, W_hh, b)
    T = x.shape[0]
    grads = {"W_ih": np.zeros_like(W_ih), "W_hh": np.zeros_like(W_hh), "b": np.zeros_like(b),
             "x": np.zeros_like(x)}
    carried = np.zeros_like(h0)                       # dL/da_t through the later steps
    for t in range(T, 0, -1):                         # step t maps a[t-1] to a[t]
        delta = (grad_a[t - 1] + carried) * (1.0 - a[t] ** 2)
        grads["W_ih"] += delta.T @ x[t - 1]
        grads["W_hh"] += delta.T @ a[t - 1]
        grads["b"] += delta.sum(axis=0)
        grads["x"][t - 1] = delta @ W_ih
        carried = delta @ W_hh
        if truncation is not None and (t - 1) % truncation == 0 and t > 1:
            carried = np.zeros_like(carried)          # a[t-1] entered this chunk detached
    grads["h0"] = carried
    return grads


# ----------------------------------------------------------------------------------------------------------
# An LSTM cell


def lstm_cell_forward(x: np.ndarray, h: np.ndarray, c: np.ndarray, W_ih: np.ndarray, W_hh: np.ndarray,
                      b: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """One step of ``torch.nn.LSTMCell``: ``x`` ``(N, D)``, ``h`` and ``c`` ``(N, H)``, ``W_ih`` ``(4H, D)``,
    ``W_hh`` ``(4H, H)``, ``b`` ``(4H,)``, the gate rows in torch's order input, forget, cell, output.

    ``i, f, o = sigmoid(...)``, ``g = tanh(...)``, ``c' = f * c + i * g``, ``h' = o * tanh(c')``.
    Returns ``(h', c', cache)``; the cache holds what :func:`lstm_cell_backward` needs.
    """
    z = x @ W_ih.T + h @ W_hh.T + b
    zi, zf, zg, zo = np.split(z, 4, axis=1)
    i, f, g, o = sigmoid(zi), sigmoid(zf), np.tanh(zg), sigmoid(zo)
    c_new = f * c + i * g
    tanh_c = np.tanh(c_new)
    h_new = o * tanh_c
    cache = {"x": x, "h": h, "c": c, "W_ih": W_ih, "W_hh": W_hh, "i": i, "f": f, "g": g, "o": o,
             "tanh_c": tanh_c}
    return h_new, c_new, cache


def lstm_cell_backward(grad_h: np.ndarray, grad_c: np.ndarray, cache: dict[str, np.ndarray]
                       ) -> dict[str, np.ndarray]:
    """Gradients of one LSTM step, given the loss's gradients ``grad_h`` and ``grad_c`` ``(N, H)`` with
    respect to its outputs ``h'`` and ``c'`` (``grad_c`` is what the next step sends back along the cell).

    The cell receives ``grad_c + grad_h * o * (1 - tanh(c')^2)``; it passes ``f`` times that to the
    previous cell (the additive path) and feeds the gates. Returns the gradients ``x``, ``h``, ``c``,
    ``W_ih``, ``W_hh`` and ``b``, each of its argument's shape.
    """
    i, f, g, o, tanh_c = (cache[k] for k in ("i", "f", "g", "o", "tanh_c"))
    grad_cell = grad_c + grad_h * o * (1.0 - tanh_c ** 2)
    dz = np.concatenate([grad_cell * g * i * (1.0 - i),            # input gate
                         grad_cell * cache["c"] * f * (1.0 - f),   # forget gate
                         grad_cell * i * (1.0 - g ** 2),           # cell candidate
                         grad_h * tanh_c * o * (1.0 - o)], axis=1)  # output gate
    return {"x": dz @ cache["W_ih"], "h": dz @ cache["W_hh"], "c": grad_cell * f,
            "W_ih": dz.T @ cache["x"], "W_hh": dz.T @ cache["h"], "b": dz.sum(axis=0)}


# ----------------------------------------------------------------------------------------------------------
# CTC


def ctc_extended_labels(target: np.ndarray, blank: int = 0) -> np.ndarray:
    """The target with a blank before, between and after its labels: ``(b, l1, b, l2, ..., b)``,
    of length ``2S + 1``."""
    extended = np.full(2 * len(target) + 1, blank, dtype=np.int64)
    extended[1::2] = target
    return extended


def _skip_allowed(extended: np.ndarray, blank: int) -> np.ndarray:
    """``allowed[s]``: a path may jump from position ``s - 2`` to ``s`` (``s`` is a label that differs from
    the label two positions back, so the blank between them may be skipped)."""
    allowed = np.zeros(len(extended), dtype=bool)
    allowed[2:] = (extended[2:] != blank) & (extended[2:] != extended[:-2])
    return allowed


def ctc_log_alpha(log_probs: np.ndarray, target: np.ndarray, blank: int = 0) -> np.ndarray:
    """Forward variables of one sequence in log space: ``log_probs`` ``(T, C)``, ``target`` ``(S,)``.

    ``alpha[t, s]`` is the log of the total probability of the path prefixes of length ``t + 1`` that end at
    position ``s`` of the extended labels (emission at ``t`` included). Returns ``(T, 2S + 1)``.
    """
    extended = ctc_extended_labels(target, blank)
    skip = _skip_allowed(extended, blank)
    T, L = log_probs.shape[0], len(extended)
    alpha = np.full((T, L), -np.inf)
    alpha[0, :2] = log_probs[0, extended[:2]]
    for t in range(1, T):
        prev = alpha[t - 1]
        step = np.concatenate([[-np.inf], prev])[:L]             # from s - 1
        jump = np.where(skip, np.concatenate([[-np.inf, -np.inf], prev])[:L], -np.inf)  # from s - 2
        stay = prev
        alpha[t] = np.logaddexp(np.logaddexp(stay, step), jump) + log_probs[t, extended]
    return alpha


def ctc_log_beta(log_probs: np.ndarray, target: np.ndarray, blank: int = 0) -> np.ndarray:
    """Backward variables in log space: ``beta[t, s]`` is the log probability of the path suffixes
    after time ``t`` (emissions ``t + 1 .. T - 1``) that complete a valid path from position ``s`` at ``t``.
    Returns ``(T, 2S + 1)``; ``alpha + beta`` is the log probability of the paths through ``(t, s)``."""
    extended = ctc_extended_labels(target, blank)
    skip = _skip_allowed(extended, blank)
    T, L = log_probs.shape[0], len(extended)
    beta = np.full((T, L), -np.inf)
    beta[T - 1, max(L - 2, 0):] = 0.0
    for t in range(T - 2, -1, -1):
        nxt = beta[t + 1] + log_probs[t + 1, extended]
        stay, step = nxt, np.concatenate([nxt, [-np.inf]])[1:]    # to s, to s + 1
        jump = np.concatenate([np.where(skip, nxt, -np.inf), [-np.inf, -np.inf]])[2:]  # to s + 2
        beta[t] = np.logaddexp(np.logaddexp(stay, step), jump)
    return beta


def ctc_nll(log_probs: np.ndarray, target: np.ndarray, blank: int = 0) -> float:
    """``-log p(target | x)`` of one sequence, summed over all alignments (``inf`` when none exists)."""
    alpha = ctc_log_alpha(log_probs, target, blank)
    return float(-logsumexp(alpha[-1, -2:])) if len(target) else float(-alpha[-1, -1])


def ctc_nll_grad(log_probs: np.ndarray, target: np.ndarray, blank: int = 0) -> np.ndarray:
    """``d(-log p)/d log_probs`` ``(T, C)`` of one sequence: ``-gamma[t, c]``, minus the posterior
    probability that the alignment emits class ``c`` at time ``t``. (The gradient with respect to the
    logits before a log-softmax is ``softmax - gamma``.) Undefined (nan) when no alignment exists."""
    alpha, beta = ctc_log_alpha(log_probs, target, blank), ctc_log_beta(log_probs, target, blank)
    log_p = -ctc_nll(log_probs, target, blank)
    occupancy = np.exp(alpha + beta - log_p)                    # (T, 2S + 1), each row sums to 1
    gamma = np.zeros_like(log_probs)
    np.add.at(gamma.T, ctc_extended_labels(target, blank), occupancy.T)
    return -gamma


REDUCTIONS = ("none", "mean", "sum")


def _ctc_reduce(values: np.ndarray, target_lengths: np.ndarray, reduction: str) -> np.ndarray | float:
    if reduction == "none":
        return values
    if reduction == "sum":
        return float(values.sum())
    if reduction == "mean":
        return float((values / np.maximum(target_lengths, 1)).mean())
    raise ValueError(f"reduction must be one of {REDUCTIONS}, not {reduction!r}")


def ctc_loss(log_probs: np.ndarray, targets: np.ndarray, input_lengths: np.ndarray, target_lengths: np.ndarray,
             blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> np.ndarray | float:
    """``torch.nn.functional.ctc_loss`` in numpy: ``log_probs`` ``(T, N, C)``, ``targets`` ``(N, S)``
    padded, ``input_lengths`` and ``target_lengths`` ``(N,)``.

    ``reduction='mean'`` divides each sequence's loss by its target length (at least 1) and averages
    over the batch; ``'sum'`` adds the losses; ``'none'`` returns them ``(N,)``. ``zero_infinity`` replaces
    the infinite loss of an impossible alignment (a target too long for its input) by 0.
    """
    losses = np.array([ctc_nll(log_probs[:input_lengths[n], n], targets[n, :target_lengths[n]], blank)
                       for n in range(log_probs.shape[1])])
    if zero_infinity:
        losses = np.where(np.isinf(losses), 0.0, losses)
    return _ctc_reduce(losses, np.asarray(target_lengths), reduction)


def ctc_backward(log_probs: np.ndarray, targets: np.ndarray, input_lengths: np.ndarray,
                 target_lengths: np.ndarray, blank: int = 0, reduction: str = "mean",
                 zero_infinity: bool = False) -> np.ndarray:
    """The gradient ``(T, N, C)`` of :func:`ctc_loss` with respect to ``log_probs``: ``-gamma`` per sequence,
    zero beyond each input length, scaled by the reduction (``1 / (N * target_length)`` for ``'mean'``),
    and zero for an impossible sequence when ``zero_infinity`` (nan otherwise). For ``'none'`` it is the
    gradient of the sum of the per-sequence losses.

    This is the partial derivative with respect to ``log_probs``. ``torch.nn.functional.ctc_loss``'s backward
    returns ``exp(log_probs) - gamma`` instead, the gradient with respect to the logits of a log-softmax; the
    two agree once backpropagated through that log-softmax.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, not {reduction!r}")
    grad = np.zeros_like(log_probs)
    N = log_probs.shape[1]
    scale = {"none": np.ones(N), "sum": np.ones(N),
             "mean": 1.0 / (N * np.maximum(np.asarray(target_lengths), 1))}[reduction]
    for n in range(N):
        lp, target = log_probs[:input_lengths[n], n], targets[n, :target_lengths[n]]
        if np.isinf(ctc_nll(lp, target, blank)):
            grad[:input_lengths[n], n] = 0.0 if zero_infinity else np.nan
        else:
            grad[:input_lengths[n], n] = scale[n] * ctc_nll_grad(lp, target, blank)
    return grad


def ctc_alignments(T: int, target: tuple[int, ...], num_classes: int, blank: int = 0) -> list[tuple[int, ...]]:
    """Every path of length ``T`` over ``num_classes`` classes that collapses (merge repeats, then drop
    blanks) to ``target``, by enumeration: for checking the recursion on tiny sizes."""
    def collapse(path: tuple[int, ...]) -> tuple[int, ...]:
        merged = [c for k, c in enumerate(path) if k == 0 or c != path[k - 1]]
        return tuple(c for c in merged if c != blank)
    return [p for p in itertools.product(range(num_classes), repeat=T) if collapse(p) == tuple(target)]


# ----------------------------------------------------------------------------------------------------------
# A linear-chain CRF


def crf_score(emissions: np.ndarray, tags: np.ndarray, transitions: np.ndarray, start: np.ndarray,
              end: np.ndarray) -> float:
    """Score of one tag sequence: ``start[y_1] + sum_t emissions[t, y_t] + sum_t transitions[y_{t-1}, y_t]
    + end[y_T]``."""
    tags = np.asarray(tags)
    return float(start[tags[0]] + emissions[np.arange(len(tags)), tags].sum()
                 + transitions[tags[:-1], tags[1:]].sum() + end[tags[-1]])


def crf_log_alpha(emissions: np.ndarray, transitions: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Forward algorithm: ``alpha[t, j] = log sum over tag prefixes ending in j at t of exp(score so far)``.
    Returns ``(T, K)``; ``log Z = logsumexp(alpha[-1] + end)``."""
    alpha = np.empty_like(emissions)
    alpha[0] = start + emissions[0]
    for t in range(1, len(emissions)):
        alpha[t] = logsumexp(alpha[t - 1][:, None] + transitions, axis=0) + emissions[t]
    return alpha


def crf_log_beta(emissions: np.ndarray, transitions: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Backward algorithm: ``beta[t, i] = log sum over tag suffixes after t, given tag i at t, of exp(their
    score)`` (``end`` included). Returns ``(T, K)``."""
    beta = np.empty_like(emissions)
    beta[-1] = end
    for t in range(len(emissions) - 2, -1, -1):
        beta[t] = logsumexp(transitions + emissions[t + 1] + beta[t + 1], axis=1)
    return beta


def crf_nll(emissions: np.ndarray, tags: np.ndarray, transitions: np.ndarray, start: np.ndarray,
            end: np.ndarray) -> float:
    """Negative log-likelihood ``log Z - score(tags)`` of one sequence, ``log Z`` by the forward algorithm."""
    log_z = logsumexp(crf_log_alpha(emissions, transitions, start)[-1] + end)
    return float(log_z - crf_score(emissions, tags, transitions, start, end))


def crf_nll_enumerated(emissions: np.ndarray, tags: np.ndarray, transitions: np.ndarray, start: np.ndarray,
                       end: np.ndarray) -> float:
    """The same negative log-likelihood with ``Z`` summed over all ``K^T`` tag sequences (tiny sizes only)."""
    T, K = emissions.shape
    scores = [crf_score(emissions, np.array(y), transitions, start, end)
              for y in itertools.product(range(K), repeat=T)]
    return float(logsumexp(scores) - crf_score(emissions, tags, transitions, start, end))


def crf_backward(emissions: np.ndarray, tags: np.ndarray, transitions: np.ndarray, start: np.ndarray,
                 end: np.ndarray) -> dict[str, np.ndarray]:
    """Gradients of :func:`crf_nll`: expected counts under the model minus the observed counts.

    ``emissions``: the tag marginals ``p(y_t = j)`` minus the one-hot tags; ``transitions``: the summed pair
    marginals ``p(y_{t-1} = i, y_t = j)`` minus the observed pair counts; ``start``/``end``: the first/last
    marginal minus the first/last one-hot tag.
    """
    tags = np.asarray(tags)
    K = emissions.shape[1]
    alpha, beta = crf_log_alpha(emissions, transitions, start), crf_log_beta(emissions, transitions, end)
    log_z = logsumexp(alpha[-1] + end)
    marginals = np.exp(alpha + beta - log_z)
    pairs = np.exp(alpha[:-1, :, None] + transitions + (emissions[1:] + beta[1:])[:, None, :] - log_z)
    onehot = np.eye(K)[tags]
    observed_pairs = np.zeros((K, K))
    np.add.at(observed_pairs, (tags[:-1], tags[1:]), 1.0)
    return {"emissions": marginals - onehot, "transitions": pairs.sum(axis=0) - observed_pairs,
            "start": marginals[0] - onehot[0], "end": marginals[-1] - onehot[-1]}


# ----------------------------------------------------------------------------------------------------------
# Experiment helpers (torch)


def draw_unrolled_rnn(ax: Axes, values: dict[str, float], grads: dict[str, float], local: dict[str, float],
                      steps: int) -> None:
    """Draw a scalar RNN ``a_t = tanh(w x_t + u a_{t-1})`` unrolled over ``steps`` steps, with the loss ``L`` read
    from the last state. Node labels show ``value | dL/dnode`` from ``values`` and ``grads`` (keys ``a0..aT``,
    ``x1..xT``, ``L``); each arrow shows its local derivative from ``local`` (keys ``"a{t-1}->a{t}"``,
    ``"x{t}->a{t}"``, ``"a{T}->L"``)."""
    positions = {f"a{t}": (2.0 * t, 0.0) for t in range(steps + 1)}
    positions |= {f"x{t}": (2.0 * t, -1.6) for t in range(1, steps + 1)}
    positions["L"] = (2.0 * steps + 1.8, 0.0)
    edges = [(f"a{t - 1}", f"a{t}", f"{local[f'a{t - 1}->a{t}']:.3g}") for t in range(1, steps + 1)]
    edges += [(f"x{t}", f"a{t}", f"{local[f'x{t}->a{t}']:.3g}") for t in range(1, steps + 1)]
    edges.append((f"a{steps}", "L", f"{local[f'a{steps}->L']:.3g}"))
    labels = {name: f"{name}\n{values[name]:.3g} | {grads[name]:.3g}" for name in positions}
    draw_graph(ax, positions, labels, edges, highlight=[f"x{t}" for t in range(1, steps + 1)] + ["a0"])


def input_gradient_norms(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    """Run a recurrent ``model`` (``torch.nn.RNN`` or ``torch.nn.LSTM``, time-major) on ``x`` ``(T, N, D)``, take
    the loss ``L = sum of the last output state``, and return ``||dL/dx_t||`` (root mean square over the
    batch) ordered by the distance ``T - 1 - t`` from the last step: entry ``k`` is ``k`` steps back."""
    x = x.detach().requires_grad_(True)
    out, _ = model(x)
    (grad,) = torch.autograd.grad(out[-1].sum(), x)
    return (grad.norm(dim=(1, 2)) / x.shape[1] ** 0.5).numpy()[::-1].copy()


def sine_batch(n: int, steps: int, gen: torch.Generator, noise: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` sine waves ``sin(omega t + phi)`` with ``omega`` uniform in [0.3, 0.6] and ``phi`` uniform, sampled at
    ``t = 0 .. steps``. Returns ``(clean, observed)``, each ``(steps + 1, n, 1)``; ``observed`` adds Gaussian noise
    of standard deviation ``noise``."""
    omega = 0.3 + 0.3 * torch.rand(n, generator=gen)
    phase = 2 * torch.pi * torch.rand(n, generator=gen)
    clean = torch.sin(torch.arange(steps + 1.0)[:, None] * omega + phase).unsqueeze(-1)
    return clean, clean + noise * torch.randn(clean.shape, generator=gen)


class NextValueRNN(torch.nn.Module):
    """A one-layer tanh RNN and a linear read-out that predicts the next value of a scalar sequence from the
    values fed so far."""

    def __init__(self, hidden: int = 16) -> None:
        super().__init__()
        self.rnn, self.readout = torch.nn.RNN(1, hidden), torch.nn.Linear(hidden, 1)

    def rollout(self, observed: torch.Tensor, p_truth: float, warmup: int, gen: torch.Generator) -> torch.Tensor:
        """Predictions ``(T, n, 1)`` of ``observed[1:]`` from ``observed`` ``(T + 1, n, 1)``. The input at step ``t`` is
        the observed value for ``t < warmup``; after that, per sequence, the observed value with probability
        ``p_truth`` and the model's own previous prediction (detached) otherwise: ``p_truth = 1`` is teacher
        forcing (one fused call), ``0`` free running, in between scheduled sampling."""
        if p_truth == 1.0:
            return self.readout(self.rnn(observed[:-1])[0])
        state = torch.zeros(1, observed.shape[1], self.rnn.hidden_size)
        predictions, fed = [], observed[0]
        for t in range(observed.shape[0] - 1):
            out, state = self.rnn(fed[None], state)
            predictions.append(self.readout(out[0]))
            use_truth = torch.rand(observed.shape[1], 1, generator=gen) < p_truth
            fed = observed[t + 1] if t + 1 < warmup else torch.where(use_truth, observed[t + 1],
                                                                     predictions[-1].detach())
        return torch.stack(predictions)


def train_next_value(p_truth_at: Callable[[int], float], steps: int, seq_len: int, seed: int,
                     lr: float = 1e-2) -> NextValueRNN:
    """Train a :class:`NextValueRNN` by Adam on the squared error of its next-value predictions on fresh
    :func:`sine_batch` es of 32, feeding the truth with probability ``p_truth_at(step)`` (1: teacher forcing)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model = NextValueRNN()
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    for step in range(steps):
        _, observed = sine_batch(32, seq_len, gen)
        loss = (model.rollout(observed, p_truth_at(step), 1, gen) - observed[1:]).pow(2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return model
