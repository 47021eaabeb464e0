"""The checks test cells call: a student's numpy function against a PyTorch reference.

Conventions shared by every exercise:

- A forward function takes numpy arrays and options and returns the loss: a 0-d value
  for ``reduction='mean'``/``'sum'``, an array of the input's shape for ``'none'``.
- A backward function takes the same arguments plus ``grad_output`` (the upstream
  gradient, shaped like the forward's value) and returns the gradient with respect to
  the input named in ``wrt`` (a tuple, in ``wrt``'s order, when there are several),
  each shaped like that input: the vector-Jacobian product torch's autograd computes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from lossbook_checks.cases.core import Case, Hint
from lossbook_checks.optional_torch import torch

from .compare import assert_close
from .failure import CheckFailure
from .numerical import numerical_gradient, relative_error
from .reference import torch_forward, torch_vjp
from .student import call_student

T = TypeVar("T")

#: The backward is not the derivative of the student's own forward (whatever the reference says).
BACKWARD_NOT_FORWARD = Hint("backward-not-forward", "differentiate your forward again, term by term: the two "
                                                    "functions must agree with each other before they can agree "
                                                    "with torch.")
#: A call that torch rejects was accepted, or rejected with another exception.
MUST_RAISE = Hint("must-raise", "check the input's shape and options first and raise the exception torch raises.")


def describe(name: str, inputs: Mapping[str, Any], options: Mapping[str, Any]) -> str:
    """A call as the student would read it: ``mse_loss(input: (3, 4) float32, ..., reduction='sum')``."""
    parts = []
    for key, value in inputs.items():
        if isinstance(value, np.ndarray) and value.ndim:
            parts.append(f"{key}: {value.shape} {value.dtype}")
        elif isinstance(value, np.ndarray | np.generic):
            parts.append(f"{key}={value.item()!r} ({value.dtype})")
        else:
            parts.append(f"{key}={value!r}")
    parts += [f"{key}={value!r}" for key, value in options.items()]
    return f"{name}({', '.join(parts)})"


def copies(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Copies of the array arguments, so a student function that writes into its inputs harms nothing."""
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in inputs.items()}


def check_forward(student: Callable[..., Any], reference: Callable[..., torch.Tensor],
                  inputs: Mapping[str, Any], options: Mapping[str, Any] | None = None, *,
                  mean_of: int | None = None, notes: Sequence[tuple[np.ndarray, Hint]] = (),
                  rtol: float | None = None, atol: float | None = None) -> None:
    """``student(**inputs, **options)`` must equal ``reference`` evaluated in torch."""
    options = dict(options or {})
    what = describe(getattr(student, "__name__", "function"), inputs, options)
    expected = torch_forward(reference, inputs, options)
    result = call_student(student, **copies(inputs), **options, what=what)
    assert_close(result.value, expected, what=what, rtol=rtol, atol=atol, mean_of=mean_of,
                 notes=notes, warnings=result.warnings)


def check_backward(student_backward: Callable[..., Any], reference: Callable[..., torch.Tensor],
                   inputs: Mapping[str, Any], wrt: str | Sequence[str],
                   options: Mapping[str, Any] | None = None, *, grad_output: Any = 1.0,
                   mean_of: int | None = None, notes: Sequence[tuple[np.ndarray, Hint]] = (),
                   rtol: float | None = None, atol: float | None = None) -> None:
    """``student_backward(**inputs, grad_output=g, **options)`` must equal torch autograd's VJP.

    ``grad_output`` may be a scalar or an array shaped like the reference's value; ``None``
    calls the student without it (its default must be 1) and torch with 1.
    """
    options = dict(options or {})
    names = [wrt] if isinstance(wrt, str) else list(wrt)
    upstream = {} if grad_output is None else {"grad_output": np.copy(grad_output)}
    what = describe(getattr(student_backward, "__name__", "function"), {**inputs, **upstream}, options)
    _, expected = torch_vjp(reference, inputs, names, 1.0 if grad_output is None else grad_output, options)
    result = call_student(student_backward, **copies(inputs), **upstream, **options, what=what)
    got = (result.value,) if isinstance(wrt, str) else result.value
    if not isinstance(wrt, str) and (not isinstance(got, tuple | list) or len(got) != len(names)):
        raise CheckFailure(f"{what}: expected a tuple of {len(names)} gradients ({', '.join(names)}).")
    for name, value in zip(names, got, strict=True):
        assert_close(value, expected[name], what=f"{what}, gradient w.r.t. {name}", rtol=rtol, atol=atol,
                     mean_of=mean_of, notes=notes, warnings=result.warnings)


