"""Self-check of an assignment: the solutions score full marks, the stubs zero, and the
visible tests pass on the solutions.

Runs in a temporary course directory, so the instructor's gradebook is never touched.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from .batch import autograde
from .course import Course
from .gradebook import CellScores, cell_scores
from .grading import ensure_assignment
from .notebooks import fill_solutions, read_notebook
from .submissions import Submission


@dataclass
class Report:
    """The self-check of one assignment; ``problems`` is empty when it passes."""

    assignment: str
    solved: CellScores
    stub: CellScores
    problems: list[str] = field(default_factory=list)


def run_visible_tests(notebook: nbformat.NotebookNode, cwd: Path, timeout: int = 300) -> str | None:
    """Execute a notebook; return the first error as one line, or None when every cell passes."""
    try:
        NotebookClient(notebook, timeout=timeout, resources={"metadata": {"path": str(cwd)}}).execute()
    except CellExecutionError as err:
        return f"{err.ename}: {err.evalue}".splitlines()[0]
    return None


def check(assignment: str, workdir: Path | None = None) -> Report:
    """Self-check one assignment in the course directory ``workdir`` (a fresh temporary folder by default)."""
    if workdir is not None:
        return _check_in(Course(workdir), assignment)
    with tempfile.TemporaryDirectory(prefix=f"selfcheck-{assignment}-") as tmp:
        return _check_in(Course(Path(tmp)), assignment)


def _check_in(course: Course, name: str) -> Report:
    assignment = course.assignment(name)
    ensure_assignment(course, assignment)
    release = read_notebook(course.released / name / assignment.notebook_name)
    solved = fill_solutions(release, read_notebook(assignment.source))
    inbox = course.root / "inbox"
    inbox.mkdir(exist_ok=True)
    nbformat.write(solved, inbox / "solved.ipynb")
    nbformat.write(release, inbox / "stub.ipynb")
    autograde(course, assignment, [Submission("solved", inbox / "solved.ipynb"),
                                   Submission("stub", inbox / "stub.ipynb")], progress=False)
    report = Report(name, cell_scores(course.db_url, name, "solved"), cell_scores(course.db_url, name, "stub"))
    if report.solved.total != report.solved.max_total or not report.solved.cells:
        lost = [g for g, (s, m) in report.solved.cells.items() if s != m]
        report.problems.append(f"solutions score {report.solved.total:g}/{report.solved.max_total:g} "
                               f"(cells below full marks: {', '.join(lost) or 'none graded'})")
    earned = [g for g, (s, _) in report.stub.cells.items() if s != 0]
    if earned:
        report.problems.append(f"stubs earn points in: {', '.join(earned)}")
    error = run_visible_tests(solved, inbox)
    if error:
        report.problems.append(f"visible tests fail on the solutions: {error}")
    return report
