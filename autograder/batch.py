"""Autograding a batch of submissions: resumable, recorded as each finishes, with a progress bar.

The batch decides what to grade (:func:`autograde`: a submission already graded from the same
notebook against the same assignment is skipped), hands that to an executor
(:mod:`autograder.executor`: in this process, a local pool or a Dask cluster, chosen by the
caller) with :func:`autograder.grading.grade_one`, and records each outcome in
``autograde_status.json`` (:mod:`autograder.results`), written by this process only: at most once a
second while outcomes come, and at the end of the batch, however it ends (Ctrl-C included).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

from sqlalchemy.exc import SAWarning
from tqdm import tqdm

from . import grading, results, submissions
from .course import Assignment, Course
from .executor import Executor, InProcess
from .results import Outcome


def autograde(course: Course, assignment: Assignment, batch: Iterable[submissions.Submission],
              executor: Executor | None = None, progress: bool = True, force: bool = False) -> dict[str, Outcome]:
    """Autograde every submission in ``batch`` with ``executor`` (default: in this process); return
    every outcome.

    Each outcome is recorded once it is known (the status file is written at most once a second,
    and whenever the batch stops), so an interrupted batch resumes where it stopped: a submission
    already graded from the same notebook against the same assignment is not graded again unless
    ``force``. One failure never stops the others.
    """
    with warnings.catch_warnings():  # nbgrader's own SQLAlchemy warnings would garble the progress bar
        warnings.simplefilter("ignore", SAWarning)
        grading.ensure_assignment(course, assignment)
        batch = list(batch)
        outcomes, todo = _already_graded(course, assignment, batch, force)
        finished = (executor or InProcess()).run(grading.grade_one, course, assignment, todo) if todo else iter(())
        failures = 0
        with tqdm(total=len(batch), initial=len(batch) - len(todo), desc=f"autograde {assignment.name}",
                  unit="nb", disable=not progress) as bar, results.Recorder(course) as recorder:
            for sub, outcome in finished:
                recorder.add(assignment.name, sub.student, outcome)
                outcomes[sub.student] = outcome
                failures += outcome.status != "graded" or bool(outcome.message)
                bar.set_postfix(failed=failures)
                bar.update()
    return outcomes


def _already_graded(course: Course, assignment: Assignment, batch: list[submissions.Submission],
                    force: bool) -> tuple[dict[str, Outcome], list[submissions.Submission]]:
    """(the recorded outcomes that stand, the submissions to grade)."""
    recorded = results.load(course).get(assignment.name, {})
    outcomes: dict[str, Outcome] = {}
    todo = []
    for sub in batch:
        previous = recorded.get(sub.student)
        if not force and previous is not None and previous.status == "graded" \
                and previous.digest == submissions.digest(sub, assignment):
            outcomes[sub.student] = previous
        else:
            todo.append(sub)
    return outcomes, todo
