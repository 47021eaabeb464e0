"""An assignment's source notebook run in this process: its solutions, and every test cell's outcome.

No sandbox and no nbgrader: the set-up and answer cells are executed as plain Python (the answers
may be replaced, e.g. by a stub or a mistake), then each test cell, hidden tests included, and its
outcome is what the student would read: ``"passed"``, or the error's type and message, after what
the cell printed. For comparisons at the level of the checks (``make gpu-check``, the reference
cache's tests) and benchmarks (:mod:`autograder.bench_solutions`).
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable, Mapping
from typing import Any

from .course import Assignment
from .notebooks import grade_id, read_notebook

STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
_SOLUTION = re.compile(r"### BEGIN SOLUTION\n.*?### END SOLUTION", re.DOTALL)


def stub(source: str) -> str:
    """An answer cell's source as released: each solution region replaced by nbgrader's stub."""
    return _SOLUTION.sub(STUB, source)


def _is_test(cell: Any) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def solution_namespace(assignment: Assignment, answers: Callable[[str, str], str] | None = None) -> dict:
    """The names the source notebook defines in its set-up and answer cells (test cells not run);
    ``answers(grade_id, source)`` gives each answer cell's code instead of the solution. What the cells
    print is dropped. With ``answers``, a cell that raises stops there and the next cells run (the solutions must
    run through)."""
    namespace: dict = {"__name__": f"solutions_{assignment.name}"}
    for cell in read_notebook(assignment.source).cells:
        if cell.cell_type != "code" or _is_test(cell):
            continue
        answer = cell.metadata.get("nbgrader", {}).get("solution", False)
        code = answers(grade_id(cell), cell.source) if answers is not None and answer else cell.source
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code, f"<{assignment.name}:{grade_id(cell)}>", "exec"), namespace)  # noqa: S102
        except Exception:
            if answers is None:
                raise
            # with other answers, a cell that fails (a stub, or a cell using one) stops there, as in a notebook
    return namespace


def cell_outcomes(assignment: Assignment, namespace: Mapping[str, Any]) -> dict[str, str]:
    """Run every test cell (hidden tests included) in a copy of ``namespace``, in notebook order;
    return each one's outcome by grade id: what it printed, then ``passed`` or ``<Error>: <message>``."""
    names = dict(namespace)
    outcomes = {}
    for cell in read_notebook(assignment.source).cells:
        if cell.cell_type != "code" or not _is_test(cell):
            continue
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                exec(compile(cell.source, f"<{assignment.name}:{grade_id(cell)}>", "exec"), names)  # noqa: S102
        except Exception as err:  # noqa: BLE001 - a failed check is an outcome
            outcomes[grade_id(cell)] = f"{printed.getvalue()}{type(err).__name__}: {err}"
        else:
            outcomes[grade_id(cell)] = f"{printed.getvalue()}passed"
    return outcomes
