"""The exception every check raises, rendered for students without a traceback."""

from __future__ import annotations


class CheckFailure(AssertionError):
    """A failed check, shown to the student as its message only.

    IPython calls ``_render_traceback_`` instead of printing the traceback, so the
    student sees what is wrong (element, expected vs got, hint) and never the source of
    the test cell that raised it, which for hidden tests must stay hidden. nbgrader
    still sees an ``error`` output and scores the cell 0.
    """

    def __init__(self, message: str = "", *, raised: str | None = None) -> None:
        super().__init__(message)
        self.raised = raised  # the type name of the exception the student's code raised, if that is the failure

    def _render_traceback_(self) -> list[str]:
        return [f"CheckFailure: {line}" if i == 0 else f"    {line}"
                for i, line in enumerate(str(self).splitlines() or [""])]
