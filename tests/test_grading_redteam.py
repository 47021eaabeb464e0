"""Red-team submissions score exactly what they earned (the attacks: tests/redteam/attacks.py).

All of them are graded in one batch, in parallel (``jobs=2``), in one course directory, with a
short per-cell timeout and a small memory limit so that runaway code costs little. One test
function, so that the batch is graded once whatever way pytest-xdist distributes tests; it
reports every attack that scored other than expected, not only the first.
"""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest
from grading_helpers import configure, grade, points, points_of, released, source
from redteam.attacks import Attack, attacks

from autograder.course import Course
from autograder.gradebook import CellScores
from autograder.notebooks import fill_solutions
from autograder.sandbox import confine

ASSIGNMENT = "regression_losses"
SETTINGS = "c.SandboxedExecute.timeout_s = 10\nc.SandboxedExecute.memory_mb = 1024\n"
ABI = confine.landlock_abi()
POINTS = points(ASSIGNMENT)
FULL = sum(POINTS.values())
HIDDEN_MARKERS = ("BEGIN HIDDEN TESTS", "elementwise_cases(seed=")


def autograded(course: Path, student: str) -> str:
    """The text of the student's autograded notebook (the instructor's copy: hidden tests included)."""
    return (course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()


def outputs(course: Path, student: str) -> str:
    """Every output of the autograded notebook, as JSON text: what the feedback can show."""
    return json.dumps([c.get("outputs", []) for c in json.loads(autograded(course, student))["cells"]])


def problems_of(attack: Attack, scores: CellScores, course: Path) -> list[str]:
    """How the attack's grading differs from what it earned (empty: it got exactly that)."""
    expected = {gid: 0 if gid in attack.zero else points for gid, points in POINTS.items()}
    got = {gid: score for gid, (score, _) in scores.cells.items()}
    found = []
    if got != expected:
        found.append(f"scored {got}, expected {expected}")
    if any(maximum != POINTS[gid] for gid, (_, maximum) in scores.cells.items()):
        found.append("maximum points changed")
    if any(marker in outputs(course, attack.name) for marker in HIDDEN_MARKERS):
        found.append("hidden test source in the outputs")
    if len(autograded(course, attack.name)) > 300_000:
        found.append("output not truncated")
    return found


@pytest.mark.slow
@pytest.mark.xdist_group("grading_redteam")
def test_red_team_submissions_score_exactly_what_they_earned(tmp_path):
    course = configure(tmp_path / "course", SETTINGS)
    release, src = released(course, ASSIGNMENT), source(ASSIGNMENT)
    chosen = [a for a in attacks(str(course)) if ABI >= a.landlock]  # all of them where Landlock has ABI 6+
    notebooks = {"solved": fill_solutions(release, src), "stub": release}
    for attack in chosen:
        notebooks[attack.name] = fill_solutions(release, src)
        attack.build(notebooks[attack.name])
    scores, outcomes = grade(course, ASSIGNMENT, notebooks, jobs=2)

    assert (scores["solved"].total, scores["stub"].total) == (FULL, 0)
    failed = {a.name: [f"not graded: {outcomes[a.name]}"] if a.name not in scores
              else problems_of(a, scores[a.name], course) for a in chosen}
    failed = {name: found for name, found in failed.items() if found}
    assert not failed, "\n".join(f"{name}: {'; '.join(found)}" for name, found in failed.items())

    # what happened is said: in the grades' errors column, and in the student's feedback
    assert "kernel died" in outcomes["kernel_exit"].message
    assert "SIGSEGV" in outcomes["segfault"].message
    assert "more than 10 s" in outcomes["infinite_loop"].message
    assert "did not stop when interrupted" in outcomes["loop_ignoring_interrupt"].message
    assert "torch is not available to graded code" in outputs(course, "torch_inside_numpy")
    assert not any(p.info["cmdline"] == ["sleep", "613"] for p in psutil.process_iter(["cmdline"]))

    result = Course(course).api.generate_feedback(ASSIGNMENT, "hard_coded_visible_answers", force=True)
    assert result["success"], result.get("error")
    html = (course / "feedback" / "hard_coded_visible_answers" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    earned = FULL - points_of(ASSIGNMENT, {"mse"})  # hard-coded answers pass the MSE cells' visible tests only
    assert f"Score: {earned:.1f} / {FULL:.1f}" in html and "CheckFailure" in html
    assert "elements differ from the reference" in html
    assert not any(marker in html for marker in HIDDEN_MARKERS)
