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
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config

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


def _colab_only_for_ipynb(app: Sphinx, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    """Drop the Colab launch button from pages whose source is not an .ipynb file."""
    if context.get("page_source_suffix") == ".ipynb":
        return
    buttons = context.get("header_buttons") or []
    for group in buttons:
        if group.get("label") == "launch-buttons":
            group["buttons"] = [b for b in group["buttons"] if b.get("text") != "Colab"]
    context["header_buttons"] = [g for g in buttons if g.get("label") != "launch-buttons" or g["buttons"]]


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", _apply_repository_setting)
    app.connect("html-page-context", _colab_only_for_ipynb, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
