"""References for the ``sequence_losses`` assignment.

- ``rnn_tanh``: ``torch.nn.RNN`` (one layer, tanh, time-major) called with the given weights; its
  gradients are autograd's through torch's own RNN;
- ``lstm_cell``: ``torch.nn.LSTMCell`` with the given weights (gate rows in torch's order input,
  forget, cell, output); ``lstm_cell_vjp`` is ``sum(h' * grad_h + c' * grad_c)``, whose gradient is
  the backward pass given the upstream gradients of both outputs;
- ``ctc``: ``torch.nn.functional.ctc_loss``. Its backward with respect to ``log_probs`` is not the
  partial derivative (torch returns ``exp(log_probs) - gamma``, the gradient with respect to the logits
  of a log-softmax; pytorch/pytorch#52241), so gradients are compared through
  ``ctc_through_log_softmax`` (``F.ctc_loss`` of ``log_softmax(log_probs)``, autograd with respect to its
  input: the logits' gradient), and on tiny problems with ``ctc_enumerated``, the negative log of the
  sum over every alignment, whose autograd is the partial derivative itself;
- ``crf_nll``: a linear-chain CRF's negative log-likelihood, ``log Z`` by the forward algorithm in
  log space, and ``crf_nll_enumerated``, ``Z`` summed over every tag sequence (tiny sizes).
"""

from __future__ import annotations

import itertools

from lossbook_checks.optional_torch import F, torch

from .reduction import apply_reduction


def rnn_tanh(input: torch.Tensor, hx: torch.Tensor, weight_ih: torch.Tensor, weight_hh: torch.Tensor,
             bias_ih: torch.Tensor, bias_hh: torch.Tensor) -> torch.Tensor:
    """``torch.nn.RNN(D, H, nonlinearity="tanh")`` on ``input`` ``(T, N, D)`` from ``hx`` ``(N, H)``: the output
    ``(T, N, H)``, the hidden state after every step."""
    rnn = torch.nn.RNN(input.shape[-1], hx.shape[-1], nonlinearity="tanh", device=input.device, dtype=input.dtype)
    weights = {"weight_ih_l0": weight_ih, "weight_hh_l0": weight_hh, "bias_ih_l0": bias_ih, "bias_hh_l0": bias_hh}
    output, _ = torch.func.functional_call(rnn, weights, (input, hx.unsqueeze(0)))
    return output


