"""The checking package: failures say what is wrong, and a correct answer passes."""

from __future__ import annotations

import numpy as np
import pytest

from lossbook_checks import checking as ck
from lossbook_checks.cases.regression_losses import elementwise_cases
from lossbook_checks.references import regression_losses as ref

X = np.array([0.5, -1.0, 2.0, 4.0])
Y = np.array([0.0, 1.0, 2.0, -1.0])
DATA = {"input": X, "target": Y}


def mse(input, target, reduction="mean"):
    loss = (input - target) ** 2
    return {"mean": loss.mean(), "sum": loss.sum(), "none": loss}[reduction]


def mse_backward(input, target, grad_output=1.0, reduction="mean"):
    scale = 1.0 / max(input.size, 1) if reduction == "mean" else 1.0
    return 2 * (input - target) * np.asarray(grad_output) * scale


def failure(fn, *args, **kwargs) -> str:
    with pytest.raises(ck.CheckFailure) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_correct_answers_pass_every_generated_case():
    for case in elementwise_cases(seed=0):
        ck.check_forward(mse, ref.mse, case.inputs, case.options, mean_of=case.mean_of)
        ck.check_backward(mse_backward, ref.mse, case.inputs, "input", case.options,
                          grad_output=case.grad_output, mean_of=case.mean_of)
    ck.check_backward_matches_forward(mse, mse_backward, DATA, "input", {"reduction": "mean"})


def test_forgotten_mean_is_named():
    def no_mean(input, target, grad_output=1.0, reduction="mean"):
        return 2 * (input - target) * grad_output
    msg = failure(ck.check_backward, no_mean, ref.mse, DATA, "input", {"reduction": "mean"}, mean_of=4)
    assert "factor n = 4" in msg and "expected 2.5, got 10" in msg and "at [3]" in msg


def test_sign_error_is_named():
    def flipped(input, target, grad_output=1.0, reduction="mean"):
        return -mse_backward(input, target, grad_output, reduction)
    assert "wrong sign" in failure(ck.check_backward, flipped, ref.mse, DATA, "input", {"reduction": "sum"})


def test_overflow_is_named_with_numpy_warning():
    def naive(input, target, reduction="mean"):
        return np.log(np.cosh(input - target))
    msg = failure(ck.check_forward, naive, ref.log_cosh, {"input": np.array([1e4]), "target": np.zeros(1)},
                  {"reduction": "none"})
    assert "NaN or inf" in msg and "overflow encountered in cosh" in msg


def test_shape_none_stub_and_exceptions_are_explained():
    assert "A reduced loss" in failure(ck.check_forward, lambda input, target, reduction: (input - target) ** 2,
                                       ref.mse, DATA, {"reduction": "mean"})
    assert "returned None" in failure(ck.check_forward, lambda input, target, reduction: None,
                                      ref.mse, DATA, {"reduction": "sum"})

    def stub(input, target, reduction="mean"):
        raise NotImplementedError()
    assert "not implemented yet" in failure(ck.check_forward, stub, ref.mse, DATA, {"reduction": "sum"})

    def broken(input, target, reduction="mean"):
        return input @ np.ones((3, 3))
    msg = failure(ck.check_forward, broken, ref.mse, DATA, {"reduction": "sum"})
    assert "raised ValueError" in msg and "in broken: return input @ np.ones((3, 3))" in msg


def test_backward_inconsistent_with_forward_is_reported():
    def off(input, target, grad_output=1.0, reduction="mean"):
        return mse_backward(input, target, grad_output, reduction) + 0.1
    assert "disagrees with central differences" in failure(ck.check_backward_matches_forward, mse, off, DATA,
                                                            "input", {"reduction": "mean"})


def test_failures_render_without_test_source():
    err = ck.CheckFailure("first line\nsecond line")
    assert err._render_traceback_() == ["CheckFailure: first line", "    second line"]


def test_numerical_gradient_and_relative_error():
    x = np.array([[0.3, -1.2], [2.0, 0.7]])
    before = x.copy()
    grad = ck.numerical_gradient(lambda v: float(np.sum(np.sin(v))), x)
    np.testing.assert_array_equal(x, before)
    assert ck.relative_error(grad, np.cos(x)) < 1e-9
    assert ck.relative_error(np.zeros(3), np.zeros(3)) == 0.0
