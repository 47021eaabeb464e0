"""The whole book builds strictly (warnings are errors), every page executes, and a second
build with nothing changed re-executes nothing (Jupyter Book's cache)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
JUPYTER_BOOK = Path(sys.executable).parent / "jupyter-book"


def _build(output: Path) -> str:
    proc = subprocess.run([str(JUPYTER_BOOK), "build", str(REPO), "--path-output", str(output),
                           "--warningiserror", "--nitpick", "--keep-going"],
                          capture_output=True, text=True, cwd=REPO)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"book build failed:\n{log[-6000:]}"
    return log


def _toc_files() -> list[str]:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("parts"))
    return files


@pytest.mark.xdist_group("book")
def test_book_builds_strictly_and_caches_execution(tmp_path):
    log = _build(tmp_path)
    html = tmp_path / "_build" / "html"
    for doc in _toc_files():
        page = html / f"{doc}.html"
        assert page.exists(), f"{doc} missing from the site"
    executed = set(re.findall(r"(\S+\.md): Executed notebook", log))
    pages = [doc for doc in _toc_files() if (REPO / f"{doc}.md").exists()]
    code_pages = [doc for doc in pages if "{code-cell}" in (REPO / f"{doc}.md").read_text()]
    assert {str(REPO / f"{doc}.md") for doc in code_pages} <= executed
    for doc in code_pages:       # every executed page shows its checks' printed evidence
        assert "checked:" in (html / f"{doc}.html").read_text() or "<img" in (html / f"{doc}.html").read_text()
    exercises = [doc for doc in _toc_files() if doc.startswith("book/exercises/")]
    assert exercises, "the released exercises are on the site"
    for doc in exercises:        # shown as the student gets them: unexecuted, with the stub
        assert "NotImplementedError" in (html / f"{doc}.html").read_text()

    second = _build(tmp_path)
    assert "Executing notebook" not in second, "a rebuild with nothing changed re-executed a page"
