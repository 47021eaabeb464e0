"""HTML feedback per student, without hidden tests (see nbgrader_config.py)."""

from __future__ import annotations

from pathlib import Path

from nbgrader.api import Gradebook

from .course import gradebook_url, last_line
from .grading import api_for


def generate(course: Path, assignment: str) -> dict[str, str]:
    """Feedback for every autograded student of ``assignment``: student -> "ok" or the error."""
    api = api_for(course)
    with Gradebook(gradebook_url(course)) as gb:
        students = sorted(s.student.id for s in gb.find_assignment(assignment).submissions)
    report = {}
    for student in students:
        result = api.generate_feedback(assignment, student, force=True)
        report[student] = "ok" if result["success"] else last_line(result.get("error") or "failed")
    return report
