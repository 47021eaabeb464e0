"""The course's checking package (distribution ``lossbook-checks``): what the exercise notebooks import.

One module per assignment, named after it, in each of three subpackages:

- ``lossbook_checks.cases.<assignment>``: the seeded test cases (numpy and the standard library only:
  they run in the student's kernel, and in the grader's sandboxed kernel, where torch does not exist);
  ``cases.core`` holds :class:`~lossbook_checks.cases.core.Case` and what the generators share.
- ``lossbook_checks.references.<assignment>``: the PyTorch reference of every exercise function.
- ``lossbook_checks.checking``: the checks the test cells call (``checking.<assignment>`` for the
  assignments with checks of their own): a student's numpy function against its reference.

- ``lossbook_checks.recorded/<assignment>.json``: the reference values of the visible tests, recorded by
  torch at release; without torch (``lossbook_checks.optional_torch``) the checks compare with them
  (:mod:`lossbook_checks.checking.record`). The visible tests need numpy only.

The instructor's grader (``autograder``) imports this package, never the reverse; this file imports nothing.
"""
