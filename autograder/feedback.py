"""HTML feedback per student, without hidden tests (see nbgrader_config.py)."""

from __future__ import annotations

from pathlib import Path

from nbgrader.api import Gradebook

from .grading import api_for


def generate(course: Path, assignment: str) -> dict[str, str]:
    """Feedback for every autograded student of ``assignment``: student -> "ok" or the error."""
    api = api_for(course)
    with Gradebook(api.coursedir.db_url) as gb:
        students = sorted(s.student.id for s in gb.find_assignment(assignment).submissions)
    report = {}
    for student in students:
        result = api.generate_feedback(assignment, student, force=True)
        report[student] = "ok" if result["success"] else (result.get("error") or "failed").strip().splitlines()[-1]
    return report
