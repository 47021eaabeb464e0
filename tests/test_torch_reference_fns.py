"""Our losses against PyTorch's own test references (``torch.testing._internal.common_nn``).

PyTorch tests its losses against the plain-torch formulas in ``loss_reference_fns``. The
instructor solutions (numpy, run from the source notebooks) and our references in
``autograder/references`` must agree with them, value and gradient, on seeded random
inputs with every option: a reference and a solution that agree with each other but not
with PyTorch's own test suite fail here. torch 2.13 has references for these losses of the
course: HuberLoss, CrossEntropyLoss, KLDivLoss (and ``KLDivLoss_log_target``), MultiMarginLoss and
CTCLoss (its other entries, e.g. triplet, cosine-embedding, are not tested here).
"""

from __future__ import annotations

import inspect
import itertools
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch
from grading_helpers import solutions
from torch.testing._internal.common_nn import loss_reference_fns

from lossbook_checks.cases.sequence_losses import ctc_batch
from lossbook_checks.references import (
    backpropagation,
    classification_losses,
    likelihood_information,
    regression_losses,
    sequence_losses,
)

REDUCTIONS = ("mean", "sum", "none")


def _tensors(inputs: dict[str, Any], grad: str) -> dict[str, Any]:
    return {k: torch.tensor(v, requires_grad=k == grad) if isinstance(v, np.ndarray) else v for k, v in inputs.items()}


def _value_and_grad(fn: Callable[..., torch.Tensor], inputs: dict[str, Any], options: dict[str, Any],
                    grad_output: np.ndarray, wrt: str = "input") -> tuple[np.ndarray, np.ndarray | None]:
    tensors = _tensors(inputs, wrt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kl_div's 'mean' warning
        value = fn(**tensors, **options)
    if not value.requires_grad:  # a test formula that is not differentiable (MultiMarginLoss's fills a new tensor)
        return value.numpy(), None
    (grad,) = torch.autograd.grad(value, tensors[wrt], torch.as_tensor(grad_output).expand_as(value))
    return value.detach().numpy(), grad.numpy()


def _agree(torch_name: str, ours: Callable[..., torch.Tensor], forward: Callable[..., Any],
           backward: Callable[..., Any], inputs: dict[str, Any], options: dict[str, Any],
           grad_output: np.ndarray, rename: dict[str, str] | None = None, wrt: str = "input") -> None:
    """PyTorch's test reference, our reference and the solution's forward/backward give the same value and
    gradient with respect to ``wrt`` (where torch's test formula is not differentiable, the gradient is our
    reference's autograd)."""
    expected, expected_grad = _value_and_grad(loss_reference_fns[torch_name], inputs, options, grad_output, wrt)
    ours_value, ours_grad = _value_and_grad(ours, inputs, options, grad_output, wrt)
    if expected_grad is None:
        expected_grad = ours_grad
    args = {(rename or {}).get(k, k): v for k, v in inputs.items()}
    got = forward(**args, **options)
    got_grad = backward(**args, grad_output=grad_output, **options)
    what = f"{torch_name} {options} shapes {[np.shape(v) for v in inputs.values()]}"
    for name, value, grad in (("our reference", ours_value, ours_grad), ("the solution", got, got_grad)):
        np.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-12, err_msg=f"{what}: value of {name}")
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-12, err_msg=f"{what}: gradient of {name}")


def _upstream(gen: np.random.Generator, value_shape: tuple[int, ...], reduction: str) -> np.ndarray:
    return gen.uniform(0.5, 2.0, size=value_shape if reduction == "none" else ())


@pytest.fixture(scope="module")
def regression_solutions() -> dict[str, Any]:
    return solutions("regression_losses")


@pytest.fixture(scope="module")
def classification_solutions() -> dict[str, Any]:
    return solutions("classification_losses")


@pytest.fixture(scope="module")
def likelihood_solutions() -> dict[str, Any]:
    return solutions("likelihood_information")


