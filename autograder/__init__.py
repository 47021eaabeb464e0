"""The course's grading side: nbgrader configuration, the checking package and the instructor CLI.

- ``autograder.cases``: the seeded test cases (numpy only: they run in the student's kernel too);
  ``autograder.checking``: what the exercise notebooks' test cells call (grader side, torch).
- ``autograder.sandbox``: how untrusted submissions run when graded (confined kernel process,
  tests executed by the grader itself).
- ``python -m autograder``: the instructor CLI (release, autograde, feedback, grades, selfcheck).
- ``autograder/nbgrader_config.py``: the nbgrader course configuration; this folder is the
  default course directory.

The student side, ``checking``, ``cases`` and ``references`` (what the exercise notebooks import),
is also an installable package of its own (``pyproject.toml``, distribution ``lossbook-checks``:
numpy and torch only). Those three must not import the rest of this folder, nor Jupyter Book or
nbgrader (``tests/test_student_install.py``); and this file imports nothing.
"""
