"""The instructor CLI end to end in a temporary course directory: three students and a broken
file, autograde -> feedback -> grades CSV, and plain nbgrader still works on the result."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from grading_helpers import points, points_of, released, source

from autograder.notebooks import fill_solutions

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = "regression_losses"


def cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)


def three_students(tmp_path: Path) -> Path:
    """``tmp_path/inbox`` with alice (solved), bob (only ``mse``) and carol (the stub)."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    release, src = released(tmp_path / "scratch", ASSIGNMENT), source(ASSIGNMENT)
    nbformat.write(fill_solutions(release, src), inbox / "alice.ipynb")
    nbformat.write(fill_solutions(release, src, only={"mse"}), inbox / "bob.ipynb")
    nbformat.write(release, inbox / "carol.ipynb")
    return inbox


@pytest.mark.xdist_group("regression_losses")
def test_autograde_feedback_grades_end_to_end(tmp_path):
    course, inbox = tmp_path / "course", three_students(tmp_path)
    (inbox / "dave.ipynb").write_text("{ this is not json")

    graded = cli("autograde", ASSIGNMENT, str(inbox), "--course", str(course))
    assert graded.returncode == 0, graded.stderr[-3000:]
    assert "dave" in graded.stderr and "not a valid notebook" in graded.stderr
    assert (inbox / "dave.ipynb").read_text() == "{ this is not json", "the original is never touched"

    feedback = cli("feedback", ASSIGNMENT, "--course", str(course))
    assert feedback.returncode == 0, feedback.stderr[-3000:]
    for student in ("alice", "bob", "carol"):
        html = (course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in html and "elementwise_cases(seed=" not in html
    assert "not implemented yet" in (course / "feedback" / "carol" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()

    out = tmp_path / "grades.csv"
    exported = cli("grades", "--course", str(course), "-o", str(out))
    assert exported.returncode == 0, exported.stderr[-3000:]
    rows = {row["student"]: row for row in csv.DictReader(out.open())}
    assert set(rows) == {"alice", "bob", "carol", "dave"}
    full, mse = sum(points(ASSIGNMENT).values()), points_of(ASSIGNMENT, {"mse"})
    assert {s: float(r["total"]) for s, r in rows.items()} == {"alice": full, "bob": mse, "carol": 0.0, "dave": 0.0}
    assert all(float(r["max_total"]) == full for r in rows.values())
    assert "not a valid notebook" in rows["dave"]["errors"] and rows["alice"]["errors"] == ""

    plain = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "export", "--to", str(tmp_path / "nb.csv")],
                           cwd=course, capture_output=True, text=True)
    assert plain.returncode == 0, plain.stderr[-3000:]
    exported_by_nbgrader = {r["student_id"]: float(r["score"]) for r in csv.DictReader((tmp_path / "nb.csv").open())}
    assert exported_by_nbgrader == {"alice": full, "bob": mse, "carol": 0.0}


def test_cli_errors_are_one_line(tmp_path):
    missing = cli("autograde", ASSIGNMENT, str(tmp_path / "nowhere"), "--course", str(tmp_path / "c"))
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert "no such folder of submissions" in missing.stderr
    unknown = cli("autograde", "no_such_assignment", str(tmp_path))
    assert unknown.returncode != 0 and "Traceback" not in unknown.stderr and "unknown assignment" in unknown.stderr


def test_help_lists_one_command_per_line():
    result = cli("--help")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for command in ("release", "autograde", "feedback", "grades", "selfcheck"):
        assert sum(line.split()[:1] == [command] for line in lines) == 2, (command, result.stdout)  # list, Commands
