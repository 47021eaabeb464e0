"""Where a course's gradebook lives: a SQLite file (the default) or a PostgreSQL database.

nbgrader keeps its gradebook behind SQLAlchemy, so the only setting is the URL
(``CourseDirectory.db_url``). :func:`use` writes it into the course directory's
``nbgrader_config.py``; from then on every command on that course (``autograde``,
``feedback``, ``grades``, plain ``nbgrader export``) reads and writes that database.
A PostgreSQL URL is written ``postgresql://user:password@host:port/dbname`` (or with
``?host=/socket/dir``); it is given the psycopg 3 driver (``postgresql+psycopg://``).

SQLite needs one writer at a time (:mod:`autograder.dblock`); PostgreSQL serialises
concurrent writers itself, so no file lock is taken there.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from .course import CONFIG_NAME, DEFAULT_COURSE

_SETTING = "c.CourseDirectory.db_url = "
_POSTGRES = ("postgresql", "postgres")


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
    """Whether ``url`` is a SQLite gradebook (which needs the file lock of :mod:`autograder.dblock`)."""
    return url.split("://", 1)[0].split("+", 1)[0] == "sqlite"


def use(course: Path, url: str) -> str:
    """Make ``url`` the gradebook of ``course`` (a course directory made by :func:`course.prepare`);
    return the normalised URL. The default course (``autograder/``) keeps its SQLite file:
    give another course directory (``--course``) to grade into a database server."""
    url = normalise(url)
    if course.resolve() == DEFAULT_COURSE:
        raise ValueError("the default course directory keeps its SQLite gradebook; "
                         "give --course DIR to use a database server")
    config = course / CONFIG_NAME
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