def test_huber(regression_solutions):
    gen = np.random.default_rng(0)
    ns = regression_solutions
    for shape, reduction, delta in itertools.product(((7,), (3, 4)), REDUCTIONS, (0.5, 1.0, 2.5)):
        target = gen.normal(0.0, 2.0, size=shape)
        inputs = {"input": target + gen.normal(0.0, 2.0, size=shape), "target": target}
        _agree("HuberLoss", regression_losses.huber, ns["huber_loss"], ns["huber_loss_backward"], inputs,
               {"reduction": reduction, "delta": delta}, _upstream(gen, shape, reduction))


def _class_inputs(gen: np.random.Generator, shape: tuple[int, ...], probabilities: bool,
                  ignore_index: int) -> dict[str, np.ndarray]:
    axis = 0 if len(shape) == 1 else 1
    loss_shape = tuple(np.delete(shape, axis))
    if probabilities:
        raw = gen.uniform(0.0, 1.0, size=shape)
        target = raw / raw.sum(axis=axis, keepdims=True)
    else:
        target = gen.integers(0, shape[axis], size=loss_shape)
        target.reshape(-1)[1::3] = ignore_index  # some targets ignored (ignore_index may be a class)
        target.reshape(-1)[0] = (ignore_index + 1) % shape[axis]  # never all of them
    return {"input": gen.normal(0.0, 2.0, size=shape), "target": target}


def _cross_entropy_calls() -> Iterator[tuple[dict[str, Any], dict[str, Any], np.ndarray]]:
    gen = np.random.default_rng(1)
    for shape, probabilities, weighted, ignore_index, smoothing, reduction in itertools.product(
            ((6, 4), (3, 4, 2)), (False, True), (False, True), (-100, 1), (0.0, 0.2), REDUCTIONS):
        if probabilities and ignore_index >= 0:
            continue  # torch rejects it (tested in the exercise)
        inputs = _class_inputs(gen, shape, probabilities, ignore_index)
        if weighted:
            inputs["weight"] = gen.uniform(0.2, 3.0, size=shape[1])
        options = {"ignore_index": ignore_index, "reduction": reduction, "label_smoothing": smoothing}
        yield inputs, options, _upstream(gen, tuple(np.delete(shape, 1)), reduction)


def test_cross_entropy(classification_solutions):
    ns = classification_solutions
    for inputs, options, grad_output in _cross_entropy_calls():
        _agree("CrossEntropyLoss", classification_losses.cross_entropy, ns["cross_entropy"],
               ns["cross_entropy_backward"], inputs, options, grad_output)


def test_backpropagation_cross_entropy_is_torchs_with_its_defaults():
    ns = solutions("backpropagation")
    gen = np.random.default_rng(2)
    for n, c in ((1, 3), (6, 4)):
        inputs = {"input": gen.normal(0.0, 2.0, size=(n, c)), "target": gen.integers(0, c, size=n)}
        grad_output = _upstream(gen, (n,), "mean")
        _agree("CrossEntropyLoss", lambda input, target: backpropagation.cross_entropy(input, target),
               ns["softmax_cross_entropy"], ns["softmax_cross_entropy_backward"], inputs, {}, grad_output,
               rename={"input": "logits", "target": "labels"})


def test_kl_divergence(likelihood_solutions):
    ns = likelihood_solutions
    gen = np.random.default_rng(3)
    for shape, reduction, log_target in itertools.product(((5,), (4, 3), (2, 3, 4)), ("batchmean", *REDUCTIONS),
                                                          (False, True)):
        p = gen.dirichlet(np.ones(shape[-1]), size=shape[:-1]) + 1e-3  # > 0: the test formula has 0 log 0 = nan
        inputs = {"input": np.log(gen.dirichlet(np.ones(shape[-1]), size=shape[:-1])),
                  "target": np.log(p) if log_target else p}
        _agree("KLDivLoss_log_target" if log_target else "KLDivLoss", likelihood_information.kl_div,
               lambda **kw: ns["kl_divergence"](**kw),
               lambda **kw: ns["kl_divergence_backward"](**kw)[0],
               inputs, {"reduction": reduction, "log_target": log_target}, _upstream(gen, shape, reduction))


