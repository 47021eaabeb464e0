"""The class report: what a graded batch got wrong, as one self-contained HTML page.

``python -m autograder report ASSIGNMENT`` reads, and never writes, a course directory's
gradebook (SQLite or PostgreSQL, through a read-only connection), its
``autograde_status.json`` and the autograded notebooks, and writes one HTML file with no
external resource (its figures are embedded PNGs):

- the distribution of the scores: a histogram with the median and the quartiles;
- per graded cell: the pass rate (full points) and the mean points, the hardest cell first;
- per cell, the most common named mistakes, counted by the code of the hint a check attached
  (``Hint [code]: message``, :class:`lossbook_checks.cases.core.Hint`), never by the message's
  text, each with one example message; a failure without a hint counts under its error name;
- the submissions that could not be graded, or not fully (kernel died, time budget), by reason;
- the students by score, with a link to each one's feedback page.

With ``anonymise``, student ids become stable pseudonyms (an HMAC of the id under a key kept in
``<course>/report_key``, made on first use) and the table links to no feedback page, whose path
names the student.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import io
import json
import os
import re
import secrets
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from lossbook_checks.cases.core import hints_in

from . import results
from .course import Course

#: An error output of a test cell whose failure names no mistake is counted under its error name.
UNNAMED = "no named mistake"
#: Error names the grader gives a test cell it could not run to its end (``sandbox/runner.py``).
INCIDENTS = {"Timeout": "a cell ran past its time limit", "KernelDied": "the student's kernel died",
             "NotRun": "cells not run (time budget spent, or the kernel gone)"}
#: Why a submission could not be graded at all, from the grader's own outcome messages (``grading.py``).
UNGRADABLE = (("no notebook", re.compile(r"^no notebook|^missing notebook")),
              ("not a valid notebook", re.compile(r"is not a valid notebook")),
              ("grader error or worker crash", re.compile(r"^grader error|worker (crashed|died)")),
              ("nbgrader's autograde failed", re.compile(r"^autograde failed")))
KEY_FILE = "report_key"
EXAMPLE_LINES = 12


@dataclass
class Mistake:
    """One named mistake in one cell: how many submissions made it, and one example message."""

    code: str
    count: int
    example: str


@dataclass
class CellSummary:
    """A graded cell over the graded submissions: ``scores`` per submission, ``mistakes`` most common first."""

    grade_id: str
    max_points: float
    scores: list[float]
    mistakes: list[Mistake] = field(default_factory=list)

    @property
    def pass_rate(self) -> float:
        """The fraction of submissions with full points here (0 when there are none)."""
        return float(np.mean([s >= self.max_points for s in self.scores])) if self.scores else 0.0

    @property
    def mean_points(self) -> float:
        return float(np.mean(self.scores)) if self.scores else 0.0


@dataclass
class StudentRow:
    """One submission: the (possibly pseudonymous) name, score, maximum, status, feedback page if any."""

    name: str
    score: float
    max_score: float
    status: str
    feedback: Path | None


@dataclass
class ClassReport:
    """Everything the page shows, computed from the course directory (see :func:`collect`)."""

    assignment: str
    max_score: float
    students: list[StudentRow]
    cells: list[CellSummary]
    problems: dict[str, list[str]]  # reason -> names of the submissions

    @property
    def graded_scores(self) -> list[float]:
        return [row.score for row in self.students if row.status != "not graded"]


def read_only_engine(db_url: str):
    """A SQLAlchemy engine that cannot write: SQLite opened ``mode=ro``; PostgreSQL read-only transactions."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "").resolve()
        if not path.exists():
            raise FileNotFoundError(f"no gradebook at {path}")
        return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    return create_engine(url, connect_args={"options": "-c default_transaction_read_only=on"})


