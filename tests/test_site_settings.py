"""The repository URL is one setting: set, the site shows repository, issue and launch buttons; unset, none.

`_ext/course_site.py` applies `repository.url` of `_config.yml`. The tests run Jupyter Book's own
translation of `_config.yml` into Sphinx options, then build a two-page site (a notebook `.ipynb` and a
MyST Markdown notebook) with the book's theme and look at the buttons in its HTML.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
import yaml
from jupyter_book.config import get_final_config

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "_ext"))
from course_site import (  # noqa: E402
    bundle_paragraph,
    exercise_assignment,
    renumbered_sections,
    repository_theme_options,
)

URL = "https://github.com/example-org/loss-course"
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def _theme_options(url: str, jupyterhub_url: str = "") -> dict:
    """The theme options the book gets from `_config.yml` with `repository.url` = `url`."""
    user_yaml = yaml.safe_load((REPO / "_config.yml").read_text())
    user_yaml["repository"]["url"] = url
    user_yaml["launch_buttons"]["jupyterhub_url"] = jupyterhub_url
    sphinx_config, _ = get_final_config(user_yaml=user_yaml, cli_config={"latex_individualpages": False},
                                         sourcedir=REPO, use_external_toc=False)
    assert "course_site" in sphinx_config["extensions"], "_config.yml loads _ext/course_site.py"
    return repository_theme_options(sphinx_config["html_theme_options"])


def test_unset_url_hides_every_outside_button():
    options = _theme_options("", jupyterhub_url="https://hub.example.edu")
    assert not options["use_repository_button"] and not options["use_issues_button"]
    assert not options["use_edit_page_button"]
    launch = options["launch_buttons"]
    assert not any(launch[k] for k in ("binderhub_url", "jupyterhub_url", "colab_url")), launch


def test_set_url_shows_repository_and_launch_buttons():
    options = _theme_options(URL, jupyterhub_url="https://hub.example.edu")
    assert options["repository_url"] == URL and options["repository_branch"] == "main"
    assert options["use_repository_button"] and options["use_issues_button"]
    launch = options["launch_buttons"]
    assert launch["binderhub_url"] and launch["colab_url"]
    assert launch["jupyterhub_url"] == "https://hub.example.edu"


def _mini_site(tmp_path: Path, options: dict) -> Path:
    """Build a two-page site with the book's theme and the extension; return its html folder."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO / "_ext")!r})
        extensions = ["myst_nb", "course_site"]
        html_theme = "sphinx_book_theme"
        html_theme_options = {options!r}
        nb_execution_mode = "off"
        exclude_patterns = ["_build"]
    """))
    (src / "index.md").write_text("# Mini\n\n```{toctree}\nexercise\nchapter\n```\n")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Exercise"),
                                               nbformat.v4.new_code_cell("x = 1")])
    notebook.metadata["kernelspec"] = KERNELSPEC
    nbformat.write(notebook, src / "exercise.ipynb")
    (src / "chapter.md").write_text(textwrap.dedent("""\
        ---
        jupytext:
          text_representation: {extension: .md, format_name: myst}
        kernelspec: {display_name: Python 3, language: python, name: python3}
        ---
        # Chapter

        ```{code-cell}
        x = 1
        ```
    """))
    out = tmp_path / "html"
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", str(src), str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.parametrize("url", ["", URL])
def test_buttons_in_the_html(tmp_path, url):
    html = _mini_site(tmp_path, _theme_options(url, jupyterhub_url="https://hub.example.edu"))
    exercise, chapter = (html / "exercise.html").read_text(), (html / "chapter.html").read_text()
    binder = "https://mybinder.org/v2/gh/example-org/loss-course/main?urlpath=lab/tree/"
    colab = "https://colab.research.google.com/github/example-org/loss-course/blob/main/exercise.ipynb"
    hub = "https://hub.example.edu/hub/user-redirect/git-pull?"
    if not url:
        for page in (exercise, chapter):
            assert "launch-buttons" not in page and "mybinder.org" not in page and "colab" not in page
            assert "example-org" not in page and "hub.example.edu" not in page
            assert "repository-button" not in page and "Open an issue" not in page
        return
    assert f"{binder}exercise.ipynb" in exercise and colab in exercise and hub in exercise
    assert f"{binder}chapter.md" in chapter and hub in chapter
    assert "colab.research.google.com" not in chapter, "Colab cannot open a Markdown notebook"
    for page in (exercise, chapter):
        assert f'href="{URL}"' in page, "repository button"
        assert f"{URL}/issues/new" in page, "issue button"


def test_chapter_pages_are_numbered_without_gaps():
    """Sphinx numbers a chapter index's own headings (3.1) before its pages (3.2, ...): renumbered."""
    sphinx_numbers = {
        "ch/index": {"": (3,), "#intro": (3, 1), "#map": (3, 2)},
        "ch/a": {"": (3, 3), "#part": (3, 3, 1)},
        "ch/exercise": {"": (3, 4), "#task": (3, 4, 1), "#more": (3, 4, 2)},
        "other/index": {"": (4,)},
    }
    includes = {"ch/index": ["ch/a", "ch/exercise"], "other/index": []}
    assert renumbered_sections(sphinx_numbers, includes) == {
        "ch/index": {"": (3,), "#intro": None, "#map": None},
        "ch/a": {"": (3, 1), "#part": (3, 1, 1)},
        "ch/exercise": {"": (3, 2), "#task": (3, 2, 1), "#more": (3, 2, 2)},
        "other/index": {"": (4,)},
    }
    once = renumbered_sections(sphinx_numbers, includes)
    assert renumbered_sections(once, includes) == once, "idempotent: Sphinx may keep the numbers between builds"


def test_exercise_pages_offer_their_bundle_and_the_install_line_only_with_a_url():
    """Under an exercise page's title: a link to its zip bundle relative to the page; the install line
    only when the repository URL is set; no placeholder either way."""
    assert exercise_assignment("book/exercises/optimizers/optimizers") == "optimizers"
    assert exercise_assignment("book/optimisation/adam") is None
    without = bundle_paragraph("book/exercises/optimizers/optimizers", "optimizers", "")
    (link,) = [n for n in without.traverse() if n.tagname == "reference"]
    assert link["refuri"] == "../../../_downloads/bundles/optimizers.zip"
    assert "pip install" not in without.astext() and "<" not in without.astext()
    with_url = bundle_paragraph("book/exercises/optimizers/optimizers", "optimizers", URL).astext()
    assert f'%pip install "lossbook-checks @ git+{URL}"' in with_url
