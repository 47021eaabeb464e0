"""The student's path outside the repository (README "Student workflow"): ``pip install`` of the
checkout into a fresh virtual environment gives a downloaded exercise notebook everything its
visible tests need, and nothing of the instructor's side (Jupyter Book, nbgrader, the sandbox).

The environment is made once for this module, outside the checkout; pip reuses its cache and takes
torch from the configured local wheels, as ``make venv`` does. Its install time and size are
printed (``pytest -s``), never asserted.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbformat import NotebookNode

from autograder import course as course_dir
from autograder.notebooks import fill_solutions, grade_id, read_notebook

REPO = Path(__file__).resolve().parent.parent
DISTRIBUTION = "lossbook-checks"
WHEEL_PACKAGES = {"lossbook_checks/__init__.py", "lossbook_checks/cases", "lossbook_checks/checking",
                  "lossbook_checks/references"}
INSTRUCTOR_ONLY = ("jupyter_book", "nbgrader", "nbclient", "nbconvert", "autograder", "matplotlib")
ASSIGNMENTS = course_dir.assignments()
INSTALL_LINE = '%pip install "lossbook-checks @ git+'
# Python code that imports every module of the student packages and prints what sys.modules then holds.
IMPORT_STUDENT_SIDE = """
import importlib, json, pkgutil, sys
import lossbook_checks
for module in pkgutil.walk_packages(lossbook_checks.__path__, "lossbook_checks."):
    importlib.import_module(module.name)
