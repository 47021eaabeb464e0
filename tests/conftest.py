"""Shared fixtures: the repository layout and a factory of graded submissions."""

from __future__ import annotations

from pathlib import Path

import pytest
from book_build import BookBuild, build_book  # tests/ is on the path: pyproject.toml's pytest `pythonpath`

REPO = Path(__file__).resolve().parent.parent
# A test that uses one of these fixtures goes through a slow component, and one that calls one of these
# helpers grades submissions end to end (nbgrader, the sandbox, the gradebook: seconds each): both are
# marked `slow`, which `make test-fast` leaves out (`make test` runs everything).
SLOW_FIXTURES = {"book_build": "book build", "browser_pages": "browser", "postgres": "PostgreSQL",
                 "student": "student install", "scheduler": "Dask"}
SLOW_CALLS = {"grade": "grading_helpers.grade", "regrade": "grading_helpers.regrade",
              "check": "autograder.selfcheck.check", "cli": "test_cli.cli (the CLI in a subprocess)"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` every test that uses a fixture of :data:`SLOW_FIXTURES` or calls a helper of
    :data:`SLOW_CALLS` (some test modules also mark their own, e.g. the red team)."""
    for item in items:
        function = getattr(item, "function", None)
        called = set(function.__code__.co_names) if function is not None else set()
        if SLOW_FIXTURES.keys() & set(item.fixturenames) or SLOW_CALLS.keys() & called:
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
