"""The record of what happened to every submission, kept beside the gradebook.

``<course>/autograde_status.json`` maps assignment -> student -> {status, message}.
Every submission the CLI sees gets an entry, so no student silently drops out of the
grades, even when nbgrader never stored a score for them.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass

from .course import Course

STATUS_FILE = "autograde_status.json"


@dataclass(frozen=True)
class Outcome:
    """``status`` is "graded" or "error"; ``message`` is one line for the instructor (for a graded
    submission: what went wrong while running it, e.g. a timeout); ``digest`` identifies the
    submission and the assignment version it was graded against (see ``submissions.digest``)."""

    status: str
    message: str = ""
    digest: str = ""


def load(course: Course) -> dict[str, dict[str, Outcome]]:
    """All recorded outcomes of a course."""
    path = course.root / STATUS_FILE
    if not path.exists():
        return {}
    raw = json.loads(path.read_text())
    return {a: {s: Outcome(**o) for s, o in students.items()} for a, students in raw.items()}


class Recorder:
    """Records a batch's outcomes into the status file, which it reads once and writes (atomically, whole)
    at most once every ``every_s`` seconds while outcomes come, and once more on leaving the ``with`` block,
    whatever ends it (the end of the batch, Ctrl-C, an error): rewriting the whole file for each outcome
    would cost a large course more than the grading (the file grows with every student).

    An outcome not yet written when the process is killed outright (SIGKILL, power loss) is not lost
    either: the batch resumes from this file, so that submission is graded again and its gradebook
    rows replaced. Add an outcome only once its gradebook rows are stored."""

    def __init__(self, course: Course, every_s: float = 1.0) -> None:
        self.course, self.every_s = course, every_s
        self.data = load(course)
        self.pending = 0
        self.written = time.monotonic()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()

    def add(self, assignment: str, student: str, outcome: Outcome) -> None:
        """Record one outcome (written now if the last write is ``every_s`` old)."""
        self.data.setdefault(assignment, {})[student] = outcome
        self.pending += 1
        if time.monotonic() - self.written >= self.every_s:
            self.flush()

    def flush(self) -> None:
        """Write the status file now if any outcome is not in it yet."""
        if not self.pending:
            return
        serial = {a: {s: asdict(o) for s, o in sorted(st.items())} for a, st in sorted(self.data.items())}
        tmp = self.course.root / (STATUS_FILE + ".tmp")
        tmp.write_text(json.dumps(serial, indent=1) + "\n")
        tmp.replace(self.course.root / STATUS_FILE)
        self.pending, self.written = 0, time.monotonic()