def test_multi_margin(classification_solutions):
    ns = classification_solutions
    gen = np.random.default_rng(4)
    for shape, p, margin, weighted, reduction in itertools.product(((6, 4), (5,)), (1, 2), (1.0, 0.5),
                                                                   (False, True), REDUCTIONS):
        inputs = {"input": gen.normal(0.0, 1.0, size=shape), "target": gen.integers(0, shape[-1], size=shape[:-1])}
        if weighted:
            inputs["weight"] = gen.uniform(0.2, 3.0, size=shape[-1])
        _agree("MultiMarginLoss", classification_losses.multi_margin_loss, ns["multi_margin_loss"],
               ns["multi_margin_loss_backward"], inputs, {"p": p, "margin": margin, "reduction": reduction},
               _upstream(gen, shape[:-1], reduction))


def test_ctc():
    """torch's test formula of CTC runs the forward recursion in probability space (float64, short inputs), so
    its autograd is the partial derivative with respect to log_probs, which the exercise asks for; the
    enumeration of every alignment (the hidden tests' reference for that derivative) and the solution agree."""
    ns = solutions("sequence_losses")
    gen = np.random.default_rng(5)
    for reduction, blank in itertools.product(REDUCTIONS, (0, 2)):
        inputs = ctc_batch(gen, 6, 3, [2, 1, 2], blank, 1.0, np.float64, repeats=True)
        inputs["input_lengths"][0] = 6                # (a, a) and its blank: possible
        _agree("CTCLoss", sequence_losses.ctc_enumerated, ns["ctc_loss"], ns["ctc_loss_backward"], inputs,
               {"blank": blank, "reduction": reduction}, _upstream(gen, (3,), reduction), wrt="log_probs")


def test_the_comparison_fails_for_a_loss_that_differs_from_torchs(regression_solutions):
    ns = regression_solutions
    inputs = {"input": np.array([0.0, 3.0]), "target": np.array([0.0, 0.0])}
    with pytest.raises(AssertionError, match="our reference"):  # delta=2 where torch's test formula has delta=1
        _agree("HuberLoss", lambda **kw: regression_losses.huber(**kw, delta=2.0), ns["huber_loss"],
               ns["huber_loss_backward"], inputs, {"reduction": "sum"}, np.array(1.0))


def _defaults(fn: Callable[..., Any]) -> dict[str, Any]:
    return {name: p.default for name, p in inspect.signature(fn).parameters.items() if p.default is not p.empty}


@pytest.mark.parametrize(("ours", "torchs"), [
    (regression_losses.mse, torch.nn.functional.mse_loss), (regression_losses.mae, torch.nn.functional.l1_loss),
    (regression_losses.huber, torch.nn.functional.huber_loss),
    (classification_losses.binary_cross_entropy, torch.nn.functional.binary_cross_entropy),
    (classification_losses.binary_cross_entropy_with_logits, torch.nn.functional.binary_cross_entropy_with_logits),
    (classification_losses.cross_entropy, torch.nn.functional.cross_entropy),
    (classification_losses.multi_margin_loss, torch.nn.functional.multi_margin_loss),
    (likelihood_information.kl_div, torch.nn.functional.kl_div),
    (likelihood_information.gaussian_nll, torch.nn.functional.gaussian_nll_loss),
    (likelihood_information.poisson_nll, torch.nn.functional.poisson_nll_loss),
])
def test_references_have_torchs_defaults(ours, torchs):
    theirs = _defaults(torchs)
    assert {name: theirs[name] for name in _defaults(ours)} == _defaults(ours)


def test_focal_reference_has_torchvisions_defaults():
    # torchvision.ops.sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2, reduction="none") (not installed)
    assert _defaults(classification_losses.sigmoid_focal_loss) == {"alpha": 0.25, "gamma": 2.0, "reduction": "none"}
