"""Grade hand-made submissions in a temporary course directory and read per-cell points.

Used by the tests of every assignment: build notebooks with
:func:`autograder.notebooks.fill_solutions` (or edit a released copy), then
``grade(tmp_path, "regression_losses", {"alice": nb, ...})`` returns each student's
points per autograded cell, exactly as nbgrader stored them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from autograder import course as course_dir
from autograder.batch import autograde
from autograder.course import Course
from autograder.executor import Executor
from autograder.gradebook import CellScores, cell_scores
from autograder.grading import ensure_assignment
from autograder.notebooks import grade_id, read_notebook
from autograder.pool import Pool
from autograder.results import Outcome
from autograder.submissions import Submission


def released(course: Path, assignment: str) -> NotebookNode:
    """The released (student) notebook of ``assignment`` as generated in the course directory ``course``."""
    resolved = Course(course)
    found = resolved.assignment(assignment)
    ensure_assignment(resolved, found)
    return read_notebook(resolved.released / assignment / found.notebook_name)


def source(assignment: str) -> NotebookNode:
    """The source notebook (solutions and hidden tests)."""
    return read_notebook(course_dir.source_notebook(assignment))


def regrade(course: Path, assignment: str, batch: list[Submission], executor: Executor | None = None,
            force: bool = False) -> dict[str, Outcome]:
    """``autograde`` of ``batch`` into the course directory ``course`` (resolved here), as the CLI runs it."""
    resolved = Course(course)
    return autograde(resolved, resolved.assignment(assignment), batch, executor, progress=False, force=force)


def points(assignment: str) -> dict[str, float]:
    """The points of every autograded test cell, by grade id in notebook order, from the source
    notebook's nbgrader metadata (so tests need not hard-code an assignment's points or cells)."""
    return {grade_id(cell): float(cell.metadata["nbgrader"]["points"]) for cell in source(assignment).cells
            if cell.metadata.get("nbgrader", {}).get("grade") and not cell.metadata["nbgrader"].get("solution")}


def points_of(assignment: str, answers: set[str]) -> float:
    """The points a submission earns that solves exactly ``answers`` (answer cells by grade id), when each
    test cell tests the answers above it since the previous test cell's answers: the cells between one
    answer cell and the next."""
    earned, answer = 0.0, None
    scored = points(assignment)
    for cell in source(assignment).cells:
        gid = grade_id(cell)
        if cell.metadata.get("nbgrader", {}).get("solution"):
            answer = gid
        elif gid in scored and answer in answers:
            earned += scored[gid]
    return earned


def solutions(assignment: str) -> dict[str, Any]:
    """The namespace of the source notebook's code cells except its test cells: the set-up and the
    instructor solutions, as plain Python functions (no grader, no sandbox)."""
    namespace: dict[str, Any] = {"__name__": f"solutions_{assignment}"}
    for cell in source(assignment).cells:
        if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("grade", False):
            exec(compile(cell.source, f"<{assignment}: {grade_id(cell)}>", "exec"), namespace)  # noqa: S102
    return namespace


def test_cells(assignment: str) -> dict[str, str]:
    """The source of every autograded test cell (hidden tests included), by grade id."""
    return {grade_id(cell): cell.source for cell in source(assignment).cells
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade", False)}


def configure(course: Path, settings: str) -> Path:
    """Make ``course`` a course directory whose nbgrader config also runs ``settings`` (lines of
    ``c.X.y = ...``, e.g. a short ``c.SandboxedExecute.timeout_s`` for tests of runaway code)."""
    course = course_dir.prepare(course)
    config = course / course_dir.CONFIG_NAME
    config.write_text(config.read_text() + settings.strip() + "\n")
    return course


def grade(course: Path, assignment: str, notebooks: dict[str, NotebookNode | Path | None], jobs: int = 1
          ) -> tuple[dict[str, CellScores], dict[str, Outcome]]:
    """Autograde one notebook per student; return per-cell scores and the recorded outcomes.

    A value may be a notebook, a path to any file (e.g. a malformed one), or None (missing).
    ``jobs`` > 1 grades them in parallel worker processes, as ``autograde --jobs`` does.
    """
    resolved = Course(course)
    inbox = resolved.root / "inbox"
    inbox.mkdir(exist_ok=True)
    batch = []
    for student, nb in notebooks.items():
        if isinstance(nb, NotebookNode):
            path = inbox / f"{student}.ipynb"
            nbformat.write(nb, path)
            batch.append(Submission(student, path))
        else:
            batch.append(Submission(student, nb))
    outcomes = autograde(resolved, resolved.assignment(assignment), batch, Pool(jobs), progress=False)
    scores = {s: cell_scores(resolved.db_url, assignment, s) for s, o in outcomes.items() if o.status == "graded"}
    return scores, outcomes
