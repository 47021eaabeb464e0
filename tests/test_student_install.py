"""The student's side, outside the repository (README "Student workflow"): what a student receives runs its
visible tests with numpy alone, and installing the package replaces nothing.

- An exercise's zip bundle (``autograder/bundle.py``, offered on its page), unzipped into an empty folder
  and executed in a fresh environment that has only numpy (requirements.txt's, the highest of the range)
  and ipykernel: solved, every visible test passes; as released, every visible test fails with "not
  implemented yet", never with an import error.
- ``pip install`` of the checkout into a fresh environment that already has the lowest numpy of the
  range: numpy stays, nothing of the instructor's side or torch comes in, and every downloaded notebook's
  visible tests pass with the installed package.
- In the course environment (numpy and torch inside the ranges), installing the package with its torch
  extra would change neither (pip's own dry-run report).

The environments are made once per module, outside the checkout (the slow tests, ``-m slow``); pip takes
the wheels from its configured local indexes and cache. Install times and sizes are printed (``pytest -s``),
never asserted.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
import tomllib
import zipfile
from datetime import datetime
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbformat import NotebookNode

from autograder import bundle
from autograder import course as course_dir
from autograder.notebooks import fill_solutions, grade_id, read_notebook

REPO = Path(__file__).resolve().parent.parent
DISTRIBUTION = "lossbook-checks"
WHEEL_PACKAGES = {"lossbook_checks/__init__.py", "lossbook_checks/optional_torch.py", "lossbook_checks/cases",
                  "lossbook_checks/checking", "lossbook_checks/references", "lossbook_checks/recorded"}
INSTRUCTOR_ONLY = ("jupyter_book", "nbgrader", "nbclient", "nbconvert", "autograder", "matplotlib")
ASSIGNMENTS = course_dir.assignments()
LOWEST_NUMPY = "1.26.4"
#: What a placeholder looks like in text: <URL ...>, <repository>, git+< ..., example.org/.com.
PLACEHOLDER = re.compile(r"<(URL|url|repository|organisation|organization|course)[^>]*>|git\+<|example\.(org|com)")
# Python code that imports every module of the package (torch blocked unless told) and prints sys.modules.
IMPORT_STUDENT_SIDE = """
import importlib, json, pkgutil, sys
if "--no-torch" in sys.argv:
    sys.modules["torch"] = None  # any import of torch fails, directly or through another module
import lossbook_checks
for module in pkgutil.walk_packages(lossbook_checks.__path__, "lossbook_checks."):
    importlib.import_module(module.name)
print(json.dumps(sorted(sys.modules)))
"""


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


def make_env(root: Path, *requirements: str) -> Path:
    """A fresh virtual environment in ``root/venv`` with ``requirements`` installed, and a Jupyter kernel
    ``student`` of it in ``root/kernels``; prints its install time and size."""
    venv = root / "venv"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, env=clean_env())
    pip_install(venv, *requirements)
    seconds = time.perf_counter() - start
    print(f"\nfresh environment with {' '.join(requirements)}: {seconds:.0f} s, {size_mib(venv):.0f} MiB")
    kernel = root / "kernels" / "student"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(json.dumps({
        "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "student", "language": "python"}))
    return venv


def pip_install(venv: Path, *requirements: str) -> None:
    """This venv's pip installs into ``venv`` (--python); --no-compile skips byte-compiling (imports compile lazily)."""
    pip = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                          "--disable-pip-version-check", "--no-compile", "-q", *requirements],
                         cwd=venv.parent, env=clean_env(), capture_output=True, text=True)
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]


