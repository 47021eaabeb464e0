"""Exact scores of partial, unstable and wrong submissions of ``classification_losses``."""

from __future__ import annotations

import pytest
from grading_helpers import grade, released, source
from nbformat import NotebookNode

from autograder.notebooks import fill_solutions, grade_id, with_answers

ASSIGNMENT = "classification_losses"
POINTS = {
    "test_sigmoid_forward": 1, "test_sigmoid_backward": 1, "test_sigmoid_stable": 2,
    "test_softmax_forward": 2, "test_softmax_backward": 2, "test_softmax_stable": 2,
    "test_bce_forward": 1, "test_bce_backward": 2, "test_bce_stable": 2,
    "test_bce_logits_forward": 2, "test_bce_logits_backward": 2, "test_bce_logits_stable": 2,
    "test_cross_entropy_forward": 3, "test_cross_entropy_backward": 3,
    "test_cross_entropy_smoothing_forward": 2, "test_cross_entropy_smoothing_backward": 2,
    "test_cross_entropy_probabilities": 3, "test_cross_entropy_stable": 2,
    "test_focal_forward": 2, "test_focal_backward": 3, "test_focal_stable": 2,
    "test_multi_margin_forward": 2, "test_multi_margin_backward": 2,
}
TOTAL = sum(POINTS.values())
STABILITY_CELLS = {gid for gid in POINTS if gid.endswith("_stable")}

# Textbook formulas without the stability tricks: no max-subtraction, log of a sigmoid, no clamping.
NAIVE = {
    "sigmoid": '''
def sigmoid(input):
    return 1 / (1 + np.exp(-input))


def sigmoid_backward(input, grad_output):
    s = sigmoid(input)
    return grad_output * s * (1 - s)


def log_sigmoid(input):
    return np.log(sigmoid(input))


def log_sigmoid_backward(input, grad_output):
    return grad_output * (1 - sigmoid(input))
''',
    "softmax": '''
def softmax(input, dim=-1):
    e = np.exp(input)
    return e / e.sum(axis=dim, keepdims=True)


def softmax_backward(input, grad_output, dim=-1):
    y = softmax(input, dim)
    return y * (grad_output - (grad_output * y).sum(axis=dim, keepdims=True))


def logsumexp(input, dim=-1):
    return np.log(np.exp(input).sum(axis=dim))


def logsumexp_backward(input, grad_output, dim=-1):
    return softmax(input, dim) * (np.expand_dims(grad_output, dim) if input.ndim else grad_output)


def log_softmax(input, dim=-1):
    return np.log(softmax(input, dim))


def log_softmax_backward(input, grad_output, dim=-1):
    return grad_output - softmax(input, dim) * grad_output.sum(axis=dim, keepdims=True)
''',
    "bce": '''
def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    loss = -(target * np.log(input) + (1 - target) * np.log(1 - input))
    return reduce_loss(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy_backward(input, target, grad_output=1.0, weight=None, reduction="mean"):
    grad = (input - target) / (input * (1 - input))
    grad = grad if weight is None else grad * weight
    return grad * reduce_loss_backward(grad_output, input.shape, reduction)
''',
    "bce_logits": '''
def binary_cross_entropy_with_logits(input, target, weight=None, pos_weight=None, reduction="mean"):
    s, rho = sigmoid(input), 1.0 if pos_weight is None else pos_weight
    loss = -(rho * target * np.log(s) + (1 - target) * np.log(1 - s))
    return reduce_loss(loss if weight is None else loss * weight, reduction)


def binary_cross_entropy_with_logits_backward(input, target, grad_output=1.0, weight=None, pos_weight=None,
                                              reduction="mean"):
    rho = 1.0 if pos_weight is None else pos_weight
    grad = (1 + (rho - 1) * target) * sigmoid(input) - rho * target
    grad = grad if weight is None else grad * weight
    return grad * reduce_loss_backward(grad_output, input.shape, reduction)
''',
}


def _answer(src, gid: str) -> str:
    return next(cell.source for cell in src.cells if grade_id(cell) == gid)



def _edited(src, gid: str, old: str, new: str) -> str:
    """The solution of cell ``gid`` with one line changed (the line must exist)."""
    code = _answer(src, gid)
    assert old in code, f"{old!r} not in the solution of {gid}"
    return code.replace(old, new)


def submissions(release: NotebookNode, src: NotebookNode) -> dict[str, NotebookNode]:
    """Solved, stub, partial, unstable and wrong submissions, by student (also graded by the class report's test)."""
    counted = "    w_t = (_class_weights(input, weight) * one_hot).sum(axis=axis)"
    return {
        "solved": fill_solutions(release, src),
        "stub": release,
        "only_sigmoid": fill_solutions(release, src, only={"sigmoid"}),
        "naive": with_answers(fill_solutions(release, src), NAIVE),
        # 'mean' divides by the number of counted targets, not by the sum of their weights
        "no_weight_sum": with_answers(fill_solutions(release, src), {"cross_entropy": _edited(
            src, "cross_entropy", counted, "    w_t = one_hot.sum(axis=axis)")}),
        # the smoothed target eps / C is given to ignored targets too
        "smooths_ignored": with_answers(fill_solutions(release, src), {"cross_entropy": _edited(
            src, "cross_entropy", "+ counted * (label_smoothing / n_classes)", "+ label_smoothing / n_classes")}),
        # the modulating factor (1 - p_t)^gamma differentiated as if it were a constant
        "focal_constant_factor": with_answers(fill_solutions(release, src), {"focal": _edited(
            src, "focal", "(p - target + gamma * (1 - 2 * target) * p_t * ce)", "(p - target)")}),
    }


@pytest.mark.xdist_group("classification_losses")
def test_partial_unstable_and_wrong_submissions_get_exactly_their_points(tmp_path):
    release, src = released(tmp_path, ASSIGNMENT), source(ASSIGNMENT)
    scores, outcomes = grade(tmp_path, ASSIGNMENT, submissions(release, src))
    assert all(o.status == "graded" for o in outcomes.values())
    assert {gid: score for gid, (score, _) in scores["solved"].cells.items()} == POINTS
    assert scores["stub"].total == 0
    assert scores["only_sigmoid"].total == (POINTS["test_sigmoid_forward"] + POINTS["test_sigmoid_backward"]
                                            + POINTS["test_sigmoid_stable"])
    lost = {student: {gid for gid, (score, _) in s.cells.items() if score == 0} for student, s in scores.items()}
    assert lost["naive"] == STABILITY_CELLS
    assert lost["no_weight_sum"] == {"test_cross_entropy_forward", "test_cross_entropy_backward",
                                     "test_cross_entropy_smoothing_forward", "test_cross_entropy_smoothing_backward"}
    assert lost["smooths_ignored"] == {"test_cross_entropy_smoothing_forward", "test_cross_entropy_smoothing_backward"}
    assert lost["focal_constant_factor"] == {"test_focal_backward", "test_focal_stable"}
    assert scores["naive"].total == TOTAL - sum(POINTS[gid] for gid in STABILITY_CELLS)
