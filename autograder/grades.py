"""The grades table: one row per student, a score and a maximum per assignment."""

from __future__ import annotations

import csv
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from . import results
from .course import gradebook_url


def table(course: Path) -> tuple[list[str], list[dict[str, object]]]:
    """Columns and rows: ``student``, then ``<assignment>`` and ``<assignment>_max`` for each
    assignment, ``total``, ``max_total`` and ``errors`` (what went wrong, if anything: a
    submission that could not be graded, or one graded with a timeout or a dead kernel)."""
    outcomes = results.load(course)
    with Gradebook(gradebook_url(course)) as gb:
        names = sorted({a.name for a in gb.assignments} | set(outcomes))
        maxima = {}
        for name in names:
            try:
                maxima[name] = float(gb.find_assignment(name).max_score)
            except MissingEntry:
                maxima[name] = 0.0
        students = sorted({s.id for s in gb.students} | {s for st in outcomes.values() for s in st})
        rows = []
        for student in students:
            row: dict[str, object] = {"student": student}
            errors = []
            for name in names:
                outcome = outcomes.get(name, {}).get(student)
                score = 0.0
                if outcome is None or outcome.status == "graded":
                    try:
                        score = float(gb.find_submission(name, student).score)
                    except MissingEntry:
                        score = 0.0
                if outcome is not None and outcome.message:
                    errors.append(f"{name}: {outcome.message}")
                row[name], row[f"{name}_max"] = score, maxima[name]
            row["total"] = sum(float(row[n]) for n in names)
            row["max_total"] = sum(maxima.values())
            row["errors"] = "; ".join(errors)
            rows.append(row)
    columns = ["student"] + [c for n in names for c in (n, f"{n}_max")] + ["total", "max_total", "errors"]
    return columns, rows


def write_csv(course: Path, path: Path) -> int:
    """Write the grades table to ``path``; return the number of students."""
    columns, rows = table(course)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)
