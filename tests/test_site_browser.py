"""The built site as a reader meets it: every page opened in a real headless Chromium, offline.

The site of the shared book build (the `book_build` fixture, also used by test_book.py) is served on
127.0.0.1; Chromium may load nothing else (every other request is aborted and recorded). For every
page: MathJax (shipped in `_static/mathjax`) has typeset every formula with no TeX error, every image
has loaded, the console shows no JavaScript error, and every internal link (and its #fragment)
resolves on the local server. The search page finds a chapter by a term from it. An exercise page offers
its zip bundle: clicked, the download holds exactly the files of `autograder.bundle.bundle` (the ones
tests/test_student_install.py runs with numpy alone), and no exercise page shows a placeholder URL. Screenshots of a few
pages are saved under `_build/screenshots/` for people to look at.

Needs Debian's `chromium` (`.ci/run` installs it when missing) and the `playwright` package.
"""

from __future__ import annotations

import asyncio
import functools
import io
import re
import shutil
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = REPO / "_build" / "screenshots"
SCREENSHOT_PAGES = {
    "front_page.png": "book/index.html",
    "chapter_page.png": "book/classification/cross_entropy.html",
    "exercise_page.png": "book/exercises/regression_losses/regression_losses.html",
}
SEARCH_TERM, SEARCH_HIT = "Huber", "book/regression/robust.html"
TABS = 3                          # pages open at once in the one browser
REDIRECT = re.compile(r'<meta http-equiv="refresh" content="0; url=([^"]+)"', re.IGNORECASE)

# Runs in the page after load: waits for MathJax, then reports what a reader would see.
INSPECT_PAGE = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const prose = () => {   // the text a reader sees outside code and typeset math
    const skip = 'pre, code, script, style, textarea, mjx-container, mjx-assistive-mml';
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const texts = [];
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (!node.parentElement.closest(skip)) { texts.push(node.textContent); }
    }
    return texts;
  };
  const math = Array.from(document.querySelectorAll('.math, .MathJax_Preview, script[type^="math/tex"]'));
  return {
    mathjax: Boolean(window.MathJax && MathJax.version),
    math: math.length,
    untypeset: math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 80)),
    typeset: document.querySelectorAll('mjx-container').length,
    errors: Array.from(document.querySelectorAll('mjx-merror, [data-mjx-error]'))
      .map(e => e.getAttribute('data-mjx-error') || e.textContent).slice(0, 5),
    rawTex: prose().filter(t => /\\\\\\(|\\\\\\[|\\$\\$|\\\\(frac|sum|partial|mathbb)\\b/.test(t)).slice(0, 3),
    brokenImages: Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)
      .map(i => i.getAttribute('src').slice(0, 80)),
    images: document.images.length,
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  };
}"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """Chromium drops connections it no longer needs; that is not an error of the site."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def site_url(book_build) -> Iterator[str]:
    """The built site served on an ephemeral port of 127.0.0.1."""
    handler = functools.partial(_QuietHandler, directory=str(book_build.html))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


async def _inspect_site(site_url: str, pages: list[str], tabs: int) -> dict:
    """Open `pages` in one headless Chromium, `tabs` at a time, with only 127.0.0.1 reachable."""
    from playwright.async_api import async_playwright

    blocked: list[str] = []
    reports: dict[str, dict] = {}

    async def only_loopback(route) -> None:
        if urlparse(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort()

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM)
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        await context.route("**/*", only_loopback)
        queue: asyncio.Queue[str] = asyncio.Queue()
        for doc in pages:
            queue.put_nowait(doc)

        async def worker() -> None:
            page = await context.new_page()
            console: list[str] = []
            page.on("console", lambda msg: console.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: console.append(f"uncaught: {exc}"))
            while not queue.empty():
                doc = queue.get_nowait()
                console.clear()
                await page.goto(site_url + doc, wait_until="load")
                report = await page.evaluate(INSPECT_PAGE)
                report["console"] = list(console)
                reports[doc] = report
                for name, shot_doc in SCREENSHOT_PAGES.items():
                    if shot_doc == doc:
                        await page.screenshot(path=str(SCREENSHOTS / name))
            await page.close()

        await asyncio.gather(*(worker() for _ in range(tabs)))
        page = await context.new_page()
        await page.goto(f"{site_url}search.html?q={SEARCH_TERM}", wait_until="load")
        await page.wait_for_selector("ul.search li", timeout=20_000)
        search_hits = await page.eval_on_selector_all("ul.search li a", "els => els.map(e => e.href)")
        await browser.close()
    return {"reports": reports, "blocked": blocked, "search_hits": search_hits}


@pytest.fixture(scope="module")
def browser_pages(book_build, site_url):
    """Open every page of the site in headless Chromium with the network blocked; return the reports."""
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: apt-get install -y chromium (see .ci/run)"
    pages = sorted(p.relative_to(book_build.html).as_posix() for p in book_build.html.rglob("*.html")
                   if not p.relative_to(book_build.html).parts[0].startswith("_"))
    redirects = {doc: match.group(1) for doc in pages
                 if (match := REDIRECT.search((book_build.html / doc).read_text()))}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = asyncio.run(_inspect_site(site_url, [doc for doc in pages if doc not in redirects], TABS))
    elapsed = time.perf_counter() - start
    print(f"\nbrowser: {len(result['reports'])} pages opened and inspected in {elapsed:.1f} s, {TABS} tabs "
          f"(screenshots in {SCREENSHOTS.relative_to(REPO)})")
    return {**result, "site_url": site_url, "redirects": redirects}


