"""Finding students' submissions and copying them into a course directory.

Two layouts are accepted:

- nbgrader's: ``DIR/<student>/<assignment>/<anything>.ipynb``;
- flat: ``DIR/<student>.ipynb``, one notebook per student.

Submissions are copied, never moved: the instructor's originals stay untouched.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from .course import Assignment, Course


@dataclass(frozen=True)
class Submission:
    """One student's notebook for one assignment (``notebook`` is None when missing)."""

    student: str
    notebook: Path | None


def find(folder: Path, assignment: str) -> list[Submission]:
    """The submissions in ``folder`` for ``assignment``, sorted by student."""
    if not folder.is_dir():
        raise FileNotFoundError(f"no such folder of submissions: {folder}")
    flat = sorted(folder.glob("*.ipynb"))
    if flat:
        return [Submission(p.stem, p) for p in flat]
    found = []
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        notebooks = sorted((student_dir / assignment).glob("*.ipynb"))
        found.append(Submission(student_dir.name, notebooks[0] if notebooks else None))
    return found


def install(submission: Submission, course: Course, assignment: Assignment) -> Path:
    """Copy a submission to where nbgrader reads it: ``<submitted>/<student>/<assignment>/<notebook name>``."""
    target = course.submitted_notebook(assignment, submission.student)
    if submission.notebook is None:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    if submission.notebook.resolve() != target.resolve():
        shutil.copyfile(submission.notebook, target)
    return target


def digest(submission: Submission, assignment: Assignment) -> str:
    """A fingerprint of the submitted notebook and of the assignment's source notebook (its digest,
    read once per batch): grading is skipped on resume only when neither changed."""
    sha = hashlib.sha256(bytes.fromhex(assignment.digest))
    if submission.notebook is not None and submission.notebook.is_file():
        sha.update(submission.notebook.read_bytes())
    return sha.hexdigest()[:32]
