"""A course's gradebook: where it lives, who may write it, and its rows.

**Where.** nbgrader keeps its gradebook behind SQLAlchemy, so the only setting is the URL
(``CourseDirectory.db_url``): a SQLite file (the default) or a PostgreSQL database. :func:`use`
writes it into the course directory's ``nbgrader_config.py``; from then on every command on that
course (``autograde``, ``feedback``, ``grades``, plain ``nbgrader export``) reads and writes that
database. A PostgreSQL URL is written ``postgresql://user:password@host:port/dbname`` (or with
``?host=/socket/dir``); it is given the psycopg 3 driver (``postgresql+psycopg://``).

**Who writes.** SQLite serialises writers, but two nbgrader processes that each read, then write,
in one transaction can deadlock, and one of them fails with "database is locked". Grading holds
:func:`exclusive` around nbgrader's work on a submission and hands the lock's file descriptor to
the sandbox (``SandboxedExecute.gradebook_lock_fd``), which lets go of it, through
:func:`released`, while the submission's code runs: the slow part runs in parallel, the gradebook
is written by one process at a time. PostgreSQL serialises concurrent writers itself, so no file
lock is taken there.

**Rows.** :func:`cell_scores` reads a submission's points per cell (self-check, tests);
:func:`rows_of` and :func:`store_many` carry a submission's rows from a cluster worker's private
gradebook to the course's, and :func:`forget` removes them from the worker's.
"""

from __future__ import annotations

import fcntl
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbgrader
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from nbgrader import api
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from .course import CONFIG_NAME, DEFAULT_COURSE, Course

LOCK_NAME = ".gradebook.lock"
_SETTING = "c.CourseDirectory.db_url = "
_POSTGRES = ("postgresql", "postgres")

Row = tuple[str, str, object]  # (notebook, grade or comment id, value)


# ---------------------------------------------------------------- where: the database URL

def normalise(url: str) -> str:
    """The SQLAlchemy URL nbgrader should use: PostgreSQL through psycopg 3; SQLite as given.

    Raises ValueError for any other database (nbgrader is tested on SQLite and PostgreSQL)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r} (expected postgresql://… or sqlite:///…)")
    backend = scheme.split("+", 1)[0]
    if backend == "sqlite":
        return url
    if backend in _POSTGRES:
        return f"postgresql+psycopg://{rest}"
    raise ValueError(f"unsupported database {backend!r}: use postgresql://… or sqlite:///…")


def is_sqlite(url: str) -> bool:
    """Whether ``url`` is a SQLite gradebook (which needs the file lock of :func:`exclusive`)."""
    return url.split("://", 1)[0].split("+", 1)[0] == "sqlite"


def use(root: Path, url: str) -> str:
    """Make ``url`` the gradebook of the course directory ``root`` (made by :func:`course.prepare`);
    return the normalised URL. Build the :class:`~autograder.course.Course` after this. The default
    course (``autograder/``) keeps its SQLite file: give another course directory (``--course``) to
    grade into a database server."""
    url = normalise(url)
    if root.resolve() == DEFAULT_COURSE:
        raise ValueError("the default course directory keeps its SQLite gradebook; "
                         "give --course DIR to use a database server")
    config = root / CONFIG_NAME
    lines = [line for line in config.read_text().splitlines() if not line.startswith(_SETTING)]
    config.write_text("\n".join([*lines, _SETTING + repr(url)]) + "\n")
    return url


def redacted(url: str) -> str:
    """``url`` without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


@contextmanager
def scratch(url: str) -> Iterator[str]:
    """A new, empty database on the PostgreSQL server of ``url``, dropped on exit (SQLite: a no-op,
    yields ``url``). The self-check grades there, so a course's own gradebook is never touched."""
    url = normalise(url)
    if is_sqlite(url):
        yield url
        return
    name = f"autograder_scratch_{secrets.token_hex(6)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        try:
            yield make_url(url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    finally:
        admin.dispose()


def create(url: str) -> None:
    """Create the empty gradebook of nbgrader at ``url`` (tables and alembic revision), as nbgrader's
    ``Gradebook()`` does on a new database, but with the revision read in this process: nbgrader runs
    ``alembic heads`` in a subprocess for it (about a second, at every start of a cluster worker)."""
    location = Path(nbgrader.__file__).parent / "alembic"
    settings = AlembicConfig()
    settings.set_main_option("script_location", str(location))
    head = ScriptDirectory.from_config(settings).get_current_head()
    engine = create_engine(url)
    try:
        api.Base.metadata.create_all(bind=engine)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:head)"), {"head": head})
    finally:
        engine.dispose()


# ---------------------------------------------------------------- who writes: the SQLite lock

@contextmanager
def exclusive(course: Course) -> Iterator[int]:
    """Hold the course's gradebook lock (waits for other processes); yield its file descriptor."""
    with (course.root / LOCK_NAME).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield handle.fileno()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def released(fd: int) -> Iterator[None]:
    """Let go of the lock held on ``fd`` (from :func:`exclusive`) for the duration of the block;
    ``fd`` < 0: no lock is held, nothing to do."""
    if fd < 0:
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_UN)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_EX)


# ---------------------------------------------------------------- rows

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


def cell_scores(db_url: str, assignment: str, student: str) -> CellScores:
    """Per-cell autograded points of a student's submission."""
    scores = CellScores(student)
    with Gradebook(db_url) as gb:
        for nb in gb.find_submission(assignment, student).notebooks:
            for grade in nb.grades:
                if grade.cell.max_score:
                    scores.cells[grade.name] = (float(grade.score), float(grade.max_score))
    return scores


