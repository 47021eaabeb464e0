"""Nothing is lost: every submission gets a row, an interrupted batch resumes, regrading is exact."""

from __future__ import annotations

import csv

import nbformat
import pytest
from grading_helpers import grade, released, source

from autograder import grades, grading, results
from autograder.notebooks import fill_solutions
from autograder.selfcheck import cell_scores
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
    assert (scores["solved"].total, scores["stub"].total) == (25, 0)
    grades.write_csv(course, tmp_path / "grades.csv")
    with (tmp_path / "grades.csv").open() as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"solved", "stub", "broken", "absent"}
    assert float(rows["solved"]["total"]) == 25 and "not a valid notebook" in rows["broken"]["errors"]
    assert "no notebook" in rows["absent"]["errors"]

    # a second run (after an interruption, say) grades only what is not done yet
    calls = []
    real = grading.grade_one

    def counting(api, course_, assignment, sub):
        calls.append(sub.student)
        if sub.student == "interrupted":
            raise KeyboardInterrupt
        return real(api, course_, assignment, sub)

    monkeypatch.setattr(grading, "grade_one", counting)
    inbox = course / "inbox"
    partial = fill_solutions(release, src, only={"mse"})
    nbformat.write(partial, inbox / "partial.ipynb")
    nbformat.write(partial, inbox / "interrupted.ipynb")
    batch = [Submission(s, inbox / f"{s}.ipynb") for s in ("solved", "stub", "interrupted", "partial")]
    with pytest.raises(KeyboardInterrupt):
        grading.autograde(course, ASSIGNMENT, batch, progress=False)
    assert calls == ["interrupted"]
    assert "interrupted" not in results.load(course)[ASSIGNMENT]
    monkeypatch.setattr(grading, "grade_one", real)
    outcomes = grading.autograde(course, ASSIGNMENT, batch, progress=False)
    db_url = grading.api_for(course).coursedir.db_url
    assert cell_scores(db_url, ASSIGNMENT, "partial").total == 5
    assert cell_scores(db_url, ASSIGNMENT, "interrupted").total == 5
    assert all(outcomes[s].status == "graded" for s in ("solved", "stub", "interrupted", "partial"))


@pytest.mark.xdist_group("grading_batch")
def test_regrading_gives_the_same_scores_to_the_point(tmp_path):
    course = tmp_path / "course"
    release, src = released(course, ASSIGNMENT), source(ASSIGNMENT)
    nb = fill_solutions(release, src, only={"mse", "huber", "quantile"})
    first, _ = grade(course, ASSIGNMENT, {"alice": nb})
    inbox = course / "inbox"
    grading.autograde(course, ASSIGNMENT, [Submission("alice", inbox / "alice.ipynb")], progress=False, force=True)
    again = cell_scores(grading.api_for(course).coursedir.db_url, ASSIGNMENT, "alice")
    assert again.cells == first["alice"].cells
    assert again.total == 15
