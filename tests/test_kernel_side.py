"""The kernel side of the checking code (``lossbook_checks/cases``) never imports torch, nor the grader side."""

from __future__ import annotations

import subprocess
import sys

from autograder.sandbox.client import CASES_DIR
from autograder.sandbox.protocol import is_hidden

PROBE = """
import importlib, sys
sys.modules["torch"] = None  # any import of torch now fails, directly or through another module
for name in sys.argv[1:]:
    importlib.import_module(name)
grader_side = sorted(m for m in sys.modules if m.startswith(("lossbook_checks.checking", "lossbook_checks.references")))
assert not grader_side, f"the kernel side imports the grader side: {grader_side}"
print(len(sys.argv) - 1)
"""


def test_every_cases_module_imports_without_torch(repo):
    modules = sorted(f"lossbook_checks.cases.{path.stem}" for path in CASES_DIR.glob("*.py") if path.stem != "__init__")
    assert "lossbook_checks.cases.core" in modules and len(modules) >= 4
    result = subprocess.run([sys.executable, "-c", PROBE, "lossbook_checks.cases", *modules], cwd=repo,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(len(modules) + 1)]


def test_the_probe_catches_an_import_of_torch(repo, tmp_path):
    (tmp_path / "uses_torch.py").write_text("import numpy\nimport torch\n")
    result = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n" + PROBE,
                             "uses_torch"], cwd=repo, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "torch" in result.stderr


def test_the_sandbox_serves_only_cases_modules_from_files():
    from autograder.sandbox.kernel import _Guard

    guard = _Guard(str(CASES_DIR), is_hidden)
    assert guard.find_spec("lossbook_checks.cases.core").origin == str(CASES_DIR / "core.py")
    for name in ("lossbook_checks.checking", "lossbook_checks.checking.checks",
                 "lossbook_checks.checking.backpropagation", "lossbook_checks.references.regression_losses"):
        assert guard.find_spec(name).loader is guard, name  # a stand-in, never the file
