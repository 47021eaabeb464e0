"""The class report (``python -m autograder report``): mistakes counted by code, hardest cell first,
ungradable submissions by reason, read-only on the gradebook (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path

import pytest
import test_classification_losses
import test_regression_losses
from click.testing import CliRunner
from grading_helpers import configure, grade, points, released, source
from redteam.attacks import attacks
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from autograder import gradebook
from autograder import report as report_mod
from autograder.cli import main
from autograder.course import Course
from autograder.notebooks import fill_solutions, read_notebook
from lossbook_checks.cases.core import Hint, hints_in

NOT_IMPLEMENTED = "not-implemented"
#: Red-team submissions of regression_losses in the batch: three that keep the wrong MSE to the end, one whose
#: kernel exits in the MAE (its later cells are not run).
ATTACKS = {"kernel_exit", "patch_torch_reference", "hard_coded_visible_answers", "edit_test_cell"}


def regression_mistakes() -> dict[str, dict[str, set[str]]]:
    """student -> cell -> the codes its submission was built to get there (the designed mistakes)."""
    cells = list(points("regression_losses"))
    backward_after_mse = ["test_mae_backward", "test_huber_backward", "test_log_cosh_backward",
                          "test_quantile_backward"]
    return {
        "stub": {gid: {NOT_IMPLEMENTED} for gid in cells},
        "only_mse": {gid: {NOT_IMPLEMENTED} for gid in cells if "_mse_" not in gid},
        "forgot_mean": {"test_mae_backward": {"mean-divisor-missing"}},        # no 1/n in the MAE's gradient
        "naive_log_cosh": {"test_log_cosh_forward": {"nan-or-inf"}},          # log(cosh(r)) overflows
        "hard_coded": {gid: {"mean-divisor-missing"} for gid in backward_after_mse},  # its reduce_loss_backward
    }


def classification_mistakes() -> dict[str, dict[str, set[str]]]:
    cells = list(points("classification_losses"))
    stable = {"test_sigmoid_stable": "sigmoid-overflow", "test_softmax_stable": "softmax-no-max-shift",
              "test_bce_stable": "bce-log-clamp", "test_bce_logits_stable": "bce-logits-unstable",
              "test_cross_entropy_stable": "cross-entropy-unstable", "test_focal_stable": "focal-unstable"}
    return {
        "stub": {gid: {NOT_IMPLEMENTED} for gid in cells},
        "only_sigmoid": {gid: {NOT_IMPLEMENTED} for gid in cells if "_sigmoid_" not in gid},
        "naive": {gid: {"nan-or-inf", code} for gid, code in stable.items()},
        # the smoothing cell's visible hint is attached to any failure in its block, this one's too
        "no_weight_sum": {"test_cross_entropy_forward": {"weighted-mean-divisor"},
                          "test_cross_entropy_smoothing_backward": {"smoothing-ignored-gradient"}},
        "smooths_ignored": {"test_cross_entropy_smoothing_forward": {"smoothing-ignored-target"},
                            "test_cross_entropy_smoothing_backward": {"smoothing-ignored-gradient"}},
        "focal_constant_factor": {"test_focal_backward": {"focal-modulating-factor"}},
    }


def expected_counts(mistakes: dict[str, dict[str, set[str]]]) -> Counter[tuple[str, str]]:
    return Counter((gid, code) for cells in mistakes.values() for gid, codes in cells.items() for code in codes)


def report_counts(report: report_mod.ClassReport, codes: set[str]) -> Counter[tuple[str, str]]:
    return Counter({(cell.grade_id, m.code): m.count for cell in report.cells for m in cell.mistakes
                    if m.code in codes})


def fingerprint(course: Path) -> dict[str, str]:
    """sha256 of the gradebook and of every autograded file: the report must change none of them."""
    files = [course / "gradebook.db", *sorted((course / "autograded").rglob("*"))]
    return {str(f): hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.is_file()}


def assert_hardest_first(report: report_mod.ClassReport, scores) -> None:
    """Pass rates from the gradebook's per-cell scores (``grade``), independently of the report."""
    rates = {gid: sum(s.cells[gid][0] == s.cells[gid][1] for s in scores.values()) / len(scores)
             for gid in next(iter(scores.values())).cells}
    assert [cell.pass_rate for cell in report.cells] == sorted(rates[cell.grade_id] for cell in report.cells)
    assert report.cells[0].pass_rate == min(rates.values()) < 1


def test_a_hint_is_one_line_with_its_code():
    hint = Hint("mean-divisor-missing", "Off by a factor n = 4: was the 1/n forgotten?")
    text = f"mse_loss(...): 4 of 4 elements differ.\n  {hint}\n  numpy warned: none"
    assert hints_in(text) == [hint]
    assert [h.code for h in hints_in(text.replace("n = 4", "n = 7"))] == ["mean-divisor-missing"]
    with pytest.raises(ValueError, match="lowercase words"):
        Hint("Mean divisor", "x")


