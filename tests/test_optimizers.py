"""Exact scores of partial and wrong submissions of ``optimizers``.

Each wrong submission is the instructor solution with one usual mistake written in; it must
lose exactly the cells that check what the mistake breaks, and nothing else.
"""

from __future__ import annotations

import pytest
from grading_helpers import grade, points, released, source

from autograder.notebooks import fill_solutions, grade_id, is_solution, with_answers

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
}

#: The cells each submission loses (AdamW's solution calls adam_step, so Adam's mistakes reach it).
LOST = {
    "no_bias_correction": {"test_adam", "test_adamw"},
    "eps_inside_sqrt": {"test_adam", "test_adamw"},
    "decay_after_scaling": {"test_adam"},
    "l2_in_adamw": {"test_adamw"},
    "nesterov_as_momentum": {"test_sgd_nesterov"},
    "hidden_global_state": {"test_adam", "test_adamw"},
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