@pytest.mark.xdist_group("book")
def test_every_page_loads_offline_without_errors(browser_pages):
    reports = browser_pages["reports"]
    assert "book/index.html" in reports and len(reports) >= 20, sorted(reports)
    for doc, target in browser_pages["redirects"].items():
        assert (Path(doc).parent / target).as_posix() in reports, f"{doc} redirects to a missing {target}"
    assert not browser_pages["blocked"], f"the site requested outside resources: {browser_pages['blocked'][:5]}"
    for doc, report in reports.items():
        assert not report["console"], f"{doc}: JavaScript errors {report['console']}"
        assert not report["brokenImages"], f"{doc}: images that did not load {report['brokenImages']}"


@pytest.mark.xdist_group("book")
def test_every_formula_is_typeset_by_the_shipped_mathjax(browser_pages, book_build):
    reports = browser_pages["reports"]
    with_math = [doc for doc, r in reports.items() if r["math"]]
    assert len(with_math) >= 10, "math is found on the chapter pages"
    for doc in with_math:
        report = reports[doc]
        assert report["mathjax"], f"{doc}: MathJax did not load"
        assert not report["untypeset"], f"{doc}: formulas left as raw TeX {report['untypeset'][:3]}"
        assert report["typeset"] >= report["math"], doc
        assert not report["errors"], f"{doc}: TeX errors {report['errors']}"
    for doc, report in reports.items():      # no page's source has math that MathJax did not see
        assert not report["rawTex"], f"{doc}: raw TeX visible in the text {report['rawTex']}"
        source = (book_build.html / doc).read_text()
        if re.search(r'class="math[ "]', source):
            assert report["math"], f"{doc}: math in the HTML but none found in the browser"
    assert (book_build.html / "_static" / "mathjax" / "tex-chtml.js").exists()


@pytest.mark.xdist_group("book")
def test_every_internal_link_resolves(browser_pages):
    site_url = browser_pages["site_url"]
    targets: dict[str, set[str]] = {}
    for report in browser_pages["reports"].values():
        for link in report["links"]:
            if link.startswith(site_url):
                url, fragment = urldefrag(link)
                targets.setdefault(url, set()).add(fragment)
    assert len(targets) >= 20
    for url, fragments in sorted(targets.items()):
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            pytest.fail(f"{url}: HTTP {err.code}")
        ids = set(re.findall(r'\bid="([^"]+)"', body))
        missing = {f for f in fragments if f and f not in ids}
        assert not missing, f"{url}: anchors missing {sorted(missing)[:5]}"


@pytest.mark.xdist_group("book")
def test_search_finds_a_chapter_term(browser_pages):
    hits = [urldefrag(h)[0].removeprefix(browser_pages["site_url"]) for h in browser_pages["search_hits"]]
    assert SEARCH_HIT in hits, f"searching {SEARCH_TERM!r} found {hits}"


@pytest.mark.xdist_group("book")
def test_screenshots_are_saved(browser_pages):
    for name in SCREENSHOT_PAGES:
        shot = SCREENSHOTS / name
        assert shot.exists() and shot.stat().st_size > 10_000, shot


BUNDLE_PAGE, BUNDLE = "book/exercises/regression_losses/regression_losses.html", "regression_losses"


async def _download_bundle(site_url: str, target: Path) -> tuple[str, Path]:
    """Open the exercise page offline, click its bundle link; (the note's text, the downloaded file)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM)
        context = await browser.new_context(accept_downloads=True)
        await context.route("**/*", lambda route: route.continue_() if urlparse(route.request.url).hostname
                            == "127.0.0.1" else route.abort())
        page = await context.new_page()
        await page.goto(site_url + BUNDLE_PAGE, wait_until="load")
        note = await page.inner_text("p.exercise-bundle")
        async with page.expect_download() as download_info:
            await page.click("a.exercise-bundle-link")
        download = await download_info.value
        await download.save_as(target)
        await browser.close()
    return note, target


@pytest.mark.xdist_group("book")
def test_exercise_page_offers_its_bundle_for_download(book_build, site_url, tmp_path):
    import zipfile

    from autograder import bundle

    note, path = asyncio.run(_download_bundle(site_url, tmp_path / "downloaded.zip"))
    assert "numpy alone" in note and f"{BUNDLE}.zip" in note
    with zipfile.ZipFile(path) as downloaded, zipfile.ZipFile(io.BytesIO(bundle.bundle(BUNDLE))) as made:
        assert sorted(downloaded.namelist()) == sorted(made.namelist())
        assert f"{BUNDLE}.ipynb" in downloaded.namelist()
        assert f"lossbook_checks/recorded/{BUNDLE}.json" in downloaded.namelist()
        for name in made.namelist():
            assert downloaded.read(name) == made.read(name), name
    for page in (book_build.html / "book" / "exercises").rglob("*.html"):
        text = page.read_text()
        assert "exercise-bundle-link" in text, page
        assert not re.search(r"&lt;URL|git\+&lt;|&lt;repository&gt;", text), page
