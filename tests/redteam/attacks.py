"""Red-team submissions of ``regression_losses``: one per attack, each with the cells it must score 0 on.

Every attack starts from the full solution, so the exact score is the assignment's total minus
the points of ``zero``: an attack that worked would show up as points it did not earn. Most
pair the attack with a wrong ``mse_loss`` (the MAE), so ``test_mse_forward`` must score 0
unless the attack defeats the test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import nbformat
from nbformat import NotebookNode

from autograder.course import REPO
from autograder.notebooks import grade_id

MSE_F, MSE_B, MAE_F, MAE_B = "test_mse_forward", "test_mse_backward", "test_mae_forward", "test_mae_backward"
HUBER_F, HUBER_B, LC_F, LC_B = "test_huber_forward", "test_huber_backward", "test_log_cosh_forward", \
    "test_log_cosh_backward"
Q_F, Q_B = "test_quantile_forward", "test_quantile_backward"
AFTER_MAE = {HUBER_F, HUBER_B, LC_F, LC_B, Q_F, Q_B}

WRONG_MSE = '''

def mse_loss(input, target, reduction="mean"):
    return reduce_loss(np.abs(input - target), reduction)  # wrong: the MAE
'''


@dataclass(frozen=True)
class Attack:
    """``build(solved)`` edits a fully solved submission in place; ``zero``: the cells that must score 0."""

    name: str
    build: Callable[[NotebookNode], None]
    zero: frozenset[str]
    landlock: int = 0  # the Landlock ABI the defence needs (0: none)


def cell(nb: NotebookNode, gid: str) -> NotebookNode:
    """The cell with grade id ``gid``."""
    return next(c for c in nb.cells if grade_id(c) == gid)


def append_to(nb: NotebookNode, gid: str, code: str) -> None:
    """Add ``code`` at the end of the answer cell ``gid``."""
    cell(nb, gid).source += "\n" + code


def insert_after(nb: NotebookNode, gid: str, code: str) -> None:
    """A new student cell right after the cell ``gid``."""
    index = nb.cells.index(cell(nb, gid))
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(code))


def wrong_mse_and(code: str, where: str = "mse") -> Callable[[NotebookNode], None]:
    """The MAE as ``mse_loss``, then ``code`` in a cell of its own after the answer cell ``where``."""
    def build(nb: NotebookNode) -> None:
        append_to(nb, "mse", WRONG_MSE)
        insert_after(nb, where, code)
    return build


def _in_body(function: str, code: str) -> Callable[[NotebookNode], None]:
    """Make ``code`` (indented for a function body) the first statement of the answer ``function``."""
    def build(nb: NotebookNode) -> None:
        answer = next(c for c in nb.cells if f"def {function}(" in c.source)
        start = answer.source.index(f"def {function}(")
        mark = answer.source.index("### BEGIN SOLUTION\n", start) + len("### BEGIN SOLUTION\n")
        answer.source = answer.source[:mark] + "    " + code + "\n" + answer.source[mark:]
    return build


def _print_flood(nb: NotebookNode) -> None:
    append_to(nb, "mse", "print('flood ' * 2_500_000)")
    _in_body("mse_loss", "print('x' * 50_000)")(nb)


def _edit_test(nb: NotebookNode) -> None:
    append_to(nb, "mse", WRONG_MSE)
    cell(nb, MSE_F).source = "print('visible tests passed')"


def _delete_test(nb: NotebookNode) -> None:
    append_to(nb, "mse", WRONG_MSE)
    nb.cells.remove(cell(nb, MSE_F))


def _duplicate_test(nb: NotebookNode) -> None:
    append_to(nb, "mse", WRONG_MSE)
    copy = nbformat.from_dict(cell(nb, MSE_F))
    copy.source = "pass"
    nb.cells.insert(nb.cells.index(cell(nb, MSE_F)) + 1, copy)


def _retype_test(nb: NotebookNode) -> None:
    append_to(nb, "mse", WRONG_MSE)
    test = cell(nb, MSE_F)
    test.cell_type = "markdown"
    test.pop("outputs", None)
    test.pop("execution_count", None)


def _strip_metadata(nb: NotebookNode) -> None:
    append_to(nb, "mse", WRONG_MSE)
    test = cell(nb, MSE_F)
    del test.metadata["nbgrader"]
    test.source = "pass"
    bonus = nbformat.v4.new_code_cell("pass")
    bonus.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus", "points": 100, "locked": True,
                                  "solution": False, "task": False, "schema_version": 3}
    nb.cells.append(bonus)


PATCH_TORCH = '''
import sys
try:
    import torch.nn.functional as F
    F.mse_loss = lambda input, target, reduction="mean": (input - target).abs().mean()
except ImportError as err:
    print("no torch here:", err)
ref.mse = lambda input, target, reduction="mean": abs(input - target).mean()
sys.modules["lossbook_checks.references.regression_losses"].mse = ref.mse
'''

PATCH_NUMPY = '''
np.testing.assert_allclose = lambda *args, **kwargs: None
np.testing.assert_array_equal = lambda *args, **kwargs: None
np.allclose = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
'''

PATCH_CHECKING = '''
import sys
import lossbook_checks.checking.compare as compare
from lossbook_checks import checking
for name in ("check_forward", "check_backward", "check_value", "assert_close", "check_backward_matches_forward"):
    setattr(checking, name, lambda *args, **kwargs: None)
    setattr(ck, name, lambda *args, **kwargs: None)
compare.assert_close = lambda *args, **kwargs: None
ck.CheckFailure._render_traceback_ = lambda self: ["all tests passed"]
sys.modules["lossbook_checks.checking"] = checking
'''

FAKE_PASS = '''
import sys
sys.excepthook = lambda *args: None
shell = get_ipython()
shell.showtraceback = lambda *args, **kwargs: None
shell._showtraceback = lambda *args, **kwargs: None
type(shell).showtraceback = lambda *args, **kwargs: None
ck.CheckFailure._render_traceback_ = lambda self: []
'''

ALWAYS_EQUAL = '''

class AlwaysEqual:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    __le__ = __gt__ = __ge__ = __lt__
    def __sub__(self, other): return 0.0
    __rsub__ = __sub__
    def __abs__(self): return 0.0
    def __float__(self): return 0.0
    def __array__(self, dtype=None, copy=None): return np.zeros(())


def mse_loss(input, target, reduction="mean"):
    return AlwaysEqual()
'''

NDARRAY_SUBCLASS = '''

class Liar(np.ndarray):
    def __eq__(self, other): return np.ones(self.shape, dtype=bool)
    def __sub__(self, other): return np.zeros(self.shape)
    __rsub__ = __sub__
    def __abs__(self): return np.zeros(self.shape)
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs): return np.zeros(np.shape(inputs[0]))


def mse_loss(input, target, reduction="mean"):
    return np.asarray(reduce_loss(np.abs(input - target), reduction)).view(Liar)
'''

HARD_CODED = '''

def mse_loss(input, target, reduction="mean"):
    if np.shape(input) == (4,) and np.allclose(input, [0.5, -1.0, 2.0, 4.0]):
        squares = np.array([0.25, 4.0, 0.0, 25.0])
        return {"mean": np.float64(29.25 / 4), "sum": np.float64(29.25)}.get(reduction, squares)
    return reduce_loss(np.zeros_like(input), reduction)
'''

TORCH_INSIDE = '''

def mse_loss(input, target, reduction="mean"):
    import torch
    value = torch.nn.functional.mse_loss(torch.as_tensor(input), torch.as_tensor(target), reduction=reduction)
    return value.numpy()
'''

READ_SECRETS = '''
import json, os, sqlite3
REPO, COURSE = {repo!r}, {course!r}
up = [os.path.join(*[".."] * depth) if depth else "." for depth in range(7)]
stolen, leaked = None, []
for path in [os.path.join(u, "solutions", "regression_losses", "regression_losses.ipynb") for u in up] + [
        os.path.join(REPO, "solutions", "regression_losses", "regression_losses.ipynb")]:
    try:
        cells = json.load(open(path))["cells"]
    except Exception:
        continue
    for c in cells:
        if c["metadata"].get("nbgrader", {{}}).get("grade_id") == "mse":
            stolen = "".join(c["source"])
for db in [os.path.join(u, "gradebook.db") for u in up] + [os.path.join(COURSE, "gradebook.db"),
                                                          os.path.join(REPO, "autograder", "gradebook.db")]:
    try:
        connection = sqlite3.connect(db)
        leaked += [row[0] for row in connection.execute("select source from source_cell")]
        connection.execute("update grade set auto_score = 1000")
        connection.commit()
    except Exception:
        pass
print("\\n".join(leaked))
if stolen:
    exec(stolen)
'''


def attacks(course: str) -> list[Attack]:
    """Every attack; ``course`` is the course directory grading them (its gradebook is a target)."""
    mse = frozenset({MSE_F, MSE_B})
    return [
        Attack("patch_torch_reference", wrong_mse_and(PATCH_TORCH), mse),
        Attack("patch_numpy_comparisons", wrong_mse_and(PATCH_NUMPY), mse),
        Attack("patch_checking_package", wrong_mse_and(PATCH_CHECKING), mse),
        Attack("always_equal_object", lambda nb: append_to(nb, "mse", ALWAYS_EQUAL), mse),
        Attack("ndarray_subclass", lambda nb: append_to(nb, "mse", NDARRAY_SUBCLASS), mse),
        Attack("hard_coded_visible_answers", lambda nb: append_to(nb, "mse", HARD_CODED), mse),
        Attack("torch_inside_numpy", lambda nb: append_to(nb, "mse", TORCH_INSIDE), mse),
        Attack("fake_pass_traceback_display", wrong_mse_and(FAKE_PASS, where="setup"), mse),
        Attack("edit_test_cell", _edit_test, mse),
        Attack("delete_test_cell", _delete_test, mse),
        Attack("duplicate_test_cell", _duplicate_test, mse),
        Attack("retype_test_cell", _retype_test, mse),
        Attack("strip_test_metadata", _strip_metadata, mse),
        Attack("read_secrets_from_disk", wrong_mse_and(READ_SECRETS.format(repo=str(REPO), course=course)), mse,
               landlock=1),
        Attack("infinite_loop", _in_body("quantile_loss_backward", "while True:\n        pass"), frozenset({Q_B})),
        Attack("loop_ignoring_interrupt", _in_body(
            "log_cosh_loss_backward", "import signal, time\n    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                      "    while True:\n        time.sleep(0.1)"), frozenset({LC_B, Q_F, Q_B})),
        Attack("kernel_exit", _in_body("mae_loss", "import os\n    os._exit(0)"),
               frozenset({MAE_F, MAE_B} | AFTER_MAE)),
        Attack("segfault", _in_body("huber_loss", "import ctypes\n    ctypes.string_at(0)"),
               frozenset(AFTER_MAE)),
        Attack("memory_bomb", _in_body("log_cosh_loss_backward", "hog = []\n    while True:\n"
                                                                  "        hog.append(np.ones(1 << 24))"),
               frozenset({LC_B})),
        Attack("print_flood", _print_flood, frozenset()),
        Attack("kill_the_grader", wrong_mse_and("import os, signal\nfor pid in (os.getppid(), 1):\n    try:\n"
                                                "        os.kill(pid, signal.SIGKILL)\n    except OSError as err:\n"
                                                "        print(err)\n"), mse, landlock=6),
        Attack("background_process", wrong_mse_and(
            "import subprocess\nsubprocess.Popen(['sleep', '613'], start_new_session=True)\n"), mse),
    ]
