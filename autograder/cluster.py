"""Autograding on a Dask cluster (``autograde --cluster ADDRESS``), with no shared file system.

The coordinator (this process) sends each worker a :class:`Job`: the submission's notebook
as bytes, the assignment's source notebook and the course's nbgrader configuration. The
worker grades it with the batch's ``grade`` (:func:`autograder.grading.grade_one`) in a private
temporary course directory of its own (same configuration, so the same sandbox as the local
pool) and sends back a :class:`Graded`: the outcome, the autograded notebook and the gradebook
rows it produced. The coordinator records those into the course's gradebook (:func:`record`) as
they arrive: every result that has arrived since the last record goes into one transaction (one at
a time when they come slowly, many at once when many workers finish together).

Start-up is paid while the first jobs are sent: as soon as it connects, the coordinator asks
every worker to warm up (:func:`warm`: the imports of the grading side and the private course,
generated once), so that each worker's first submission is graded by a warm worker.

A submission whose worker dies (``KilledWorker``: the scheduler gives up on it at once, see
:func:`connect`) is submitted once more, to whichever worker is alive; a second death records
an error with the reason (:class:`autograder.executor.Retries`). Ctrl-C cancels what is still
queued; what was recorded stays, and rerunning the command grades the rest, as with the local pool.

``local`` or ``local:N`` starts a :class:`distributed.LocalCluster` of N worker processes
(default: the cores of this machine), one thread each: every submission already runs its
own kernel process. They are forked from the coordinator, like the local pool's workers.
"""

from __future__ import annotations

import atexit
import importlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dask
from distributed import Client, Future, LocalCluster, as_completed
from distributed.scheduler import KilledWorker
from traitlets.config import Config

from . import gradebook, submissions
from .course import Assignment, Course, prepare
from .executor import Finished, GradeOne, Retries, grader_error
from .grading import ensure_assignment
from .pool import default_jobs
from .results import Outcome


@dataclass(frozen=True)
class Job:
    """What a worker needs to grade one submission: all of it data, nothing read from the coordinator's disk."""

    grade: GradeOne  # the batch's grading function (by reference)
    assignment: str
    student: str
    notebook: bytes | None  # the submitted notebook; None when the student submitted none
    notebook_name: str  # its file name (messages about it name it as the local pool does)
    source_name: str  # file name of the assignment's source notebook
    source: bytes  # the source notebook (solutions, hidden tests, points)
    settings: dict  # the course's nbgrader configuration, section -> {trait: value}


@dataclass(frozen=True)
class Graded:
    """What comes back: the outcome and, when graded, the autograded notebook and the gradebook rows."""

    outcome: Outcome
    notebook: bytes | None = None
    rows: gradebook.SubmissionRows = field(default_factory=gradebook.SubmissionRows)


def parse_local(address: str) -> int | None:
    """Worker count of ``local`` / ``local:N`` (``local`` alone: this machine's cores); None for an address."""
    name, _, count = address.partition(":")
    if name != "local":
        return None
    if not count:
        return default_jobs()
    if not count.isdigit() or int(count) < 1:
        raise ValueError(f"--cluster local:N needs a positive number of workers, not {count!r}")
    return int(count)


#: Dask's self-monitoring, slowed or off for a local cluster: its scheduler, client and nannies share this
#: process and the machine's cores with the graders, and each worker's statistical profiler samples the
#: grading thread's stack every 10 ms (holding the interpreter lock each time).
LOCAL_QUIET = {"distributed.admin.tick.interval": "500ms", "distributed.admin.system-monitor.interval": "5s",
               "distributed.worker.memory.monitor-interval": "1s", "distributed.worker.profile.enabled": False}


@contextmanager
def connect(address: str) -> Iterator[Client]:
    """A client of the scheduler at ``address`` (e.g. ``tcp://host:8786``), or of a LocalCluster
    of worker processes started here for ``local[:N]`` and stopped on exit."""
    workers = parse_local(address)
    if workers is None:
        with Client(address) as client:
            yield client
        return
    # allowed-failures 0: the scheduler reports a dead worker's task at once and we resubmit it
    # ourselves, once (see Cluster.run()), so a submission costs at most two workers wherever it runs.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0, **LOCAL_QUIET}), \
            _started_local(workers) as local, Client(local) as client:
        yield client


