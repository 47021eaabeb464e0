"""Executing a submitted notebook: student cells in the sandboxed kernel, test cells in the grader.

Which cell is what comes from the gradebook, never from the submission's metadata:

- **test cells** (autograded grade cells): their source, from the gradebook, runs *here*, in a
  namespace built by the instructor's locked cells, where the checking package, numpy and
  torch are the grader's own. Each name the test uses that the grader does not define is
  looked up in the kernel: a student function becomes a :class:`~.client.RemoteFunction`
  (its results arrive as plain data), a student value is copied as data.
- **instructor cells** (locked, not graded, not answers): run in both places, so that the
  student's code sees the same imports and data as the tests.
- every other code cell (answers, cells the student added): in the kernel only.
- a code cell after the last test cell (no grade depends on it): nowhere; its output says so.

A test cell passes only by running to its end here. One that fails, times out, or cannot
run because the kernel died gets an ``error`` output, so nbgrader scores it 0.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import symtable
import time
from dataclasses import dataclass, field

from nbformat import NotebookNode
from nbformat.v4 import new_output

from lossbook_checks.checking.failure import CheckFailure

from ..notebooks import grade_id
from .client import CellTimeout, KernelGone, SandboxKernel
from .protocol import BoundedText

BUILTIN_NAMES = frozenset(dir(builtins))
NOT_RUN_AFTER_TESTS = ("[not run when grading: no test cell follows this cell, so no grade depends on it; "
                       "run it yourself in Jupyter]\n")


@dataclass(frozen=True)
class AssignmentCells:
    """The trusted sources of one notebook: test cells and instructor cells by grade id."""

    tests: dict[str, str]
    instructor: dict[str, str]


@dataclass
class RunReport:
    """What went wrong while running a notebook, in lines for the instructor (empty: nothing)."""

    incidents: list[str] = field(default_factory=list)
    landlock_abi: int = 0


def bound_names(source: str) -> set[str]:
    """Names a cell binds at its top level (none when it does not parse)."""
    try:
        table = symtable.symtable(source, "<cell>", "exec")
    except SyntaxError:
        return set()
    return {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}


def free_names(source: str) -> set[str]:
    """Names a cell reads without binding them anywhere in it (builtins excluded)."""
    loaded, bound = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return loaded - bound - BUILTIN_NAMES


def error_output(ename: str, evalue: str, lines: list[str] | None = None) -> NotebookNode:
    """An ``error`` output (nbgrader scores its cell 0); ``lines`` replace the traceback (never test source)."""
    return new_output("error", ename=ename, evalue=evalue, traceback=lines or [f"{ename}: {evalue}"])


def _stream(text: str) -> list[NotebookNode]:
    return [new_output("stream", name="stdout", text=text)] if text else []


class NotebookRun:
    """One run of one notebook against one kernel (see the module docstring)."""

    def __init__(self, kernel: SandboxKernel, cells: AssignmentCells) -> None:
        self.kernel, self.cells = kernel, cells
        self.namespace: dict = {"__name__": "__main__", "__builtins__": builtins}
        self.remote: set[str] = set()
        # a name the instructor's cells define is never taken from the submission, even when
        # such a cell failed in the grader (the tests then fail with a NameError instead)
        self.reserved = set().union(*(bound_names(source) for source in cells.instructor.values()))
        self.report = RunReport(landlock_abi=kernel.landlock_abi)
        self.last_student_error = ""
        self.not_run = 0
        self.budget_ends = time.monotonic() + kernel.limits.budget_s
        self.out_of_time = ""  # set when the submission's time budget has run out: nothing more runs

    def _start_clock(self) -> None:
        """The kernel's deadline for the next request: the cell's timeout, or the submission's budget if sooner."""
        now = time.monotonic()
        cell_ends = now + self.kernel.limits.timeout_s
        self.kernel.deadline = min(cell_ends, self.budget_ends)
        self.kernel.deadline_reason = "" if cell_ends <= self.budget_ends else \
            f"the submission ran past its time budget of {self.kernel.limits.budget_s:g} s"

    def _stopped(self) -> str:
        """Why nothing more runs (the kernel died, or the time budget ran out), or "" when cells still run."""
        if not self.out_of_time and time.monotonic() >= self.budget_ends:
            self.out_of_time = f"the submission ran past its time budget of {self.kernel.limits.budget_s:g} s"
            self.report.incidents.append(self.out_of_time)
        return self.kernel.gone or self.out_of_time

    def run(self, nb: NotebookNode) -> RunReport:
        """Execute every code cell of ``nb`` in order, replacing its outputs, up to the last test cell: no
        grade depends on a cell after it (such as the ungraded "use what you built" cell that ends each
        exercise), which gets a line saying so instead."""
        count = 0
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        last_test = max((i for i, cell in enumerate(code) if grade_id(cell) in self.cells.tests), default=-1)
        for cell in code:
            count += 1
            cell.execution_count = count
            gid = grade_id(cell)
            if gid in self.cells.instructor:
                cell.source = self.cells.instructor[gid]
            if count - 1 > last_test:
                cell.outputs = _stream(NOT_RUN_AFTER_TESTS)
            elif gid in self.cells.tests:
                cell.source = self.cells.tests[gid]
                cell.outputs = self.run_test(gid, cell.source)
            elif gid in self.cells.instructor:
                self.run_trusted(gid, cell.source)
                cell.outputs = self.run_in_kernel(cell.source, gid)
            else:
                cell.outputs = self.run_in_kernel(cell.source, gid or f"cell {count}")
        if self.not_run:
            self.report.incidents.append(f"{self.not_run} later test cell(s) not run: scored 0")
        return self.report

    def run_in_kernel(self, source: str, name: str) -> list[NotebookNode]:
        """A cell in the kernel: its printed output and its error, if any."""
        if self._stopped():
            return [error_output("NotRun", f"not run: {self._stopped()}")]
        self._start_clock()
        try:
            result = self.kernel.execute(source)
        except CellTimeout as err:
            self.report.incidents.append(f"{name}: {err}")
            return [error_output("Timeout", str(err))]
        except KernelGone as err:
            self.report.incidents.append(f"{name}: {err}")
            return [error_output("KernelDied", str(err))]
        finally:
            self.kernel.deadline = None
        outputs = _stream(result["stdout"])
        for err in result["errors"]:
            self.last_student_error = f"{err['ename']}: {err['evalue']}".splitlines()[0][:200]
            outputs.append(error_output(err["ename"], err["evalue"], err["traceback"]))
        return outputs

    def run_trusted(self, name: str, source: str) -> None:
        """An instructor cell in the grader's namespace (its output is not shown)."""
        if self._stopped():
            return
        sink = BoundedText(1000)
        self._start_clock()
        try:
            self._bind_student_names(source)
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                exec(compile(source, f"<{name}>", "exec"), self.namespace)  # noqa: S102 - instructor code
        except (Exception, CellTimeout, KernelGone) as err:  # noqa: BLE001 - recorded; the tests then fail
            self.report.incidents.append(f"{name} (instructor cell) failed in the grader: "
                                         f"{type(err).__name__}: {err}")
        finally:
            self.kernel.deadline = None

    def _bind_student_names(self, source: str) -> None:
        for name in self.remote:
            self.namespace.pop(name, None)
        wanted = sorted(free_names(source) - set(self.namespace) - self.reserved)
        found = self.kernel.resolve(wanted) if wanted else {}
        self.namespace.update(found)
        self.remote = set(found)

    def run_test(self, gid: str, source: str) -> list[NotebookNode]:
        """A test cell in the grader: passes only by running to its end."""
        if self._stopped():
            self.not_run += 1
            return [error_output("NotRun", f"not run: {self._stopped()}")]
        out = BoundedText(self.kernel.limits.output_chars)
        self._start_clock()
        error = None
        try:
            self._bind_student_names(source)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                exec(compile(source, f"<{gid}>", "exec"), self.namespace)  # noqa: S102 - trusted test source
        except CheckFailure as err:
            error = error_output(type(err).__name__, str(err), err._render_traceback_())
        except NameError as err:
            hint = f" (an earlier cell failed: {self.last_student_error})" if self.last_student_error else ""
            error = error_output("NameError", f"{err}{hint}")
        except (CellTimeout, KernelGone) as err:
            self.report.incidents.append(f"{gid}: {err}")
            error = error_output("Timeout" if isinstance(err, CellTimeout) else "KernelDied", str(err))
        except Exception as err:  # noqa: BLE001 - any failure of a test is a failed test, shown without source
            error = error_output(type(err).__name__, str(err)[:2000])
        finally:
            self.kernel.deadline = None
        return _stream(out.text()) + ([error] if error is not None else [])