@dataclass(frozen=True)
class SubmissionRows:
    """What autograding wrote for one submission: the rows a cluster worker sends back."""

    scores: list[Row] = field(default_factory=list)  # (notebook, grade id, auto score)
    manual: list[Row] = field(default_factory=list)  # (notebook, grade id, needs manual grade)
    comments: list[Row] = field(default_factory=list)  # (notebook, comment id, auto comment)


def rows_of(db_url: str, assignment: str, student: str) -> SubmissionRows:
    """The autograded rows of a student's submission."""
    rows = SubmissionRows()
    with Gradebook(db_url) as gb:
        for nb in gb.find_submission(assignment, student).notebooks:
            for grade in nb.grades:
                rows.scores.append((nb.name, grade.name, grade.auto_score))
                rows.manual.append((nb.name, grade.name, grade.needs_manual_grade))
            for comment in nb.comments:
                rows.comments.append((nb.name, comment.name, comment.auto_comment))
    return rows


_kept: dict[str, Gradebook] = {}  # db_url -> the connection kept open by kept_open()


@contextmanager
def kept_open(course: Course) -> Iterator[None]:
    """Keep one connection to the course's gradebook open for the block, for :func:`store_many` to reuse
    (nbgrader's ``Gradebook()`` inspects and creates every table at each opening: a cluster's coordinator,
    which stores one submission after another, would pay that for each)."""
    if course.db_url in _kept:
        yield
        return
    with Gradebook(course.db_url, course.coursedir.course_id) as gb:
        _kept[course.db_url] = gb
        try:
            yield
        finally:
            del _kept[course.db_url]


def store_many(course: Course, assignment: str, rows: dict[str, SubmissionRows]) -> None:
    """Write the rows of many submissions (student -> rows) into the course's gradebook in one transaction
    (a regrade replaces a submission's rows): all of them are stored, or none.

    nbgrader's own calls commit each student and each submission and query each grade on its own (about
    four commits and twenty queries a submission); here the students and their submissions are read in
    two queries, the missing ones are created as :meth:`nbgrader.api.Gradebook.add_submission` creates
    them (every grade and comment of the assignment's cells), and one commit writes everything."""
    if not rows:
        return
    with kept_open(course):
        gb = _kept[course.db_url]
        try:
            _store(gb, gb.find_assignment(assignment), rows)
            gb.db.commit()
        except BaseException:
            gb.db.rollback()
            raise


def _store(gb: Gradebook, assignment: api.Assignment, rows: dict[str, SubmissionRows]) -> None:
    session = gb.db
    known = {s.id for s in session.query(api.Student).filter(api.Student.id.in_(list(rows)))}
    session.add_all(api.Student(id=student) for student in rows if student not in known)
    session.flush()
    existing = {sub.student_id: sub for sub in session.query(api.SubmittedAssignment).filter(
        api.SubmittedAssignment.assignment_id == assignment.id, api.SubmittedAssignment.student_id.in_(list(rows)))}
    names = {cell.id: cell.name for nb in assignment.notebooks for cell in nb._base_cells}
    for student, found in rows.items():
        submission = existing.get(student) or _new_submission(session, assignment, student)
        scores = {(nb, gid): (score, manual) for (nb, gid, score), (_, _, manual) in zip(found.scores, found.manual,
                                                                                       strict=True)}
        comments = {(nb, cid): comment for nb, cid, comment in found.comments}
        for nb in submission.notebooks:
            for grade in nb.grades:
                if (nb.name, names[grade.cell_id]) in scores:
                    grade.auto_score, grade.needs_manual_grade = scores[nb.name, names[grade.cell_id]]
            for comment in nb.comments:
                if (nb.name, names[comment.cell_id]) in comments:
                    comment.auto_comment = comments[nb.name, names[comment.cell_id]]


def _new_submission(session: Session, assignment: api.Assignment, student: str) -> api.SubmittedAssignment:
    """A student's empty submission of ``assignment``, mirroring its notebooks and cells (as nbgrader's
    ``add_submission`` makes it, without its commit)."""
    submission = api.SubmittedAssignment(assignment=assignment, student_id=student)
    for notebook in assignment.notebooks:
        nb = api.SubmittedNotebook(notebook=notebook, assignment=submission)
        for cell in notebook.grade_cells:
            api.Grade(cell_id=cell.id, notebook=nb)
        for cell in notebook.solution_cells:
            api.Comment(cell_id=cell.id, notebook=nb)
        for cell in notebook.task_cells:
            api.Comment(cell_id=cell.id, notebook=nb)
            api.Grade(cell_id=cell.id, notebook=nb)
    session.add(submission)
    return submission


def forget(db_url: str, assignment: str, student: str) -> None:
    """Remove a student and their submission of ``assignment`` from a gradebook (none: nothing to do)."""
    with Gradebook(db_url) as gb:
        try:
            gb.remove_submission(assignment, student)
            gb.remove_student(student)
        except MissingEntry:
            pass


def totals(db_url: str, also: set[str]) -> tuple[dict[str, float], list[str], dict[tuple[str, str], float]]:
    """(the maximum score of every assignment in the gradebook or in ``also`` (0 when not in the gradebook),
    the gradebook's students, the score of every submission by (assignment, student))."""
    with Gradebook(db_url) as gb:
        maxima = dict.fromkeys(sorted({a.name for a in gb.assignments} | also), 0.0)
        scores = {}
        for assignment in gb.assignments:
            maxima[assignment.name] = float(assignment.max_score)
            for submission in assignment.submissions:
                scores[assignment.name, submission.student.id] = float(submission.score)
        return maxima, sorted(s.id for s in gb.students), scores


def submitted_students(db_url: str, assignment: str) -> list[str]:
    """The students with a submission of ``assignment`` in the gradebook, sorted."""
    with Gradebook(db_url) as gb:
        return sorted(s.student.id for s in gb.find_assignment(assignment).submissions)
