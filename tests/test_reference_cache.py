"""The reference cache (lossbook_checks/checking/cache.py) and ``make gpu-check`` (autograder/gpu_check.py).

The cache must change nothing but the time: every test cell of every assignment gives the same outcome,
message for message, with it and without it, on the solutions, on a wrong submission and on the stubs;
its key changes with every input, option, reference, code and device; a kept value is never shared.
"""

from __future__ import annotations

import functools
import io
from contextlib import redirect_stdout

import numpy as np
import pytest
import torch

from autograder import course as course_dir
from autograder import gpu_check
from autograder.course import DEFAULT_COURSE, Course
from autograder.hidden_cells import cell_outcomes, solution_namespace, stub
from lossbook_checks.checking import cache, reference, torch_forward
from lossbook_checks.references import regression_losses as ref


def _scaled(value):
    """``value`` with every float array or number inside multiplied by 1.001 (a wrong answer)."""
    if isinstance(value, list | tuple):
        return type(value)(_scaled(v) for v in value)
    if isinstance(value, np.ndarray | float | np.floating) and np.asarray(value).dtype.kind == "f":
        return value * np.asarray(1.001, dtype=np.asarray(value).dtype)
    return value


def _wrong(namespace: dict) -> dict:
    """The solutions with every function the notebook defines returning its float results scaled by 1.001."""
    def wrap(fn):
        @functools.wraps(fn)
        def wrong(*args, **kwargs):
            return _scaled(fn(*args, **kwargs))
        return wrong
    return {k: wrap(v) if callable(v) and getattr(v, "__module__", None) == namespace["__name__"]
            and isinstance(v, type(wrap)) else v for k, v in namespace.items()}


@pytest.mark.slow
@pytest.mark.parametrize("name", course_dir.assignments())
def test_every_test_cell_says_the_same_with_the_cache_and_without(name):
    assignment = Course(DEFAULT_COURSE).assignment(name)
    solved = solution_namespace(assignment)
    submissions = {"wrong": _wrong(solved), "stub": solution_namespace(assignment, lambda gid, source: stub(source))}
    with cache.disabled():
        uncached = {student: cell_outcomes(assignment, ns) for student, ns in submissions.items()}
    cache.clear()
    filled = cell_outcomes(assignment, solved)
    cached = {student: cell_outcomes(assignment, ns) for student, ns in submissions.items()}
    again = cell_outcomes(assignment, solved)
    assert cache.stats()["hits"] > 0 and cache.stats()["uncacheable"] == 0, cache.stats()
    assert all(outcome.endswith("passed") for outcome in filled.values()), filled
    assert again == filled
    assert cached == uncached
    failed = [gid for gid, outcome in uncached["wrong"].items() if not outcome.endswith("passed")]
    assert len(failed) >= len(filled) / 2, uncached["wrong"]  # messages with the reference's values in them


def _in_the_package(compute):
    """``compute`` as if the course's package had defined it (the cache names only the package's and torch's)."""
    compute.__module__ = "lossbook_checks.checking.probe"
    return compute


def test_a_kept_value_is_a_copy_and_a_kept_error_is_raised_again():
    cache.clear()
    calls = []

    @_in_the_package
    def compute():
        calls.append(1)
        return [np.arange(3.0), (np.float64(2.0), {"a": np.ones(2)})]

    first = cache.computed("probe value", (np.arange(2.0),), compute, (RuntimeError,))
    first[0][0] = 99.0
    second = cache.computed("probe value", (np.arange(2.0),), compute, (RuntimeError,))
    assert len(calls) == 1 and second[0][0] == 0.0 and second[1][1]["a"].tolist() == [1.0, 1.0]
    second[1][1]["a"][0] = 5.0
    assert cache.computed("probe value", (np.arange(2.0),), compute, (RuntimeError,))[1][1]["a"][0] == 1.0

    @_in_the_package
    def rejects():
        calls.append(1)
        raise RuntimeError("shape mismatch")

    for _ in range(2):
        with pytest.raises(RuntimeError, match="shape mismatch"):
            cache.computed("probe error", (), rejects, (RuntimeError,))
    assert len(calls) == 2


