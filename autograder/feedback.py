"""HTML feedback per student, without hidden tests (see nbgrader_config.py)."""

from __future__ import annotations

from . import gradebook
from .course import Assignment, Course, last_line


def generate(course: Course, assignment: Assignment) -> dict[str, str]:
    """Feedback for every autograded student of ``assignment``: student -> "ok" or the error."""
    report = {}
    for student in gradebook.submitted_students(course.db_url, assignment.name):
        result = course.api.generate_feedback(assignment.name, student, force=True)
        report[student] = "ok" if result["success"] else last_line(result.get("error") or "failed")
    return report
