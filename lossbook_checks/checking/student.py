"""Calling a student's function so that any failure becomes a clear, one-screen message."""

from __future__ import annotations

import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lossbook_checks.cases.core import Hint

from .failure import CheckFailure

#: The first line of a stub's failure, and the code the class report counts it under.
NOT_IMPLEMENTED = ("not implemented yet (the stub raises NotImplementedError).\n  "
                   + str(Hint("not-implemented", "replace `raise NotImplementedError()` with your code.")))


class StudentError(Exception):
    """An exception raised by student code in another process, known only by its type name,
    message and the student's own frames (raised by the grader's proxies of student functions)."""

    def __init__(self, type_name: str, message: str, frames: str = "") -> None:
        super().__init__(message)
        self.type_name, self.message, self.frames = type_name, message, frames


class OpaqueValue:
    """Stands for a value student code returned that could not cross to the grader as data.

    ``handle`` (set by the grader's kernel client) lets the value be passed back to the
    student's code, e.g. a layer's cache from its forward to its backward.
    """

    def __init__(self, type_name: str, handle: object = None) -> None:
        self.type_name, self.handle = type_name, handle

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


@dataclass
class StudentResult:
    """What a student's function returned, and the numpy warnings it raised on the way."""

    value: Any
    warnings: list[str] = field(default_factory=list)


def _student_frames(err: BaseException) -> str:
    frames = traceback.extract_tb(err.__traceback__)[1:]  # drop call_student's own frame
    lines = [f"  line {f.lineno} in {f.name}: {(f.line or '').strip()}" for f in frames[-3:]]
    return "\n".join(lines)


def call_student(fn: Callable[..., Any], *args: Any, what: str, **kwargs: Any) -> StudentResult:
    """Call ``fn(*args, **kwargs)``; turn any exception into a :class:`CheckFailure`.

    ``what`` names the call in messages, e.g. ``"mse_loss(input, target, reduction='sum')"``.
    Warnings (overflow, invalid value) are recorded, not printed, so that a failing check
    can name them as the likely cause.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = fn(*args, **kwargs)
        except NotImplementedError:
            raise CheckFailure(f"{what}: {NOT_IMPLEMENTED}") from None
        except StudentError as err:
            if err.type_name == "NotImplementedError":
                raise CheckFailure(f"{what}: {NOT_IMPLEMENTED}") from None
            raise CheckFailure(f"{what} raised {err.type_name}: {err.message}\n{err.frames}",
                               raised=err.type_name) from None
        except Exception as err:  # noqa: BLE001 - any failure of student code is reported, not raised
            raise CheckFailure(f"{what} raised {type(err).__name__}: {err}\n{_student_frames(err)}",
                               raised=type(err).__name__) from None
    notes = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    return StudentResult(value, notes)
