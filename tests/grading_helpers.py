"""Grade hand-made submissions in a temporary course directory and read per-cell points.

Used by the tests of every assignment: build notebooks with
:func:`autograder.notebooks.fill_solutions` (or edit a released copy), then
``grade(tmp_path, "regression_losses", {"alice": nb, ...})`` returns each student's
points per autograded cell, exactly as nbgrader stored them.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder import course as course_dir
from autograder.grading import api_for, autograde, ensure_assignment
from autograder.notebooks import read_notebook
from autograder.results import Outcome
from autograder.selfcheck import CellScores, cell_scores
from autograder.submissions import Submission


def released(course: Path, assignment: str) -> NotebookNode:
    """The released (student) notebook of ``assignment`` as generated in ``course``."""
    course = course_dir.prepare(course)
    ensure_assignment(api_for(course), assignment)
    name = course_dir.source_notebook(assignment).name
    return read_notebook(course / "release" / assignment / name)


def source(assignment: str) -> NotebookNode:
    """The source notebook (solutions and hidden tests)."""
    return read_notebook(course_dir.source_notebook(assignment))


def configure(course: Path, settings: str) -> Path:
    """Make ``course`` a course directory whose nbgrader config also runs ``settings`` (lines of
    ``c.X.y = ...``, e.g. a short ``c.SandboxedExecute.timeout`` for tests of runaway code)."""
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
    course = course_dir.prepare(course)
    inbox = course / "inbox"
    inbox.mkdir(exist_ok=True)
    batch = []
    for student, nb in notebooks.items():
        if isinstance(nb, NotebookNode):
            path = inbox / f"{student}.ipynb"
            nbformat.write(nb, path)
            batch.append(Submission(student, path))
        else:
            batch.append(Submission(student, nb))
    outcomes = autograde(course, assignment, batch, progress=False, jobs=jobs)
    db_url = api_for(course).coursedir.db_url
    scores = {s: cell_scores(db_url, assignment, s) for s, o in outcomes.items() if o.status == "graded"}
    return scores, outcomes
