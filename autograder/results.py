"""The record of what happened to every submission, kept beside the gradebook.

``<course>/autograde_status.json`` maps assignment -> student -> {status, message}.
Every submission the CLI sees gets an entry, so no student silently drops out of the
grades, even when nbgrader never stored a score for them.
"""

from __future__ import annotations

import json
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


def record(course: Course, assignment: str, student: str, outcome: Outcome) -> None:
    """Store one outcome (written atomically, so an interrupted batch keeps what it finished)."""
    data = load(course)
    data.setdefault(assignment, {})[student] = outcome
    serial = {a: {s: asdict(o) for s, o in sorted(st.items())} for a, st in sorted(data.items())}
    tmp = course.root / (STATUS_FILE + ".tmp")
    tmp.write_text(json.dumps(serial, indent=1) + "\n")
    tmp.replace(course.root / STATUS_FILE)
