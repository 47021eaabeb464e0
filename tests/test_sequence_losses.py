"""Exact scores of partial and wrong submissions of ``sequence_losses``, and the references it is graded by.

The points come from the source notebook's metadata. Each wrong submission holds one classic
mistake in one answer cell, and must lose exactly the test cells named.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from grading_helpers import grade, points, released, source

from autograder.notebooks import fill_solutions, grade_id, with_answers
from lossbook_checks.cases import sequence_losses as cases
from lossbook_checks.checking.reference import to_torch
from lossbook_checks.references import sequence_losses as ref

ASSIGNMENT = "sequence_losses"

# alpha and beta in probability space: correct arithmetic, but a product of 80 probabilities underflows
PROBABILITY_SPACE_CTC = '''

def ctc_alpha_beta(log_probs, target, blank):
    extended = np.full(2 * len(target) + 1, blank)
    extended[1::2] = target
    T, L = log_probs.shape[0], len(extended)
    skip = np.zeros(L, dtype=bool)
    skip[2:] = (extended[2:] != blank) & (extended[2:] != extended[:-2])
    y = np.exp(log_probs[:, extended])
    alpha, beta = np.zeros((T, L)), np.zeros((T, L))
    alpha[0, :2] = y[0, :2]
    for t in range(1, T):
        prev = alpha[t - 1]
        alpha[t] = y[t] * (prev + np.concatenate([[0.0], prev])[:L]
                           + np.where(skip, np.concatenate([[0.0, 0.0], prev])[:L], 0.0))
    beta[T - 1, -2:] = 1.0
    for t in range(T - 2, -1, -1):
        nxt = beta[t + 1] * y[t + 1]
        beta[t] = nxt + np.concatenate([nxt, [0.0]])[1:] + np.concatenate([np.where(skip, nxt, 0.0), [0.0, 0.0]])[2:]
    with np.errstate(divide="ignore"):
        return np.log(alpha), np.log(beta), np.log(alpha[T - 1, -2:].sum()), extended
'''

# the forget gate's pre-activation gets no gradient (the path c -> f * c through f is dropped)
NO_FORGET_GATE_PATH = '''

def lstm_cell_backward(input, hx, cx, weight_ih, weight_hh, bias_ih, bias_hh, grad_h, grad_c):
    i, f, g, o = lstm_gates(input, hx, weight_ih, weight_hh, bias_ih, bias_hh)
    tanh_c = np.tanh(f * cx + i * g)
    grad_cell = grad_c + grad_h * o * (1 - tanh_c ** 2)
    grad_z = np.concatenate([grad_cell * g * i * (1 - i), np.zeros_like(grad_cell),
                             grad_cell * i * (1 - g ** 2), grad_h * tanh_c * o * (1 - o)], axis=-1)
    grad_bias = grad_z.sum(axis=0)
    return (grad_z @ weight_ih, grad_z @ weight_hh, grad_cell * f, grad_z.T @ input, grad_z.T @ hx,
            grad_bias, grad_bias.copy())
'''

# torch's own backward of ctc_loss: exp(log_probs) - gamma, right only after a log-softmax
TORCH_CONVENTION_CTC_GRADIENT = '''

_partial_derivative = ctc_loss_backward


def ctc_loss_backward(log_probs, targets, input_lengths, target_lengths, grad_output=1.0, blank=0,
                      reduction="mean", zero_infinity=False):
    grad = _partial_derivative(log_probs, targets, input_lengths, target_lengths, grad_output, blank, reduction,
                               zero_infinity)
    return (grad - np.exp(log_probs) * grad.sum(axis=-1, keepdims=True)).astype(log_probs.dtype)
'''

WRONG = {"probability_space_ctc": ("ctc", PROBABILITY_SPACE_CTC, {"test_ctc_forward", "test_ctc_backward"}),
         "no_forget_gate_path": ("lstm", NO_FORGET_GATE_PATH, {"test_lstm_backward"}),
         "torch_convention_ctc_gradient": ("ctc", TORCH_CONVENTION_CTC_GRADIENT, {"test_ctc_backward"})}


@pytest.mark.xdist_group("sequence_losses")
def test_partial_and_wrong_submissions_get_exactly_their_points(tmp_path):
    release, src = released(tmp_path, ASSIGNMENT), source(ASSIGNMENT)
    cell_points = points(ASSIGNMENT)
    answers = {grade_id(cell): cell.source for cell in src.cells}
    solved = fill_solutions(release, src)
    submissions = {name: with_answers(solved, {cell: answers[cell] + mistake})
                   for name, (cell, mistake, _) in WRONG.items()}
    submissions["only_rnn"] = fill_solutions(release, src, only={"rnn"})
    scores, outcomes = grade(tmp_path, ASSIGNMENT, submissions)
    assert all(o.status == "graded" for o in outcomes.values())
    assert set(scores["only_rnn"].cells) == set(cell_points)
    assert scores["only_rnn"].total == cell_points["test_rnn_forward"] + cell_points["test_rnn_bptt"]
    for name, (_, _, lost) in WRONG.items():
        for gid, (got, _) in scores[name].cells.items():
            assert got == (0 if gid in lost else cell_points[gid]), (name, gid)
        assert scores[name].total == sum(cell_points.values()) - sum(cell_points[gid] for gid in lost), name


def _tensors(case, *, requires_grad: str | None = None) -> dict[str, torch.Tensor]:
    return {name: to_torch(value, requires_grad=name == requires_grad) for name, value in case.inputs.items()}


def test_ctc_enumeration_equals_torch_and_its_gradient_is_the_partial_derivative():
    """The enumeration of every alignment gives F.ctc_loss's value, and its autograd (the partial derivative),
    pushed through a log-softmax, gives the logits' gradient autograd finds through F.ctc_loss."""
    checked = 0
    for case in cases.ctc_small(seed=7):
        options = case.options
        enumerated = _tensors(case, requires_grad="log_probs")
        through_torch = _tensors(case, requires_grad="log_probs")
        value = ref.ctc_enumerated(**enumerated, **options)
        torch_value = ref.ctc_through_log_softmax(**through_torch, **options)
        tolerance = {"rtol": 1e-4, "atol": 1e-5} if case.inputs["log_probs"].dtype == np.float32 else {}
        torch.testing.assert_close(value, ref.ctc(**_tensors(case), **options), **tolerance)
        (partial,) = torch.autograd.grad(value.sum(), enumerated["log_probs"])
        (logits_grad,) = torch.autograd.grad(torch_value.sum(), through_torch["log_probs"])
        probs = enumerated["log_probs"].detach().softmax(-1)
        torch.testing.assert_close(partial - probs * partial.sum(-1, keepdim=True), logits_grad, **tolerance)
        # and it is not torch's gradient with respect to log_probs: each step's row of -gamma sums to -1 per sequence
        assert not torch.allclose(partial, logits_grad)
        checked += 1
    assert checked == 12


def test_crf_forward_algorithm_equals_enumeration():
    """The CRF reference by the forward algorithm equals the enumeration of every tag sequence, value and gradient."""
    checked = 0
    for case in cases.crf(seed=8, small=True):
        if case.inputs["emissions"].dtype != np.float64:
            continue
        names = ("emissions", "transitions", "start", "end")
        by_forward, by_enumeration = _tensors(case), _tensors(case)
        for tensors in (by_forward, by_enumeration):
            for name in names:
                tensors[name].requires_grad_(True)
        a = ref.crf_nll(**by_forward, **case.options)
        b = ref.crf_nll_enumerated(**by_enumeration, **case.options)
        torch.testing.assert_close(a, b)
        grads_a = torch.autograd.grad(a.sum(), [by_forward[n] for n in names])
        grads_b = torch.autograd.grad(b.sum(), [by_enumeration[n] for n in names])
        for ga, gb in zip(grads_a, grads_b, strict=True):
            torch.testing.assert_close(ga, gb)
        checked += 1
    assert checked == 1 + len(cases.CRF_SMALL) * 2 * 3
