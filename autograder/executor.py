"""The executor interface: how a batch's submissions get graded, one call of ``grade`` each.

An executor has one method, ``run(grade, course, assignment, todo)``, which grades every
submission of ``todo`` with ``grade`` (:func:`autograder.grading.grade_one`, or a stand-in in
tests) and yields ``(submission, outcome)`` as each one finishes, in any order.
:class:`InProcess` grades here, one at a time; :class:`autograder.pool.Pool` in worker processes
of this machine; :class:`autograder.cluster.Cluster` on a Dask cluster. The batch
(:mod:`autograder.batch`) takes one and imports none; the CLI chooses.

Executors share :class:`Retries` (a submission whose worker dies is graded once more, then gets
an explicit error) and :func:`grader_error` (a bug of the grader on one submission is that
submission's error, never the batch's).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from typing import Protocol

from .course import Assignment, Course
from .results import Outcome
from .submissions import Submission

GradeOne = Callable[[Course, Assignment, Submission], Outcome]
Finished = Iterator[tuple[Submission, Outcome]]


class Executor(Protocol):
    """Grades a batch's submissions (see the module docstring)."""

    def run(self, grade: GradeOne, course: Course, assignment: Assignment, todo: list[Submission]) -> Finished:
        """Yield ``(submission, outcome)`` for every submission of ``todo`` as it finishes."""
        ...


class InProcess:
    """Grades in this process, one submission at a time (``--jobs 1``)."""

    def run(self, grade: GradeOne, course: Course, assignment: Assignment, todo: list[Submission]) -> Finished:
        for sub in todo:
            try:
                yield sub, grade(course, assignment, sub)
            except Exception as err:  # noqa: BLE001 - a grader bug on one submission stops no other
                yield sub, grader_error(err)


def grader_error(err: Exception) -> Outcome:
    """The outcome of a submission whose grading raised ``err`` (a bug of the grader, not of the student)."""
    return Outcome("error", f"grader error: {type(err).__name__}: {err}"[:300])


class Retries:
    """Counts the deaths of the worker grading each submission: once is retried, twice is an error."""

    MESSAGE = "the grading worker died twice on this submission"

    def __init__(self) -> None:
        self.deaths: Counter[str] = Counter()

    def after_death(self, sub: Submission) -> Outcome | None:
        """None: grade ``sub`` again; else the error outcome to record (its worker died twice)."""
        self.deaths[sub.student] += 1
        return None if self.deaths[sub.student] < 2 else Outcome("error", self.MESSAGE)
