"""Which cells of a submission run where (``autograder.sandbox.runner.NotebookRun``), on a real kernel."""

from __future__ import annotations

from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.sandbox.client import Limits, SandboxKernel
from autograder.sandbox.runner import NOT_RUN_AFTER_TESTS, AssignmentCells, NotebookRun


def _cell(source: str, gid: str | None = None):
    cell = new_code_cell(source)
    if gid:
        cell.metadata["nbgrader"] = {"grade_id": gid}
    return cell


def test_cells_after_the_last_test_run_nowhere_and_say_so(tmp_path):
    """No grade depends on a cell after the last test cell (the ungraded "use what you built" cell ends every
    exercise): it runs neither in the kernel nor in the grader, and its output says why."""
    cells = AssignmentCells(tests={"test_f": "assert f(2) == 4"},
                            instructor={"setup": "import math", "demo": "DEMO_RAN = True\nprint('demo')"})
    nb = new_notebook(cells=[
        _cell("import math", "setup"), _cell("def f(x):\n    return x * x", "answer"), new_markdown_cell("text"),
        _cell("", "test_f"), _cell("print('mine')\nMINE_RAN = True"), _cell("", "demo")])
    with SandboxKernel(tmp_path / "home", Limits()) as kernel:
        run = NotebookRun(kernel, cells)
        run.run(nb)
        ran = kernel.resolve(["DEMO_RAN", "MINE_RAN"])
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == [1, 2, 3, 4, 5]
    assert code[2].outputs == [] and code[2].source == "assert f(2) == 4"  # the test ran, and passed
    for cell in code[3:]:
        assert [(o.output_type, o.text) for o in cell.outputs] == [("stream", NOT_RUN_AFTER_TESTS)]
    assert code[4].source == "DEMO_RAN = True\nprint('demo')"  # the instructor's source, from the gradebook
    assert ran == {} and "DEMO_RAN" not in run.namespace


def test_cells_before_the_last_test_all_run(tmp_path):
    """The rule cuts only after the last test: an ungraded instructor cell between tests runs in both places."""
    cells = AssignmentCells(tests={"t1": "assert DEMO == 1", "t2": "assert g() == 2"},
                            instructor={"demo": "DEMO = 1"})
    nb = new_notebook(cells=[_cell("", "demo"), _cell("", "t1"), _cell("def g():\n    return 2"), _cell("", "t2")])
    with SandboxKernel(tmp_path / "home", Limits()) as kernel:
        NotebookRun(kernel, cells).run(nb)
        assert kernel.resolve(["DEMO"]) == {"DEMO": 1}
    assert all(cell.outputs == [] for cell in nb.cells)