def size_mib(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


def run_in(venv: Path, code: str, cwd: Path, *args: str) -> dict | list:
    """Run ``code`` with the environment's python in ``cwd``; the JSON it prints last."""
    result = subprocess.run([str(venv / "bin" / "python"), "-c", code, *args], cwd=cwd, env=clean_env(),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def notebook_as(assignment: str, answers: str) -> NotebookNode:
    """The released notebook of ``assignment`` with its answer cells solved (``"solution"``) or as released."""
    released = read_notebook(course_dir.EXERCISES / assignment / course_dir.source_notebook(assignment).name)
    if answers == "solution":
        released = fill_solutions(released, read_notebook(course_dir.source_notebook(assignment)))
    return released


def unzipped_bundle(assignment: str, answers: str, folder: Path) -> tuple[NotebookNode, float]:
    """The bundle of ``assignment`` unzipped into the empty ``folder`` (its notebook solved or not);
    the notebook, and the time it was unzipped (``time.time()``)."""
    zipped = folder.parent / f"{assignment}.zip"
    zipped.write_bytes(bundle.bundle(assignment))
    unzipped_at = time.time()
    with zipfile.ZipFile(zipped) as archive:
        archive.extractall(folder)
    name = course_dir.source_notebook(assignment).name
    nbformat.write(notebook_as(assignment, answers), folder / name)
    return nbformat.read(folder / name, as_version=4), unzipped_at


def execute(root: Path, nb: NotebookNode, folder: Path) -> NotebookNode:
    """Execute every cell of ``nb`` in ``folder`` with the kernel of the environment in ``root``, errors kept."""
    specs = KernelSpecManager(kernel_dirs=[str(root / "kernels")], ensure_native_kernel=False)
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


def graded(nb: NotebookNode) -> list[NotebookNode]:
    return [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def assert_visible_tests_pass(nb: NotebookNode) -> None:
    failed = {grade_id(c) or i: errors(c)[0].evalue[:300] for i, c in enumerate(nb.cells) if errors(c)}
    assert not failed
    assert graded(nb)
    for cell in graded(nb):
        printed = "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream")
        assert "visible tests passed" in printed, grade_id(cell)


def assert_visible_tests_fail_as_not_implemented(nb: NotebookNode) -> None:
    setup = next(c for c in nb.cells if grade_id(c) == "setup")
    assert not errors(setup), [e.evalue for e in errors(setup)]
    assert graded(nb)
    for cell in graded(nb):
        (error,) = errors(cell)
        assert error.ename == "CheckFailure", (grade_id(cell), error.ename, error.evalue[:300])
        assert "not implemented yet" in error.evalue, (grade_id(cell), error.evalue[:300])


# ---------------------------------------------------------------- fast: the package and the texts


def test_package_declares_ranges_that_hold_the_course_pins():
    """The package requires numpy from a lower bound on (no upper pin) and offers torch as an optional extra
    with a lower bound; requirements.txt's exact pins lie inside both ranges."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = requirement_pins()
    assert project["name"] == DISTRIBUTION
    (numpy,) = project["dependencies"]
    (torch,) = project["optional-dependencies"]["torch"]
    assert numpy == f"numpy>={LOWEST_NUMPY}"
    for requirement, name in ((numpy, "numpy"), (torch, "torch")):
        match = re.fullmatch(rf"{name}>=([0-9.]+)", requirement)
        assert match, requirement
        assert version_tuple(match[1]) <= version_tuple(pins[name].split("+")[0])


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@pytest.mark.parametrize("torch", ["with torch", "without torch"])
def test_student_modules_import_without_torch_and_nothing_of_the_instructor_side(torch):
    """Where everything is installed (the instructor's venv), every module of the package imports, with torch
    and with torch blocked, and loads neither Jupyter Book, nbgrader nor the grader."""
    flags = [] if torch == "with torch" else ["--no-torch"]
    result = subprocess.run([sys.executable, "-c", IMPORT_STUDENT_SIDE, *flags], cwd=REPO, capture_output=True,
                            text=True, check=True)
    modules = set(json.loads(result.stdout.splitlines()[-1]))
    assert student_modules() <= modules
    assert not [m for m in modules if m.startswith(INSTRUCTOR_ONLY)]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_setup_cell_without_the_package_points_to_the_bundle(assignment, monkeypatch):
    """Where the package is missing, a released notebook's set-up cell stops and says where it comes from:
    the bundle on the exercise page, or the README; the introduction names the bundle's unzip line."""
    cells = {grade_id(c): c.source for c in notebook_as(assignment, "stub").cells}
    assert f"!unzip -o {assignment}.zip" in cells["intro"] and "only **numpy**" in cells["intro"]
    monkeypatch.setitem(sys.modules, "lossbook_checks", None)  # its import fails, as without the package
    with pytest.raises(ModuleNotFoundError, match="Open this notebook from the folder of its zip bundle"):
        exec(compile(cells["setup"], f"{assignment} set-up cell", "exec"), {})  # noqa: S102


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_placeholder_in_what_a_student_receives(assignment):
    """Neither the released notebook nor its bundle (every file) contains a placeholder URL; with a
    repository URL set, the notebook carries the real install line."""
    texts = {"notebook": "\n".join(c.source for c in notebook_as(assignment, "stub").cells)}
    with zipfile.ZipFile(io.BytesIO(bundle.bundle(assignment))) as archive:
        texts |= {name: archive.read(name).decode() for name in archive.namelist()}
    found = {name: PLACEHOLDER.search(text)[0] for name, text in texts.items() if PLACEHOLDER.search(text)}
    assert not found
    url = "https://github.com/a-university/loss-course"
    with_line = bundle.with_install_line(notebook_as(assignment, "stub"), url)
    intro = next(c.source for c in with_line.cells if grade_id(c) == "intro")
    assert f'`%pip install "lossbook-checks @ git+{url}"`' in intro


def test_no_book_page_shows_a_placeholder():
    """A reader meets no placeholder URL on any page of the book (the introduction's student set-up once had
    one); the pages are read as their sources."""
    found = {str(page.relative_to(REPO)): PLACEHOLDER.search(page.read_text())[0]
             for page in sorted((REPO / "book").rglob("*.md")) if PLACEHOLDER.search(page.read_text())}
    assert not found


def test_readme_student_workflow_has_no_placeholder():
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Student workflow", 1)[1].split("\n## ", 1)[0]
    assert "numpy" in section and "bundle" in section
    assert not PLACEHOLDER.search(section), PLACEHOLDER.search(section)


# ---------------------------------------------------------------- slow: fresh environments


@pytest.fixture(scope="module")
def numpy_only(tmp_path_factory) -> Path:
    """A fresh environment with only numpy (requirements.txt's: the highest of the range) and ipykernel; its root."""
    root = tmp_path_factory.mktemp("numpy_only")
    pins = requirement_pins()
    venv = make_env(root, f"numpy=={pins['numpy']}", f"ipykernel=={pins['ipykernel']}")
    assert run_in(venv, IMPORT_PROBE, root) == {"numpy": pins["numpy"], "torch": None, "lossbook_checks": None}
    return root


IMPORT_PROBE = """
import importlib.util, json
found = {n: importlib.util.find_spec(n) is not None for n in ("numpy", "torch", "lossbook_checks")}
import numpy
print(json.dumps({"numpy": numpy.__version__, "torch": None if not found["torch"] else "installed",
                  "lossbook_checks": None if not found["lossbook_checks"] else "installed"}))
"""


@pytest.mark.slow
@pytest.mark.xdist_group("student_numpy_only")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_bundle_solved_passes_its_visible_tests_with_numpy_alone(numpy_only, assignment, tmp_path):
    folder = tmp_path / "unzipped"
    nb, unzipped_at = unzipped_bundle(assignment, "solution", folder)
    execute(numpy_only, nb, folder)
    assert_visible_tests_pass(nb)
    first = graded(nb)[0].metadata["execution"]["iopub.status.idle"]
    seconds = datetime.fromisoformat(first.replace("Z", "+00:00")).timestamp() - unzipped_at
    print(f"\n{assignment}: from unzipping the bundle to the first visible test passing: {seconds:.1f} s")


@pytest.mark.slow
@pytest.mark.xdist_group("student_numpy_only")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_bundle_as_released_fails_each_visible_test_as_not_implemented(numpy_only, assignment, tmp_path):
    folder = tmp_path / "unzipped"
    nb, _ = unzipped_bundle(assignment, "stub", folder)
    execute(numpy_only, nb, folder)
    assert_visible_tests_fail_as_not_implemented(nb)


@pytest.fixture(scope="module")
def lowest_numpy(tmp_path_factory) -> Path:
    """A fresh environment with the lowest numpy of the range and ipykernel, then ``pip install <checkout>``."""
    root = tmp_path_factory.mktemp("lowest_numpy")
    venv = make_env(root, f"numpy=={LOWEST_NUMPY}", f"ipykernel=={requirement_pins()['ipykernel']}")
    start = time.perf_counter()
    pip_install(venv, str(REPO))
    print(f"\npip install of the checkout over numpy {LOWEST_NUMPY}: {time.perf_counter() - start:.0f} s, "
          f"environment {size_mib(venv):.0f} MiB")
    return root


@pytest.mark.slow
@pytest.mark.xdist_group("student_lowest_numpy")
def test_installing_the_package_keeps_the_numpy_there_and_brings_only_itself(lowest_numpy):
    """numpy stays at the version the environment had; the installed files are the package and its
    record; torch and the instructor's side are neither installed nor imported; every module imports."""
    venv = lowest_numpy / "venv"
    assert run_in(venv, IMPORT_PROBE, lowest_numpy) == {"numpy": LOWEST_NUMPY, "torch": None,
                                                         "lossbook_checks": "installed"}
    report = run_in(venv, f'''
import importlib.metadata as md, importlib.util, json
import lossbook_checks
files = sorted({{"/".join(str(f).split("/")[:2]) for f in md.files("{DISTRIBUTION}")
                if str(f).startswith("lossbook_checks/") and "__pycache__" not in str(f)}})
print(json.dumps({{"file": lossbook_checks.__file__, "files": files,
                  "installed": [n for n in ("jupyter_book", "nbgrader", "matplotlib", "autograder")
                                if importlib.util.find_spec(n)]}}))
''', lowest_numpy)
    assert Path(report["file"]).is_relative_to(venv), "imported from outside the fresh environment"
    assert set(report["files"]) == WHEEL_PACKAGES
    assert report["installed"] == []
    modules = set(run_in(venv, IMPORT_STUDENT_SIDE, lowest_numpy))
    assert student_modules() <= modules
    assert not [m for m in modules if m.startswith((*INSTRUCTOR_ONLY, "torch"))]


@pytest.mark.slow
@pytest.mark.xdist_group("student_lowest_numpy")
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_downloaded_notebook_passes_with_the_installed_package_and_the_lowest_numpy(lowest_numpy, assignment,
                                                                                    tmp_path):
    nb = notebook_as(assignment, "solution")
    execute(lowest_numpy, nb, tmp_path)
    assert_visible_tests_pass(nb)


@pytest.mark.slow
def test_installing_into_the_course_environment_replaces_neither_numpy_nor_torch(tmp_path):
    """The course environment has a numpy and a torch inside the ranges: pip's dry run of installing the
    package with its torch extra there would install the package alone."""
    report = tmp_path / "report.json"
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--report", str(report),
                          f"{REPO}[torch]"], capture_output=True, text=True, cwd=tmp_path)
    assert pip.returncode == 0, pip.stderr[-3000:]
    installs = sorted(item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"])
    assert installs == [DISTRIBUTION]
