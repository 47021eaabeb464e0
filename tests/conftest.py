"""Shared fixtures: the repository layout and a factory of graded submissions."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "book"), str(Path(__file__).resolve().parent)]

from book_build import BookBuild, build_book  # noqa: E402  (needs the path above)


@pytest.fixture(scope="session")
def repo() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture(scope="session")
def book_build(tmp_path_factory) -> BookBuild:
    """The book built once per test session (per xdist worker: mark users `xdist_group("book")`)."""
    root = tmp_path_factory.mktemp("book")
    log = build_book(root)
    return BookBuild(root=root, html=root / "_build" / "html", log=log)


@pytest.fixture(scope="session")
def postgres() -> str:
    """The URL of a real PostgreSQL server (loopback, temporary directory) shared by the session's
    tests; stopped and deleted after them. Tests give each course a scratch database of its own
    (``autograder.database.scratch``); mark them ``xdist_group("postgres")`` so one server serves all."""
    from autograder import pg_server
    with pg_server.running() as url:
        yield url
