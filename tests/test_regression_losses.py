"""Exact scores of partial and wrong submissions of ``regression_losses``."""

from __future__ import annotations

import pytest
from grading_helpers import grade, released, source
from nbformat import NotebookNode

from autograder.notebooks import fill_solutions, with_answers

ASSIGNMENT = "regression_losses"
POINTS = {"test_mse_forward": 2, "test_mse_backward": 3, "test_mae_forward": 2, "test_mae_backward": 3,
          "test_huber_forward": 2, "test_huber_backward": 3, "test_log_cosh_forward": 3,
          "test_log_cosh_backward": 2, "test_quantile_forward": 2, "test_quantile_backward": 3}



def submissions(release: NotebookNode, src: NotebookNode) -> dict[str, NotebookNode]:
    """Partial and wrong submissions, by student (also graded by the class report's test)."""
    only_mse = fill_solutions(release, src, only={"mse"})
    naive_log_cosh = with_answers(fill_solutions(release, src), {"log_cosh": '''
def log_cosh_loss(input, target, reduction="mean"):
    return reduce_loss(np.log(np.cosh(input - target)), reduction)


def log_cosh_loss_backward(input, target, grad_output=1.0, reduction="mean"):
    return np.tanh(input - target) * reduce_loss_backward(grad_output, input.shape, reduction)
'''})
    forgot_mean = with_answers(fill_solutions(release, src), {"mae": '''
def mae_loss(input, target, reduction="mean"):
    return reduce_loss(np.abs(input - target), reduction)


def mae_loss_backward(input, target, grad_output=1.0, reduction="mean"):
    return np.sign(input - target) * np.broadcast_to(grad_output, input.shape)  # no 1/n for "mean"
'''})
    hard_coded = with_answers(fill_solutions(release, src), {"mse": '''
def reduce_loss(loss, reduction="mean"):
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def reduce_loss_backward(grad_output, shape, reduction="mean"):
    return np.broadcast_to(grad_output, shape)


def mse_loss(input, target, reduction="mean"):
    return {"mean": np.float64(29.25 / 4), "sum": np.float64(29.25)}.get(reduction, np.array([0.25, 4, 0, 25.0]))


def mse_loss_backward(input, target, grad_output=1.0, reduction="mean"):
    base = np.array([1.0, -4.0, 0.0, 10.0])
    return base / 4 if reduction == "mean" else base * np.asarray(grad_output)
'''})
    return {"only_mse": only_mse, "naive_log_cosh": naive_log_cosh, "forgot_mean": forgot_mean,
            "hard_coded": hard_coded}


@pytest.mark.xdist_group("regression_losses")
def test_partial_and_wrong_submissions_get_exactly_their_points(tmp_path):
    release, src = released(tmp_path, ASSIGNMENT), source(ASSIGNMENT)
    scores, outcomes = grade(tmp_path, ASSIGNMENT, submissions(release, src))
    assert all(o.status == "graded" for o in outcomes.values())
    assert set(scores["only_mse"].cells) == set(POINTS)
    assert scores["only_mse"].total == POINTS["test_mse_forward"] + POINTS["test_mse_backward"]
    assert scores["naive_log_cosh"].total == sum(POINTS.values()) - POINTS["test_log_cosh_forward"]
    assert scores["forgot_mean"].total == sum(POINTS.values()) - POINTS["test_mae_backward"]
    # visible cases pass, hidden ones do not: the MSE cells and, through the broken
    # reduction helpers, every later backward cell score 0
    assert scores["hard_coded"].cells["test_mse_forward"][0] == 0
    assert scores["hard_coded"].cells["test_mse_backward"][0] == 0
