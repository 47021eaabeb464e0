"""Grading submissions in parallel on this machine: one worker process per job, one submission at a time each.

Workers ignore Ctrl-C: the parent stops them, so an interrupted batch leaves the gradebook and
the status file consistent (what finished is recorded; the rest is graded on the next run).
A worker that crashes costs its submission one retry in a fresh pool, then an explicit error
(:class:`autograder.executor.Retries`).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from .course import Assignment, Course
from .executor import Finished, GradeOne, InProcess, Retries, grader_error
from .results import Outcome
from .submissions import Submission


def default_jobs() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


_task: tuple[GradeOne, Course, Assignment] | None = None  # what this worker process grades with


def _start_worker(grade: GradeOne, course: Course, assignment: Assignment) -> None:
    global _task
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _task = (grade, course, assignment)


def _grade_here(sub: Submission) -> Outcome:
    grade, course, assignment = _task
    return grade(course, assignment, sub)


class Pool:
    """``jobs`` worker processes of this machine (``--jobs N``), each given the course once, at its start."""

    def __init__(self, jobs: int) -> None:
        self.jobs = jobs

    def run(self, grade: GradeOne, course: Course, assignment: Assignment, todo: list[Submission]) -> Finished:
        """Yield ``(submission, outcome)`` as each finishes; ``grade`` runs in the workers (here, when
        one job or one submission: a worker process would only cost its start)."""
        if self.jobs == 1 or len(todo) == 1:
            yield from InProcess().run(grade, course, assignment, todo)
            return
        pending, retries = list(todo), Retries()
        while pending:
            crashed: list[Submission] = []
            yield from self._one_pool(grade, course, assignment, pending, crashed)
            pending = []
            for sub in crashed:
                outcome = retries.after_death(sub)
                if outcome is None:
                    pending.append(sub)
                else:
                    yield sub, outcome

    def _one_pool(self, grade: GradeOne, course: Course, assignment: Assignment, pending: list[Submission],
                  crashed: list[Submission]) -> Finished:
        """Grade ``pending`` in one pool; the submissions whose worker died go to ``crashed``."""
        context = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
        executor = ProcessPoolExecutor(max_workers=min(self.jobs, len(pending)), mp_context=context,
                                       initializer=_start_worker, initargs=(grade, course, assignment))
        try:
            futures: dict[Future, Submission] = {executor.submit(_grade_here, s): s for s in pending}
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in done:
                    sub = futures.pop(future)
                    try:
                        yield sub, future.result()
                    except BrokenProcessPool:
                        crashed.append(sub)
                    except Exception as err:  # noqa: BLE001 - a grader bug on one submission stops no other
                        yield sub, grader_error(err)
        except BaseException:
            for process in list(getattr(executor, "_processes", {}).values()):
                process.terminate()
            raise
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
