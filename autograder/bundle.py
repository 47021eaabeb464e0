"""What a student receives besides the book: an exercise's zip bundle, and the install line when there is one.

- The **bundle** of an assignment is a flat zip: its released notebook next to the package
  ``lossbook_checks`` (every module, and the recorded reference values of this assignment only).
  Unzipped anywhere, the notebook's visible tests run with numpy alone. The site offers it on the
  exercise's page (``_ext/course_site.py`` writes ``_downloads/bundles/<assignment>.zip``).
- The **install line** exists only when the course repository's URL is set (``repository.url`` in
  ``_config.yml``): ``%pip install "lossbook-checks @ git+<url>"``. Then the release step adds it to
  the notebook's set-up text, and the site to the exercise's page. Unset, nothing names a repository.
"""

from __future__ import annotations

import copy
import io
import zipfile
from pathlib import Path

import nbformat
import yaml
from nbformat import NotebookNode

import lossbook_checks

from . import course as course_dir
from .notebooks import grade_id, read_notebook

PACKAGE = Path(lossbook_checks.__file__).resolve().parent
CONFIG = course_dir.REPO / "_config.yml"
#: The sentence of every notebook's set-up text after which the install line goes.
SETUP_ANCHOR = "gives every way."


def repository_url(config: Path = CONFIG) -> str:
    """``repository.url`` of the book's ``_config.yml``, or ``""``."""
    settings = yaml.safe_load(config.read_text()) or {}
    return str((settings.get("repository") or {}).get("url") or "").strip()


def install_line(url: str) -> str:
    """The line that installs the package from the course repository at ``url``."""
    return f'%pip install "lossbook-checks @ git+{url}"'


def with_install_line(nb: NotebookNode, url: str) -> NotebookNode:
    """``nb`` with the install line in its introduction's set-up text (unchanged when ``url`` is empty)."""
    if not url:
        return nb
    nb = copy.deepcopy(nb)
    intro = next(cell for cell in nb.cells if grade_id(cell) == "intro")
    addition = (f" Or install the package where the notebook runs, in a cell: `{install_line(url)}`, "
                "then restart the kernel.")
    if install_line(url) not in intro.source:
        intro.source = intro.source.replace(SETUP_ANCHOR, SETUP_ANCHOR + addition, 1) if SETUP_ANCHOR in \
            intro.source else intro.source + "\n\n" + addition.strip()
    return nb


def package_files(assignment: str) -> dict[str, Path]:
    """The package's files a bundle holds, by their path in the zip: every module, this assignment's record."""
    files = {f"lossbook_checks/{path.relative_to(PACKAGE).as_posix()}": path
             for path in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in path.parts}
    record = PACKAGE / "recorded" / f"{assignment}.json"
    files[f"lossbook_checks/recorded/{assignment}.json"] = record
    return files


def bundle(assignment: str, url: str = "") -> bytes:
    """The zip bundle of ``assignment``: the released notebook (with the install line when ``url`` is set)
    and the package, side by side at the top of the zip."""
    name = course_dir.source_notebook(assignment).name
    notebook = with_install_line(read_notebook(course_dir.EXERCISES / assignment / name), url)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, nbformat.writes(notebook))
        for arcname, path in package_files(assignment).items():
            archive.writestr(zipfile.ZipInfo(arcname, date_time=(2026, 1, 1, 0, 0, 0)), path.read_bytes(),
                             compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def write_bundles(folder: Path, url: str = "") -> list[Path]:
    """Write ``<assignment>.zip`` for every assignment into ``folder``; the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for assignment in course_dir.assignments():
        path = folder / f"{assignment}.zip"
        path.write_bytes(bundle(assignment, url))
        paths.append(path)
    return paths
