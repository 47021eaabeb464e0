"""The grades table: one row per student, a score and a maximum per assignment."""

from __future__ import annotations

import csv
from pathlib import Path

from . import gradebook, results
from .course import Course


def table(course: Course) -> tuple[list[str], list[dict[str, object]]]:
    """Columns and rows: ``student``, then ``<assignment>`` and ``<assignment>_max`` for each
    assignment, ``total``, ``max_total`` and ``errors`` (what went wrong, if anything: a
    submission that could not be graded, or one graded with a timeout or a dead kernel)."""
    outcomes = results.load(course)
    maxima, graded_students, scores = gradebook.totals(course.db_url, set(outcomes))
    names = list(maxima)
    students = sorted(set(graded_students) | {s for st in outcomes.values() for s in st})
    rows = []
    for student in students:
        row: dict[str, object] = {"student": student}
        errors = []
        for name in names:
            outcome = outcomes.get(name, {}).get(student)
            graded = outcome is None or outcome.status == "graded"
            row[name], row[f"{name}_max"] = scores.get((name, student), 0.0) if graded else 0.0, maxima[name]
            if outcome is not None and outcome.message:
                errors.append(f"{name}: {outcome.message}")
        row["total"] = sum(float(row[n]) for n in names)
        row["max_total"] = sum(maxima.values())
        row["errors"] = "; ".join(errors)
        rows.append(row)
    columns = ["student"] + [c for n in names for c in (n, f"{n}_max")] + ["total", "max_total", "errors"]
    return columns, rows


def write_csv(course: Course, path: Path) -> int:
    """Write the grades table to ``path``; return the number of students."""
    columns, rows = table(course)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)