print(json.dumps(sorted(sys.modules)))
"""

pytestmark = pytest.mark.xdist_group("student_install")  # one worker builds the environment once


def requirement_pins() -> dict[str, str]:
    """``name -> version`` of every ``name==version`` line of requirements.txt."""
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        match = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)==(\S+)\s*(#.*)?", line)
        if match:
            pins[match[1].lower()] = match[2]
    return pins


def student_modules() -> set[str]:
    """The module names of every Python file of the student packages in this checkout."""
    files = list((REPO / "lossbook_checks").rglob("*.py"))
    return {".".join(f.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__") for f in files}


def clean_env() -> dict[str, str]:
    """The environment of a student's shell: none of this checkout's paths or virtual environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and not Path(p).resolve().is_relative_to(REPO))
    return env


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> Path:
    """A fresh virtual environment with ``pip install <checkout>`` and a Jupyter kernel; its root."""
    root = tmp_path_factory.mktemp("student")
    venv = root / "venv"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, env=clean_env())
    # This venv's pip installs into the new environment (--python); --no-compile skips byte-compiling
    # torch's files, a third of the install time here (the files are the same; imports compile lazily).
    pip = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                          "--disable-pip-version-check", "--no-compile", "-q", str(REPO),
                          f"ipykernel=={requirement_pins()['ipykernel']}"],
                         cwd=root, env=clean_env(), capture_output=True, text=True)
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    seconds = time.perf_counter() - start
    size = sum(f.stat().st_size for f in venv.rglob("*") if f.is_file() and not f.is_symlink())
    print(f"\nfresh install of {DISTRIBUTION} + ipykernel: {seconds:.0f} s, environment {size / 2**20:.0f} MiB")
    kernel = root / "kernels" / "student"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(json.dumps({
        "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "student", "language": "python"}))
    return root


def run_in(student: Path, code: str, cwd: Path) -> dict | list:
    """Run ``code`` with the student environment's python in ``cwd``; the JSON it prints last."""
    result = subprocess.run([str(student / "venv" / "bin" / "python"), "-c", code], cwd=cwd, env=clean_env(),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def downloaded(student: Path, assignment: str, answers: str) -> tuple[NotebookNode, Path]:
    """The released notebook of ``assignment`` as a student downloads it into an empty folder,
    with its answer cells solved (``answers="solution"``) or left as stubs (``"stub"``)."""
    name = course_dir.source_notebook(assignment).name
    folder = student / f"{assignment}-{answers}"
    folder.mkdir()
    released = read_notebook(course_dir.EXERCISES / assignment / name)
    if answers == "solution":
        released = fill_solutions(released, read_notebook(course_dir.source_notebook(assignment)))
    nbformat.write(released, folder / name)
    return nbformat.read(folder / name, as_version=4), folder


def execute(student: Path, nb: NotebookNode, folder: Path) -> NotebookNode:
    """Execute every cell of ``nb`` in ``folder`` with the student environment's kernel, errors kept."""
    specs = KernelSpecManager(kernel_dirs=[str(student / "kernels")], ensure_native_kernel=False)
    km = KernelManager(kernel_name="student", kernel_spec_manager=specs)
    client = NotebookClient(nb, km=km, timeout=300, allow_errors=True, resources={"metadata": {"path": str(folder)}})
    try:
        client.execute(env=clean_env())
    finally:
        if km.has_kernel:
            km.shutdown_kernel(now=True)
    return nb


def errors(cell: NotebookNode) -> list[NotebookNode]:
    return [out for out in cell.get("outputs", []) if out.output_type == "error"]


def test_package_declares_ranges_that_hold_the_course_pins():
    """The package requires numpy from a lower bound on (no upper pin) and offers torch as an optional extra
    with a lower bound; requirements.txt's exact pins lie inside both ranges."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = requirement_pins()
    assert project["name"] == DISTRIBUTION
    (numpy,) = project["dependencies"]
    (torch,) = project["optional-dependencies"]["torch"]
    for requirement, name in ((numpy, "numpy"), (torch, "torch")):
        match = re.fullmatch(rf"{name}>=([0-9.]+)", requirement)
        assert match, requirement
        assert version_tuple(match[1]) <= version_tuple(pins[name].split("+")[0])


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def test_installed_package_is_the_student_side_only(student):
    """In the student's environment the installed files are the checks, cases and references, every
    module of them imports, and none of the instructor's side is installed or imported."""
    report = run_in(student, f'''
import importlib.metadata as md, importlib.util, json
import lossbook_checks
files = sorted({{"/".join(str(f).split("/")[:2]) for f in md.files("{DISTRIBUTION}")
                if str(f).startswith("lossbook_checks/") and "__pycache__" not in str(f)}})
print(json.dumps({{"file": lossbook_checks.__file__, "files": files,
                  "installed": [n for n in ("jupyter_book", "nbgrader", "matplotlib")
                                if importlib.util.find_spec(n)]}}))
''', cwd=student)
    assert Path(report["file"]).is_relative_to(student / "venv"), "imported from outside the fresh environment"
    assert set(report["files"]) == WHEEL_PACKAGES
    assert report["installed"] == []
    modules = set(run_in(student, IMPORT_STUDENT_SIDE, cwd=student))
    assert student_modules() | {"torch"} <= modules
    assert not [m for m in modules if m.startswith(INSTRUCTOR_ONLY)]


def test_student_modules_import_nothing_of_the_instructor_side():
    """Where everything is installed (the instructor's venv), importing every module of the student
    packages loads neither Jupyter Book, nbgrader nor the sandbox."""
    result = subprocess.run([sys.executable, "-c", IMPORT_STUDENT_SIDE], cwd=REPO, capture_output=True, text=True,
                            check=True)
    modules = set(json.loads(result.stdout.splitlines()[-1]))
    assert student_modules() <= modules
    assert not [m for m in modules if m.startswith(INSTRUCTOR_ONLY)]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_downloaded_notebook_with_solutions_passes_its_visible_tests(student, assignment):
    nb, folder = downloaded(student, assignment, "solution")
    execute(student, nb, folder)
    failed = {grade_id(c) or i: errors(c)[0].evalue[:300] for i, c in enumerate(nb.cells) if errors(c)}
    assert not failed
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert tests
    for cell in tests:
        printed = "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream")
        assert "visible tests passed" in printed, grade_id(cell)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_downloaded_stub_fails_its_visible_tests_with_their_messages(student, assignment):
    nb, folder = downloaded(student, assignment, "stub")
    execute(student, nb, folder)
    setup = next(c for c in nb.cells if grade_id(c) == "setup")
    assert not errors(setup), [e.evalue for e in errors(setup)]
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert tests
    for cell in tests:
        (error,) = errors(cell)
        assert error.ename == "CheckFailure", (grade_id(cell), error.ename, error.evalue[:300])
        assert "not implemented yet" in error.evalue, (grade_id(cell), error.evalue[:300])


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_setup_cell_without_the_package_says_the_install_line(assignment, monkeypatch):
    """Where the package is missing, a released notebook's set-up cell stops with the line that
    installs it, and the notebook's introduction gives the same line."""
    name = course_dir.source_notebook(assignment).name
    cells = {grade_id(c): c.source for c in read_notebook(course_dir.EXERCISES / assignment / name).cells}
    assert INSTALL_LINE in cells["intro"]
    monkeypatch.setitem(sys.modules, "lossbook_checks", None)  # its import fails, as without the package
    with pytest.raises(ModuleNotFoundError, match=re.escape(INSTALL_LINE)):
        exec(compile(cells["setup"], f"{assignment} set-up cell", "exec"), {})
