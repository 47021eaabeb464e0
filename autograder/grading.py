"""Autograding a batch of submissions through nbgrader's own API, with a progress bar."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from tqdm import tqdm

from . import results, submissions
from .course import load_config, source_notebook
from .notebooks import NotebookError, read_notebook


@dataclass(frozen=True)
class Score:
    """A graded submission's points."""

    student: str
    score: float
    max_score: float


def api_for(course: Path) -> NbGraderAPI:
    """nbgrader's API on a course directory, configured as plain ``nbgrader`` would be there."""
    config = load_config(course)
    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir=coursedir, config=config)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:200] if lines else "unknown error"


def ensure_assignment(api: NbGraderAPI, assignment: str) -> None:
    """Make sure the gradebook knows the assignment's cells (generate it once if not)."""
    with Gradebook(api.coursedir.db_url) as gb:
        try:
            if gb.find_assignment(assignment).notebooks:
                return
        except MissingEntry:
            pass
    result = api.generate_assignment(assignment, force=True)
    if not result["success"]:
        raise RuntimeError(f"could not generate {assignment}: {_last_line(result.get('error', ''))}")


def score_of(api: NbGraderAPI, assignment: str, student: str) -> Score:
    """The student's total and the assignment's maximum, from the gradebook."""
    with Gradebook(api.coursedir.db_url) as gb:
        sub = gb.find_submission(assignment, student)
        return Score(student, float(sub.score), float(sub.max_score))


def grade_one(api: NbGraderAPI, course: Path, assignment: str, sub: submissions.Submission) -> results.Outcome:
    """Install and autograde one submission; return (and record) what happened."""
    name = source_notebook(assignment).name
    if sub.notebook is None:
        outcome = results.Outcome("error", f"no notebook in the submission (expected {assignment}/{name})")
    else:
        try:
            read_notebook(sub.notebook)
        except NotebookError as err:
            outcome = results.Outcome("error", str(err))
        else:
            submissions.install(sub, course, assignment, name)
            result = api.autograde(assignment, sub.student, force=True, create=True)
            outcome = (results.Outcome("graded") if result["success"]
                       else results.Outcome("error", f"autograde failed: {_last_line(result.get('error', ''))}"))
    results.record(course, assignment, sub.student, outcome)
    return outcome


def autograde(course: Path, assignment: str, batch: Iterable[submissions.Submission],
              progress: bool = True) -> dict[str, results.Outcome]:
    """Autograde every submission in ``batch``; one failure never stops the others."""
    api = api_for(course)
    ensure_assignment(api, assignment)
    batch = list(batch)
    outcomes: dict[str, results.Outcome] = {}
    failures = 0
    with tqdm(batch, desc=f"autograde {assignment}", unit="nb", disable=not progress) as bar:
        for sub in bar:
            outcomes[sub.student] = outcome = grade_one(api, course, assignment, sub)
            failures += outcome.status != "graded"
            bar.set_postfix(failed=failures)
    return outcomes
