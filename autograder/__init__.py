"""The course's grading side: nbgrader configuration and the instructor CLI.

- ``autograder.sandbox``: how untrusted submissions run when graded (confined kernel process,
  tests executed by the grader itself).
- ``python -m autograder``: the instructor CLI (release, autograde, feedback, grades, selfcheck).
- ``autograder/nbgrader_config.py``: the nbgrader course configuration; this folder is the
  default course directory.

What the exercise notebooks import (cases, checks, references) is the student package
``lossbook_checks`` (distribution ``lossbook-checks``, ``pyproject.toml``). The grader imports it;
it never imports this folder (``tests/test_student_install.py``). This file imports nothing.
"""
