"""Every assignment: solutions get full marks, stubs get 0 on every cell, visible tests pass."""

from __future__ import annotations

import pytest

from autograder import course as course_dir
from autograder.selfcheck import check


@pytest.mark.parametrize("assignment", course_dir.assignments())
def test_selfcheck(assignment, tmp_path):
    report = check(assignment, workdir=tmp_path)
    assert report.problems == []
    assert report.solved.total == report.solved.max_total > 0
    assert all(score == 0 for score, _ in report.stub.cells.values())
    assert set(report.stub.cells) == set(report.solved.cells)
