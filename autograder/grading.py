"""Autograding a batch of submissions through nbgrader's own API: in parallel, resumable, with a progress bar.

Each submission is graded by ``nbgrader autograde`` as configured in ``nbgrader_config.py``:
its code runs sandboxed (:mod:`autograder.sandbox`), its grades go to the course's gradebook
(one writer at a time, :mod:`autograder.dblock`), and its outcome to ``autograde_status.json``
(:mod:`autograder.results`), written by this process only, as each submission finishes. What the
sandbox saw (timeouts, a dead kernel) comes back in a report file whose path, like the lock to
release, is passed to ``SandboxedExecute`` through the configuration of that one run.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from collections.abc import Iterable
from contextlib import nullcontext
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from sqlalchemy.exc import SAWarning
from tqdm import tqdm

from . import cluster as cluster_mod
from . import database, dblock, pool, results, submissions
from .course import last_line, load_config, source_notebook
from .notebooks import NotebookError, read_notebook


def api_for(course: Path) -> NbGraderAPI:
    """nbgrader's API on a course directory, configured as plain ``nbgrader`` would be there."""
    config = load_config(course)
    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir=coursedir, config=config)


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
        raise RuntimeError(f"could not generate {assignment}: {last_line(result.get('error', ''))}")



def grade_one(api: NbGraderAPI, course: Path, assignment: str, sub: submissions.Submission) -> results.Outcome:
    """Install and autograde one submission; return what happened (the caller records it)."""
    name = source_notebook(assignment).name
    digest = submissions.digest(sub, source_notebook(assignment))
    if sub.notebook is None:
        return results.Outcome("error", f"no notebook in the submission (expected {assignment}/{name})", digest)
    try:
        read_notebook(sub.notebook)
    except NotebookError as err:
        return results.Outcome("error", str(err), digest)
    submissions.install(sub, course, assignment, name)
    sandbox = api.config.SandboxedExecute  # told, for this run only, where to report and which lock to release
    # SQLite: one writer at a time (dblock); PostgreSQL serialises concurrent writers itself
    lock = dblock.exclusive(course) if database.is_sqlite(api.coursedir.db_url) else nullcontext(-1)
    with tempfile.TemporaryDirectory(prefix="autograde-report-") as tmp, lock as lock_fd:
        report_file = Path(tmp) / "report.json"
        sandbox.report_file, sandbox.gradebook_lock_fd = str(report_file), lock_fd
        try:
            result = api.autograde(assignment, sub.student, force=True, create=True)
        finally:
            sandbox.report_file, sandbox.gradebook_lock_fd = "", -1
        report = json.loads(report_file.read_text()) if report_file.exists() else {"incidents": []}
    if not result["success"]:
        return results.Outcome("error", f"autograde failed: {last_line(result.get('error', ''))}", digest)
    return results.Outcome("graded", "; ".join(report["incidents"])[:500], digest)


_worker_api: dict[Path, NbGraderAPI] = {}


def _grade_in_worker(course: Path, assignment: str, sub: submissions.Submission) -> results.Outcome:
    if course not in _worker_api:
        _worker_api[course] = api_for(course)
    return grade_one(_worker_api[course], course, assignment, sub)


def autograde(course: Path, assignment: str, batch: Iterable[submissions.Submission], progress: bool = True,
              jobs: int = 1, force: bool = False, cluster: str | None = None) -> dict[str, results.Outcome]:
    """Autograde every submission in ``batch`` with ``jobs`` worker processes (or on the Dask
    cluster at address ``cluster``, see :mod:`autograder.cluster`); return every outcome.

    Each outcome is recorded as soon as it is known, so an interrupted batch resumes where it
    stopped: a submission already graded from the same notebook against the same assignment
    is not graded again unless ``force``. One failure never stops the others.
    """
    with warnings.catch_warnings():  # nbgrader's own SQLAlchemy warnings would garble the progress bar
        warnings.simplefilter("ignore", SAWarning)
        return _autograde(course, assignment, list(batch), progress, jobs, force, cluster)


def _autograde(course: Path, assignment: str, batch: list[submissions.Submission], progress: bool, jobs: int,
               force: bool, cluster: str | None = None) -> dict[str, results.Outcome]:
    api = api_for(course)
    ensure_assignment(api, assignment)
    recorded = results.load(course).get(assignment, {})
    source = source_notebook(assignment)
    outcomes: dict[str, results.Outcome] = {}
    todo = []
    for sub in batch:
        previous = recorded.get(sub.student)
        if not force and previous is not None and previous.status == "graded" \
                and previous.digest == submissions.digest(sub, source):
            outcomes[sub.student] = previous
        else:
            todo.append(sub)
    finished = (cluster_mod.graded_on(cluster, course, assignment, todo) if cluster and todo
                else pool.run(_grade_in_worker, course, assignment, todo, jobs) if jobs > 1 and len(todo) > 1
                else ((sub, grade_one(api, course, assignment, sub)) for sub in todo))
    failures = 0
    with tqdm(total=len(batch), initial=len(batch) - len(todo), desc=f"autograde {assignment}", unit="nb",
              disable=not progress) as bar:
        for sub, outcome in finished:
            results.record(course, assignment, sub.student, outcome)
            outcomes[sub.student] = outcome
            failures += outcome.status != "graded" or bool(outcome.message)
            bar.set_postfix(failed=failures)
            bar.update()
    return outcomes
