"""Released notebooks: generated from solutions/ (no drift), with no solution code and no
hidden tests, points on every autograded cell; every stored notebook has no outputs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
import pytest
from grading_helpers import released, source

from autograder import course as course_dir
from autograder.notebooks import grade_id, is_solution

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENTS = course_dir.assignments()


def _split_solutions(nb) -> tuple[set[str], str]:
    """(lines inside solution regions, all text outside them) of a source notebook."""
    solution, outside = set(), []
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if "### BEGIN SOLUTION" in line:
                inside = True
            elif "### END SOLUTION" in line:
                inside = False
            elif inside and is_solution(cell):
                solution.add(line.strip())
            else:
                outside.append(line)
    return {line for line in solution if len(line) > 12}, "\n".join(outside)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_equals_a_fresh_release(assignment, tmp_path):
    fresh = released(tmp_path, assignment)
    name = course_dir.source_notebook(assignment).name
    committed = nbformat.read(course_dir.EXERCISES / assignment / name, as_version=4)
    assert [c.source for c in committed.cells] == [c.source for c in fresh.cells], \
        f"book/exercises/{assignment} is stale: run `make release`"
    assert [c.metadata for c in committed.cells] == [c.metadata for c in fresh.cells]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_hides_solutions_and_hidden_tests(assignment):
    name = course_dir.source_notebook(assignment).name
    release = nbformat.read(course_dir.EXERCISES / assignment / name, as_version=4)
    text = "\n".join(c.source for c in release.cells)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    solution, given = _split_solutions(source(assignment))
    leaked = [line for line in solution if line in text and line not in given]
    assert not leaked, f"solution code in the released notebook: {leaked[:3]}"
    graded = [c for c in release.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(graded) >= 5
    assert all(c.metadata["nbgrader"].get("points", 0) > 0 for c in graded), "every test cell has points"
    assert len({grade_id(c) for c in release.cells if grade_id(c)}) == \
        len([c for c in release.cells if grade_id(c)]), "grade ids are unique"


def test_stored_notebooks_have_no_outputs():
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.ipynb"],
                           cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    assert files
    for path in files:
        nb = nbformat.read(REPO / path, as_version=4)
        assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{path} has outputs"
        assert not any(c.get("execution_count") for c in nb.cells if c.cell_type == "code"), path
