"""Autograding on a Dask cluster (``autograde --cluster ADDRESS``), with no shared file system.

The coordinator (this process) sends each worker a :class:`Job`: the submission's notebook
as bytes, the assignment's source notebook and the course's nbgrader configuration. The
worker grades it with :func:`autograder.grading.grade_one` in a private temporary course
directory of its own (same configuration, so the same sandbox as the local pool) and sends
back a :class:`Graded`: the outcome, the autograded notebook and the gradebook rows it
produced. The coordinator records those into the course's gradebook and status file, one
submission at a time, as each arrives.

A submission whose worker dies (``KilledWorker``: the scheduler gives up on it at once, see
:func:`connect`) is submitted once more, to whichever worker is alive; a second death records
an error with the reason. Ctrl-C cancels what is still queued; what was recorded stays, and
rerunning the command grades the rest, as with the local pool.

``local`` or ``local:N`` starts a :class:`distributed.LocalCluster` of N worker processes
(default: the cores of this machine), one thread each: every submission already runs its
own kernel process.
"""

from __future__ import annotations

import atexit
import importlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dask
from distributed import Client, Future, LocalCluster, as_completed
from distributed.scheduler import KilledWorker
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from . import grading, pool, results, submissions
from .course import load_config, prepare, source_notebook

Row = tuple[str, str, object]  # (notebook, grade id, value)


@dataclass(frozen=True)
class Job:
    """What a worker needs to grade one submission: all of it data, nothing read from the coordinator's disk."""

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

    outcome: results.Outcome
    notebook: bytes | None = None
    scores: list[Row] = field(default_factory=list)  # (notebook, grade id, auto score)
    manual: list[Row] = field(default_factory=list)  # (notebook, grade id, needs manual grade)
    comments: list[Row] = field(default_factory=list)  # (notebook, grade id, auto comment)


def parse_local(address: str) -> int | None:
    """Worker count of ``local`` / ``local:N`` (``local`` alone: this machine's cores); None for an address."""
    name, _, count = address.partition(":")
    if name != "local":
        return None
    if not count:
        return pool.default_jobs()
    if not count.isdigit() or int(count) < 1:
        raise ValueError(f"--cluster local:N needs a positive number of workers, not {count!r}")
    return int(count)


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
    # ourselves, once (see run()), so a submission costs at most two workers wherever it runs.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) \
            as local, Client(local) as client:
        yield client


def graded_on(address: str, course: Path, assignment: str,
              batch: list[submissions.Submission]) -> Iterator[tuple[submissions.Submission, results.Outcome]]:
    """:func:`run` on the cluster at ``address`` (connected for the batch, a local one stopped after)."""
    with connect(address) as client:
        yield from run(client, course, assignment, batch)


def job_for(course: Path, assignment: str, sub: submissions.Submission) -> Job:
    """The job of one submission of a course directory."""
    source = source_notebook(assignment)
    notebook = sub.notebook.read_bytes() if sub.notebook is not None and sub.notebook.is_file() else None
    if sub.notebook is not None and notebook is None:
        notebook = b""  # named but unreadable: the worker reports it as not a notebook
    settings = {section: dict(values) for section, values in load_config(course).items() if isinstance(values, dict)}
    name = sub.notebook.name if sub.notebook is not None else ""
    return Job(assignment, sub.student, notebook, name, source.name, source.read_bytes(), settings)


def run(client: Client, course: Path, assignment: str,
        batch: list[submissions.Submission]) -> Iterator[tuple[submissions.Submission, results.Outcome]]:
    """Grade ``batch`` on the cluster; yield ``(submission, outcome)`` once each is recorded in the gradebook."""
    by_key: dict[str, submissions.Submission] = {}
    attempts = dict.fromkeys((s.student for s in batch), 0)
    futures = as_completed()
    submitted: list[Future] = []

    def submit(sub: submissions.Submission) -> None:
        attempts[sub.student] += 1
        future = client.submit(grade_job, job_for(course, assignment, sub), pure=False,
                               key=f"autograde-{assignment}-{sub.student}-{attempts[sub.student]}-"
                                   f"{dask.base.tokenize(course, id(futures))}")
        by_key[future.key] = sub
        submitted.append(future)
        futures.add(future)

    try:
        for sub in batch:
            submit(sub)
        for future in futures:
            sub = by_key[future.key]
            try:
                graded: Graded = future.result()
            except KilledWorker:
                if attempts[sub.student] < 2:
                    submit(sub)
                    continue
                graded = Graded(results.Outcome("error", "the grading worker died twice on this submission"))
            except Exception as err:  # noqa: BLE001 - a grader bug on one submission stops no other
                graded = Graded(results.Outcome("error", f"grader error: {type(err).__name__}: {err}"[:300]))
            finally:
                future.release()
            yield sub, record(course, assignment, sub, graded)
    finally:
        client.cancel(submitted, force=True)