def gradebook_scores(db_url: str, assignment: str) -> dict[str, dict[str, tuple[float, float]]]:
    """student -> grade id -> (points, maximum) of every autograded cell, read without writing."""
    from nbgrader.api import Assignment, SubmittedAssignment

    engine = read_only_engine(db_url)
    try:
        with Session(engine) as session:
            submitted = (session.query(SubmittedAssignment).join(Assignment)
                         .filter(Assignment.name == assignment).all())
            return {sub.student.id: {grade.name: (float(grade.score), float(grade.max_score))
                                     for nb in sub.notebooks for grade in nb.grades if grade.cell.max_score}
                    for sub in submitted}
    finally:
        engine.dispose()


def cell_failures(notebook: Path) -> dict[str, list[str]]:
    """grade id -> the text of each error output of that cell in an autograded notebook."""
    nb = json.loads(notebook.read_text())
    failures: dict[str, list[str]] = {}
    for cell in nb.get("cells", []):
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        errors = [out for out in cell.get("outputs", []) if out.get("output_type") == "error"]
        if gid and errors:
            failures[gid] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}" for out in errors]
    return failures


def diagnoses(failures: Iterable[str]) -> dict[str, str]:
    """code -> the failure text that named it; a failure without hints is keyed by its error name."""
    found: dict[str, str] = {}
    for text in failures:
        codes = [hint.code for hint in hints_in(text)]
        for code in codes or [f"{UNNAMED}: {text.split(':', 1)[0]}"]:
            found.setdefault(code, text)
    return found


def ungradable_reason(message: str) -> str:
    """The kind of reason a submission could not be graded, from the grader's outcome message."""
    return next((kind for kind, pattern in UNGRADABLE if pattern.search(message)), "other")


class Names:
    """Student ids as shown: themselves, or stable pseudonyms (``anonymise``), and scrubbing them from text."""

    def __init__(self, course: Course, students: Iterable[str], anonymise: bool) -> None:
        self.anonymise = anonymise
        key = _course_key(course) if anonymise else b""
        self.shown = {s: self._pseudonym(key, s) if anonymise else s for s in students}

    @staticmethod
    def _pseudonym(key: bytes, student: str) -> str:
        return "student-" + hmac.new(key, student.encode(), hashlib.sha256).hexdigest()[:8]

    def __call__(self, student: str) -> str:
        return self.shown[student]

    def scrub(self, text: str) -> str:
        """``text`` with every student id replaced by "<student>" (an example must not say whose it is)."""
        for student in sorted(self.shown, key=len, reverse=True):
            text = re.sub(rf"(?<![\w-]){re.escape(student)}(?![\w-])", "<student>", text)
        return text


def _course_key(course: Course) -> bytes:
    path = course.root / KEY_FILE
    if not path.exists():
        path.write_text(secrets.token_hex(32) + "\n")
        path.chmod(0o600)
    return path.read_text().strip().encode()


def _example(text: str, names: Names) -> str:
    lines = names.scrub(text).splitlines()
    return "\n".join(lines[:EXAMPLE_LINES] + (["…"] if len(lines) > EXAMPLE_LINES else []))


