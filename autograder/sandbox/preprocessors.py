"""nbgrader preprocessors: the submission's structure restored from the gradebook, and sandboxed execution.

``nbgrader_config.py`` puts :class:`RestoreStructure` in ``Autograde.sanitize_preprocessors``
and :class:`SandboxedExecute` in place of nbgrader's ``Execute``, so plain ``nbgrader
autograde`` grades the same way as ``python -m autograder autograde``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float, Int, Unicode

from ..gradebook import released
from ..notebooks import grade_id
from .client import KernelGone, Limits, SandboxKernel
from .runner import AssignmentCells, NotebookRun, RunReport, error_output

MAX_SUPPORT_FILE = 16 << 20


@dataclass(frozen=True)
class _Known:
    """The gradebook's cells of one notebook: sources by name, points, answer and task names."""

    sources: dict[str, dict]
    points: dict[str, float]
    answers: frozenset[str]
    tasks: frozenset[str]

    @property
    def tests(self) -> dict[str, str]:
        """Autograded test cells: graded code cells that are not answers."""
        return {g: s["source"] for g, s in self.sources.items()
                if g in self.points and g not in self.answers | self.tasks and s["cell_type"] == "code"}

    @property
    def instructor(self) -> dict[str, str]:
        """Locked code cells that are neither graded nor answers (imports, data)."""
        return {g: s["source"] for g, s in self.sources.items()
                if s["locked"] and s["cell_type"] == "code" and g not in self.points and g not in self.answers}


def _known_cells(resources: ResourcesDict) -> _Known:
    info = resources["nbgrader"]
    with Gradebook(info["db_url"]) as gb:
        nb = gb.find_notebook(info["notebook"], info["assignment"])
        return _Known({c.name: {"cell_type": c.cell_type, "locked": bool(c.locked), "source": c.source}
                       for c in nb.source_cells},
                      {c.name: float(c.max_score) for c in [*nb.grade_cells, *nb.task_cells]},
                      frozenset(c.name for c in nb.solution_cells), frozenset(c.name for c in nb.task_cells))


def _set_cell_type(cell: NotebookNode, cell_type: str) -> None:
    if cell.cell_type == cell_type:
        return
    cell.cell_type = cell_type
    if cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


class RestoreStructure(NbGraderPreprocessor):
    """Make every gradebook cell in the submission exactly what the gradebook says.

    A cell whose grade id the gradebook does not know, or that repeats an id, loses its
    nbgrader metadata (it becomes an ordinary student cell). A known cell gets the
    gradebook's type, flags and points, and its source when locked. A test cell or an
    instructor code cell missing from the submission is put back (instructor cells first,
    tests at the end, where every answer is defined), so deleting a test grades it anyway.
    """

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        known = _known_cells(resources)
        seen = set()
        for cell in nb.cells:
            if "nbgrader" not in cell.get("metadata", {}):
                continue
            gid = grade_id(cell)
            if gid not in known.sources or gid in seen:
                del cell.metadata["nbgrader"]
                continue
            seen.add(gid)
            self._canonical(cell, gid, known)
        front = [self._new_cell(g, known) for g in known.instructor if g not in seen]
        back = [self._new_cell(g, known) for g in known.tests if g not in seen]
        if front or back:
            self.log.warning("restored cells missing from the submission: %s",
                             ", ".join(grade_id(c) for c in front + back))
        nb.cells = front + nb.cells + back
        return nb, resources

    @staticmethod
    def _canonical(cell: NotebookNode, gid: str, known: _Known) -> None:
        source = known.sources[gid]
        meta = {"grade": gid in known.points and gid not in known.tasks, "grade_id": gid,
                "locked": source["locked"], "schema_version": 3, "solution": gid in known.answers,
                "task": gid in known.tasks}
        if gid in known.points:
            meta["points"] = known.points[gid]
        cell.metadata["nbgrader"] = meta
        _set_cell_type(cell, source["cell_type"])
        if source["locked"]:
            cell.source = source["source"]

    def _new_cell(self, gid: str, known: _Known) -> NotebookNode:
        cell = new_code_cell(known.sources[gid]["source"])
        self._canonical(cell, gid, known)
        cell.metadata.update({"deletable": False, "editable": False})
        return cell