def record(course: Path, assignment: str, sub: submissions.Submission, graded: Graded) -> results.Outcome:
    """Store a worker's result in the course directory: the submitted and autograded notebooks, and
    the gradebook rows (a regrade replaces the submission's rows); return the outcome with its digest."""
    source = source_notebook(assignment)
    outcome = results.Outcome(graded.outcome.status, graded.outcome.message, submissions.digest(sub, source))
    if outcome.status != "graded":
        return outcome
    name = source.name
    submissions.install(sub, course, assignment, name)
    target = course / "autograded" / sub.student / assignment / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(graded.notebook or b"")
    config = load_config(course)
    coursedir = CourseDirectory(config=config)
    with Gradebook(coursedir.db_url, coursedir.course_id) as gb:
        gb.update_or_create_student(sub.student)
        gb.update_or_create_submission(assignment, sub.student)
        for notebook, gid, score in graded.scores:
            gb.find_grade(gid, notebook, assignment, sub.student).auto_score = score
        for notebook, gid, manual in graded.manual:
            gb.find_grade(gid, notebook, assignment, sub.student).needs_manual_grade = manual
        for notebook, gid, comment in graded.comments:
            gb.find_comment(gid, notebook, assignment, sub.student).auto_comment = comment
        gb.db.commit()
    return outcome


# ---------------------------------------------------------------- worker side

_courses: dict[tuple, tuple[Path, NbGraderAPI]] = {}


def _worker_course(job: Job) -> tuple[Path, NbGraderAPI]:
    """This worker's private course directory for the job's assignment, source and configuration
    (made once per worker process, with its own SQLite gradebook)."""
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
        config.Exchange.root = str(root / "exchange")
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        grading.ensure_assignment(api, job.assignment)
        # the test cells run in this process and call the checking package (torch): import it now, so
        # that a fresh worker's first submission is not charged the import within a cell's time limit
        importlib.import_module("lossbook_checks.checking")
        _courses[key] = (root, api)
    return _courses[key]


def grade_job(job: Job) -> Graded:
    """Grade one submission on this worker and return everything the coordinator records."""
    root, api = _worker_course(job)
    inbox = root / "inbox" / job.student
    inbox.mkdir(parents=True, exist_ok=True)
    path = None
    if job.notebook is not None:
        path = inbox / job.notebook_name
        path.write_bytes(job.notebook)
    try:
        outcome = grading.grade_one(api, root, job.assignment, submissions.Submission(job.student, path))
        if outcome.status != "graded":
            return Graded(outcome)
        notebook = (root / "autograded" / job.student / job.assignment / job.source_name).read_bytes()
        return Graded(outcome, notebook, *_rows(api.coursedir.db_url, job.assignment, job.student))
    finally:
        _forget(root, api.coursedir.db_url, job.assignment, job.student)


def _rows(db_url: str, assignment: str, student: str) -> tuple[list[Row], list[Row], list[Row]]:
    scores, manual, comments = [], [], []
    with Gradebook(db_url) as gb:
        for nb in gb.find_submission(assignment, student).notebooks:
            for grade in nb.grades:
                scores.append((nb.name, grade.name, grade.auto_score))
                manual.append((nb.name, grade.name, grade.needs_manual_grade))
            for comment in nb.comments:
                comments.append((nb.name, comment.name, comment.auto_comment))
    return scores, manual, comments


def _forget(root: Path, db_url: str, assignment: str, student: str) -> None:
    """Remove the student's files and rows from the worker's private course (it grades the next one)."""
    for folder in ("inbox", "submitted", "autograded"):
        shutil.rmtree(root / folder / student, ignore_errors=True)
    with Gradebook(db_url) as gb:
        try:
            gb.remove_submission(assignment, student)
            gb.remove_student(student)
        except MissingEntry:
            pass

