"""Checks for the ``gradient_flow`` assignment (grader side) that the shared checks do not cover.

- functions with several outputs, or a list of arrays, compared leaf by leaf with a reference
  that returns the same structure; a reference that raises means the student must raise the
  same exception type (:func:`check_outputs`);
- backward functions that return ``(grad_input, grad_weight, grad_bias)``, where an input the
  case leaves out (``weight=None``) must get ``None`` (:func:`check_gradients`);
- a random sampler, judged by the statistics of its samples (:func:`check_sampler`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from lossbook_checks.cases.core import Case
from lossbook_checks.optional_torch import torch

from .checks import MUST_RAISE, copies, describe, for_each_case
from .compare import assert_close
from .failure import CheckFailure
from .record import reference_name, reference_value
from .reference import to_numpy, to_torch
from .student import StudentError, call_student


class _Summary:
    """Stands for a list of arrays in a message: its shapes and dtypes, not its numbers."""

    def __init__(self, items: Sequence[Any]) -> None:
        self.items = items

    def __repr__(self) -> str:
        def one(item: Any) -> str:
            if isinstance(item, np.ndarray):
                return f"{item.shape} {item.dtype}"
            if isinstance(item, tuple | list):
                return "(" + ", ".join(one(i) for i in item) + ")"
            return repr(item)
        return "[" + ", ".join(one(i) for i in self.items) + "]"


def _describe(name: str, inputs: dict[str, Any], options: dict[str, Any]) -> str:
    """:func:`describe`, with lists of arrays (gradients, parameters) shown by shape."""
    shown = {k: _Summary(v) if isinstance(v, list | tuple) else v for k, v in inputs.items()}
    return describe(name, shown, options)


def _leaves(value: Any, names: Sequence[str] | None, what: str) -> list[tuple[str, Any]]:
    """``(label, leaf)`` pairs of a value that is a tensor/array, or a tuple/list of them."""
    if isinstance(value, tuple | list):
        labels = list(names) if names is not None else [f"[{i}]" for i in range(len(value))]
        out = []
        for label, item in zip(labels, value, strict=True):
            out += [(label + sub, leaf) for sub, leaf in _leaves(item, None, what)] if isinstance(
                item, tuple | list) else [(label, item)]
        return out
    return [(names[0] if names else "", value)]


def _compare(got: Any, expected: Any, names: Sequence[str] | None, what: str, case: Case,
             warnings: Sequence[str]) -> None:
    expected_leaves = _leaves(expected, names, what)
    if isinstance(expected, tuple | list):
        if not isinstance(got, tuple | list) or len(got) != len(expected):
            kind = "tuple" if isinstance(expected, tuple) else "list"
            raise CheckFailure(f"{what}: expected a {kind} of {len(expected)} values, got "
                               f"{type(got).__name__}{f' of length {len(got)}' if hasattr(got, '__len__') else ''}.")
        got_leaves = _leaves(got, names, what)
        if len(got_leaves) != len(expected_leaves):
            raise CheckFailure(f"{what}: expected {len(expected_leaves)} arrays in all, got {len(got_leaves)}.")
    else:
        got_leaves = [("", got)]
    for (label, value), (_, reference) in zip(got_leaves, expected_leaves, strict=True):
        where = f"{what}, {label}" if label else what
        if reference is None:
            if value is not None:
                raise CheckFailure(f"{where}: expected None (that input was None), got {type(value).__name__}.")
            continue
        assert_close(value, reference, what=where, rtol=case.rtol, atol=case.atol, notes=case.notes,
                     warnings=warnings)


def _as_numpy(value: Any) -> Any:
    """A reference's output with every tensor as a numpy array (tuples and lists kept, ``None`` kept)."""
    if isinstance(value, tuple | list):
        return type(value)(_as_numpy(item) for item in value)
    return None if value is None else to_numpy(value)


def _expect_same_error(student: Callable[..., Any], case: Case, error: Exception, what: str) -> None:
    try:
        student(**copies(case.inputs), **case.options)
    except StudentError as err:
        if err.type_name == type(error).__name__:
            return
        raise CheckFailure(f"{what}: torch raises {type(error).__name__}, you raised {err.type_name}.\n"
                           f"  {MUST_RAISE}") from None
    except Exception as err:  # noqa: BLE001 - student code run in this process may raise anything
        if type(err).__name__ == type(error).__name__:
            return
        raise CheckFailure(f"{what}: torch raises {type(error).__name__}, you raised {type(err).__name__}.\n"
                           f"  {MUST_RAISE}") from None
    raise CheckFailure(f"{what}: torch raises {type(error).__name__} ({str(error).splitlines()[0][:120]}); "
                       f"your function returned instead.\n  {MUST_RAISE}")


