"""Test cases: seeded inputs for every exercise, numpy and the standard library only.

This package is the kernel side of the checking code: the graded notebook's set-up cell
imports it inside the student's sandboxed kernel, where torch does not exist. The checks
that compare with PyTorch live in :mod:`lossbook_checks.checking` and run in the grader.
``core`` holds :class:`~lossbook_checks.cases.core.Case` and the generic generators; each
assignment's own generators are in the module named after it.
"""
