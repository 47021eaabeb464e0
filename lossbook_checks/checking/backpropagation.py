"""Checks for the ``backpropagation`` assignment (grader side; its cases are in
:mod:`lossbook_checks.cases.backpropagation`).

What the shared checks do not cover:

- layers with a cache: ``forward(**inputs) -> (out, cache)`` and ``backward(grad_out, cache)``
  (:func:`check_layer`); the cache must be plain data (arrays, numbers, tuples, dicts);
- a dict of parameter gradients (:func:`check_gradients`);
- torch's ``gradcheck`` of a numpy forward/backward pair wrapped in a custom
  ``torch.autograd.Function`` (:func:`check_gradcheck`);
- ``numerical_gradient`` and the scalar autodiff engine ``Value``, called through the
  notebook's adapters (data in, data out; see :mod:`lossbook_checks.cases.backpropagation_programs`) and compared with
  torch autograd (:func:`check_numerical_gradient`, :func:`check_engine_forward`,
  :func:`check_engine_backward`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from lossbook_checks.cases.backpropagation_programs import SMOOTH_FUNCTIONS, Program, run_program, uses
from lossbook_checks.cases.core import Case, Hint
from lossbook_checks.optional_torch import torch

from .checks import copies, describe, for_each_case
from .compare import assert_close
from .failure import CheckFailure
from .record import live, reference_value
from .reference import device, to_numpy, to_torch, torch_vjp
from .student import call_student

#: torch.autograd.gradcheck's settings here: finite-difference step and tolerances.
GRADCHECK = {"eps": 1e-6, "atol": 1e-6, "rtol": 1e-4}


def _as_tuple(value: Any, n: int, what: str) -> tuple[Any, ...]:
    if n == 1:
        return (value,)
    if not isinstance(value, tuple | list) or len(value) != n:
        raise CheckFailure(f"{what}: expected a tuple of {n} values, got {type(value).__name__}.")
    return tuple(value)


# ---------------------------------------------------------------- layers with a cache






def check_layer(forward: Callable[..., Any], backward: Callable[..., Any] | None,
                reference: Callable[..., torch.Tensor], inputs: Mapping[str, np.ndarray], wrt: Sequence[str],
                grad_output: np.ndarray, *, rtol: float | None = None, atol: float | None = None) -> None:
    """``forward(**inputs)`` returns ``(out, cache)``; ``backward(grad_output, cache)`` the gradients.

    ``out`` must equal ``reference(**inputs)``; the gradients (one array, or a tuple in
    ``wrt``'s order) must equal torch autograd's vector-Jacobian product with ``grad_output``.
    With ``backward=None`` only the forward pass is checked.
    """
    names = list(wrt)
    what = describe(getattr(forward, "__name__", "forward"), inputs, {})
    value, grads = torch_vjp(reference, inputs, names, grad_output)
    result = call_student(forward, **copies(inputs), what=what)
    out, cache = _as_tuple(result.value, 2, f"{what} (must return (out, cache))")
    assert_close(out, value, what=what, rtol=rtol, atol=atol, warnings=result.warnings)
    if backward is None:
        return
    what_b = f"{getattr(backward, '__name__', 'backward')}(grad_output: {grad_output.shape}, cache) after {what}"
    back = call_student(backward, grad_output.copy(), cache, what=what_b)
    for name, got in zip(names, _as_tuple(back.value, len(names), what_b), strict=True):
        _check_shape(got, grads[name].shape, f"{what_b}, gradient w.r.t. {name}")
        assert_close(got, grads[name], what=f"{what_b}, gradient w.r.t. {name}", rtol=rtol, atol=atol,
                     warnings=back.warnings)


def check_layer_cases(forward: Callable[..., Any], backward: Callable[..., Any] | None,
                      reference: Callable[..., torch.Tensor], cases: Iterable[Case], wrt: Sequence[str]) -> int:
    """:func:`check_layer` on every case (its ``inputs`` and ``grad_output``); return how many were checked."""
    def check(case: Case) -> None:
        check_layer(forward, backward, reference, case.inputs, wrt, case.grad_output, rtol=case.rtol, atol=case.atol)

    return for_each_case(cases, check)



def _check_shape(got: Any, shape: tuple[int, ...], what: str) -> None:
    """A gradient has the shape of what it differentiates; name the two usual ways to miss it."""
    got_shape = np.shape(got)
    if got_shape == shape:
        return
    message = f"{what}: expected shape {shape} (the shape of the input), got {got_shape}."
    if len(got_shape) == len(shape) + 1 and got_shape[1:] == shape:
        message += "\n  " + str(Hint("batch-sum-missing", "a parameter shared by every example gets the SUM of "
                                                         "their gradients (sum over axis 0)."))
    elif got_shape == shape[::-1]:
        message += "\n  " + str(Hint("transposed", "dL/dW = grad_out.T @ x has W's shape (out, in)."))
    raise CheckFailure(message)




def check_gradients(student: Callable[..., Any], reference: Callable[..., torch.Tensor],
                    params: Mapping[str, np.ndarray], data: Mapping[str, np.ndarray]) -> None:
    """``student(params, **data)`` returns ``(loss, grads)``, ``grads`` a dict keyed like ``params``.

    The loss must equal ``reference(**data, **params)`` and each ``grads[name]`` autograd's
    ``d loss / d params[name]``.
    """
    what = describe(getattr(student, "__name__", "function"), {**data, **params}, {})
    value, grads = torch_vjp(reference, {**data, **params}, list(params))
    result = call_student(student, copies(params), **copies(data), what=what)
    loss, got = _as_tuple(result.value, 2, f"{what} (must return (loss, grads))")
    assert_close(loss, value, what=f"{what}, loss", warnings=result.warnings)
    if not isinstance(got, Mapping):
        raise CheckFailure(f"{what}: grads must be a dict {{name: gradient}}, got {type(got).__name__}.")
    missing = [name for name in params if name not in got]
    if missing:
        raise CheckFailure(f"{what}: grads lacks {', '.join(missing)} (keys must be {', '.join(params)}).")
    for name in params:
        assert_close(got[name], grads[name], what=f"{what}, gradient w.r.t. {name}", warnings=result.warnings)


def check_gradient_cases(student: Callable[..., Any], reference: Callable[..., torch.Tensor],
                         cases: Iterable[Case]) -> int:
    """:func:`check_gradients` on every case (``inputs["params"]`` and the other inputs as data)."""
    def check(case: Case) -> None:
        data = {k: v for k, v in case.inputs.items() if k != "params"}
        check_gradients(student, reference, case.inputs["params"], data)
    return for_each_case(cases, check)


# ---------------------------------------------------------------- finite differences




def check_numerical_gradient(adapter: Callable[..., Any], name: str, x: np.ndarray, transposed: bool = False) -> None:
    """``adapter(name, x, transposed)`` returns ``(numerical_gradient(f, x), x afterwards)`` for
    ``f = SMOOTH_FUNCTIONS[name]``: the gradient must be within ``1e-7 + 1e-6 |g|`` of autograd's
    (central differences with the default step are; forward differences are not) and ``x``
    must be restored.
    """
    layout = ", a non-contiguous view" if transposed else ""
    what = f"numerical_gradient(f = {name}, x: {x.shape} {x.dtype}{layout})"
    def compute() -> np.ndarray:
        tensor = to_torch(np.array(x, dtype=np.float64), requires_grad=True)
        (expected,) = torch.autograd.grad(SMOOTH_FUNCTIONS[name](tensor, torch), tensor)
        return to_numpy(expected)

    expected = reference_value(f"gradient {name}", np.array(x, dtype=np.float64), compute)
    result = call_student(adapter, name, x.copy(), transposed, what=what)
    gradient, after = _as_tuple(result.value, 2, what)
    assert_close(gradient, expected, what=what, rtol=1e-6, atol=1e-7, warnings=result.warnings)
    assert_close(after, x, what=f"{what}: x must be restored (save each element and put it back)",
                 rtol=1e-12, atol=0.0)


# ---------------------------------------------------------------- gradcheck of a numpy pair


def _numpy_function(forward: Callable[..., Any], backward: Callable[..., Any], what: str) -> type:
    """A ``torch.autograd.Function`` whose forward and backward are the student's numpy pair."""

    class NumpyPair(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
            out, ctx.cache = _as_tuple(call_student(forward, to_numpy(x), what=what).value, 2, what)
            return torch.as_tensor(np.asarray(out, dtype=np.float64), device=x.device)

        @staticmethod
        def backward(ctx: Any, grad_output: torch.Tensor) -> torch.Tensor:
            grad = call_student(backward, to_numpy(grad_output), ctx.cache, what=f"backward of {what}").value
            return torch.as_tensor(np.asarray(grad, dtype=np.float64), device=grad_output.device)

    return NumpyPair


def check_gradcheck(forward: Callable[..., Any], backward: Callable[..., Any], x: np.ndarray) -> None:
    """``torch.autograd.gradcheck`` (float64, on :func:`device`) of the custom ``Function`` made of
    ``forward(x) -> (out, cache)`` and ``backward(grad_out, cache)``: the Jacobian from finite
    differences of ``forward`` must match the one ``backward`` implies. Without torch, the same test
    in numpy (:func:`_numpy_gradcheck`), with the same step and tolerances."""
    name = getattr(forward, "__name__", "forward")
    what = f"torch.autograd.gradcheck of a Function made of {name}/{getattr(backward, '__name__', 'backward')}"
    label = f"{name}(x: {tuple(x.shape)} float64)"
    if not live():
        mismatch = _numpy_gradcheck(forward, backward, np.asarray(x, dtype=np.float64), label)
        if mismatch:
            raise CheckFailure(f"{what} (in numpy, as torch computes it): {mismatch}")
        return
    tensor = to_torch(np.asarray(x, dtype=np.float64), requires_grad=True)
    function = _numpy_function(forward, backward, label)
    try:
        torch.autograd.gradcheck(function.apply, (tensor,), eps=GRADCHECK["eps"], atol=GRADCHECK["atol"],
                                 rtol=GRADCHECK["rtol"])
    except importlib.import_module("torch.autograd.gradcheck").GradcheckError as err:
        raise CheckFailure(f"{what} on {tensor.device.type}: {str(err).splitlines()[0]}\n"
                           f"{chr(10).join(str(err).splitlines()[1:8])}") from None


def _numpy_gradcheck(forward: Callable[..., Any], backward: Callable[..., Any], x: np.ndarray, what: str) -> str:
    """What ``torch.autograd.gradcheck`` checks, in numpy: the Jacobian ``(x.size, out.size)`` by central
    differences of ``forward`` against the one ``backward`` gives for each unit ``grad_out``; the
    mismatch in torch's words, or ``""``."""
    eps = GRADCHECK["eps"]

    def out_of(point: np.ndarray) -> np.ndarray:
        out, _ = _as_tuple(call_student(forward, point.copy(), what=what).value, 2, what)
        return np.asarray(out, dtype=np.float64)

    out, cache = _as_tuple(call_student(forward, x.copy(), what=what).value, 2, what)
    out = np.asarray(out, dtype=np.float64)
    numerical = np.zeros((x.size, out.size))
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = eps
        step = step.reshape(x.shape)
        numerical[i] = ((out_of(x + step) - out_of(x - step)) / (2 * eps)).ravel()
    analytical = np.zeros_like(numerical)
    for j in range(out.size):
        unit = np.zeros(out.size)
        unit[j] = 1.0
        grad = call_student(backward, unit.reshape(out.shape), cache, what=f"backward of {what}").value
        analytical[:, j] = np.asarray(grad, dtype=np.float64).ravel()
    if np.allclose(analytical, numerical, rtol=GRADCHECK["rtol"], atol=GRADCHECK["atol"]):
        return ""
    return (f"Jacobian mismatch for output 0 with respect to input 0,\n"
            f"numerical:{np.array2string(numerical, precision=4)}\n"
            f"analytical:{np.array2string(analytical, precision=4)}")


# ---------------------------------------------------------------- the scalar autodiff engine


def _torch_nodes(program: Program) -> tuple[np.ndarray, np.ndarray]:
    """The value of every node and of the output (last), and ``d out / d node`` of every node (0 where
    torch leaves ``.grad`` empty), by torch after ``out.backward()``."""
    def compute() -> tuple[np.ndarray, np.ndarray]:
        leaves = [torch.tensor(v, dtype=torch.float64, device=device(), requires_grad=True) for v in program.leaves]
        nodes, out = run_program(program, leaves)
        for node in nodes[len(leaves):]:
            node.retain_grad()
        out.backward()
        values = np.array([t.item() for t in [*nodes, out]])
        return values, np.array([0.0 if t.grad is None else t.grad.item() for t in nodes])

    return reference_value("engine", program.to_data(), compute)


def _engine(adapter: Callable[..., Any], program: Program, backward: bool, what: str) -> dict[str, np.ndarray]:
    result = call_student(adapter, program.to_data(), backward, what=what).value
    if not isinstance(result, dict):
        raise CheckFailure(f"{what}: the adapter returned {type(result).__name__}; keep its cell as given.")
    try:
        return {key: np.asarray(result[key], dtype=np.float64) for key in ("data", "grad")}
    except (KeyError, TypeError, ValueError) as err:
        raise CheckFailure(f"{what}: the adapter returned malformed data ({err}); keep its cell as given.") from None


def _node_name(program: Program, index: int) -> str:
    n_leaves, n_nodes = len(program.leaves), len(program.leaves) + len(program.steps)
    if index == n_nodes:
        return "out"
    return f"leaf n{index}" if index < n_leaves else f"n{index} = {program.steps[index - n_leaves].describe()}"


def check_engine_forward(adapter: Callable[..., Any], program: Program) -> None:
    """Every node's ``.data`` must equal torch's value; a failure names the first wrong operation.

    ``adapter(program_data, backward)`` is the notebook's ``value_engine``.
    """
    what = f"Value graph with {len(program.leaves) + len(program.steps)} nodes"
    got = _engine(adapter, program, False, what)["data"]
    expected = _torch_nodes(program)[0]
    if got.shape != expected.shape:
        raise CheckFailure(f"{what}: expected {expected.size} node values, got {got.size}.")
    bad = ~np.isclose(got, expected, rtol=1e-9, atol=1e-12)
    if bad.any():
        first = int(np.argmax(bad))
        raise CheckFailure(f"{what}: wrong .data at {_node_name(program, first)}: expected {expected[first]:.10g}, "
                           f"got {got[first]:.10g}.\nThe graph:\n{program.describe()}")


def check_engine_backward(adapter: Callable[..., Any], program: Program, *, leaves_only: bool = False) -> None:
    """After ``out.backward()``, each node's ``.grad`` must equal ``d out / d node`` by torch autograd.

    A failure names the last wrong node; when every wrong node is used more than once, the
    hint says that gradients must accumulate.
    """
    what = f"Value graph with {len(program.leaves) + len(program.steps)} nodes, out.backward()"
    got = _engine(adapter, program, True, what)["grad"]
    node_grads = _torch_nodes(program)[1]
    count = len(program.leaves) if leaves_only else len(node_grads)
    expected = node_grads[:count]
    if got.shape != (len(node_grads),):
        raise CheckFailure(f"{what}: expected {len(node_grads)} node gradients, got {got.size}.")
    bad = ~np.isclose(got[:count], expected, rtol=1e-7, atol=1e-10)
    if not bad.any():
        return
    last = int(np.flatnonzero(bad)[-1])
    lines = [f"{what}: {int(bad.sum())} of {count} gradients are wrong; the last node with a wrong gradient is "
             f"{_node_name(program, last)}: expected {expected[last]:.10g}, got {got[last]:.10g}."]
    if (uses(program)[:count][bad] > 1).all():
        lines.append(str(Hint("gradient-overwritten", "every wrong node is used more than once: a node's "
                                                      "gradient is the SUM over its uses (accumulate with +=, never "
                                                      "overwrite).")))
    else:
        lines.append(str(Hint("local-rule", "look at the backward rules of the operations that consume this node.")))
    lines.append(f"The graph:\n{program.describe()}")
    raise CheckFailure("\n".join(lines))
