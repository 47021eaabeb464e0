"""Sphinx extension for the course site: the repository URL is ONE setting.

`repository.url` in `_config.yml` (Jupyter Book passes it to Sphinx as the theme option
`repository_url`) decides every button that points outside the site:

- set: the header shows the repository and issue buttons, and notebook pages get launch buttons
  (Binder and Colab, and JupyterHub when `launch_buttons.jupyterhub_url` names a hub). Colab opens
  only `.ipynb` files, so a chapter page (a MyST Markdown notebook) gets Binder and JupyterHub only.
- unset (the default ``""``): none of these buttons is shown, so the site never links to a
  placeholder repository.

Jupyter Book refuses `html.use_repository_button: true` without a URL, so `_config.yml` leaves the
`use_*_button` options off and this extension turns them on when the URL is set.

Section numbers without gaps: a chapter's index page has headings of its own, and Sphinx numbers them
as sections of the chapter (3.1, ...), so its first page would be 3.2 and its exercise 2.6 in a
chapter of four pages. This extension leaves a chapter index's own headings unnumbered and numbers
the chapter's pages 3.1, 3.2, ... in the order of `_toc.yml` (the exercise last).

The bibliography reads author-year, like the citations in the text (`bibtex_reference_style:
author_year` gives "(Huber, 1964)"): the pybtex style `author_year` labels each entry "Huber 1964",
"Kingma and Ba 2015", "Lin et al. 2017" (a, b, ... where two would be equal) and sorts by author.

Every exercise page (`book/exercises/<assignment>/<assignment>.ipynb`) offers the exercise's zip bundle
under its title: the notebook and the checking package side by side, whose visible tests need numpy
alone (`autograder/bundle.py`; the zips go to `_downloads/bundles/`). With the repository URL set, the
page also prints the line that installs the package from the repository; unset, no placeholder is shown.

The book does not use Thebe (live code on the page): Jupyter Book always loads `sphinx_thebe`, whose
page script declares `THEBE_JS_URL` (a CDN address) twice on every page, a JavaScript error in every
browser. With `launch_buttons.thebe` off, this extension stops `sphinx_thebe` from adding its scripts.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.environment import BuildEnvironment

from autograder.bundle import install_line, write_bundles

BUNDLES = "_downloads/bundles"
LAUNCH_URL_KEYS = ("binderhub_url", "jupyterhub_url", "colab_url", "deepnote_url", "jupyterlite_url")
REPOSITORY_BUTTONS = ("use_repository_button", "use_issues_button")


def repository_theme_options(theme_options: dict[str, Any]) -> dict[str, Any]:
    """The theme options with the outside-pointing buttons on or off by `repository_url`.

    Returns a new dict; `theme_options` is Jupyter Book's `html_theme_options` (keys
    `repository_url`, `launch_buttons`, `use_*_button`).
    """
    options = dict(theme_options)
    launch = dict(options.get("launch_buttons") or {})
    has_url = bool(str(options.get("repository_url") or "").strip())
    for button in REPOSITORY_BUTTONS:
        options[button] = has_url
    if not has_url:
        options["repository_url"] = ""
        options["use_edit_page_button"] = False
        for key in LAUNCH_URL_KEYS:
            launch[key] = ""
        launch["thebe"] = False
    options["launch_buttons"] = launch
    return options


def _apply_repository_setting(app: Sphinx, config: Config) -> None:
    config.html_theme_options = repository_theme_options(config.html_theme_options)
    if not config.html_theme_options["launch_buttons"].get("thebe"):
        for listener in list(app.events.listeners.get("env-before-read-docs", [])):
            handler = listener.handler
            if (handler.__module__, handler.__name__) == ("sphinx_thebe", "init_thebe_core"):
                app.disconnect(listener.id)


def _colab_only_for_ipynb(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Drop the Colab launch button from pages whose source is not an .ipynb file."""
    if context.get("page_source_suffix") == ".ipynb":
        return
    buttons = context.get("header_buttons") or []
    for group in buttons:
        if group.get("label") == "launch-buttons":
            group["buttons"] = [b for b in group["buttons"] if b.get("text") != "Colab"]
    context["header_buttons"] = [g for g in buttons if g.get("label") != "launch-buttons" or g["buttons"]]


def exercise_assignment(docname: str) -> str | None:
    """The assignment whose released notebook the document is (``book/exercises/<a>/<a>``), else None."""
    parts = docname.split("/")
    if len(parts) == 4 and parts[:2] == ["book", "exercises"] and parts[2] == parts[3]:
        return parts[2]
    return None


