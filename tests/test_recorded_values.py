"""The reference values shipped with lossbook_checks (``lossbook_checks/recorded/``): exactly what torch
gives for the released notebooks' visible tests today, nothing of the hidden tests, and enough for every
visible test to run, pass on the solutions and fail on the stubs with the live checks' messages."""

from __future__ import annotations

import contextlib
import io
import json
import re

import numpy as np
import pytest

from autograder import course as course_dir
from autograder import recording
from autograder.notebooks import grade_id, read_notebook
from lossbook_checks.checking import record
from lossbook_checks.checking.backpropagation import check_gradcheck
from lossbook_checks.checking.failure import CheckFailure

ASSIGNMENTS = course_dir.assignments()
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


def shipped(assignment: str) -> dict[str, dict]:
    return json.loads((record.RECORDED / f"{assignment}.json").read_text())["values"]


def close(a: object, b: object) -> bool:
    """Equal structures; arrays equal in dtype and shape and within a few ulps of their largest element
    (another CPU, or another thread count, may round a sum differently)."""
    if isinstance(a, np.ndarray):
        if not isinstance(b, np.ndarray) or a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind != "f":
            return bool(np.array_equal(a, b))
        ulps = 16 * float(np.finfo(a.dtype).eps)
        finite = np.abs(a[np.isfinite(a)])
        scale = float(finite.max()) if finite.size else 0.0
        return bool(np.allclose(a, b, rtol=ulps, atol=ulps * scale, equal_nan=True))
    if isinstance(a, tuple | list):
        return type(a) is type(b) and len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, Exception):
        return type(a) is type(b) and str(a) == str(b)
    if isinstance(a, float):
        return isinstance(b, float) and (a == b or abs(a - b) <= 1e-13 * abs(a) or (a != a and b != b))
    return a == b


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_recorded_values_equal_torch_now(assignment):
    """Regenerated from the committed release with this torch, the record equals the shipped one:
    the same computations (keys), the same values. Run `make release` when this fails."""
    fresh = recording.recorded_values(recording.released_with_solutions(assignment),
                                      course_dir.EXERCISES / assignment)
    kept = shipped(assignment)
    stale = f"lossbook_checks/recorded/{assignment}.json is stale: run `make release`"
    assert fresh.keys() == kept.keys(), stale
    drifted = []
    for entry_key, entries in fresh.items():
        assert len(entries) == len(kept[entry_key]), stale
        for new, old in zip(entries, kept[entry_key], strict=True):
            inputs = [record.decode(x) for x in new["inputs"]]
            if not (record.matches(inputs, old["inputs"])
                    and close(record.decode(new["value"]), record.decode(old["value"]))):
                drifted.append(new["what"])
    assert not drifted, f"values drifted from torch: {drifted[:5]}; run `make release`"


class _FirstKey(Exception):
    """Stops a hidden test at its first reference value."""


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_hidden_case_is_recorded(assignment, monkeypatch):
    """The first reference value of every hidden test block (run after the visible part of its cell, in
    the solutions' notebook, with torch) is not in the shipped record."""
    source = read_notebook(course_dir.source_notebook(assignment))
    namespace: dict = {"__name__": "__main__"}
    monkeypatch.chdir(course_dir.EXERCISES / assignment)
    seen: list[str] = []
    in_hidden = [False]

    def stop(entry_key: str, what: str, floats: list, value: object) -> None:
        if in_hidden[0]:
            seen.append((entry_key, floats))
            raise _FirstKey

    monkeypatch.setattr(record, "_keep", stop)
    blocks = 0
    with record.recording():
        for cell in source.cells:
            if cell.cell_type != "code":
                continue
            visible, _, rest = cell.source.partition("### BEGIN HIDDEN TESTS")
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(visible, grade_id(cell) or "cell", "exec"), namespace)  # noqa: S102
            for block in HIDDEN.findall("### BEGIN HIDDEN TESTS" + rest) if rest else []:
                blocks += 1
                in_hidden[0] = True
                try:
                    exec(compile(block, "hidden tests", "exec"), namespace)  # noqa: S102
                except _FirstKey:
                    pass
                finally:
                    in_hidden[0] = False
    assert blocks >= 5 and len(seen) >= blocks // 2, "most hidden blocks take a value from torch"
    kept = shipped(assignment)
    leaked = [k for k, floats in seen if any(record.matches(floats, e["inputs"]) for e in kept.get(k, []))]
    assert not leaked, f"{len(leaked)} hidden cases in lossbook_checks/recorded/{assignment}.json"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
@pytest.mark.parametrize("answers", ["solution", "stub"])
def test_visible_tests_from_the_record_alone(assignment, answers, monkeypatch):
    """Read from the record (torch not used), every visible test passes on the solutions and fails
    on the stubs with "not implemented yet", as with live torch."""
    monkeypatch.setenv("LOSSBOOK_CHECKS_RECORDED", "1")
    assert not record.live()
    folder = course_dir.EXERCISES / assignment
    if answers == "solution":
        recording.run_cells(recording.released_with_solutions(assignment), folder)
        return
    released = read_notebook(folder / course_dir.source_notebook(assignment).name)
    namespace: dict = {"__name__": "__main__"}
    monkeypatch.chdir(folder)
    tests = 0
    for cell in released.cells:
        if cell.cell_type != "code":
            continue
        code = compile(cell.source, grade_id(cell) or "cell", "exec")
        if not cell.metadata.get("nbgrader", {}).get("grade"):
            exec(code, namespace)  # noqa: S102
            continue
        tests += 1
        with pytest.raises(CheckFailure, match="not implemented yet"):
            exec(code, namespace)  # noqa: S102
    assert tests >= 5


def _square(x):
    return x * x, x


@pytest.mark.parametrize("factor, fails", [(2.0, False), (3.0, True)])
def test_numpy_gradcheck_is_torchs_test(factor, fails, monkeypatch):
    """Without torch, check_gradcheck runs the same test in numpy: it passes a right backward
    (2 x grad_out for x^2) and names a Jacobian mismatch for a wrong one, as torch's gradcheck does."""
    def backward(grad_out, x):
        return factor * x * grad_out

    x = np.array([0.5, -1.0, 2.0])
    for mode in ("0", "1"):  # live torch, then the numpy version
        monkeypatch.setenv("LOSSBOOK_CHECKS_RECORDED", mode)
        if fails:
            with pytest.raises(CheckFailure, match="Jacobian mismatch for output 0 with respect to input 0"):
                check_gradcheck(_square, backward, x)
        else:
            check_gradcheck(_square, backward, x)
