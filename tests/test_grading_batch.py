"""Nothing is lost: every submission gets a row, an interrupted batch resumes, regrading is exact."""

from __future__ import annotations

import csv

import nbformat
import pytest
from grading_helpers import configure, grade, points, points_of, regrade, released, source
from nbgrader.api import Gradebook
from sqlalchemy import create_engine, text

from autograder import gradebook, grades, grading, results
from autograder.course import Course, prepare
from autograder.gradebook import SubmissionRows, cell_scores, rows_of, store_many, submitted_students
from autograder.notebooks import fill_solutions
from autograder.submissions import Submission

ASSIGNMENT = "regression_losses"


@pytest.mark.xdist_group("grading_batch")
def test_every_submission_gets_a_row_and_a_batch_resumes(tmp_path, monkeypatch):
    course = tmp_path / "course"
    release, src = released(course, ASSIGNMENT), source(ASSIGNMENT)
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not json")
    scores, outcomes = grade(course, ASSIGNMENT, {"solved": fill_solutions(release, src), "stub": release,
                                                  "broken": broken, "absent": None}, jobs=2)
    assert {s: o.status for s, o in outcomes.items()} == {"solved": "graded", "stub": "graded",
                                                          "broken": "error", "absent": "error"}
    full = sum(points(ASSIGNMENT).values())
    assert (scores["solved"].total, scores["stub"].total) == (full, 0)
    grades.write_csv(Course(course), tmp_path / "grades.csv")
    with (tmp_path / "grades.csv").open() as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"solved", "stub", "broken", "absent"}
    assert float(rows["solved"]["total"]) == full and "not a valid notebook" in rows["broken"]["errors"]
    assert "no notebook" in rows["absent"]["errors"]

    # a second run (after an interruption, say) grades only what is not done yet
    calls = []
    real = grading.grade_one

    def counting(course_, assignment, sub):
        calls.append(sub.student)
        if sub.student == "interrupted":
            raise KeyboardInterrupt
        return real(course_, assignment, sub)

    monkeypatch.setattr(grading, "grade_one", counting)
    inbox = course / "inbox"
    partial = fill_solutions(release, src, only={"mse"})
    nbformat.write(partial, inbox / "partial.ipynb")
    nbformat.write(partial, inbox / "interrupted.ipynb")
    batch = [Submission(s, inbox / f"{s}.ipynb") for s in ("solved", "stub", "interrupted", "partial")]
    with pytest.raises(KeyboardInterrupt):
        regrade(course, ASSIGNMENT, batch)
    assert calls == ["interrupted"]
    assert "interrupted" not in results.load(Course(course))[ASSIGNMENT]
    monkeypatch.setattr(grading, "grade_one", real)
    outcomes = regrade(course, ASSIGNMENT, batch)
    db_url = Course(course).db_url
    assert cell_scores(db_url, ASSIGNMENT, "partial").total == points_of(ASSIGNMENT, {"mse"}) > 0
    assert cell_scores(db_url, ASSIGNMENT, "interrupted").total == points_of(ASSIGNMENT, {"mse"})
    assert all(outcomes[s].status == "graded" for s in ("solved", "stub", "interrupted", "partial"))


@pytest.mark.xdist_group("grading_batch")
def test_regrading_gives_the_same_scores_to_the_point(tmp_path):
    course = tmp_path / "course"
    release, src = released(course, ASSIGNMENT), source(ASSIGNMENT)
    nb = fill_solutions(release, src, only={"mse", "huber", "quantile"})
    first, _ = grade(course, ASSIGNMENT, {"alice": nb})
    inbox = course / "inbox"
    regrade(course, ASSIGNMENT, [Submission("alice", inbox / "alice.ipynb")], force=True)
    again = cell_scores(Course(course).db_url, ASSIGNMENT, "alice")
    assert again.cells == first["alice"].cells
    assert again.total == 15


