"""Checks for the ``optimizers`` assignment: a student's step function against ``torch.optim``, step by step.

A step function has the signature ``step(params, grads, state, **options) -> (new_params, new_state)``:
``params`` and ``grads`` are lists of arrays, ``state`` is a dict of plain data (``{}`` before the
first step) that the next call receives back. :func:`check_runs` runs torch's optimiser and the
student's function on the same gradients and compares the parameters after every step; a failure
names the first step and the first parameter where they differ, by how much, the ratio of the
student's step to torch's there, and the mistake the run was built to catch. Runs given as a pair
are interleaved (two optimisers, each with its own state, stepped in turn), which fails any
implementation that keeps state outside ``state``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from lossbook_checks.cases.core import Case, Hint
from lossbook_checks.cases.optimizers import NewtonRun, Run, Schedule
from lossbook_checks.optional_torch import torch

from .checks import check_cases, copies, describe, for_each_case
from .compare import assert_close
from .failure import CheckFailure
from .record import reference_name, reference_value
from .reference import to_numpy, to_torch
from .student import call_student

#: Shown when an interleaved run fails: the step function kept state outside ``state``.
INTERLEAVED = Hint("global-state", "This run was interleaved with another optimiser's run, each with its own state: "
                                   "keep everything a step needs in `state` (no globals, no function attributes).")

#: Relative tolerance by dtype, applied to |reference| + the largest magnitude the parameter has had so far.
RTOL = {np.dtype(np.float64): 1e-9, np.dtype(np.float32): 2e-5}


def torch_trajectory(reference: type[torch.optim.Optimizer], run: Run) -> list[list[np.ndarray]]:
    """The parameters after each of ``run``'s steps of ``reference`` (a ``torch.optim`` class): ``[t][i]``."""
    def compute() -> list[list[np.ndarray]]:
        tensors = [to_torch(p).requires_grad_(True) for p in run.params]
        optimiser = reference(tensors, **run.options)
        after = []
        for grads in run.grads:
            for tensor, g in zip(tensors, grads, strict=True):
                tensor.grad = to_torch(g)
            optimiser.step()
            after.append([to_numpy(p).copy() for p in tensors])
        return after

    return reference_value(f"trajectory {reference_name(reference)}", (run.params, run.grads, run.options), compute)


class _Track:
    """One run in progress: the student's parameters and state beside torch's trajectory."""

    def __init__(self, run: Run, reference: type[torch.optim.Optimizer], label: str, name: str) -> None:
        self.run, self.label = run, label
        self.params = [p.copy() for p in run.params]
        self.state: Any = {}
        self.expected = torch_trajectory(reference, run)
        self.stacked = _stacked(self.expected)  # expected[t][i] as [i][t], when it stacks
        self.scales = self._scales()
        shapes = ", ".join(f"{p.shape} {p.dtype}" for p in run.params)
        options = ", ".join(f"{k}={v!r}" for k, v in run.options.items())
        self.what = f"{name}(params=[{shapes}], grads, state{', ' + options if options else ''})"

    def _scales(self) -> list[list[float]]:
        """``[t][i]``: the largest magnitude parameter ``i`` has had up to torch's step ``t`` (the scale of its
        absolute tolerance there), from its start and torch's values, a running max of Python floats."""
        if self.stacked is not None:
            largest = [np.max(np.abs(e).reshape(len(e), e[0].size), axis=1, initial=0.0) for e in self.stacked]
            per_step = [[float(m[t]) for m in largest] for t in range(len(self.expected))]
        else:
            per_step = [[float(np.max(np.abs(e), initial=0.0)) for e in step] for step in self.expected]
        scale, scales = [float(np.max(np.abs(p), initial=0.0)) for p in self.run.params], []
        for step in per_step:
            scale = [max(s, m) for s, m in zip(scale, step, strict=True)]
            scales.append(scale)
        return scales

    def reference_before(self, t: int) -> list[np.ndarray]:
        """Torch's parameters before step ``t`` (0-based)."""
        return self.run.params if t == 0 else self.expected[t - 1]