def _key(reference_fn=ref.mse, x=None, options=None):
    x = np.array([0.5, -1.0, 2.0]) if x is None else x
    options = {"reduction": "mean"} if options is None else options
    inputs = {"input": x, "target": np.zeros_like(x)}

    @_in_the_package
    def compute():  # a computation of the shape torch_forward's has
        return reference_fn(**{k: torch.from_numpy(v) for k, v in inputs.items()}, **options)

    return cache.identity(f"forward {reference_fn.__name__}", (inputs, options), compute)


def test_the_key_changes_with_every_input_option_reference_code_and_device(monkeypatch):
    base = _key()
    one_ulp = np.array([0.5, -1.0, np.nextafter(2.0, 3.0)])
    changed = [_key(x=one_ulp), _key(x=np.array([0.5, -1.0, 2.0], dtype=np.float32)),
               _key(options={"reduction": "sum"}), _key(reference_fn=ref.mae)]
    with reference.forced("cuda"):
        changed.append(_key())
    monkeypatch.setattr(cache, "code_identity", lambda: "another version of lossbook_checks or torch")
    changed.append(_key())
    monkeypatch.undo()
    assert base == _key() and base is not None
    assert len({base, *changed}) == 1 + len(changed)


def test_a_computation_that_closes_over_an_unknown_callable_is_not_cached():
    def students_function(input, target, reduction):  # defined here, not in lossbook_checks or torch
        return input
    assert _key(reference_fn=students_function) is None
    assert _key(reference_fn=lambda input, target, reduction: input) is None
    assert cache.identity("probe", (np.array([object()]),), lambda: None) is None  # an object array: no content
    cache.clear()
    torch_forward(ref.mse, {"input": np.ones(2), "target": np.zeros(2)})
    assert cache.stats()["misses"] == 1 and cache.stats()["uncacheable"] == 0


def test_gpu_check_without_a_gpu_says_so_and_exits_0(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    printed = io.StringIO()
    with redirect_stdout(printed):
        assert gpu_check.main() == 0
    assert f"torch {torch.__version__}" in printed.getvalue() and "no GPU" in printed.getvalue()


@pytest.mark.slow
def test_gpu_check_compares_every_reference_of_the_hidden_tests_cpu_against_cpu_as_zero():
    with reference.forced("cpu", np.float32):
        assert reference.to_torch(np.ones(2)).dtype == torch.float32
        assert reference.to_torch(np.arange(2)).dtype == torch.int64
    for dtype in gpu_check.DTYPES:
        found = gpu_check.compare_assignment("regression_losses", ("cpu", "cpu"), dtype)
        assert found.values > 100 and found.largest == 0.0 and not found.disagreements
    difference = gpu_check.largest_difference
    assert difference([np.array([1.0, np.nan])], [np.array([1.0, np.nan])]) == 0.0
    assert difference(np.array([2.0]), np.array([np.nextafter(2.0, 3.0)])) > 0.0
    assert difference(np.array([1.0]), np.array([np.nan])) == np.inf
    assert difference(np.ones(2), np.ones(3)) == np.inf
    assert difference({"a": 1.0}, {"b": 1.0}) == np.inf


def test_gpu_check_with_a_gpu_runs_the_selfcheck_and_prints_one_row_per_assignment_and_dtype(monkeypatch):
    """The cuda branch, with the GPU, the self-check and the comparison stood in for (no GPU here): its table,
    and its exit status (1 when the devices disagree on an error)."""
    ran, compared = [], []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: "a stand-in GPU")
    monkeypatch.setattr(gpu_check.subprocess, "run", lambda command, check: ran.append(command) or
                        type("Done", (), {"returncode": 0})())

    def compare(name, devices, dtype):
        compared.append((name, devices, np.dtype(dtype).name))
        return gpu_check.Comparison(3, 1e-7, ["forward x: cuda raises RuntimeError"] if name == "optimizers" else [])

    monkeypatch.setattr(gpu_check, "compare_assignment", compare)
    printed = io.StringIO()
    with redirect_stdout(printed):
        assert gpu_check.main() == 1
    assert ran == [[gpu_check.sys.executable, "-m", "autograder", "selfcheck"]]
    names = course_dir.assignments()
    assert compared == [(n, ("cuda", "cpu"), d) for n in names for d in ("float64", "float32")]
    assert "device: cuda, a stand-in GPU" in printed.getvalue()
    assert "| regression_losses | float32 | 3 | 1e-07 | 0 |" in printed.getvalue()
    assert "cuda raises RuntimeError" in printed.getvalue()