class SandboxedExecute(NbGraderPreprocessor):
    """Run the notebook: student code in a confined kernel process, tests in this process."""

    # one trait per configurable field of Limits, of the same name (c.SandboxedExecute.timeout_s = 60)
    timeout_s = Float(Limits.timeout_s, help="Seconds a cell may run before it is stopped (and scores 0).").tag(
        config=True)
    budget_s = Float(Limits.budget_s, help="Seconds a whole submission may run: after them, its remaining cells are "
                                         "not run and score 0 (the reason is recorded), so that a submission whose "
                                         "functions never return costs minutes, not the timeout of every cell."
                   ).tag(config=True)
    memory_mb = Int(Limits.memory_mb, help="Address-space limit of the kernel process, MiB.").tag(config=True)
    cpu_s = Int(Limits.cpu_s, help="CPU-time limit of the kernel process, seconds.").tag(config=True)
    file_mb = Int(Limits.file_mb, help="Largest file the kernel may write, MiB.").tag(config=True)
    output_chars = Int(Limits.output_chars, help="Characters of output kept per cell.").tag(config=True)
    reply_mb = Int(Limits.reply_mb, help="Largest value (its array data, MiB) a student function may return to "
                                         "the tests.").tag(config=True)
    calls_ahead = Bool(Limits.calls_ahead, help="Make an optimiser step function's calls ahead in the kernel, "
                                                "their replies streamed while the grader checks them: the same "
                                                "calls and results as one call per step, in less time.").tag(
        config=True)
    gradebook_lock_fd = Int(-1, help="File descriptor of the gradebook lock the batch grader holds "
                                     "(autograder.gradebook.exclusive); released while the submission runs. -1: none."
                            ).tag(config=True)
    report_file = Unicode("", help="A file to write the run's report to (JSON: the incidents, one line each, and "
                                   "the Landlock ABI; see read_report); the batch grader sets it in its copy of "
                                   "the configuration for each submission. Empty: none.").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        known = _known_cells(resources)
        cells = AssignmentCells(tests=known.tests, instructor=known.instructor)
        limits = Limits(**{name: getattr(self, name) for name in LIMIT_TRAITS})
        workdir = Path(tempfile.mkdtemp(prefix="autograde-"))
        report = RunReport()
        try:
            _copy_support_files(Path(resources.get("metadata", {}).get("path") or "."), workdir)
            with released(self.gradebook_lock_fd):
                try:
                    with SandboxKernel(workdir / "home", limits) as kernel:
                        report = NotebookRun(kernel, cells).run(nb)
                except KernelGone as err:
                    report.incidents.append(f"no kernel: {err}")
                    for cell in nb.cells:
                        if grade_id(cell) in cells.tests:
                            cell.outputs = [error_output("NotRun", f"not run: {err}")]
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if not report.landlock_abi:
            self.log.warning("Landlock is unavailable: submissions were not confined to their working "
                             "directory (they could read files by absolute path)")
        for incident in report.incidents:
            self.log.warning("%s", incident)
        if self.report_file:
            Path(self.report_file).write_text(json.dumps(asdict(report)))
        return nb, resources


LIMIT_TRAITS = tuple(f.name for f in fields(Limits) if f.name in SandboxedExecute.class_trait_names(config=True))


def read_report(path: Path) -> RunReport:
    """The report :class:`SandboxedExecute` wrote to ``path`` (an empty one when it wrote none)."""
    return RunReport(**json.loads(path.read_text())) if path.exists() else RunReport()


def _copy_support_files(notebook_dir: Path, workdir: Path) -> None:
    """Copy the assignment's data files (not notebooks) next to the kernel, as nbgrader's cwd had them."""
    home = workdir / "home"
    home.mkdir(parents=True)
    if not notebook_dir.is_dir():
        return
    for path in notebook_dir.iterdir():
        if path.is_file() and not path.is_symlink() and path.suffix != ".ipynb" \
                and path.stat().st_size <= MAX_SUPPORT_FILE:
            shutil.copyfile(path, home / path.name)
