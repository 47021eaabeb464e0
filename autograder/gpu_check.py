"""``make gpu-check``: the references on a GPU against the same references on the CPU (no network).

Prints the device torch found and its build. Without a GPU it says so and exits 0: there is nothing to
compare. With one, it runs ``python -m autograder selfcheck`` on every assignment (the hidden tests
then run their references on ``cuda``), then runs every solution notebook's test cells (hidden tests
included, in this process: :mod:`autograder.hidden_cells`) and, for every reference value they
compute, computes it again on ``cuda`` and on the CPU, with float inputs in float64 and then cast to
float32 (:func:`lossbook_checks.checking.reference.forced`), and prints the largest difference per
assignment and dtype. The exit status is 1 when the self-check fails or the two devices disagree on
whether a reference raises.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from lossbook_checks.checking import cache, reference

from . import course as course_dir
from .course import DEFAULT_COURSE, Course
from .hidden_cells import cell_outcomes, solution_namespace

DTYPES = (np.float64, np.float32)


@dataclass
class Comparison:
    """One assignment's references on two devices: how many values, the largest absolute difference
    (relative to max(1, |value|)), and the computations where only one device raised (or raised another error)."""

    values: int = 0
    largest: float = 0.0
    disagreements: list[str] = field(default_factory=list)


def largest_difference(a: Any, b: Any) -> float:
    """The largest ``|a - b| / max(1, |a|)`` over the float leaves of two values of the same structure
    (lists, tuples, dicts, arrays, numbers); NaN against NaN counts 0, NaN against a number inf; another
    structure, shape or non-float leaf that differs is inf."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return float("inf")
        return max((largest_difference(x, y) for x, y in zip(a, b, strict=True)), default=0.0)
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return float("inf")
        return max((largest_difference(a[k], b[k]) for k in a), default=0.0)
    if a is None or b is None:
        return 0.0 if a is b else float("inf")
    x, y = np.asarray(a), np.asarray(b)
    if x.shape != y.shape:
        return float("inf")
    if x.dtype.kind not in "fc" or y.dtype.kind not in "fc":
        return 0.0 if np.array_equal(x, y) else float("inf")
    x, y = x.astype(np.float64), y.astype(np.float64)
    both_nan = np.isnan(x) & np.isnan(y)
    with np.errstate(invalid="ignore"):
        diff = np.where(both_nan | (x == y), 0.0, np.abs(x - y) / np.maximum(1.0, np.abs(x)))
    diff = np.where(np.isnan(diff), np.inf, diff)
    return float(diff.max(initial=0.0))


def _outcome(compute: Callable[[], Any], device: str, dtype: type) -> tuple[str, Any]:
    with reference.forced(device, dtype):
        try:
            return "value", compute()
        except Exception as err:  # noqa: BLE001 - a reference that raises is compared by its error
            return "raises", type(err).__name__


def compare_assignment(name: str, devices: tuple[str, str], dtype: type) -> Comparison:
    """Run ``name``'s test cells on its solutions; compare every reference value on the two ``devices``
    with float inputs in ``dtype``."""
    found = Comparison()

    def both(what: str, compute: Callable[[], Any]) -> None:
        (kind_a, a), (kind_b, b) = (_outcome(compute, device, dtype) for device in devices)
        found.values += 1
        if kind_a != kind_b or (kind_a == "raises" and a != b):
            found.disagreements.append(f"{what}: {devices[0]} {kind_a} {a if kind_a == 'raises' else ''}, "
                                       f"{devices[1]} {kind_b} {b if kind_b == 'raises' else ''}")
        elif kind_a == "value":
            found.largest = max(found.largest, largest_difference(a, b))

    assignment = Course(DEFAULT_COURSE).assignment(name)
    namespace = solution_namespace(assignment)
    with cache.disabled(), cache.observed(both):
        cell_outcomes(assignment, namespace)
    return found


def build() -> str:
    """torch's build, as one line."""
    return (f"torch {torch.__version__} (git {torch.version.git_version[:12]}), CUDA {torch.version.cuda}, "
            f"cuDNN {torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None}, "
            f"Python {sys.version.split()[0]}")


def main() -> int:
    """Print the device and build; with a GPU, the self-check and the comparison table. Return the exit status."""
    print(build())
    if not torch.cuda.is_available():
        print("device: no GPU (torch.cuda.is_available() is False): nothing to compare on this machine; "
              "run `make gpu-check` where torch sees a GPU.")
        return 0
    print(f"device: cuda, {torch.cuda.get_device_name(0)} ({torch.cuda.device_count()} visible)", flush=True)
    status = subprocess.run([sys.executable, "-m", "autograder", "selfcheck"], check=False).returncode
    print(f"selfcheck on every assignment: {'passed' if status == 0 else f'FAILED (exit status {status})'}")
    print("\n| assignment | dtype | reference values | largest difference cuda vs cpu | devices disagree |")
    print("|---|---|---|---|---|", flush=True)
    for name in course_dir.assignments():
        for dtype in DTYPES:
            found = compare_assignment(name, ("cuda", "cpu"), dtype)
            print(f"| {name} | {np.dtype(dtype).name} | {found.values} | {found.largest:.3g} | "
                  f"{len(found.disagreements)} |", flush=True)
            for line in found.disagreements[:5]:
                print(f"    {line}")
            status = status or bool(found.disagreements)
    return 1 if status else 0


if __name__ == "__main__":
    sys.exit(main())
