"""nbgrader configuration of the course; this folder (autograder/) is the default course directory.

Plain nbgrader commands work from here (``cd autograder && nbgrader autograde regression_losses``).
The source notebooks live in ``solutions/`` and the released student versions in
``book/exercises/``; both are given as absolute paths, so a course directory elsewhere (a
term's grading folder, a test's temporary folder) can load this file with
``load_subconfig`` and set only its own ``CourseDirectory.root``.
"""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = "losses-and-backprop"
c.CourseDirectory.root = str(REPO / "autograder")
c.CourseDirectory.source_directory = str(REPO / "solutions")
c.CourseDirectory.release_directory = str(REPO / "book" / "exercises")
# No exchange is used (submissions are collected by the CLI); keep nbgrader from probing /usr/local.
c.Exchange.root = str(REPO / "autograder" / "exchange")

# Submissions are untrusted code. Before execution, every gradebook cell is made what the
# gradebook says (RestoreStructure: edited, re-typed, duplicated or deleted test cells). Then
# SandboxedExecute replaces nbgrader's Execute: student cells run in a confined kernel process
# (resource limits, no capabilities, Landlock, a working directory outside the course), test
# cells run in the grader's own process, so a submission cannot patch the checks it is graded by.
_NB = "nbgrader.preprocessors."
c.Autograde.sanitize_preprocessors = [
    _NB + "ClearOutput", _NB + "DeduplicateIds", "autograder.sandbox.preprocessors.RestoreStructure",
    _NB + "OverwriteKernelspec", _NB + "OverwriteCells", _NB + "CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "autograder.sandbox.preprocessors.SandboxedExecute", _NB + "IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor", _NB + "LimitOutput", _NB + "SaveAutoGrades",
    _NB + "AssignLatePenalties", _NB + "CheckCellMetadata",
]
# The sandbox's limits (time per cell and per submission, memory, CPU, file size, output, size of the
# values returned to the tests) are SandboxedExecute's traits, named and defaulted as the fields of
# Limits in autograder/sandbox/client.py, their one definition. Override any of them here or in a
# course directory's config, e.g. c.SandboxedExecute.budget_s = 600.
# Keep feedback and the gradebook small when a submission prints megabytes.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 40

# Feedback must never show hidden tests: strip them from the cells students see.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
