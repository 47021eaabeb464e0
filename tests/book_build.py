"""Building the whole book for the tests (the build is shared: see the `book_build` fixture)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class BookBuild:
    """A strict build of the whole book: `root` was passed as `--path-output`, the site is `html`."""

    root: Path
    html: Path
    log: str


def build_book(output: Path) -> str:
    """Build the book strictly (-W -n --keep-going) into `output`/_build; return the log."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    proc = subprocess.run([str(jupyter_book), "build", str(REPO), "--path-output", str(output),
                           "--warningiserror", "--nitpick", "--keep-going"],
                          capture_output=True, text=True, cwd=REPO)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"book build failed:\n{log[-6000:]}"
    return log


