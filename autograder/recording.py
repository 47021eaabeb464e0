"""The reference values that the released notebooks' visible tests take from torch, recorded for the package.

``python -m autograder release`` calls :func:`record_release` after it writes each student notebook:
the released notebook (no hidden tests), its answer cells filled with the solutions, runs here, in
this process, with torch, on the CPU, inside :func:`lossbook_checks.checking.record.recording`;
every value a check took from torch goes to ``lossbook_checks/recorded/<assignment>.json``, package
data that the checks read where torch is missing (see that module).
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
from typing import Any

import torch
from nbformat import NotebookNode

from lossbook_checks.checking import record

from . import course as course_dir
from .notebooks import fill_solutions, grade_id, read_notebook


def released_with_solutions(assignment: str) -> NotebookNode:
    """The committed student notebook of ``assignment`` with its answer cells solved."""
    name = course_dir.source_notebook(assignment).name
    released = read_notebook(course_dir.EXERCISES / assignment / name)
    return fill_solutions(released, read_notebook(course_dir.source_notebook(assignment)))


def run_cells(nb: NotebookNode, folder: Path) -> None:
    """Execute the code cells of ``nb`` in one namespace, in ``folder``, printing nothing; a failing cell raises."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    here = Path.cwd()
    os.chdir(folder)
    try:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            with contextlib.redirect_stdout(io.StringIO()):
                try:
                    exec(compile(cell.source, f"<cell {grade_id(cell) or ''}>", "exec"), namespace)  # noqa: S102
                except Exception as err:
                    raise RuntimeError(f"cell {grade_id(cell)!r} failed while recording: {err}") from err
    finally:
        os.chdir(here)


def recorded_values(nb: NotebookNode, folder: Path) -> dict[str, dict[str, Any]]:
    """Every reference value that running ``nb`` (in ``folder``) takes from torch, keyed as the record is."""
    with record.recording() as values:
        run_cells(nb, folder)
    return dict(values)


def record_release(assignment: str, out: Path = record.RECORDED) -> Path:
    """Record the visible tests' reference values of ``assignment`` into ``out/<assignment>.json``."""
    if not record.live():
        raise RuntimeError("recording needs torch (and LOSSBOOK_CHECKS_RECORDED unset)")
    values = recorded_values(released_with_solutions(assignment), course_dir.EXERCISES / assignment)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{assignment}.json"
    record.write(path, values, torch.__version__)
    return path