def _summarise_cell(gid: str, maximum: float, scores: Mapping[str, float], failures: Mapping[str, list[str]],
                    names: Names) -> CellSummary:
    counts: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for student, points in scores.items():
        if points >= maximum:
            continue
        for code, text in diagnoses(failures.get(student) or ["(no error output)"]).items():
            counts[code] += 1
            examples.setdefault(code, _example(text, names))
    mistakes = [Mistake(code, n, examples[code]) for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    return CellSummary(gid, maximum, list(scores.values()), mistakes)


def collect(course: Course, assignment: str, *, anonymise: bool = False) -> ClassReport:
    """Read the course directory's record of ``assignment`` (gradebook, outcomes, autograded notebooks)."""
    outcomes = results.load(course).get(assignment, {})
    cells = gradebook_scores(course.db_url, assignment)
    graded = sorted(s for s in cells if outcomes.get(s) is None or outcomes[s].status == "graded")
    names = Names(course, sorted(set(cells) | set(outcomes)), anonymise)
    order = [gid for gid in _cell_order(course, assignment) if any(gid in cells[s] for s in graded)]
    failures = {s: _failures_of(course, assignment, s) for s in graded}
    summaries = [_summarise_cell(gid, max(cells[s][gid][1] for s in graded if gid in cells[s]),
                                 {s: cells[s][gid][0] for s in graded if gid in cells[s]},
                                 {s: failures[s].get(gid, []) for s in graded}, names) for gid in order]
    summaries.sort(key=lambda c: (c.pass_rate, c.mean_points / (c.max_points or 1)))  # stable: notebook order
    maximum = sum(c.max_points for c in summaries)
    problems: dict[str, list[str]] = {}
    rows = []
    for student in sorted(set(cells) | set(outcomes)):
        outcome = outcomes.get(student)
        if outcome is not None and outcome.status != "graded":
            problems.setdefault(ungradable_reason(outcome.message), []).append(names(student))
            rows.append(StudentRow(names(student), 0.0, maximum, "not graded", None))
            continue
        for ename in _incidents(failures.get(student, {})):
            problems.setdefault(INCIDENTS[ename], []).append(names(student))
        score = sum(points for points, _ in cells.get(student, {}).values())
        status = outcome.message if outcome is not None and outcome.message else "graded"
        rows.append(StudentRow(names(student), score, maximum, names.scrub(status),
                               None if anonymise else _feedback_page(course, assignment, student)))
    rows.sort(key=lambda r: (-r.score, r.name))
    return ClassReport(assignment, maximum, rows, summaries, problems)


def _incidents(failures: Mapping[str, list[str]]) -> list[str]:
    """The error names of :data:`INCIDENTS` among a submission's failed cells."""
    return sorted({text.split(":", 1)[0] for texts in failures.values() for text in texts} & set(INCIDENTS))


def _cell_order(course: Course, assignment: str) -> list[str]:
    nb = json.loads(course.assignment(assignment).source.read_text())
    return [c["metadata"]["nbgrader"]["grade_id"] for c in nb["cells"]
            if c.get("metadata", {}).get("nbgrader", {}).get("grade")]


def _failures_of(course: Course, assignment: str, student: str) -> dict[str, list[str]]:
    notebooks = sorted((course.autograded / student / assignment).glob("*.ipynb"))
    return cell_failures(notebooks[0]) if notebooks else {}


def _feedback_page(course: Course, assignment: str, student: str) -> Path | None:
    pages = sorted((course.feedback / student / assignment).glob("*.html"))
    return pages[0] if pages else None


# --- the page ---------------------------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code { background: #f3f3f3; padding: 0 0.2rem; }
pre { background: #f6f6f6; padding: 0.5rem; max-width: 50rem; overflow-x: auto; font-size: 0.85rem; }
details { margin: 0.2rem 0; }
.hard { color: #a00; }
"""


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    return plt


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def histogram(scores: list[float], maximum: float) -> str:
    """The score histogram with its median and quartiles, as an embedded PNG (a ``data:`` URI)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3))
    bins = np.linspace(0, maximum, min(20, max(int(maximum), 1)) + 1) if maximum > 0 else 10
    ax.hist(scores, bins=bins, color="#6a8caf", edgecolor="white")
    if scores:
        q1, median, q3 = np.percentile(scores, [25, 50, 75])
        ax.axvline(median, color="#a00", label=f"median {median:g}")
        for q, label in ((q1, f"quartiles {q1:g}, {q3:g}"), (q3, None)):
            ax.axvline(q, color="#a00", linestyle="--", label=label)
        ax.legend(loc="upper left")
    ax.set_xlabel(f"score (of {maximum:g})")
    ax.set_ylabel("submissions")
    uri = _png(fig)
    plt.close(fig)
    return uri


def pass_rates(cells: list[CellSummary]) -> str:
    """A bar per cell (hardest on top): its pass rate, as an embedded PNG."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(cells) + 1))
    ax.barh([c.grade_id for c in cells][::-1], [100 * c.pass_rate for c in cells][::-1], color="#6a8caf")
    ax.set_xlim(0, 100)
    ax.set_xlabel("submissions with full points (%)")
    uri = _png(fig)
    plt.close(fig)
    return uri


def _e(value: object) -> str:
    return html.escape(str(value))


def _quartiles(scores: list[float]) -> str:
    if not scores:
        return "no graded submission"
    q1, median, q3 = np.percentile(scores, [25, 50, 75])
    return f"median {median:g}, quartiles {q1:g} and {q3:g}, mean {np.mean(scores):.3g}"


def _cell_rows(cells: list[CellSummary]) -> str:
    rows = []
    for cell in cells:
        mistakes = "".join(
            f"<details><summary><code>{_e(m.code)}</code> × {m.count}</summary><pre>{_e(m.example)}</pre></details>"
            for m in cell.mistakes) or "—"
        rows.append(f"<tr><td><code>{_e(cell.grade_id)}</code></td><td class=num>{100 * cell.pass_rate:.0f}%</td>"
                    f"<td class=num>{cell.mean_points:.2f} / {cell.max_points:g}</td><td>{mistakes}</td></tr>")
    return "".join(rows)


def _student_rows(students: list[StudentRow], output: Path) -> str:
    rows = []
    for row in students:
        link = (f'<a href="{_e(Path(os.path.relpath(row.feedback, output.parent)).as_posix())}">feedback</a>'
                if row.feedback else "—")
        rows.append(f"<tr><td>{_e(row.name)}</td><td class=num>{row.score:g} / {row.max_score:g}</td>"
                    f"<td>{_e(row.status)}</td><td>{link}</td></tr>")
    return "".join(rows)


def _problem_rows(problems: dict[str, list[str]]) -> str:
    if not problems:
        return "<p>Every submission was graded to its end.</p>"
    rows = "".join(f"<tr><td>{_e(reason)}</td><td class=num>{len(who)}</td><td>{_e(', '.join(who))}</td></tr>"
                   for reason, who in sorted(problems.items(), key=lambda kv: (-len(kv[1]), kv[0])))
    return f"<table><tr><th>reason</th><th>submissions</th><th>who</th></tr>{rows}</table>"


def render(report: ClassReport, output: Path, anonymise: bool) -> str:
    """The self-contained HTML page of ``report``, to be written at ``output`` (links are relative to it)."""
    scores = report.graded_scores
    feedback_note = ("Names are pseudonyms; feedback pages are not linked (their paths name the student)."
                     if anonymise else "Feedback pages are those of the last <code>feedback</code> run.")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Class report: {_e(report.assignment)}</title>
<style>{_CSS}</style></head><body>
<h1>Class report: <code>{_e(report.assignment)}</code></h1>
<p>{len(scores)} graded submissions of {len(report.students)}; maximum {report.max_score:g} points;
{_e(_quartiles(scores))}.</p>
<h2 id="scores">Scores</h2>
<img alt="Histogram of the scores with the median and the quartiles" src="{histogram(scores, report.max_score)}">
<h2 id="cells">Cells, hardest first</h2>
<p>Pass rate: the share of graded submissions with full points in the cell. Mistakes are the checks' own
diagnoses (the code of the hint each failure carries), counted once per submission; click one for an
example message.</p>
<img alt="Pass rate per cell" src="{pass_rates(report.cells)}">
<table><tr><th>cell</th><th>pass rate</th><th>mean points</th><th>most common mistakes</th></tr>
{_cell_rows(report.cells)}</table>
<h2 id="problems">Submissions not graded, or not to the end</h2>
{_problem_rows(report.problems)}
<h2 id="students">Students by score</h2>
<p>{feedback_note}</p>
<table><tr><th>student</th><th>score</th><th>status</th><th>feedback</th></tr>
{_student_rows(report.students, output)}</table>
</body></html>
"""


def write(course: Course, assignment: str, output: Path, *, anonymise: bool = False) -> ClassReport:
    """Collect the report of ``assignment`` in ``course`` and write its page to ``output``."""
    report = collect(course, assignment, anonymise=anonymise)
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(report, output, anonymise))
    return report
