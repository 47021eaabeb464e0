"""Shared fixtures: the repository layout and a factory of graded submissions."""

from __future__ import annotations

from pathlib import Path

import pytest
from book_build import BookBuild, build_book  # tests/ is on the path: pyproject.toml's pytest `pythonpath`

REPO = Path(__file__).resolve().parent.parent
# a test that uses one of these fixtures goes through a slow component: marked `slow` (make test-fast leaves it out)
SLOW_FIXTURES = {"book_build": "book build", "browser_pages": "browser", "postgres": "PostgreSQL",
                 "student": "student install", "scheduler": "Dask"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` every test that uses a fixture of :data:`SLOW_FIXTURES` (the test modules mark the others)."""
    for item in items:
        if SLOW_FIXTURES.keys() & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)


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
    (``autograder.gradebook.scratch``); mark them ``xdist_group("postgres")`` so one server serves all."""
    from autograder import pg_server
    with pg_server.running() as url:
        yield url
