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

# Student code runs in the kernel; stop a cell that loops forever.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
# Keep feedback and the gradebook small when a submission prints megabytes.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 40

# Feedback must never show hidden tests: strip them from the cells students see.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
