"""The grader's plumbing: no import cycle among its modules, one name per sandbox limit, and grading
that leaves the course's shared configuration as it found it."""

from __future__ import annotations

import ast
import copy
from dataclasses import fields
from pathlib import Path

import nbformat
import pytest
from grading_helpers import released

from autograder import grading
from autograder.course import Course
from autograder.gradebook import cell_scores
from autograder.sandbox.client import Limits
from autograder.sandbox.preprocessors import LIMIT_TRAITS, SandboxedExecute
from autograder.submissions import Submission

PACKAGE = Path(grading.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """The ``autograder`` modules ``path`` imports anywhere in it (function bodies included)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in found if name.startswith("autograder")}


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports (names that are not modules are dropped)."""
    paths = {_module_name(p): p for p in root.rglob("*.py")}
    return {name: {m for m in _imports(path) if m in paths and m != name} for name, path in paths.items()}


def cycle_in(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` as the modules along it (empty: none). A package's ``__init__``
    importing its own submodules is not a cycle of their making, so edges into a package are left out."""
    packages = {name for name in graph if any(other.startswith(name + ".") for other in graph)}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = 1
        path.append(name)
        for target in sorted(graph[name] - packages):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        state[name] = 2
        path.pop()
        return []

    for name in sorted(graph):
        if name not in state and (found := visit(name)):
            return found
    return []


def test_the_grader_has_no_import_cycle():
    assert cycle_in(import_graph(PACKAGE)) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert cycle_in({"a": {"b"}, "b": set()}) == []


def test_the_executors_and_the_batch_do_not_import_each_other():
    graph = import_graph(PACKAGE)
    assert not graph["autograder.batch"] & {"autograder.pool", "autograder.cluster"}
    assert "autograder.cluster" not in graph["autograder.pool"] and "autograder.pool" not in graph["autograder.grading"]


def test_every_sandbox_limit_is_a_trait_of_the_same_name():
    configurable = set(SandboxedExecute.class_trait_names(config=True))
    assert set(LIMIT_TRAITS) == {f.name for f in fields(Limits)} - {"start_s"}
    assert set(LIMIT_TRAITS) <= configurable
    assert all(SandboxedExecute.class_traits()[name].default_value == getattr(Limits, name) for name in LIMIT_TRAITS)


@pytest.mark.xdist_group("grading_batch")
def test_grading_leaves_the_course_configuration_as_it_was(tmp_path):
    stub = released(tmp_path / "course", "regression_losses")
    course = Course(tmp_path / "course")
    assignment = course.assignment("regression_losses")
    path = tmp_path / "stub.ipynb"
    nbformat.write(stub, path)
    before = copy.deepcopy(course.config)
    outcome = grading.grade_one(course, assignment, Submission("stub", path))
    assert outcome.status == "graded" and cell_scores(course.db_url, "regression_losses", "stub").total == 0
    assert course.config == before and "report_file" not in course.config.SandboxedExecute