def _calls_ahead(tracks: list[_Track], student: Any) -> Iterator[tuple[int, Callable[[], Any]]]:
    """The student's calls for the tracks' steps, made ahead by the sandboxed kernel in the order
    :func:`check_runs` takes them (``student.run_steps``), as ``(track index, answer)``. The kernel stops
    where this check would (an error, a rejected value, parameters off torch's by the first test of
    :func:`_step`), so it makes no call that stepping one call at a time would not. Each parameter's
    gradients and torch's values go stacked, ``(steps, *shape)``: none when a run's are not all arrays of
    one shape and dtype per parameter (then every call is made one at a time)."""
    runs = []
    for track in tracks:
        grads, expected = _stacked(track.run.grads), track.stacked
        if grads is None or expected is None:
            return iter(())
        runs.append({"steps": track.run.steps, "params": track.run.params, "state": {}, "grads": grads,
                     "options": track.run.options, "expected": expected, "scales": track.scales,
                     "rtol": [_rtol(p.dtype) for p in track.params]})
    return student.run_steps(runs)


def _stacked(steps: list[list[np.ndarray]]) -> list[np.ndarray] | None:
    """``[t][i]`` arrays as one array per ``i``, of shape ``(len(steps), *shape)``; None if they differ in shape or
    dtype across ``t``, or are not arrays."""
    if not steps or any(type(a) is not np.ndarray for arrays in steps for a in arrays):
        return None
    first = steps[0]
    if any(len(arrays) != len(first) for arrays in steps):
        return None
    stacked = []
    for i, a in enumerate(first):
        column = [arrays[i] for arrays in steps]
        if any(b.shape != a.shape or b.dtype.str != a.dtype.str for b in column):
            return None
        stacked.append(np.stack(column))
        if stacked[-1].dtype.str != a.dtype.str:
            return None
    return stacked


def _rtol(dtype: np.dtype) -> float:
    return RTOL.get(dtype, RTOL[np.dtype(np.float64)])


def _returned_params(value: Any, track: _Track, what: str) -> tuple[list[np.ndarray], Any]:
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise CheckFailure(f"{what}: return the pair (new_params, new_state), got {type(value).__name__}.")
    new_params, new_state = value
    if not isinstance(new_state, dict):
        raise CheckFailure(f"{what}: the new state must be a dict (plain data: numbers, arrays, lists, dicts), "
                           f"got {type(new_state).__name__}.")
    if not isinstance(new_params, tuple | list) or len(new_params) != len(track.params):
        raise CheckFailure(f"{what}: new_params must be a list of {len(track.params)} arrays, one per parameter.")
    arrays = []
    for i, (got, old) in enumerate(zip(new_params, track.params, strict=True)):
        arr = np.asarray(got) if isinstance(got, np.ndarray | np.generic | float | int) else None
        if arr is None or arr.shape != old.shape or arr.dtype != old.dtype:
            seen = f"{arr.shape} {arr.dtype}" if arr is not None else type(got).__name__
            raise CheckFailure(f"{what}: parameter {i} must stay an array of shape {old.shape} and dtype "
                               f"{old.dtype} (torch keeps both); got {seen}.")
        arrays.append(arr)
    return arrays, new_state


def _step_ratio(got: np.ndarray, before: np.ndarray, expected: np.ndarray, reference_before: np.ndarray) -> str:
    if not np.isfinite(got).all() and np.isfinite(expected).all():
        return ("  Your run diverged: this parameter is inf or NaN after this step, while torch's is finite "
                "(an overflow, or a division by a zero denominator).")
    ours, theirs = got - before, expected - reference_before
    mask = np.isfinite(ours) & np.isfinite(theirs) & (np.abs(theirs) > 0)
    if not mask.any():
        return ""
    ratio = float(np.median(ours[mask] / theirs[mask]))
    return f"  At this step your parameters moved by about {ratio:.4g} times torch's step (median over elements)."