def bundle_paragraph(docname: str, assignment: str, repository_url: str) -> nodes.paragraph:
    """The note under an exercise page's title: its zip bundle (a link relative to the page), and the
    install line when the repository URL is set."""
    href = posixpath.relpath(f"{BUNDLES}/{assignment}.zip", posixpath.dirname(docname))
    paragraph = nodes.paragraph(classes=["exercise-bundle"])
    paragraph += nodes.strong(text="Download this exercise: ")
    paragraph += nodes.reference("", f"{assignment}.zip", refuri=href, classes=["exercise-bundle-link"])
    paragraph += nodes.Text(", the notebook and the checking package lossbook_checks side by side. Unzipped, "
                            "its visible tests run with numpy alone, in Jupyter, VS Code or Colab.")
    if repository_url:
        paragraph += nodes.Text(" Or install the package where the notebook runs, in a cell: ")
        paragraph += nodes.literal(text=install_line(repository_url))
        paragraph += nodes.Text(", then restart the kernel.")
    return paragraph


def _offer_bundle(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    assignment = exercise_assignment(docname)
    section = next(iter(doctree.findall(nodes.section)), None)
    if assignment is None or section is None:
        return
    url = app.config.html_theme_options.get("repository_url", "")
    section.insert(1, bundle_paragraph(docname, assignment, url))


def _write_bundles(app: Sphinx, exception: Exception | None) -> None:
    if exception is None and app.builder.format == "html":
        write_bundles(Path(app.outdir) / BUNDLES, app.config.html_theme_options.get("repository_url", ""))


def renumbered_sections(secnumbers: dict[str, dict[str, tuple[int, ...]]],
                        includes: dict[str, list[str]]) -> dict[str, dict[str, tuple[int, ...]]]:
    """Section numbers with each chapter's pages counted 1, 2, ... and its index's headings unnumbered.

    `secnumbers` maps a document to {anchor: number} (Sphinx's `env.toc_secnumbers`; the anchor ""
    is the page title); `includes` maps a document to the documents its toctree lists, in order.
    A chapter is a document whose title number has one part, e.g. (3,).
    """
    result = {doc: dict(numbers) for doc, numbers in secnumbers.items()}
    for doc, numbers in secnumbers.items():
        chapter = numbers.get("")
        if not chapter or len(chapter) != 1:
            continue
        # None, not absent: Sphinx gives a heading missing from the map the page's own number
        result[doc] = {anchor: number if number is None or len(number) == 1 else None
                       for anchor, number in numbers.items()}
        for position, child in enumerate((c for c in includes.get(doc, []) if c in secnumbers), start=1):
            result[child] = {anchor: None if number is None else (chapter[0], position, *number[2:])
                             for anchor, number in secnumbers[child].items()}
    return result


def _renumber(app: Sphinx, env: BuildEnvironment) -> list[str]:
    new = renumbered_sections(env.toc_secnumbers, env.toctree_includes)
    changed = [doc for doc in new if new[doc] != env.toc_secnumbers.get(doc)]
    env.toc_secnumbers = new
    for doc, numbers in new.items():   # the numbers the sidebar and the page titles show
        for reference in env.tocs[doc].findall(nodes.reference):
            if "anchorname" in reference:
                number = numbers.get(reference["anchorname"])
                reference["secnumber"] = list(number) if number else None
        title = env.titles.get(doc)
        if title is not None and "secnumber" in title:
            number = numbers.get("")
            title["secnumber"] = list(number) if number else None
    return changed


def author_year_label(entry: Any) -> str:
    """'Huber 1964', 'Kingma and Ba 2015', 'Lin et al. 2017' for a pybtex entry (authors, else editors)."""
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    surnames = [" ".join(p.prelast_names + p.last_names) for p in persons]
    if len(surnames) > 2:
        names = f"{surnames[0]} et al."
    else:
        names = " and ".join(surnames) or entry.fields.get("title", entry.key)
    return f"{names} {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    """Author-year labels, made unique with a, b, ... in the order given."""

    def format_labels(self, sorted_entries):
        labels = [author_year_label(entry) for entry in sorted_entries]
        for i, label in enumerate(labels):
            same = [j for j, other in enumerate(labels) if other == label]
            yield label + "abcdefghijklmnopqrstuvwxyz"[same.index(i)] if len(same) > 1 else label


class AuthorYearStyle(PlainStyle):
    """pybtex's plain style (sorted by author, year, title) with author-year labels."""

    default_label_style = AuthorYearLabels


def setup(app: Sphinx) -> dict[str, Any]:
    register_plugin("pybtex.style.formatting", "author_year", AuthorYearStyle)
    app.connect("config-inited", _apply_repository_setting)
    app.connect("env-get-updated", _renumber, priority=900)
    app.connect("html-page-context", _colab_only_for_ipynb, priority=900)
    app.connect("doctree-resolved", _offer_bundle)
    app.connect("build-finished", _write_bundles)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
