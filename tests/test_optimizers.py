"""Exact scores of partial and wrong submissions of ``optimizers``.

Each wrong submission is the instructor solution with one usual mistake written in; it must
lose exactly the cells that check what the mistake breaks, and nothing else.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from float64_internal import in_float64, run_test_cells
from grading_helpers import grade, points, released, source

from autograder.notebooks import fill_solutions, grade_id, is_solution, with_answers
from lossbook_checks.cases import optimizers as cases
from lossbook_checks.checking import CheckFailure
from lossbook_checks.checking import optimizers as co
from lossbook_checks.references import optimizers as ref

ASSIGNMENT = "optimizers"



def mistaken(cell: str, replacements: list[tuple[str, str]]) -> dict[str, str]:
    """The solution of answer cell ``cell`` with each ``(old, new)`` replaced (each ``old`` must occur)."""
    answer = next(c.source for c in source(ASSIGNMENT).cells if is_solution(c) and grade_id(c) == cell)
    for old, new in replacements:
        assert old in answer, f"{old!r} is not in the solution of {cell}"
        answer = answer.replace(old, new)
    return {cell: answer}


MISTAKES = {
    "no_bias_correction": mistaken("adam", [
        ("m_hat = m / (1 - beta1 ** step)", "m_hat = m"),
        ("v_hat = (v_max if amsgrad else v) / (1 - beta2 ** step)", "v_hat = v_max if amsgrad else v")]),
    "eps_inside_sqrt": mistaken("adam", [("np.sqrt(v_hat) + eps", "np.sqrt(v_hat + eps)")]),
    "decay_after_scaling": mistaken("adam", [
        ("        if weight_decay != 0:\n            d = d + weight_decay * p\n        m = beta1", "        m = beta1"),
        ("p - lr * m_hat / (np.sqrt(v_hat) + eps)", "p - lr * (m_hat / (np.sqrt(v_hat) + eps) + weight_decay * p)")]),
    "l2_in_adamw": mistaken("adamw", [
        ("    decayed = [p * (1 - lr * weight_decay) for p in params]\n", ""),
        ("adam_step(decayed, grads, state, lr=lr, betas=betas, eps=eps, weight_decay=0.0,",
         "adam_step(params, grads, state, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,")]),
    "nesterov_as_momentum": mistaken("sgd", [("d = d + momentum * buf if nesterov else buf", "d = buf")]),
    "hidden_global_state": mistaken("adam", [
        ("    step = state.get(\"step\", 0) + 1\n",
         "    if not state:  # a fresh optimiser... or so it seems\n        _MEMORY.clear()\n"
         "    state = _MEMORY\n    step = state.get(\"step\", 0) + 1\n"),
        ("    return new_params, new\n",
         "    _MEMORY.clear()\n    _MEMORY.update(new)\n    return new_params, dict(new)\n"),
        ("def adam_step(", "_MEMORY = {}\n\n\ndef adam_step(")]),
    "sgd_global_state": mistaken("sgd", [
        ("    buffers = state.get(\"momentum_buffer\", [None] * len(params))\n",
         "    if not state:  # a fresh optimiser... or so it seems\n        _BUFFERS.clear()\n"
         "    buffers = _BUFFERS.get(\"momentum_buffer\", [None] * len(params))\n"),
        ("    return new_params, {\"momentum_buffer\": new_buffers}\n",
         "    _BUFFERS[\"momentum_buffer\"] = new_buffers\n    return new_params, {\"started\": True}\n"),
        ("def sgd_step(", "_BUFFERS = {}\n\n\ndef sgd_step(")]),
}

#: The cells each submission loses (AdamW's solution calls adam_step, so Adam's mistakes reach it).
LOST = {
    "no_bias_correction": {"test_adam", "test_adamw"},
    "eps_inside_sqrt": {"test_adam", "test_adamw"},
    "decay_after_scaling": {"test_adam"},
    "l2_in_adamw": {"test_adamw"},
    "nesterov_as_momentum": {"test_sgd_nesterov"},
    "hidden_global_state": {"test_adam", "test_adamw"},
    "sgd_global_state": {"test_sgd", "test_sgd_nesterov"},
}


@pytest.mark.xdist_group("optimizers")
def test_partial_and_wrong_submissions_get_exactly_their_points(tmp_path):
    release, src = released(tmp_path, ASSIGNMENT), source(ASSIGNMENT)
    submissions = {name: with_answers(fill_solutions(release, src), answers) for name, answers in MISTAKES.items()}
    submissions["only_sgd"] = fill_solutions(release, src, only={"sgd"})
    scores, outcomes = grade(tmp_path, ASSIGNMENT, submissions)
    assert all(o.status == "graded" for o in outcomes.values())
    table = points(ASSIGNMENT)
    assert set(scores["only_sgd"].cells) == set(table)
    assert {cell for cell, (score, _) in scores["only_sgd"].cells.items() if score > 0} == {"test_sgd",
                                                                                          "test_sgd_nesterov"}
    assert scores["only_sgd"].total == table["test_sgd"] + table["test_sgd_nesterov"]
    for name, lost in LOST.items():
        failed = {cell for cell, (score, _) in scores[name].cells.items() if score == 0}
        assert failed == lost, name
        assert scores[name].total == sum(table.values()) - sum(table[cell] for cell in lost), name


def test_every_float32_run_accepts_float64_inside():
    """The intro's promise: every run the grader makes, float32 ones included, accepts a correct implementation
    that keeps its state and computes in float64 inside, returning float32 parameters (the float32 solution itself
    is graded by the self-check)."""
    steps = {"sgd_step", "rmsprop_step", "adagrad_step", "adam_step", "adamw_step"}
    passed = run_test_cells(ASSIGNMENT, lambda name, fn: in_float64(fn, keep=("state",)), steps | {"newton_step"})
    assert set(passed) == set(points(ASSIGNMENT))


def test_a_diverged_run_is_reported_in_words_without_numpy_warnings():
    """A run that diverges to inf with torch's compares without numpy warnings (inf - inf), and one that diverges
    alone fails with one sentence saying so."""
    def plain_sgd(params, grads, state, lr=1e-3):
        return [p - lr * g for p, g in zip(params, grads, strict=True)], state

    def overflowing(params, grads, state, lr=1e-3):
        return [p * np.float64(1e308) * 10 for p in params], state

    run = cases.make_run(np.random.default_rng(0), {"lr": 1e308}, shapes=[(3,)], steps=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert co.check_runs(plain_sgd, ref.sgd, [run]) == 1  # torch's run and this one are inf after step 2
        with pytest.raises(CheckFailure, match="Your run diverged"):
            co.check_runs(overflowing, ref.sgd, [cases.make_run(np.random.default_rng(0), {}, shapes=[(3,)])])