def _step(track: _Track, t: int, student: Callable[..., Any], interleaved: bool,
          answer: Callable[[], Any] | None) -> None:
    run, what = track.run, track.what
    before_ref = track.reference_before(t)
    if answer is not None:
        result = call_student(answer, what=what)
    else:
        result = call_student(student, params=[p.copy() for p in track.params], grads=[g.copy() for g in run.grads[t]],
                              state=track.state, **run.options, what=what)
    new_params, new_state = _returned_params(result.value, track, what)
    for i, (got, expected, scale) in enumerate(zip(new_params, track.expected[t], track.scales[t], strict=True)):
        rtol = _rtol(expected.dtype)
        with np.errstate(all="ignore"):  # a diverged run (inf - inf) is reported in words, not as numpy warnings
            if np.all(np.abs(got - expected) <= rtol * (np.abs(expected) + scale)):
                continue
            ratio = _step_ratio(got, track.params[i], expected, before_ref[i])
        try:
            assert_close(got, expected, what=f"{what}{track.label}: after step {t + 1} of {run.steps}, parameter {i}",
                         rtol=rtol, atol=rtol * scale, warnings=result.warnings)
        except CheckFailure as failure:
            lines = [str(failure), ratio]
            if run.hint:
                lines.append(f"  {run.hint}")
            if interleaved:
                lines.append(f"  {INTERLEAVED}")
            raise CheckFailure("\n".join(line for line in lines if line)) from None
    track.params, track.state = new_params, new_state


def check_runs(student: Callable[..., Any], reference: type[torch.optim.Optimizer],
               runs: Iterable[Run | tuple[Run, Run]]) -> int:
    """Run ``student`` and ``reference`` (a ``torch.optim`` class) on every run; return how many runs or
    interleaved pairs were checked.

    A pair of runs is interleaved: step 1 of the first, step 1 of the second, step 2 of the
    first, and so on, each optimiser with its own state.
    """
    name = getattr(student, "__name__", "step")

    def check(item: Run | tuple[Run, Run]) -> None:
        group = list(item) if isinstance(item, tuple) else [item]
        labels = [f" [optimiser {k + 1} of {len(group)}, interleaved]" if len(group) > 1 else ""
                  for k in range(len(group))]
        tracks = [_Track(run, reference, label, name) for run, label in zip(group, labels, strict=True)]
        ahead = _calls_ahead(tracks, student) if getattr(student, "calls_ahead", False) else iter(())
        for t in range(max(run.steps for run in group)):
            for k, track in enumerate(tracks):
                if t < track.run.steps:
                    made = next(ahead, None)
                    if made is not None and made[0] != k:  # not this step's call: step one call at a time
                        made, ahead = None, iter(())
                    _step(track, t, student, len(group) > 1, made[1] if made else None)

    return for_each_case(runs, check)


def torch_schedule(reference: Any, schedule: Schedule) -> list[np.float64]:
    """The learning rate of ``reference`` (a ``torch.optim.lr_scheduler`` class) after 0 to ``schedule.steps`` steps."""
    def compute() -> list[np.float64]:
        optimiser = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=schedule.base_lr)
        scheduler = reference(optimiser, **schedule.options)
        rates = []
        for _ in range(schedule.steps + 1):
            rates.append(np.float64(scheduler.get_last_lr()[0]))
            optimiser.step()
            scheduler.step()
        return rates

    return reference_value(f"schedule {reference_name(reference)}",
                           (schedule.base_lr, schedule.options, schedule.steps), compute)


