"""A generated class report as an instructor opens it: headless Chromium, from the file, with every
network request blocked. No console error, every image (the embedded figures) loads, and a screenshot
is saved to ``_build/screenshots/class_report.png``. Needs Debian's ``chromium`` and ``playwright``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from grading_helpers import grade, released, source

from autograder import report as report_mod
from autograder.course import Course
from autograder.notebooks import fill_solutions

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT = REPO / "_build" / "screenshots" / "class_report.png"
ASSIGNMENT = "regression_losses"

IMAGES = """() => Array.from(document.images).map(i => ({src: i.getAttribute('src').slice(0, 30),
                                                    loaded: i.complete && i.naturalWidth > 0}))"""


@pytest.mark.slow
@pytest.mark.xdist_group("report")
def test_the_report_opens_offline_without_errors_and_its_images_load(tmp_path):
    from playwright.sync_api import sync_playwright

    course = tmp_path / "course"
    release, src = released(course, ASSIGNMENT), source(ASSIGNMENT)
    half = fill_solutions(release, src, only={"mse", "mae"})
    grade(course, ASSIGNMENT, {"alice": fill_solutions(release, src), "bob": half, "carol": release})
    page_file = tmp_path / "report.html"
    report_mod.write(Course(course), ASSIGNMENT, page_file)

    requested: list[str] = []
    console: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        context = browser.new_context(offline=True)
        context.route("**/*", lambda route: route.continue_() if route.request.url == page_file.as_uri()
                      else (requested.append(route.request.url), route.abort()))
        page = context.new_page()
        page.on("console", lambda msg: console.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: console.append(f"uncaught: {exc}"))
        page.goto(page_file.as_uri())
        page.wait_for_load_state("load")
        images = page.evaluate(IMAGES)
        page.click("details summary")  # an example message opens
        assert page.locator("details[open] pre").first.is_visible()
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        browser.close()
    assert not console, console
    assert not [url for url in requested if not url.startswith("data:")], requested
    assert len(images) == 2 and all(i["loaded"] and i["src"].startswith("data:image/png") for i in images), images