def check_outputs(student: Callable[..., Any], reference: Callable[..., Any], cases: Iterable[Case],
                  names: Sequence[str] | None = None) -> int:
    """``student(**inputs, **options)`` must return what ``reference`` returns, leaf by leaf.

    ``names`` label the outputs of a tuple (e.g. ``("output", "running_mean", "running_var")``);
    lists are labelled by index. Returns the number of cases checked (none is an error).
    """
    def check(case: Case) -> None:
        what = _describe(getattr(student, "__name__", "function"), case.inputs, case.options)
        def compute() -> Any:
            tensors = {name: to_torch(value) for name, value in case.inputs.items()}
            with torch.no_grad():
                return _as_numpy(reference(**tensors, **case.options))

        try:
            expected = reference_value(f"outputs {reference_name(reference)}", (case.inputs, case.options), compute)
        except (RuntimeError, ValueError) as error:
            _expect_same_error(student, case, error, what)
        else:
            result = call_student(student, **copies(case.inputs), **case.options, what=what)
            _compare(result.value, expected, names, what, case, result.warnings)

    return for_each_case(cases, check)


def check_gradients(student_backward: Callable[..., Any], reference: Callable[..., Any], cases: Iterable[Case],
                    wrt: Sequence[str]) -> int:
    """``student_backward(**inputs, grad_output=g, **options)`` returns one gradient per name in ``wrt``:
    autograd's vector-Jacobian product of the reference's (first) output with ``g``, or ``None`` for an
    input the case leaves out. ``grad_output=None`` calls the student without it and torch with ones."""
    def check(case: Case) -> None:
        upstream = {} if case.grad_output is None else {"grad_output": np.copy(case.grad_output)}
        what = _describe(getattr(student_backward, "__name__", "function"), {**case.inputs, **upstream}, case.options)
        def compute() -> tuple[np.ndarray | None, ...]:
            tensors = {name: to_torch(value, requires_grad=name in wrt) for name, value in case.inputs.items()}
            value = reference(**tensors, **case.options)
            value = value[0] if isinstance(value, tuple) else value
            g = torch.as_tensor(np.asarray(1.0 if case.grad_output is None else case.grad_output),
                                dtype=value.dtype, device=value.device).expand_as(value)
            present = [name for name in wrt if name in tensors]
            grads = dict(zip(present, torch.autograd.grad(value, [tensors[n] for n in present], g), strict=True))
            return tuple(None if name not in grads else to_numpy(grads[name]) for name in wrt)

        expected = reference_value(f"vjp {reference_name(reference)}",
                                   (case.inputs, case.options, list(wrt), case.grad_output), compute)
        result = call_student(student_backward, **copies(case.inputs), **upstream, **case.options, what=what)
        _compare(result.value, expected, [f"gradient w.r.t. {n}" for n in wrt], what, case, result.warnings)

    return for_each_case(cases, check)


def check_sampler(sampler: Callable[..., Any], std_reference: Callable[..., torch.Tensor],
                  cases: Iterable[Case]) -> int:
    """``sampler(**options)`` (options include ``shape`` and ``seed``) must return an array of that
    shape whose elements look like independent draws from ``N(0, std^2)``, ``std`` being
    ``std_reference`` for the same options without the seed: mean, variance and kurtosis each within
    six standard errors; the same seed must give the same array and another seed another one."""
    def check(case: Case) -> None:
        options = dict(case.options)
        what = describe(getattr(sampler, "__name__", "sampler"), {}, options)
        without_seed = {k: v for k, v in options.items() if k != "seed"}
        std = reference_value(f"value {reference_name(std_reference)}", without_seed,
                              lambda: float(std_reference(**without_seed)))
        w = np.asarray(call_student(sampler, **options, what=what).value)
        if w.shape != tuple(options["shape"]) or w.dtype.kind != "f":
            raise CheckFailure(f"{what}: expected a float array of shape {tuple(options['shape'])}, "
                               f"got {w.dtype} of shape {w.shape}.")
        n = w.size
        z = w.astype(np.float64).ravel() / std
        stats = {"mean / std": (z.mean(), 0.0, 6.0 / math.sqrt(n)),
                 "variance / std^2": (z.var(), 1.0, 6.0 * math.sqrt(2.0 / n)),
                 "kurtosis (3 for a normal)": (np.mean(z**4) / max(z.var(), 1e-300) ** 2, 3.0,
                                               6.0 * math.sqrt(24.0 / n))}
        for label, (got, expected, tolerance) in stats.items():
            if not abs(got - expected) <= tolerance:
                raise CheckFailure(f"{what}: the samples' {label} is {got:.4g}, expected {expected:g} "
                                   f"(within {tolerance:.2g} for {n} samples; the std torch uses is {std:.6g}).")
        again = np.asarray(call_student(sampler, **options, what=what).value)
        other = np.asarray(call_student(sampler, **{**options, "seed": options["seed"] + 1}, what=what).value)
        if not np.array_equal(again, w):
            raise CheckFailure(f"{what}: two calls with the same seed gave different arrays; "
                               "draw from np.random.default_rng(seed).")
        if np.array_equal(other, w):
            raise CheckFailure(f"{what}: seeds {options['seed']} and {options['seed'] + 1} gave the same array.")

    return for_each_case(cases, check)
