"""The checking package: what every exercise's test cells call.

A student's numpy function is compared with a PyTorch reference (on ``cuda`` when
available, else the CPU), element by element, with messages that say which element is
wrong, by how much, and, when the error has a recognisable shape, why. Every failure is
a :class:`CheckFailure`, which Jupyter shows as its message, never as test source.
"""

from lossbook_checks.cases.core import Hint, hints_in

from .checks import check_backward, check_backward_matches_forward, check_cases, check_forward, check_rejects, describe
from .compare import assert_close, tolerances
from .failure import CheckFailure
from .numerical import numerical_gradient, relative_error
from .reference import device, to_numpy, to_torch, torch_forward, torch_vjp
from .student import call_student
from .testing import check_value, first_gradient, hint, rng

__all__ = [
    "CheckFailure", "Hint", "assert_close", "call_student", "check_backward", "check_backward_matches_forward",
    "check_cases", "check_forward", "check_rejects", "check_value", "describe", "device", "first_gradient", "hint",
    "hints_in", "numerical_gradient", "relative_error", "rng", "to_numpy", "to_torch", "tolerances", "torch_forward",
    "torch_vjp",
]
