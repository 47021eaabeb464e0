"""Grading submissions in parallel: one worker process per job, each grading one submission at a time.

Workers ignore Ctrl-C: the parent stops them, so an interrupted batch leaves the gradebook and
the status file consistent (what finished is recorded; the rest is graded on the next run).
A worker that crashes costs its submission one retry in a fresh pool, then an explicit error.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from . import results
from .submissions import Submission

GradeOne = Callable[[Path, str, Submission], results.Outcome]


def default_jobs() -> int:
    """The number of cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run(grade_one: GradeOne, course: Path, assignment: str, batch: list[Submission],
        jobs: int) -> Iterator[tuple[Submission, results.Outcome]]:
    """Yield ``(submission, outcome)`` as each finishes; ``grade_one`` runs in the workers."""
    pending, attempts = list(batch), dict.fromkeys((s.student for s in batch), 0)
    while pending:
        crashed: list[Submission] = []
        context = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
        executor = ProcessPoolExecutor(max_workers=min(jobs, len(pending)), mp_context=context,
                                       initializer=_ignore_sigint)
        try:
            futures: dict[Future, Submission] = {executor.submit(grade_one, course, assignment, s): s
                                                 for s in pending}
            while futures:
                done, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in done:
                    sub = futures.pop(future)
                    try:
                        yield sub, future.result()
                    except BrokenProcessPool:
                        crashed.append(sub)
                    except Exception as err:  # noqa: BLE001 - a grader bug on one submission stops no other
                        yield sub, results.Outcome("error", f"grader error: {type(err).__name__}: {err}"[:300])
        except BaseException:
            for process in list(getattr(executor, "_processes", {}).values()):
                process.terminate()
            raise
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
        pending = []
        for sub in crashed:
            attempts[sub.student] += 1
            if attempts[sub.student] > 1:
                yield sub, results.Outcome("error", "the grading worker crashed twice on this submission")
            else:
                pending.append(sub)
