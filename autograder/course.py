"""Course directories: where nbgrader keeps a term's gradebook, submissions and feedback.

The default course directory is ``autograder/`` itself. Any other folder becomes one the
first time the CLI uses it: it gets an ``nbgrader_config.py`` that loads the course's
configuration and sets its own root, so plain ``nbgrader`` commands work there too.

A :class:`Course` resolves a course directory once: its configuration, nbgrader's
``CourseDirectory`` and API, the gradebook's URL and its folders. :meth:`Course.assignment`
resolves an assignment once: its source notebook and that notebook's digest. Everything
below the CLI takes these two values, never a bare path or name.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

PACKAGE = Path(__file__).resolve().parent
REPO = PACKAGE.parent
SOLUTIONS = REPO / "solutions"
EXERCISES = REPO / "book" / "exercises"
DEFAULT_COURSE = PACKAGE
CONFIG_NAME = "nbgrader_config.py"

_LOCAL_CONFIG = '''"""nbgrader course directory made by `python -m autograder`: the course's config, this root."""
c = get_config()  # noqa: F821
load_subconfig({config!r})  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.release_directory = "release"
c.Exchange.root = {exchange!r}
'''


@dataclass(frozen=True)
class Assignment:
    """One assignment of a course: its name and its one source notebook (solutions and hidden tests).

    ``digest`` is the SHA-256 of the source notebook's bytes (hex), read once: a submission graded
    against another version of the assignment is graded again on resume (``submissions.digest``).
    """

    name: str
    source: Path
    digest: str

    @property
    def notebook_name(self) -> str:
        """The file name every copy of the notebook has (submitted, autograded, released)."""
        return self.source.name

    @classmethod
    def find(cls, source_directory: Path, name: str) -> Assignment:
        """The assignment ``name`` whose notebook is the one ``*.ipynb`` in ``source_directory/name``."""
        notebooks = sorted((source_directory / name).glob("*.ipynb"))
        if len(notebooks) != 1:
            raise FileNotFoundError(f"{source_directory / name} must hold exactly one notebook, "
                                    f"found {len(notebooks)}")
        return cls(name, notebooks[0], hashlib.sha256(notebooks[0].read_bytes()).hexdigest())


class Course:
    """A course directory, resolved once: configuration, ``CourseDirectory``, API, gradebook URL, folders.

    ``Course(root)`` makes ``root`` a course directory when it is not one yet (see :func:`prepare`)
    and loads the configuration nbgrader would load there. ``Course(root, config)`` takes a
    configuration given as data instead (a cluster worker's private course); ``root`` must exist.
    """

    def __init__(self, root: Path, config: Config | None = None) -> None:
        self.root = prepare(root) if config is None else root.resolve()
        self.config = load_config(self.root) if config is None else config
        self.coursedir = CourseDirectory(config=self.config)
        self.db_url: str = self.coursedir.db_url
        self.submitted = self._folder(self.coursedir.submitted_directory)
        self.autograded = self._folder(self.coursedir.autograded_directory)
        self.released = self._folder(self.coursedir.release_directory)
        self.source = self._folder(self.coursedir.source_directory)
        self.feedback = self._folder(self.coursedir.feedback_directory)

    def __reduce__(self) -> tuple:
        """Pickled as its root and configuration (a worker process resolves it again)."""
        return Course, (self.root, self.config)

    def __repr__(self) -> str:
        return f"Course({str(self.root)!r})"

    def _folder(self, name: str) -> Path:
        """One of nbgrader's course folders (a name relative to the root, or an absolute path)."""
        return Path(self.coursedir.root) / name

    @cached_property
    def api(self) -> NbGraderAPI:
        """nbgrader's API on this course, configured as plain ``nbgrader`` would be here."""
        return NbGraderAPI(coursedir=self.coursedir, config=self.config)

    def assignment(self, name: str) -> Assignment:
        """The assignment ``name`` of this course, from its source folder."""
        return Assignment.find(self.source, name)

    def submitted_notebook(self, assignment: Assignment, student: str) -> Path:
        """Where nbgrader reads a student's submission of ``assignment``."""
        return self.submitted / student / assignment.name / assignment.notebook_name

    def autograded_notebook(self, assignment: Assignment, student: str) -> Path:
        """Where nbgrader writes a student's autograded notebook of ``assignment``."""
        return self.autograded / student / assignment.name / assignment.notebook_name

    def settings(self) -> dict[str, dict]:
        """The configuration as plain data, section -> {trait: value} (what a cluster job carries)."""
        return {section: dict(values) for section, values in self.config.items() if isinstance(values, dict)}


def assignments() -> list[str]:
    """Assignment names: the folders of ``solutions/`` that hold a notebook."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def source_notebook(assignment: str) -> Path:
    """The repository's source notebook of an assignment (``solutions/``), for the release and
    student-side tests; grading reads it through :meth:`Course.assignment`."""
    return Assignment.find(SOLUTIONS, assignment).source


def prepare(course: Path) -> Path:
    """Make ``course`` a course directory (config file included) and return its absolute path."""
    course = course.resolve()
    course.mkdir(parents=True, exist_ok=True)
    config = course / CONFIG_NAME
    if course != DEFAULT_COURSE and not config.exists():
        config.write_text(_LOCAL_CONFIG.format(config=str(PACKAGE / CONFIG_NAME), root=str(course),
                                               exchange=str(course / "exchange")))
    _ensure_tools_on_path()
    return course


def load_config(course: Path) -> Config:
    """The traitlets configuration nbgrader would load in ``course``."""
    return PyFileConfigLoader(CONFIG_NAME, path=str(course)).load_config()


def last_line(text: str) -> str:
    """The last non-empty line of an error text (nbgrader's logs end with the cause), at most 200 characters."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:200] if lines else "unknown error"


def _ensure_tools_on_path() -> None:
    """nbgrader runs ``alembic`` from PATH; make the interpreter's own scripts come first."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
