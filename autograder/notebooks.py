"""Reading notebooks safely and building test submissions from the source notebooks."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path

import nbformat
from nbformat import NotebookNode


class NotebookError(ValueError):
    """A file that is not a usable notebook; the message is one line for the grades table."""


def read_notebook(path: Path) -> NotebookNode:
    """Read and validate a notebook, or raise :class:`NotebookError` saying why not."""
    try:
        nb = nbformat.read(path, as_version=4)
    except FileNotFoundError:
        raise NotebookError(f"missing notebook: {path.name}") from None
    except Exception as err:  # noqa: BLE001 - any parse failure becomes a recorded one-line error
        raise NotebookError(f"{path.name} is not a valid notebook ({type(err).__name__}: "
                            f"{str(err).splitlines()[0][:160] if str(err) else ''})") from None
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as err:
        raise NotebookError(f"{path.name} is not a valid notebook ({err.message[:160]})") from None
    return nb


def grade_id(cell: NotebookNode) -> str | None:
    """The nbgrader id of a cell, or None for an ordinary cell."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def is_solution(cell: NotebookNode) -> bool:
    """Whether nbgrader treats the cell as a student's answer."""
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def fill_solutions(release: NotebookNode, source: NotebookNode,
                   only: Collection[str] | None = None) -> NotebookNode:
    """A copy of the released notebook with answer cells taken from the source notebook.

    ``only`` restricts which answers (by grade id) are filled; the rest stay stubs. This
    is what a student who solved exactly those exercises would submit.
    """
    answers = {grade_id(c): c.source for c in source.cells if is_solution(c)}
    filled = nbformat.from_dict(release)
    for cell in filled.cells:
        gid = grade_id(cell)
        if is_solution(cell) and gid in answers and (only is None or gid in only):
            cell.source = answers[gid]
    return filled


def with_answers(nb: NotebookNode, answers: Mapping[str, str]) -> NotebookNode:
    """A copy of ``nb`` whose answer cells named in ``answers`` (grade id -> code) hold that code."""
    edited = nbformat.from_dict(nb)
    for cell in edited.cells:
        if grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return edited