def _started_local(workers: int) -> LocalCluster:
    """A LocalCluster of ``workers`` worker processes forked from this process (as the local pool's are),
    after it has imported the grading side: they start in a tenth of a second with it imported (spawned,
    each took seconds). Only the first ones: a worker that dies is started again by spawning, since a
    fork in the middle of a batch could copy a lock some other thread of this process holds."""
    importlib.import_module("lossbook_checks.checking")
    with dask.config.set({"distributed.worker.multiprocessing-method": "fork" if hasattr(os, "fork") else "spawn"}):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)


class Cluster:
    """The Dask cluster at ``address`` (``--cluster``): connected for each batch, a local one stopped after."""

    def __init__(self, address: str) -> None:
        parse_local(address)  # a malformed local:N is refused before anything starts
        self.address = address

    def run(self, grade: GradeOne, course: Course, assignment: Assignment, todo: list[submissions.Submission]
            ) -> Finished:
        """Grade ``todo`` on the cluster; yield ``(submission, outcome)`` once each is recorded in the gradebook."""
        with connect(self.address) as client:
            yield from graded_on(client, grade, course, assignment, todo)


def graded_on(client: Client, grade: GradeOne, course: Course, assignment: Assignment,
              todo: list[submissions.Submission]) -> Finished:
    """Grade ``todo`` with the workers of ``client``; yield ``(submission, outcome)`` once each is recorded."""
    source, settings = assignment.source.read_bytes(), course.settings()
    by_key: dict[str, submissions.Submission] = {}
    attempts = dict.fromkeys((s.student for s in todo), 0)
    retries = Retries()
    futures = as_completed()
    submitted: list[Future] = []
    batch_token = dask.base.tokenize(str(course.root), id(futures))

    def submit(sub: submissions.Submission) -> None:
        attempts[sub.student] += 1
        job = Job(grade, assignment.name, sub.student, *_notebook_of(sub), assignment.notebook_name, source, settings)
        future = client.submit(grade_job, job, pure=False,
                               key=f"autograde-{assignment.name}-{sub.student}-{attempts[sub.student]}-{batch_token}")
        by_key[future.key] = sub
        submitted.append(future)
        futures.add(future)

    warming = _warm_every_worker(client, Job(grade, assignment.name, "", None, "", assignment.notebook_name,
                                             source, settings), batch_token)
    try:
        with gradebook.kept_open(course):  # one connection for the batch's records
            for sub in todo:
                submit(sub)
            for group in futures.batches():  # every result that has arrived: recorded in one transaction
                arrived: list[tuple[submissions.Submission, Graded]] = []
                for future in group:
                    sub = by_key[future.key]
                    try:
                        arrived.append((sub, future.result()))
                    except KilledWorker:
                        died_twice = retries.after_death(sub)
                        if died_twice is None:
                            submit(sub)
                        else:
                            arrived.append((sub, Graded(died_twice)))
                    except Exception as err:  # noqa: BLE001 - a grader bug on one submission stops no other
                        arrived.append((sub, Graded(grader_error(err))))
                    finally:
                        future.release()
                yield from zip([sub for sub, _ in arrived], record(course, assignment, arrived), strict=True)
    finally:
        client.cancel(submitted + warming, force=True)


def _notebook_of(sub: submissions.Submission) -> tuple[bytes | None, str]:
    """(the submitted notebook's bytes, its file name); b"" when named but unreadable, None when absent."""
    if sub.notebook is None:
        return None, ""
    return (sub.notebook.read_bytes() if sub.notebook.is_file() else b""), sub.notebook.name


