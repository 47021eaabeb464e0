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
from nbgrader.api import Gradebook

from . import course as course_dir
from .grading import api_for, autograde, ensure_assignment
from .notebooks import fill_solutions, read_notebook
from .submissions import Submission


@dataclass
class CellScores:
    """Points per autograded cell for one submission."""

    student: str
    cells: dict[str, tuple[float, float]] = field(default_factory=dict)  # grade id -> (score, max)

    @property
    def total(self) -> float:
        return sum(score for score, _ in self.cells.values())

    @property
    def max_total(self) -> float:
        return sum(maximum for _, maximum in self.cells.values())


@dataclass
class Report:
    """The self-check of one assignment; ``problems`` is empty when it passes."""

    assignment: str
    solved: CellScores
    stub: CellScores
    problems: list[str] = field(default_factory=list)


def cell_scores(db_url: str, assignment: str, student: str) -> CellScores:
    """Per-cell autograded points of a student's submission."""
    scores = CellScores(student)
    with Gradebook(db_url) as gb:
        for nb in gb.find_submission(assignment, student).notebooks:
            for grade in nb.grades:
                if grade.cell.max_score:
                    scores.cells[grade.name] = (float(grade.score), float(grade.max_score))
    return scores


def run_visible_tests(notebook: nbformat.NotebookNode, cwd: Path, timeout: int = 300) -> str | None:
    """Execute a notebook; return the first error as one line, or None when every cell passes."""
    try:
        NotebookClient(notebook, timeout=timeout, resources={"metadata": {"path": str(cwd)}}).execute()
    except CellExecutionError as err:
        return f"{err.ename}: {err.evalue}".splitlines()[0]
    return None


def check(assignment: str, workdir: Path | None = None) -> Report:
    """Self-check one assignment in ``workdir`` (a fresh temporary folder by default)."""
    if workdir is not None:
        return _check_in(course_dir.prepare(workdir), assignment)
    with tempfile.TemporaryDirectory(prefix=f"selfcheck-{assignment}-") as tmp:
        return _check_in(course_dir.prepare(Path(tmp)), assignment)


def _check_in(course: Path, assignment: str) -> Report:
    api = api_for(course)
    ensure_assignment(api, assignment)
    name = course_dir.source_notebook(assignment).name
    release = read_notebook(course / "release" / assignment / name)
    solved = fill_solutions(release, read_notebook(course_dir.source_notebook(assignment)))
    inbox = course / "inbox"
    inbox.mkdir(exist_ok=True)
    nbformat.write(solved, inbox / "solved.ipynb")
    nbformat.write(release, inbox / "stub.ipynb")
    autograde(course, assignment, [Submission("solved", inbox / "solved.ipynb"),
                                   Submission("stub", inbox / "stub.ipynb")], progress=False)
    report = Report(assignment, cell_scores(course_dir.gradebook_url(course), assignment, "solved"),
                    cell_scores(course_dir.gradebook_url(course), assignment, "stub"))
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
