"""Exact scores of partial and wrong submissions of ``gradient_flow``."""

from __future__ import annotations

import pytest
from grading_helpers import grade, points, released, source

from autograder.notebooks import fill_solutions, grade_id, with_answers

ASSIGNMENT = "gradient_flow"
ACTIVATION_CELLS = ("test_leaky_relu", "test_elu", "test_silu", "test_gelu")



UNBIASED_VARIANCE = '''
def channel_axes(input):
    return (0, *range(2, input.ndim))


def per_channel(v, input):
    return v.reshape((1, -1) + (1,) * (input.ndim - 2))


def batch_norm_statistics(input, running_mean, running_var, training):
    if not training:
        return running_mean, running_var
    return input.mean(axis=channel_axes(input)), input.var(axis=channel_axes(input), ddof=1)  # unbiased: wrong


def batch_norm_forward(input, running_mean, running_var, weight=None, bias=None, training=False,
                       momentum=0.1, eps=1e-5):
    mean, var = batch_norm_statistics(input, running_mean, running_var, training)
    new_mean, new_var = running_mean.copy(), running_var.copy()
    if training:
        new_mean = (1 - momentum) * running_mean + momentum * mean
        new_var = (1 - momentum) * running_var + momentum * var
    out = (input - per_channel(mean, input)) / np.sqrt(per_channel(var, input) + eps)
    if weight is not None:
        out = out * per_channel(weight, input)
    if bias is not None:
        out = out + per_channel(bias, input)
    return out.astype(input.dtype), new_mean.astype(input.dtype), new_var.astype(input.dtype)


def batch_norm_backward(input, running_mean, running_var, weight=None, bias=None, grad_output=1.0,
                        training=False, momentum=0.1, eps=1e-5):
    mean, var = batch_norm_statistics(input, running_mean, running_var, training)
    g = np.broadcast_to(np.asarray(grad_output, dtype=input.dtype), input.shape)
    inv_std = 1.0 / np.sqrt(per_channel(var, input) + eps)
    x_hat = (input - per_channel(mean, input)) * inv_std
    g_hat = g * per_channel(weight, input) if weight is not None else g
    if training:
        axes = channel_axes(input)
        g_hat = g_hat - g_hat.mean(axis=axes, keepdims=True) - x_hat * (g_hat * x_hat).mean(axis=axes, keepdims=True)
    axes = channel_axes(input)
    return ((g_hat * inv_std).astype(input.dtype),
            (g * x_hat).sum(axis=axes).astype(input.dtype) if weight is not None else None,
            g.sum(axis=axes).astype(input.dtype) if bias is not None else None)
'''

PER_TENSOR_CLIPPING = '''
def clip_grad_norm(grads, max_norm, norm_type=2.0, error_if_nonfinite=False):
    clipped, norms = [], []
    for g in grads:  # one norm per tensor: wrong, the norm is global
        norm = np.linalg.norm(np.ravel(g), ord=float(norm_type)).astype(g.dtype)
        if error_if_nonfinite and not np.isfinite(norm):
            raise RuntimeError("non-finite norm")
        clipped.append(g * np.minimum(max_norm / (norm + g.dtype.type(1e-6)), 1.0).astype(g.dtype))
        norms.append(norm)
    total = np.linalg.norm(np.array(norms), ord=float(norm_type)) if norms else np.float32(0.0)
    return clipped, total


def clip_grad_value(grads, clip_value):
    return [np.clip(g, -clip_value, clip_value) for g in grads]
'''


@pytest.mark.xdist_group("gradient_flow")
def test_partial_and_wrong_submissions_get_exactly_their_points(tmp_path):
    cell_points = points(ASSIGNMENT)
    full = sum(cell_points.values())
    release, src = released(tmp_path, ASSIGNMENT), source(ASSIGNMENT)
    solution = fill_solutions(release, src)
    answers = {grade_id(c): c.source for c in src.cells if grade_id(c) == "batch_norm"}
    no_mean_terms = answers["batch_norm"].replace(
        "g_hat = g_hat - g_hat.mean(axis=axes, keepdims=True) - x_hat * (g_hat * x_hat).mean(axis=axes, keepdims=True)",
        "pass  # the batch statistics treated as constants: wrong in training mode")
    assert no_mean_terms != answers["batch_norm"]
    submissions = {
        "solution": solution,
        "stub": release,
        "activations_only": fill_solutions(release, src, only={"leaky_relu", "elu", "silu", "gelu"}),
        "unbiased_variance": with_answers(solution, {"batch_norm": UNBIASED_VARIANCE}),
        "no_mean_terms": with_answers(solution, {"batch_norm": no_mean_terms}),
        "per_tensor_clipping": with_answers(solution, {"clip": PER_TENSOR_CLIPPING}),
    }
    scores, outcomes = grade(tmp_path, ASSIGNMENT, submissions, jobs=2)
    assert all(o.status == "graded" for o in outcomes.values())
    assert set(scores["solution"].cells) == set(cell_points)
    assert scores["solution"].total == full
    assert scores["stub"].total == 0
    assert scores["activations_only"].total == sum(cell_points[c] for c in ACTIVATION_CELLS)
    assert scores["unbiased_variance"].total == full - cell_points["test_batch_norm_forward"] - cell_points[
        "test_batch_norm_backward"]
    assert scores["no_mean_terms"].total == full - cell_points["test_batch_norm_backward"]
    assert scores["per_tensor_clipping"].total == full - cell_points["test_clip_grad_norm"]
