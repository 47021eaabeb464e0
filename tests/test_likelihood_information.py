"""Exact scores of full, empty, partial and wrong submissions of ``likelihood_information``."""

from __future__ import annotations

import pytest
from grading_helpers import grade, released, source

from autograder.notebooks import fill_solutions, with_answers

ASSIGNMENT = "likelihood_information"
POINTS = {"test_entropy": 2, "test_cross_entropy": 2, "test_kl_forward": 2, "test_kl_backward": 3, "test_js": 3,
          "test_gaussian_nll_forward": 2, "test_gaussian_nll_backward": 3, "test_poisson_nll_forward": 2,
          "test_poisson_nll_backward": 2, "test_laplace_nll": 2, "test_student_t_nll": 3,
          "test_mixture_nll_forward": 3, "test_mixture_nll_backward": 3}
FULL = sum(POINTS.values())

# Sums the densities: exact near the components, -log(0) = inf far from all of them.
NAIVE_MIXTURE = '''
def mixture_terms(y, logits, means, log_scales):
    top = logits.max(1, keepdims=True)
    log_w = logits - top - np.log(np.exp(logits - top).sum(1, keepdims=True))
    z = (y[:, None] - means) / np.exp(log_scales)
    a = log_w - 0.5 * z * z - log_scales - 0.5 * np.log(2 * np.pi)
    nll = -np.log(np.exp(a).sum(1))
    return log_w, z, a, nll


def mixture_nll(y, logits, means, log_scales, reduction="mean"):
    return reduce_loss(mixture_terms(y, logits, means, log_scales)[3], reduction)


def mixture_nll_backward(y, logits, means, log_scales, grad_output=1.0, reduction="mean"):
    log_w, z, a, nll = mixture_terms(y, logits, means, log_scales)
    resp = np.exp(a + nll[:, None])
    g = reduce_loss_backward(grad_output, y.shape, reduction)[:, None]
    return g * (np.exp(log_w) - resp), -g * resp * z / np.exp(log_scales), g * resp * (1.0 - z * z)
'''

# Divides 'batchmean' by input.shape[0] also for a 0-d input (torch does not divide there): the
# visible tests (2-d inputs) pass, the hidden 0-d cases raise IndexError.
BATCHMEAN_0D = '''
def kl_divergence(input, target, reduction="mean", log_target=False):
    if log_target:
        loss = np.exp(target) * (target - input)
    else:
        positive = target > 0
        loss = np.where(positive, target * (np.log(np.where(positive, target, 1.0)) - input), 0.0)
    if reduction == "batchmean":
        return np.asarray(loss.sum() / input.shape[0])
    return reduce_loss(loss, reduction)


def kl_divergence_backward(input, target, grad_output=1.0, reduction="mean", log_target=False):
    if reduction == "batchmean":
        g = np.broadcast_to(np.asarray(grad_output) / (input.shape[0] if input.ndim else 1), input.shape)
    else:
        g = reduce_loss_backward(grad_output, input.shape, reduction)
    if log_target:
        p = np.exp(target)
        return -p * g, p * (target + 1.0 - input) * g
    return -target * g, (np.log(target) + 1.0 - input) * g
'''

# Treats the clamp at eps as stopping the gradient with respect to var (torch's does not).
CLAMP_STOPS_GRADIENT = '''
def broadcastable_var(var, input):
    if np.any(np.asarray(var) < 0):
        raise ValueError("var has negative entry/entries")
    if isinstance(var, float):
        return np.asarray(var, dtype=input.dtype)
    if var.shape == input.shape:
        return var
    if var.shape == input.shape[:-1]:
        return var[..., None]
    if var.ndim == input.ndim and [v for i, v in zip(input.shape, var.shape, strict=True) if i != v] == [1]:
        return var
    raise ValueError("var is of incorrect size")


def gaussian_nll(input, target, var, full=False, eps=1e-6, reduction="mean"):
    v = np.maximum(broadcastable_var(var, input), eps)
    loss = 0.5 * (np.log(v) + (input - target) ** 2 / v) + (0.5 * np.log(2 * np.pi) if full else 0.0)
    return reduce_loss(np.broadcast_to(loss, input.shape), reduction)


def gaussian_nll_backward(input, target, var, grad_output=1.0, full=False, eps=1e-6, reduction="mean"):
    g = reduce_loss_backward(grad_output, input.shape, reduction)
    raw = broadcastable_var(var, input)
    v = np.maximum(raw, eps)
    r = input - target
    if isinstance(var, float):
        return g * r / v, None
    grad_v = np.where(raw < eps, 0.0, g * 0.5 * (1.0 / v - r * r / (v * v)))
    if var.shape == input.shape:
        return g * r / v, grad_v
    if var.shape == input.shape[:-1]:
        return g * r / v, grad_v.sum(axis=-1)
    axes = tuple(i for i, (a, b) in enumerate(zip(input.shape, var.shape)) if a != b)
    return g * r / v, grad_v.sum(axis=axes, keepdims=True)
'''