def check_backward_matches_forward(student: Callable[..., Any], student_backward: Callable[..., Any],
                                   inputs: Mapping[str, Any], wrt: str,
                                   options: Mapping[str, Any] | None = None, *,
                                   tolerance: float = 1e-6) -> None:
    """The student's backward must agree with central differences of the student's own forward.

    Needs no reference: when this fails and the forward check passes, the backward is wrong.
    Use inputs away from kinks (finite differences straddle a kink and average its slopes).
    """
    options = dict(options or {})
    name = getattr(student_backward, "__name__", "backward")
    what = describe(name, inputs, options)

    def scalar_loss(x: np.ndarray) -> float:
        args = {**copies(inputs), wrt: x}
        return float(np.sum(call_student(student, **args, **options, what=what).value))

    numeric = numerical_gradient(scalar_loss, np.array(inputs[wrt], dtype=np.float64))
    analytic = call_student(student_backward, **copies(inputs), grad_output=np.float64(1.0),
                            **options, what=what).value
    if np.shape(analytic) != numeric.shape:
        raise CheckFailure(f"{what}: the gradient must have the input's shape {numeric.shape}, "
                           f"got {np.shape(analytic)}.")
    err = relative_error(analytic, numeric)
    if not err <= tolerance:
        raise CheckFailure(f"{what}: your backward disagrees with central differences of your own forward "
                           f"(relative error {err:.2e} > {tolerance:g}).\n"
                           f"  finite differences: {np.array2string(numeric.ravel()[:6], precision=6)}\n"
                           f"  your backward:      {np.array2string(np.ravel(analytic)[:6], precision=6)}\n"
                           f"  {BACKWARD_NOT_FORWARD}")


def check_cases(student: Callable[..., Any], reference: Callable[..., torch.Tensor], cases: Iterable[Case],
                wrt: str | Sequence[str] | None = None) -> int:
    """Check ``student`` against ``reference`` on every case; return how many were checked.

    ``wrt=None`` checks forward values (:func:`check_forward`); a name or a tuple of names
    checks the student's backward, the VJP with respect to those inputs
    (:func:`check_backward`, with each case's ``grad_output``). Tolerances, ``mean_of``
    and notes come from the case. No cases at all is an error: a check that checks
    nothing cannot fail.
    """
    def check(case: Case) -> None:
        judged = {"mean_of": case.mean_of, "notes": case.notes, "rtol": case.rtol, "atol": case.atol}
        if wrt is None:
            check_forward(student, reference, case.inputs, case.options, **judged)
        else:
            check_backward(student, reference, case.inputs, wrt, case.options, grad_output=case.grad_output,
                           **judged)

    return for_each_case(cases, check)


def check_rejects(student: Callable[..., Any], reference: Callable[..., torch.Tensor], cases: Iterable[Case],
                  error: type[Exception] = ValueError) -> int:
    """Torch rejects each case's call (it raises), and so must ``student``: by raising ``error``.

    The student is called with the case's inputs and options (``grad_output`` left out);
    return how many cases were checked. A case that torch accepts is an error of the test.
    """
    def check(case: Case) -> None:
        what = describe(getattr(student, "__name__", "function"), case.inputs, case.options)
        try:
            torch_forward(reference, case.inputs, case.options)
        except (RuntimeError, ValueError, IndexError) as err:
            rejected = f"{type(err).__name__}: {str(err).splitlines()[0]}"
        else:
            raise ValueError(f"{what}: torch accepts this call, so the test may not require an error")
        try:
            call_student(student, **copies(case.inputs), **case.options, what=what)
        except CheckFailure as failure:
            if failure.raised == error.__name__:
                return
            if failure.raised is None:
                raise
            raise CheckFailure(f"{failure}\n  torch rejects this call ({rejected}); yours must raise "
                               f"{error.__name__}.\n  {MUST_RAISE}") from None
        raise CheckFailure(f"{what} returned a value, but torch rejects this call ({rejected}): "
                           f"raise {error.__name__}.\n  {MUST_RAISE}")

    return for_each_case(cases, check)


def for_each_case(cases: Iterable[T], check: Callable[[T], object]) -> int:
    """Run ``check`` on every case (a :class:`Case`, or an optimiser's run or schedule); return how many.
    No cases at all is an error (a test that checks nothing cannot fail)."""
    count = 0
    for case in cases:
        check(case)
        count += 1
    if count == 0:
        raise ValueError("the test was given no cases: it would check nothing.")
    return count