def lstm_cell(input: torch.Tensor, hx: torch.Tensor, cx: torch.Tensor, weight_ih: torch.Tensor,
              weight_hh: torch.Tensor, bias_ih: torch.Tensor, bias_hh: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """``torch.nn.LSTMCell(D, H)`` on ``input`` ``(N, D)`` from ``(hx, cx)`` ``(N, H)``: ``(h', c')``."""
    cell = torch.nn.LSTMCell(input.shape[-1], hx.shape[-1], device=input.device, dtype=input.dtype)
    weights = {"weight_ih": weight_ih, "weight_hh": weight_hh, "bias_ih": bias_ih, "bias_hh": bias_hh}
    return torch.func.functional_call(cell, weights, (input, (hx, cx)))


def lstm_cell_vjp(input: torch.Tensor, hx: torch.Tensor, cx: torch.Tensor, weight_ih: torch.Tensor,
                  weight_hh: torch.Tensor, bias_ih: torch.Tensor, bias_hh: torch.Tensor, grad_h: torch.Tensor,
                  grad_c: torch.Tensor) -> torch.Tensor:
    """``sum(h' * grad_h + c' * grad_c)`` of :func:`lstm_cell`: its gradient with respect to each input is the
    vector-Jacobian product of the cell with the upstream gradients ``grad_h`` and ``grad_c``."""
    h, c = lstm_cell(input, hx, cx, weight_ih, weight_hh, bias_ih, bias_hh)
    return (h * grad_h).sum() + (c * grad_c).sum()


def ctc(log_probs: torch.Tensor, targets: torch.Tensor, input_lengths: torch.Tensor, target_lengths: torch.Tensor,
        blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> torch.Tensor:
    """``F.ctc_loss`` (``log_probs`` ``(T, N, C)``, ``targets`` ``(N, S)`` padded)."""
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=blank, reduction=reduction,
                      zero_infinity=zero_infinity)


def ctc_through_log_softmax(log_probs: torch.Tensor, targets: torch.Tensor, input_lengths: torch.Tensor,
                            target_lengths: torch.Tensor, blank: int = 0, reduction: str = "mean",
                            zero_infinity: bool = False) -> torch.Tensor:
    """``F.ctc_loss`` of ``log_softmax(log_probs)``: the same value for normalised ``log_probs``, and autograd
    with respect to its input is the gradient with respect to the logits of that log-softmax, which torch
    computes correctly (what a model's logits receive)."""
    return ctc(log_probs.log_softmax(-1), targets, input_lengths, target_lengths, blank, reduction, zero_infinity)


def _collapse(path: tuple[int, ...], blank: int) -> tuple[int, ...]:
    """CTC's many-to-one map: merge repeated classes, then drop blanks."""
    merged = [c for k, c in enumerate(path) if k == 0 or c != path[k - 1]]
    return tuple(c for c in merged if c != blank)


def ctc_enumerated(log_probs: torch.Tensor, targets: torch.Tensor, input_lengths: torch.Tensor,
                   target_lengths: torch.Tensor, blank: int = 0, reduction: str = "mean",
                   zero_infinity: bool = False) -> torch.Tensor:
    """CTC's loss as ``-log`` of the sum, over every path of each input length that collapses to the target, of
    ``exp(sum_t log_probs[t, path_t])``: enumerates ``C^T`` paths (tiny sizes only). An impossible target
    gives ``inf`` (0 with ``zero_infinity``); the reductions are ``F.ctc_loss``'s."""
    num_classes = log_probs.shape[-1]
    losses = []
    for n in range(log_probs.shape[1]):
        length, target = int(input_lengths[n]), tuple(int(c) for c in targets[n, :int(target_lengths[n])])
        paths = [p for p in itertools.product(range(num_classes), repeat=length) if _collapse(p, blank) == target]
        if not paths:
            losses.append(log_probs.new_tensor(0.0 if zero_infinity else float("inf")))
            continue
        steps = torch.arange(length, device=log_probs.device)
        index = torch.tensor(paths, device=log_probs.device)
        losses.append(-torch.logsumexp(log_probs[steps, n][steps, index].sum(-1), dim=0))
    loss = torch.stack(losses)
    if reduction == "mean":
        return (loss / target_lengths.clamp_min(1).to(loss.dtype)).mean()
    return apply_reduction(loss, reduction)


def crf_score(emissions: torch.Tensor, tags: torch.Tensor, transitions: torch.Tensor, start: torch.Tensor,
              end: torch.Tensor) -> torch.Tensor:
    """The score ``(N,)`` of the tag sequences ``tags`` ``(T, N)``: ``start[y_1] + sum_t emissions[t, y_t] +
    sum_t transitions[y_{t-1}, y_t] + end[y_T]``."""
    emitted = emissions.gather(2, tags.unsqueeze(-1)).squeeze(-1).sum(0)
    return start[tags[0]] + emitted + transitions[tags[:-1], tags[1:]].sum(0) + end[tags[-1]]


def crf_nll(emissions: torch.Tensor, tags: torch.Tensor, transitions: torch.Tensor, start: torch.Tensor,
            end: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """``log Z - score(tags)`` per sequence of ``emissions`` ``(T, N, K)``, ``log Z`` by the forward algorithm
    ``alpha_t[j] = logsumexp_i(alpha_{t-1}[i] + transitions[i, j]) + emissions[t, j]``; reduced over the batch."""
    alpha = start + emissions[0]
    for t in range(1, emissions.shape[0]):
        alpha = torch.logsumexp(alpha.unsqueeze(-1) + transitions, dim=1) + emissions[t]
    log_z = torch.logsumexp(alpha + end, dim=-1)
    return apply_reduction(log_z - crf_score(emissions, tags, transitions, start, end), reduction)


def crf_nll_enumerated(emissions: torch.Tensor, tags: torch.Tensor, transitions: torch.Tensor,
                       start: torch.Tensor, end: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """:func:`crf_nll` with ``Z`` the sum over all ``K^T`` tag sequences of ``exp(score)`` (tiny sizes only)."""
    T, N, K = emissions.shape
    every = torch.tensor(list(itertools.product(range(K), repeat=T)), device=emissions.device).T  # (T, K^T)
    scores = torch.stack([crf_score(emissions[:, [n] * every.shape[1]], every, transitions, start, end)
                          for n in range(N)])                                                  # (N, K^T)
    log_z = torch.logsumexp(scores, dim=-1)
    return apply_reduction(log_z - crf_score(emissions, tags, transitions, start, end), reduction)