def _warm_every_worker(client: Client, job: Job, batch_token: str) -> list[Future]:
    """Ask each worker to warm up for ``job``'s assignment first (queued before any submission)."""
    workers = list(client.scheduler_info()["workers"])
    return [client.submit(warm, job, workers=[worker], allow_other_workers=False, pure=False, priority=10,
                          key=f"autograde-warm-{job.assignment}-{i}-{batch_token}")
            for i, worker in enumerate(workers)]


def record(course: Course, assignment: Assignment, arrived: list[tuple[submissions.Submission, Graded]]
           ) -> list[Outcome]:
    """Store workers' results in the course directory: the submitted and autograded notebooks, and the
    gradebook rows of all of them in one transaction (a regrade replaces a submission's rows); return
    the outcomes, with their digests, in the same order."""
    outcomes, rows = [], {}
    for sub, graded in arrived:
        outcome = Outcome(graded.outcome.status, graded.outcome.message, submissions.digest(sub, assignment))
        outcomes.append(outcome)
        if outcome.status != "graded":
            continue
        submissions.install(sub, course, assignment)
        target = course.autograded_notebook(assignment, sub.student)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(graded.notebook or b"")
        rows[sub.student] = graded.rows
    gradebook.store_many(course, assignment.name, rows)
    return outcomes


# ---------------------------------------------------------------- worker side

_courses: dict[tuple, tuple[Course, Assignment]] = {}


def _worker_course(job: Job) -> tuple[Course, Assignment]:
    """This worker's private course for the job's assignment, source and configuration (made once per
    worker process, with its own SQLite gradebook), and the assignment in it."""
    key = (job.assignment, job.source_name, dask.base.tokenize(job.source, job.settings))
    if key not in _courses:
        # prepare(): a course directory, and this interpreter's scripts on PATH (nbgrader runs alembic),
        # which a worker started elsewhere (`dask worker`) may not have
        root = prepare(Path(tempfile.mkdtemp(prefix=f"autograde-{job.assignment}-")))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        (root / "source" / job.assignment).mkdir(parents=True)
        (root / "source" / job.assignment / job.source_name).write_bytes(job.source)
        config = Config(job.settings)
        config.CourseDirectory.root = str(root)
        config.CourseDirectory.source_directory = str(root / "source")
        config.CourseDirectory.release_directory = str(root / "release")
        config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
        gradebook.create(config.CourseDirectory.db_url)  # without nbgrader's `alembic heads` subprocess
        config.Exchange.root = str(root / "exchange")
        course = Course(root, config)
        assignment = course.assignment(job.assignment)
        ensure_assignment(course, assignment)
        # the test cells run in this process and call the checking package (torch): import it now, so
        # that a fresh worker's first submission is not charged the import within a cell's time limit
        importlib.import_module("lossbook_checks.checking")
        _courses[key] = (course, assignment)
    return _courses[key]


def warm(job: Job) -> None:
    """Make this worker ready for ``job``'s assignment: its private course and the grading side's imports."""
    _worker_course(job)


def grade_job(job: Job) -> Graded:
    """Grade one submission on this worker and return everything the coordinator records."""
    course, assignment = _worker_course(job)
    inbox = course.root / "inbox" / job.student
    inbox.mkdir(parents=True, exist_ok=True)
    path = None
    if job.notebook is not None:
        path = inbox / job.notebook_name
        path.write_bytes(job.notebook)
    try:
        outcome = job.grade(course, assignment, submissions.Submission(job.student, path))
        if outcome.status != "graded":
            return Graded(outcome)
        notebook = course.autograded_notebook(assignment, job.student).read_bytes()
        return Graded(outcome, notebook, gradebook.rows_of(course.db_url, job.assignment, job.student))
    finally:
        _forget(course, job.assignment, job.student)


def _forget(course: Course, assignment: str, student: str) -> None:
    """Remove the student's files and rows from the worker's private course (it grades the next one)."""
    for folder in (course.root / "inbox", course.submitted, course.autograded):
        shutil.rmtree(folder / student, ignore_errors=True)
    gradebook.forget(course.db_url, assignment, student)
