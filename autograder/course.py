"""Course directories: where nbgrader keeps a term's gradebook, submissions and feedback.

The default course directory is ``autograder/`` itself. Any other folder becomes one the
first time the CLI uses it: it gets an ``nbgrader_config.py`` that loads the course's
configuration and sets its own root, so plain ``nbgrader`` commands work there too.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

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


def assignments() -> list[str]:
    """Assignment names: the folders of ``solutions/`` that hold a notebook."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def source_notebook(assignment: str) -> Path:
    """The one source notebook of an assignment (solutions and hidden tests)."""
    notebooks = sorted((SOLUTIONS / assignment).glob("*.ipynb"))
    if len(notebooks) != 1:
        raise FileNotFoundError(f"solutions/{assignment}/ must hold exactly one notebook, found {len(notebooks)}")
    return notebooks[0]


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


def gradebook_url(course: Path) -> str:
    """The database URL of ``course``'s gradebook, as nbgrader configured there finds it."""
    from nbgrader.coursedir import CourseDirectory

    return CourseDirectory(config=load_config(course)).db_url


def last_line(text: str) -> str:
    """The last non-empty line of an error text (nbgrader's logs end with the cause), at most 200 characters."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:200] if lines else "unknown error"


def _ensure_tools_on_path() -> None:
    """nbgrader runs ``alembic`` from PATH; make the interpreter's own scripts come first."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
