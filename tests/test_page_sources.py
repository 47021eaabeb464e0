"""The page sources, read as text: no control characters, and no math that MathJax would show as text.

A ``\\t`` typed into a Python string that writes a page, or a raw TAB pasted into one, turns ``$\\tanh'$`` into
a TAB followed by the italic letters ``anh'``: the build stays green and the browser shows a formula that
MathJax typeset without complaint. ``tests/test_site_browser.py`` checks what the browser renders; this file
checks the sources themselves, cheaply, without a build:

- no control character other than the newline in any page (``book/**/*.md``);
- no control character in a Python string literal that holds math (a ``$`` in a figure label), in the pages'
  code cells and in ``book/lossbook/*.py``;
- every ``\\command`` inside the pages' math is one the shipped MathJax knows (its TeX packages' own command
  tables, read from ``tex-chtml.js``, the autoloaded extensions, and the macros of ``_config.yml``);
- no bare run of letters in math that is a known command with its first letter lost to a Python escape
  (``anh`` from ``\\tanh``, ``rac`` from ``\\frac``, ``lpha`` from ``\\alpha``).
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "book").rglob("*.md"))
HELPERS = sorted((ROOT / "book" / "lossbook").glob("*.py"))
MATHJAX_DIR = Path(importlib.import_module("sphinx-mathjax-offline").__file__).parent / "static" / "mathjax"
MATHJAX = MATHJAX_DIR / "tex-chtml.js"

# Python's escapes that swallow the letter after the backslash: \a \b \f \n \r \t \v.
ESCAPE_LETTERS = "abfnrtv"
CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\n]*)$")
CODE_INFOS = re.compile(r"^(\{code-cell\}|\{code-block\}|\{code\}|\{literalinclude\}|[A-Za-z0-9_+-]*$)")


# --- what MathJax knows -----------------------------------------------------------------------------------


def _matching_brace(js: str, start: int) -> int:
    """Index of the ``}`` that closes the ``{`` at ``start`` in JavaScript source (string literals skipped)."""
    depth, i = 0, start
    while i < len(js):
        c = js[i]
        if c in "\"'":
            i += 1
            while js[i] != c:
                i += 2 if js[i] == "\\" else 1
        elif c in "{[(":
            depth += 1
        elif c in "}])":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError("unbalanced JavaScript object")


def _top_level_keys(obj: str) -> list[str]:
    """The keys of a JavaScript object literal ``{...}`` (identifiers or string literals), outer level only."""
    keys, depth, i, expect_key = [], 0, 0, True
    while i < len(obj):
        c = obj[i]
        if c in "\"'":
            j = i + 1
            while obj[j] != c:
                j += 2 if obj[j] == "\\" else 1
            if depth == 1 and expect_key and obj[j + 1: j + 2] == ":":
                keys.append(obj[i + 1: j].replace("\\\\", "\\"))      # JavaScript's "\\\\lVert" is \\lVert
            i = j + 1
            expect_key = False
            continue
        if c in "{[(":
            depth += 1
            expect_key = depth == 1
        elif c in "}])":
            depth -= 1
        elif c == "," and depth == 1:
            expect_key = True
        elif depth == 1 and expect_key and (m := re.match(r"[A-Za-z_$][\w$]*(?=:)", obj[i:])):
            keys.append(m.group())
            i += len(m.group())
            expect_key = False
            continue
        i += 1
    return keys


def mathjax_commands(js: str) -> set[str]:
    """Every ``\\command`` name (without the backslash) that the TeX input of this MathJax bundle defines:
    the keys of its ``CommandMap``/``CharacterMap``/``DelimiterMap`` tables, and the macros it autoloads."""
    names: set[str] = set()
    for match in re.finditer(r'Map\("[\w-]+",', js):
        start = js.index("{", match.end())
        names.update(_top_level_keys(js[start: _matching_brace(js, start) + 1]))
    autoload = js.index("{", js.index("autoload:(0,"))
    names.update(re.findall(r'"([A-Za-z]+)"', js[autoload: _matching_brace(js, autoload)]))
    return {name.removeprefix("\\") for name in names if re.fullmatch(r"\\?[A-Za-z]+", name)}


@pytest.fixture(scope="module")
def known_commands() -> set[str]:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    custom = config["sphinx"]["config"]["mathjax3_config"]["tex"].get("macros", {})
    return mathjax_commands(MATHJAX.read_text()) | set(custom)


# --- where the pages have math ------------------------------------------------------------------------------


def markdown_text(source: str) -> list[tuple[int, str]]:
    """The page's prose and math, line by line as (line number, text): front matter, code cells and other
    code blocks dropped, ``{math}`` blocks wrapped in ``$$``, directives that hold Markdown kept."""
    lines = source.split("\n")
    out: list[tuple[int, str]] = []
    i = 0
    if lines and lines[0] == "---":
        i = lines.index("---", 1) + 1
    open_fences: list[tuple[str, bool, bool]] = []     # (fence, is code, is math)
    while i < len(lines):
        line, number = lines[i], i + 1
        m = FENCE.match(line.strip())
        if m and open_fences and m.group("fence") == open_fences[-1][0] and not m.group("info"):
            _, _, is_math = open_fences.pop()
            if is_math:
                out.append((number, "$$"))
        elif m and not (open_fences and open_fences[-1][1]):
            info = m.group("info").strip()
            is_math = info.startswith("{math}")
            open_fences.append((m.group("fence"), bool(CODE_INFOS.match(info)) and not is_math, is_math))
            if is_math:
                out.append((number, "$$"))
        elif not (open_fences and (open_fences[-1][1] or (open_fences[-1][2] and line.lstrip().startswith(":")))):
            out.append((number, line))                      # not code, nor a {math} block's option line
        i += 1
    return out


def math_spans(source: str) -> list[tuple[int, str]]:
    """(line number, TeX) of every formula of a page: ``$$...$$``, ``$...$``, ``{math}`` blocks and roles."""
    numbered = markdown_text(source)
    text = "\n".join(line for _, line in numbered)
    starts = [0]
    for _, line in numbered:
        starts.append(starts[-1] + len(line) + 1)

    def line_of(offset: int) -> int:
        index = max(k for k, s in enumerate(starts) if s <= offset)
        return numbered[min(index, len(numbered) - 1)][0]

    text = re.sub(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)",
                  lambda m: m.group() if text[max(0, m.start() - 6): m.start()] == "{math}"
                  else " " * len(m.group()), text)           # inline code, keeping {math}`...` roles
    spans: list[tuple[int, str]] = []
    patterns = (r"\{math\}`([^`]+)`", r"(?<![\\$])\$\$(.+?)\$\$", r"(?<![\\$])\$(?![ \n$])([^$\n]*?[^\s\\$])\$(?!\d)")
    for pattern in patterns:
        for m in re.finditer(pattern, text, flags=re.DOTALL):
            spans.append((line_of(m.start()), m.group(1)))
            text = text[: m.start()] + " " * len(m.group()) + text[m.end():]
    return sorted(spans)


def string_literals(code: str) -> list[tuple[int, str]]:
    """(line, value) of every string constant in Python code (IPython magics and shell lines ignored)."""
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in code.split("\n"))
    return [(node.lineno, node.value) for node in ast.walk(ast.parse(code))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def code_cells(source: str) -> list[tuple[int, str]]:
    """(first line, code) of every ``{code-cell}`` of a page; its options (``:tags:``, a ``---`` block) blanked."""
    cells = []
    for m in re.finditer(r"^(`{3,})\{code-cell\}[^\n]*\n(.*?)^\1\s*$", source, flags=re.DOTALL | re.MULTILINE):
        lines = m.group(2).split("\n")
        if lines[0].strip() == "---":
            end = lines.index("---", 1)
            lines[: end + 1] = [""] * (end + 1)
        options = 0
        while options < len(lines) and lines[options].startswith(":"):
            options += 1
        lines[:options] = [""] * options
        cells.append((source[: m.start()].count("\n") + 2, "\n".join(lines)))
    return cells


# --- the checks ---------------------------------------------------------------------------------------------


def control_characters(text: str, first_line: int = 1) -> list[str]:
    """``file-relative line: character`` for each control character other than the newline."""
    return [f"line {first_line + text[: m.start()].count(chr(10))}: {m.group()!r}" for m in CONTROL.finditer(text)]


def unknown_commands(tex: str, known: set[str]) -> list[str]:
    return sorted({name for name in re.findall(r"\\([A-Za-z]+)", tex) if name not in known})


def lost_escapes(tex: str, known: set[str]) -> list[str]:
    """Bare letter runs that are a known command minus its first letter, that letter a Python escape."""
    truncated = {name[1:]: name for name in known if name[0] in ESCAPE_LETTERS and len(name) >= 4}
    runs = re.findall(r"(?<![\\A-Za-z])[A-Za-z]+", tex)
    return sorted({f"{run} (\\{truncated[run]}?)" for run in runs if run in truncated})


def page_problems(source: str, known: set[str]) -> list[str]:
    """Everything wrong with one page's source, as readable lines (empty when the page is clean)."""
    problems = [f"control character, {where}" for where in control_characters(source)]
    for line, tex in math_spans(source):
        problems += [f"line {line}: control character {c!r} in math ${tex.strip()}$" for c in CONTROL.findall(tex)]
        problems += [f"line {line}: \\{name} is not a MathJax command, in ${tex.strip()}$"
                     for name in unknown_commands(tex, known)]
        problems += [f"line {line}: {run} in ${tex.strip()}$" for run in lost_escapes(tex, known)]
    for first, code in code_cells(source):
        for line, value in string_literals(code):
            if "$" in value and CONTROL.search(value.replace("\n", "")):
                problems.append(f"line {first + line - 1}: a control character in the string {value!r}")
    return problems


def test_mathjax_tables_are_read(known_commands):
    # the parser of tex-chtml.js finds the tables: standard commands in, made-up and truncated ones out
    assert len(known_commands) > 800
    assert {"frac", "tanh", "operatorname", "lVert", "mathbb", "tfrac", "begin", "R", "cancel", "boldsymbol"} \
        <= known_commands
    assert not {"anh", "rac", "tanhh", "lpha"} & known_commands


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_has_no_control_characters_and_only_typesettable_math(page, known_commands):
    problems = page_problems(page.read_text(), known_commands)
    assert not problems, f"{page.relative_to(ROOT)}:\n" + "\n".join(problems)


@pytest.mark.parametrize("module", HELPERS, ids=lambda p: p.name)
def test_helper_strings_with_math_have_no_control_characters(module):
    source = module.read_text()
    assert not control_characters(source), control_characters(source)
    bad = [(line, value) for line, value in string_literals(source)
           if "$" in value and CONTROL.search(value.replace("\n", ""))]
    assert not bad, f"{module.name}: a control character in a math string (write r'...'): {bad}"


def test_the_checks_catch_a_lost_backslash_t(known_commands):
    # the mistake of issue 20: "$\tanh' < 1$" written through a Python string without r''
    broken = "# Page\n\nBoth shrink, because $\tanh' < 1$ away from 0.\n"
    problems = page_problems(broken, known_commands)
    assert any("control character" in p and "line 3" in p for p in problems), problems
    assert any("anh (\\tanh?)" in p for p in problems), problems
    # the TAB turned into a space by an editor still shows the lost command
    assert lost_escapes(" anh' < 1", known_commands) == ["anh (\\tanh?)"]
    # a misspelt command, math in a {math} block and in a role, and a label string in a code cell
    assert unknown_commands(r"\operatornme{Var}(z)", known_commands) == ["operatornme"]
    block = "# P\n\n```{math}\n:label: eq\n\\frca{1}{2}\n```\n\nand {math}`\\alpah`.\n"
    assert [p.split(" is")[0] for p in page_problems(block, known_commands)] == ["line 3: \\frca", "line 8: \\alpah"]
    cell = '# P\n\nText.\n\n```{code-cell} ipython3\nax.set(ylabel="$\\tanh(z)$")\n```\n'
    assert page_problems(cell, known_commands) == [
        "line 6: a control character in the string '$\\tanh(z)$'"]
    # correct pages pass: commands, \text words, code and inline code are not mistaken for math
    clean = ("# P\n\n$\\tanh'(z) = 1 - \\tanh^2(z)$ and $$\\frac{\\partial L}{\\partial W^l}$$, `$\\anh` in code,\n"
             "costs $5 and $6, \\$ escaped.\n\n```python\nx = '$\\bad$'\n```\n")
    assert page_problems(clean, known_commands) == []
