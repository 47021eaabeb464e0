"""One writer at a time on a course's gradebook, across the processes of a parallel batch.

SQLite serialises writers, but two nbgrader processes that each read, then write, in one
transaction can deadlock, and one of them fails with "database is locked". Grading holds
:func:`exclusive` around nbgrader's work on a submission and hands the lock's file descriptor
to the sandbox (``SandboxedExecute.gradebook_lock_fd``), which lets go of it, through
:func:`released`, while the submission's code runs: the slow part runs in parallel, the
gradebook is written by one process at a time.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = ".gradebook.lock"


@contextmanager
def exclusive(course: Path) -> Iterator[int]:
    """Hold the course's gradebook lock (waits for other processes); yield its file descriptor."""
    with (course / LOCK_NAME).open("a") as handle:
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
