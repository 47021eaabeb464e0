"""One writer at a time on a course's gradebook, across the processes of a parallel batch.

SQLite serialises writers, but two nbgrader processes that each read, then write, in one
transaction can deadlock, and one of them fails with "database is locked". Grading holds
:func:`exclusive` around nbgrader's work on a submission and lets go of it, through
:func:`released`, while the submission's code runs: the slow part runs in parallel, the
gradebook is written by one process at a time.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

LOCK_NAME = ".gradebook.lock"
_held: list[IO[str]] = []


@contextmanager
def exclusive(course: Path) -> Iterator[None]:
    """Hold the course's gradebook lock (waits for other processes)."""
    with (course / LOCK_NAME).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        _held.append(handle)
        try:
            yield
        finally:
            _held.pop()
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def released() -> Iterator[None]:
    """Let go of the lock this process holds, if any, for the duration of the block."""
    if not _held:
        yield
        return
    handle = _held[-1]
    fcntl.flock(handle, fcntl.LOCK_UN)
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_EX)
