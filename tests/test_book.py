"""The whole book builds strictly (warnings are errors), every page executes, and a second
build with nothing changed re-executes nothing (Jupyter Book's cache)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from book_build import build_book

REPO = Path(__file__).resolve().parent.parent


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
def test_book_builds_strictly_and_caches_execution(book_build):
    log, html = book_build.log, book_build.html
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

    second = build_book(book_build.root)
    assert "Executing notebook" not in second, "a rebuild with nothing changed re-executed a page"


def _numbered_parts() -> list[list[str]]:
    """Each numbered part of _toc.yml as [chapter index, its sections...] (docnames)."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    return [[chapter["file"]] + [s["file"] for s in chapter.get("sections", [])]
            for part in toc["parts"] if part.get("numbered") for chapter in part["chapters"]]


@pytest.mark.xdist_group("book")
def test_sidebar_numbers_chapters_as_the_course_map(book_build):
    sidebar = (book_build.html / "book" / "index.html").read_text()
    shown: dict[str, str] = {}
    for href, number in re.findall(r'<a class="reference internal" href="([^"#]+)">(?:(\d[\d.]*)\. )?.*?</a>', sidebar):
        shown.setdefault(href.removesuffix(".html"), number)  # the sidebar's link comes first; the page's own later
    parts = _numbered_parts()
    chapters = [docs[0].split("/")[1] for docs in parts]
    assert chapters[:4] == ["likelihood", "regression", "classification", "backprop"], chapters
    assert not shown["introduction/index"] and not shown["bibliography"], "chapter 0 and references: no number"
    for k, docs in enumerate(parts, start=1):
        assert docs[-1].startswith("book/exercises/"), f"chapter {k}: the exercise is the last section"
        numbers = [shown[doc.removeprefix("book/")] for doc in docs]
        assert numbers == [str(k)] + [f"{k}.{i}" for i in range(1, len(docs))], (docs[0], numbers)
