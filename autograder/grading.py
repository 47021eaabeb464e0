"""Grading one submission through nbgrader's own API: what every executor runs, once per submission.

The submission is graded by ``nbgrader autograde`` as configured in ``nbgrader_config.py``: its
code runs sandboxed (:mod:`autograder.sandbox`) and its grades go to the course's gradebook (one
writer at a time on SQLite, :func:`autograder.gradebook.exclusive`). :func:`grade_one` gives that
one run a copy of the course's configuration that says which gradebook lock the sandbox releases
while the code runs and where it writes its report (timeouts, a dead kernel): the course's own
configuration is never changed. Batches (resume, progress, recording) are :mod:`autograder.batch`.
"""

from __future__ import annotations

import copy
import tempfile
from contextlib import nullcontext
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI

from . import gradebook, submissions
from .course import Assignment, Course, last_line
from .notebooks import NotebookError, read_notebook
from .results import Outcome
from .sandbox.preprocessors import read_report


def ensure_assignment(course: Course, assignment: Assignment) -> None:
    """Make sure the gradebook knows the assignment's cells (generate it once if not)."""
    with Gradebook(course.db_url) as gb:
        try:
            if gb.find_assignment(assignment.name).notebooks:
                return
        except MissingEntry:
            pass
    result = course.api.generate_assignment(assignment.name, force=True)
    if not result["success"]:
        raise RuntimeError(f"could not generate {assignment.name}: {last_line(result.get('error', ''))}")


def grade_one(course: Course, assignment: Assignment, sub: submissions.Submission) -> Outcome:
    """Install and autograde one submission; return what happened (the caller records it)."""
    digest = submissions.digest(sub, assignment)
    if sub.notebook is None:
        return Outcome("error", f"no notebook in the submission (expected {assignment.name}/"
                                f"{assignment.notebook_name})", digest)
    try:
        read_notebook(sub.notebook)
    except NotebookError as err:
        return Outcome("error", str(err), digest)
    submissions.install(sub, course, assignment)
    # SQLite: one writer at a time; PostgreSQL serialises concurrent writers itself
    lock = gradebook.exclusive(course) if gradebook.is_sqlite(course.db_url) else nullcontext(-1)
    with tempfile.TemporaryDirectory(prefix="autograde-report-") as tmp, lock as lock_fd:
        report_file = Path(tmp) / "report.json"
        result = _api_for_one_run(course, lock_fd, report_file).autograde(
            assignment.name, sub.student, force=True, create=True)
        incidents = read_report(report_file).incidents
    if not result["success"]:
        return Outcome("error", f"autograde failed: {last_line(result.get('error', ''))}", digest)
    return Outcome("graded", "; ".join(incidents)[:500], digest)


def _api_for_one_run(course: Course, lock_fd: int, report_file: Path) -> NbGraderAPI:
    """nbgrader's API with a copy of the course's configuration that tells the sandbox, for this
    run only, which gradebook lock to release and where to write its report."""
    config = copy.deepcopy(course.config)
    config.SandboxedExecute.gradebook_lock_fd = lock_fd
    config.SandboxedExecute.report_file = str(report_file)
    return NbGraderAPI(coursedir=course.coursedir, config=config)