@pytest.mark.xdist_group("grading_batch")
def test_a_submission_that_never_returns_stops_at_its_time_budget_and_the_batch_goes_on(tmp_path):
    course = configure(tmp_path / "course", "c.SandboxedExecute.timeout_s = 5\nc.SandboxedExecute.budget_s = 20\n")
    release, src = released(course, ASSIGNMENT), source(ASSIGNMENT)
    stuck = fill_solutions(release, src)
    loop = "    ### BEGIN SOLUTION\n    while True:\n        pass\n"
    for cell in stuck.cells:  # every function of the submission loops forever when called
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = cell.source.replace("    ### BEGIN SOLUTION\n", loop)
    scores, outcomes = grade(course, ASSIGNMENT, {"stuck": stuck, "stub": release})
    assert scores["stuck"].total == 0 and set(scores["stuck"].cells) == set(points(ASSIGNMENT))
    assert "time budget of 20 s" in outcomes["stuck"].message and "not run: scored 0" in outcomes["stuck"].message
    assert outcomes["stub"].status == "graded" and scores["stub"].total == 0


def test_the_status_file_is_written_in_batches_and_whenever_the_batch_stops(tmp_path):
    course = Course(tmp_path)
    with results.Recorder(course) as recorder:
        recorder.add(ASSIGNMENT, "before", results.Outcome("graded"))
    with pytest.raises(KeyboardInterrupt), results.Recorder(course, every_s=3600) as recorder:
        for i in range(3):
            recorder.add(ASSIGNMENT, f"s{i}", results.Outcome("graded", digest=str(i)))
        assert set(results.load(course)[ASSIGNMENT]) == {"before"}  # not written yet: within the hour
        raise KeyboardInterrupt  # Ctrl-C: what was added is written on the way out
    assert results.load(course)[ASSIGNMENT] == {"before": results.Outcome("graded")} | {
        f"s{i}": results.Outcome("graded", digest=str(i)) for i in range(3)}
    with results.Recorder(course, every_s=0) as recorder:
        recorder.add(ASSIGNMENT, "now", results.Outcome("error", "no notebook"))
        assert results.load(course)[ASSIGNMENT]["now"] == results.Outcome("error", "no notebook")


@pytest.mark.xdist_group("grading_batch")
def test_rows_stored_many_at_once_read_back_exactly_and_a_regrade_replaces_them(tmp_path):
    released(tmp_path / "course", ASSIGNMENT)  # generates the assignment in the course's gradebook
    course = Course(tmp_path / "course")
    with Gradebook(course.db_url) as gb:
        notebook = gb.find_assignment(ASSIGNMENT).notebooks[0]
        cells = [(notebook.name, c.name, c.max_score) for c in notebook.grade_cells]
        comments = [(notebook.name, c.name) for c in notebook.solution_cells]

    def rows(fraction: float, comment: str) -> SubmissionRows:
        return SubmissionRows(scores=[(nb, gid, fraction * top) for nb, gid, top in cells],
                              manual=[(nb, gid, False) for nb, gid, _ in cells],
                              comments=[(nb, cid, comment) for nb, cid in comments])

    def read(student: str) -> tuple:
        found = rows_of(course.db_url, ASSIGNMENT, student)
        return sorted(found.scores), sorted(found.manual), sorted(found.comments)

    def expected(stored: SubmissionRows) -> tuple:
        return sorted(stored.scores), sorted(stored.manual), sorted(stored.comments)

    first = {"ann": rows(1.0, "all good"), "bob": rows(0.5, "half")}
    store_many(course, ASSIGNMENT, first)
    assert {s: read(s) for s in first} == {s: expected(r) for s, r in first.items()}
    assert cell_scores(course.db_url, ASSIGNMENT, "ann").total == sum(top for _, _, top in cells)
    again = {"bob": rows(0.0, "none"), "cat": rows(0.25, "")}
    store_many(course, ASSIGNMENT, again)
    assert {s: read(s) for s in ("ann", "bob", "cat")} == {s: expected(r) for s, r in (first | again).items()}
    assert submitted_students(course.db_url, ASSIGNMENT) == ["ann", "bob", "cat"]  # one submission each


def test_a_gradebook_created_here_is_the_one_nbgrader_creates(tmp_path):
    ours, theirs = f"sqlite:///{tmp_path / 'ours.db'}", f"sqlite:///{tmp_path / 'theirs.db'}"
    gradebook.create(ours)
    prepare(tmp_path / "course")  # nbgrader runs `alembic` from this interpreter's scripts
    Gradebook(theirs).close()

    def schema(url: str) -> tuple:
        engine = create_engine(url)
        with engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            tables = conn.execute(text("SELECT name, sql FROM sqlite_master ORDER BY name")).all()
        engine.dispose()
        return revision, tables

    assert schema(ours) == schema(theirs) and len(schema(ours)[0]) == 1