def test_every_hint_of_the_checks_and_the_test_cells_has_a_code(repo):
    """No hint line without a code ("Hint: ..."), and every ``with hint(`` of a test cell names its code first."""
    code = {str(path): path.read_text() for path in sorted((repo / "lossbook_checks").rglob("*.py"))}
    for path in sorted((repo / "solutions").glob("*/*.ipynb")):
        code[str(path)] = "\n".join(cell.source for cell in read_notebook(path).cells if cell.cell_type == "code")
    assert not [path for path, text in code.items() if "Hint: " in text]
    calls = [call for text in code.values() for call in re.findall(r"with (?:ck\.)?hint\((.{0,60})", text, re.DOTALL)]
    assert len(calls) >= 24 and all(re.match(r'"[a-z0-9]+(-[a-z0-9]+)*",', call) for call in calls), calls


def test_diagnoses_group_by_code_and_name_unnamed_failures_by_error():
    found = report_mod.diagnoses(["CheckFailure: off\n  Hint [wrong-sign]: sign", "NotRun: not run: budget"])
    assert list(found) == ["wrong-sign", "no named mistake: NotRun"]
    assert report_mod.ungradable_reason("x.ipynb is not a valid notebook (bad)") == "not a valid notebook"


@pytest.mark.slow
@pytest.mark.xdist_group("report")
def test_the_report_counts_each_mistake_code_and_puts_the_hardest_cell_first(tmp_path):
    course = configure(tmp_path / "course", "c.SandboxedExecute.timeout_s = 10")
    release, src = released(course, "regression_losses"), source("regression_losses")
    batch = {"solved": fill_solutions(release, src), "stub": release,
             **test_regression_losses.submissions(release, src)}
    for attack in attacks(str(course)):
        if attack.name in ATTACKS:
            batch[attack.name] = fill_solutions(release, src)
            attack.build(batch[attack.name])
    (tmp_path / "malformed.ipynb").write_text("{ not json")
    batch["malformed"] = tmp_path / "malformed.ipynb"
    regression, _ = grade(course, "regression_losses", batch, jobs=2)
    release, src = released(course, "classification_losses"), source("classification_losses")
    classification, _ = grade(course, "classification_losses",
                              test_classification_losses.submissions(release, src), jobs=2)

    before = fingerprint(course)
    for assignment, scores, mistakes in (("regression_losses", regression, regression_mistakes()),
                                         ("classification_losses", classification, classification_mistakes())):
        output = tmp_path / f"{assignment}.html"
        report = report_mod.write(Course(course), assignment, output)
        expected = expected_counts(mistakes)
        assert report_counts(report, {code for _, code in expected}) == expected, assignment
        assert_hardest_first(report, scores)
        page = output.read_text()
        for (gid, code), count in expected.items():
            assert re.search(rf"<code>{re.escape(code)}</code> × {count}</summary>", page), (gid, code)
        assert page.count('src="data:image/png;base64,') == 2 and not re.search(r'(src|href)="(https?:)?//', page)
    assert fingerprint(course) == before

    assert report.cells[0].grade_id == "test_cross_entropy_smoothing_forward"  # classification's report
    regression_report = report_mod.collect(Course(course), "regression_losses")
    assert regression_report.problems["not a valid notebook"] == ["malformed"]
    assert regression_report.problems["the student's kernel died"] == ["kernel_exit"]
    assert [row.name for row in regression_report.students][:1] == ["solved"]

    anonymous = tmp_path / "anonymous.html"
    result = CliRunner().invoke(main, ["report", "regression_losses", "--course", str(course), "-o", str(anonymous),
                                       "--anonymise"])
    assert result.exit_code == 0, result.output
    page = anonymous.read_text()
    assert not [student for student in batch if "_" in student and student in page]
    assert len(set(re.findall(r"student-[0-9a-f]{8}", page))) == len(batch)
    again = tmp_path / "again.html"
    CliRunner().invoke(main, ["report", "regression_losses", "--course", str(course), "-o", str(again), "--anonymise"])
    assert set(re.findall(r"student-[0-9a-f]{8}", again.read_text())) == set(re.findall(r"student-[0-9a-f]{8}", page))
    assert fingerprint(course) == before


@pytest.mark.slow
@pytest.mark.xdist_group("postgres")
def test_the_report_reads_a_postgresql_gradebook_without_writing(tmp_path, postgres):
    course = configure(tmp_path / "course", "")
    release, src = released(course, "regression_losses"), source("regression_losses")
    with gradebook.scratch(postgres) as url:
        gradebook.use(course, url)
        grade(course, "regression_losses", {"solved": fill_solutions(release, src), "stub": release})
        report = report_mod.collect(Course(course), "regression_losses")
        assert [(row.name, row.score) for row in report.students] == [("solved", sum(points("regression_losses")
                                                                                       .values())), ("stub", 0.0)]
        assert all([(m.code, m.count) for m in cell.mistakes] == [(NOT_IMPLEMENTED, 1)] for cell in report.cells)
        engine = report_mod.read_only_engine(gradebook.normalise(url))
        with engine.connect() as connection, pytest.raises(DBAPIError, match="read-only"):
            connection.execute(text("DELETE FROM grade"))
        engine.dispose()