def check_schedule(student: Callable[..., Any], reference: Callable[..., Any], schedules: Iterable[Schedule]) -> int:
    """``student(step, base_lr, **options)`` must equal ``reference``'s learning rate (a
    ``torch.optim.lr_scheduler`` class) after ``step`` scheduler steps, for every step up to ``steps``."""
    name = getattr(student, "__name__", "schedule")

    def check(schedule: Schedule) -> None:
        for step, lr in enumerate(torch_schedule(reference, schedule)):
            inputs = {"step": step, "base_lr": schedule.base_lr}
            what = describe(name, inputs, schedule.options)
            got = call_student(student, **inputs, **schedule.options, what=what)
            assert_close(got.value, lr, what=what, rtol=1e-9, atol=1e-12 * schedule.base_lr, warnings=got.warnings)

    return for_each_case(schedules, check)


def newton_reference(reference: Callable[..., torch.Tensor], objective: Callable[..., torch.Tensor],
                     data: Mapping[str, Any], theta: np.ndarray, options: Mapping[str, Any]
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At the point ``theta`` (shape ``(n,)``), the gradient ``(n,)`` and Hessian ``(n, n)`` of ``objective``
    (one of the references' ``OBJECTIVES``, with the arrays ``data`` as keyword arguments) by ``torch.func``, and
    where ``reference``'s step from there lands ``(n,)``; all in ``theta``'s dtype."""
    def compute() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        fn = functools.partial(objective, **{k: to_torch(np.asarray(v)) for k, v in data.items()})
        point = to_torch(theta)
        grad = torch.func.grad(fn)(point)
        hessian = torch.func.hessian(fn)(point)
        with torch.no_grad():
            landed = reference(point, grad, hessian, **options)
        return to_numpy(grad), to_numpy(hessian), to_numpy(landed)

    return reference_value(f"newton {reference_name(reference)} {reference_name(objective)}",
                           (dict(data), theta, dict(options)), compute)


def check_newton_runs(student: Callable[..., Any], reference: Callable[..., torch.Tensor],
                      objectives: Mapping[str, Callable[..., torch.Tensor]], runs: Iterable[NewtonRun]) -> int:
    """Newton iterations: at each of the student's iterates the gradient and Hessian of the objective
    come from ``torch.func.grad`` and ``torch.func.hessian`` (:func:`newton_reference`);
    ``student(params, grad, hessian, **options)`` must land where ``reference`` does from the same point,
    and the iterates must follow the reference's own trajectory."""
    name = getattr(student, "__name__", "newton_step")

    def check(run: NewtonRun) -> None:
        objective = objectives[run.objective]
        theta, theta_ref = run.params.copy(), run.params.copy()
        for t in range(run.steps):
            grad, hessian, expected = newton_reference(reference, objective, run.data, theta, run.options)
            inputs = {"params": theta, "grad": grad, "hessian": hessian}
            what = f"{describe(name, inputs, run.options)} on the {run.objective} objective, iteration {t + 1}"
            result = call_student(student, **copies(inputs), **run.options, what=what)
            theta_ref = newton_reference(reference, objective, run.data, theta_ref, run.options)[2]
            assert_close(result.value, expected, what=what, warnings=result.warnings)
            theta = np.asarray(result.value, dtype=theta.dtype)
            assert_close(theta, theta_ref, what=f"{what}: the iterate vs torch's Newton trajectory")

    return for_each_case(runs, check)


def check_newton_steps(student: Callable[..., Any], reference: Callable[..., torch.Tensor],
                       cases: Iterable[Case]) -> int:
    """:func:`lossbook_checks.checking.check_cases` for single Newton steps, and the result must keep the dtype of
    ``params`` (torch's does: float32 in, float32 out)."""
    def check(case: Case) -> None:
        what = describe(getattr(student, "__name__", "newton_step"), case.inputs, case.options)
        got = np.asarray(call_student(student, **copies(case.inputs), **case.options, what=what).value)
        if got.dtype != case.inputs["params"].dtype:
            raise CheckFailure(f"{what}: returned dtype {got.dtype}; keep the dtype of params, "
                               f"{case.inputs['params'].dtype} (e.g. np.eye(n, dtype=...), no float64 constants).")
        check_cases(student, reference, [case])

    return for_each_case(cases, check)