# Adds Stirling's term wherever target > 0 instead of only where target > 1.
STIRLING_FROM_ONE = '''
def poisson_nll(input, target, log_input=True, full=False, eps=1e-8, reduction="mean"):
    loss = np.exp(input) - target * input if log_input else input - target * np.log(input + eps)
    if full:
        y = np.where(target > 0, target, 1.0)
        loss = loss + np.where(target > 0, y * np.log(y) - y + 0.5 * np.log(2 * np.pi * y), 0.0)
    return reduce_loss(np.asarray(loss), reduction)


def poisson_nll_backward(input, target, grad_output=1.0, log_input=True, full=False, eps=1e-8, reduction="mean"):
    local = np.exp(input) - target if log_input else 1.0 - target / (input + eps)
    return local * reduce_loss_backward(grad_output, input.shape, reduction)
'''

# 0 * log 0 = nan: right on every positive distribution, wrong wherever a probability is 0.
ENTROPY_NAN_AT_ZERO = '''
def entropy(p):
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sum(p * np.log(p), axis=-1)


def entropy_backward(p, grad_output):
    return -(np.log(p) + 1.0) * np.asarray(grad_output)[..., None]
'''



@pytest.mark.xdist_group("likelihood_information")
def test_full_empty_partial_and_wrong_submissions_get_exactly_their_points(tmp_path):
    release, src = released(tmp_path, ASSIGNMENT), source(ASSIGNMENT)
    submissions = {
        "solved": fill_solutions(release, src),
        "stub": release,
        "information_only": fill_solutions(release, src, only={"entropy", "cross_entropy", "kl", "js"}),
        "naive_mixture": with_answers(fill_solutions(release, src), {"mixture": NAIVE_MIXTURE}),
        "batchmean_0d": with_answers(fill_solutions(release, src), {"kl": BATCHMEAN_0D}),
        "clamp_stops_gradient": with_answers(fill_solutions(release, src), {"gaussian": CLAMP_STOPS_GRADIENT}),
        "stirling_from_one": with_answers(fill_solutions(release, src), {"poisson": STIRLING_FROM_ONE}),
        "entropy_nan_at_zero": with_answers(fill_solutions(release, src), {"entropy": ENTROPY_NAN_AT_ZERO}),
    }
    scores, outcomes = grade(tmp_path, ASSIGNMENT, submissions)
    assert all(o.status == "graded" for o in outcomes.values())
    assert set(scores["solved"].cells) == set(POINTS)
    assert {gid: maximum for gid, (_, maximum) in scores["solved"].cells.items()} == POINTS
    assert scores["solved"].total == FULL == 32
    assert scores["stub"].total == 0
    assert scores["information_only"].total == sum(POINTS[g] for g in (
        "test_entropy", "test_cross_entropy", "test_kl_forward", "test_kl_backward", "test_js"))
    # the naive forward fails far from the components; its backward, through inf, fails as well
    assert scores["naive_mixture"].total == FULL - POINTS["test_mixture_nll_forward"] - POINTS[
        "test_mixture_nll_backward"]
    assert scores["batchmean_0d"].total == FULL - POINTS["test_kl_forward"]
    assert scores["clamp_stops_gradient"].total == FULL - POINTS["test_gaussian_nll_backward"]
    assert scores["stirling_from_one"].total == FULL - POINTS["test_poisson_nll_forward"]
    assert scores["entropy_nan_at_zero"].total == FULL - POINTS["test_entropy"]
