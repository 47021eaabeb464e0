"""``make bench``'s solution tables: what grading one more submission costs, and numpy vs torch.

:func:`marginal_table`: for every assignment, the marginal autograde cost of one solved submission
(``--jobs 1``, in this process: the mean of :data:`MARGINAL` submissions graded after a first one,
which fills the reference cache, :mod:`lossbook_checks.checking.cache`), one ``jupyter nbconvert
--execute`` of the same notebook, and their ratio (the goal: at most :data:`GOAL`).

:func:`numpy_table`: each instructor solution is loaded from its source notebook (``solutions/<assignment>/``:
the set-up and solution cells are executed, the test cells are not) and timed on float64 inputs of 10^6
elements against the torch reference of ``lossbook_checks/references/`` (forward, then ``backward`` with
the same upstream gradient). The ratio numpy / torch is the price of writing it by hand in numpy.

``python -m autograder.bench_solutions [assignment ...]`` prints the first table alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import torch

from lossbook_checks.checking import cache
from lossbook_checks.references import backpropagation, classification_losses, likelihood_information, regression_losses

from . import course as course_dir
from .batch import autograde
from .course import DEFAULT_COURSE, Assignment, Course
from .executor import Finished, GradeOne, InProcess
from .grading import ensure_assignment
from .hidden_cells import solution_namespace
from .notebooks import fill_solutions, read_notebook
from .results import Outcome
from .submissions import Submission

N = 1_000_000
REPEATS = 3
MARGINAL = 3  # solved submissions timed after the first one
GOAL = 0.5    # marginal autograde / nbconvert --execute
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Pair:
    """One solution function and its reference: ``numpy(ns, arrays)`` runs forward + backward."""

    assignment: str
    name: str
    arrays: Callable[[np.random.Generator], dict[str, np.ndarray]]
    numpy: Callable[[dict, dict[str, np.ndarray]], object]
    torch: Callable[[dict[str, torch.Tensor]], torch.Tensor]
    wrt: str


def _pair_xy(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"input": rng.normal(size=N), "target": rng.normal(size=N)}


def _logits(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"input": rng.normal(size=(N // 10, 10)), "target": rng.integers(0, 10, size=N // 10)}


def _probs(rng: np.random.Generator) -> dict[str, np.ndarray]:
    def simplex() -> np.ndarray:
        x = rng.random(size=(N // 10, 10)) + 0.05
        return x / x.sum(-1, keepdims=True)
    return {"p": simplex(), "q": simplex()}


def _regression(name: str, reference: Callable) -> Pair:
    def run(ns: dict, a: dict) -> object:
        ns[f"{name}_loss"](a["input"], a["target"])
        return ns[f"{name}_loss_backward"](a["input"], a["target"])
    return Pair("regression_losses", f"{name}_loss", _pair_xy, run, lambda t: reference(t["input"], t["target"]),
                "input")


def _backprop(name: str, reference: Callable) -> Pair:
    def run(ns: dict, a: dict) -> object:
        out, cache = ns[f"{name}_forward"](a["x"])
        return ns[f"{name}_backward"](np.ones_like(out), cache)
    return Pair("backpropagation", f"{name}_forward/backward", lambda rng: {"x": rng.normal(size=N)}, run,
                lambda t: reference(t["x"]).sum(), "x")


PAIRS = [
    _regression("mse", regression_losses.mse), _regression("mae", regression_losses.mae),
    _regression("huber", regression_losses.huber),
    _regression("log_cosh", regression_losses.log_cosh), _regression("quantile", regression_losses.quantile),
    Pair("classification_losses", "binary_cross_entropy_with_logits",
         lambda rng: {"input": rng.normal(size=N), "target": rng.random(size=N)},
         lambda ns, a: (ns["binary_cross_entropy_with_logits"](a["input"], a["target"]),
                        ns["binary_cross_entropy_with_logits_backward"](a["input"], a["target"])),
         lambda t: classification_losses.binary_cross_entropy_with_logits(t["input"], t["target"]), "input"),
    Pair("classification_losses", "cross_entropy (10^5 x 10 logits)", _logits,
         lambda ns, a: (ns["cross_entropy"](a["input"], a["target"]),
                        ns["cross_entropy_backward"](a["input"], a["target"])),
         lambda t: classification_losses.cross_entropy(t["input"], t["target"]), "input"),
    Pair("classification_losses", "log_softmax (10^5 x 10)", lambda rng: {"input": rng.normal(size=(N // 10, 10))},
         lambda ns, a: (ns["log_softmax"](a["input"]),
                        ns["log_softmax_backward"](a["input"], np.ones_like(a["input"]))),
         lambda t: classification_losses.log_softmax(t["input"]).sum(), "input"),
    Pair("likelihood_information", "kl_divergence", lambda rng: {"input": np.log(rng.random(size=N) + 0.01),
                                                                 "target": rng.random(size=N)},
         lambda ns, a: (ns["kl_divergence"](a["input"], a["target"]),
                        ns["kl_divergence_backward"](a["input"], a["target"])),
         lambda t: likelihood_information.kl_div(t["input"], t["target"]), "input"),
    Pair("likelihood_information", "cross_entropy_dist (10^5 x 10)", _probs,
         lambda ns, a: (ns["cross_entropy_dist"](a["p"], a["q"]),
                        ns["cross_entropy_dist_backward"](a["p"], a["q"], np.ones(N // 10))),
         lambda t: likelihood_information.cross_entropy_dist(t["p"], t["q"]).sum(), "q"),
    Pair("likelihood_information", "gaussian_nll",
         lambda rng: {"input": rng.normal(size=N), "target": rng.normal(size=N), "var": rng.random(size=N) + 0.1},
         lambda ns, a: (ns["gaussian_nll"](a["input"], a["target"], a["var"]),
                        ns["gaussian_nll_backward"](a["input"], a["target"], a["var"])),
         lambda t: likelihood_information.gaussian_nll(t["input"], t["target"], t["var"]), "input"),
    _backprop("relu", backpropagation.relu), _backprop("sigmoid", backpropagation.sigmoid),
    _backprop("tanh", backpropagation.tanh),
    _backprop("softplus", backpropagation.softplus),
]


def _best(action: Callable[..., object], *args: object) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        action(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def _torch_run(pair: Pair, arrays: dict[str, np.ndarray]) -> None:
    tensors = {k: torch.from_numpy(v) for k, v in arrays.items()}
    tensors[pair.wrt] = tensors[pair.wrt].clone().requires_grad_(True)
    pair.torch(tensors).backward()


class TimedInProcess(InProcess):
    """:class:`autograder.executor.InProcess` that keeps the wall time of each submission's grading."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def run(self, grade: GradeOne, course: Course, assignment: Assignment, todo: list[Submission]) -> Finished:
        def timed(course: Course, assignment: Assignment, sub: Submission) -> Outcome:
            start = time.perf_counter()
            try:
                return grade(course, assignment, sub)
            finally:
                self.seconds.append(time.perf_counter() - start)
        yield from super().run(timed, course, assignment, todo)


def marginal_cost(work: Path, name: str) -> tuple[float, float, float]:
    """Seconds to autograde the first solved submission of ``name`` in this process, the mean of the next
    :data:`MARGINAL` ones, and one ``nbconvert --execute`` of that notebook (in the folder ``work``)."""
    course = Course(course_dir.prepare(work / "course"))
    assignment = course.assignment(name)
    ensure_assignment(course, assignment)  # generating the assignment is not timed
    notebook = work / assignment.notebook_name
    released = read_notebook(course.released / name / assignment.notebook_name)
    nbformat.write(fill_solutions(released, read_notebook(assignment.source)), notebook)
    executor = TimedInProcess()
    batch = [Submission(f"student{i}", notebook) for i in range(1 + MARGINAL)]
    outcomes = autograde(course, assignment, batch, executor, progress=False)
    if any(o.status != "graded" for o in outcomes.values()):
        raise RuntimeError(f"{name}: a solved submission was not graded: {outcomes}")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    command = [str(BIN / "jupyter"), "nbconvert", "--to", "notebook", "--execute", str(notebook),
               "--output-dir", str(work / "executed")]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env, cwd=work)
    return executor.seconds[0], sum(executor.seconds[1:]) / MARGINAL, time.perf_counter() - start


def marginal_table(names: list[str] | None = None) -> dict[str, float]:
    """Print, per assignment, the marginal autograde cost per submission against one nbconvert; return the ratios."""
    state = "on" if cache.enabled() else "off (LOSSBOOK_REFERENCE_CACHE=0)"
    print(f"\nmarginal autograde cost per solved submission (--jobs 1, in this process, mean of {MARGINAL} after a "
          f"first one; reference cache {state}) vs one `jupyter nbconvert --execute`; goal: ratio <= {GOAL}\n")
    print("| assignment | first submission s | marginal s | nbconvert --execute s | ratio | goal met |")
    print("|---|---|---|---|---|---|", flush=True)
    ratios = {}
    with tempfile.TemporaryDirectory(prefix="autograder-marginal-") as tmp:
        for name in names or course_dir.assignments():
            work = Path(tmp) / name
            work.mkdir()
            first, marginal, executed = marginal_cost(work, name)
            ratios[name] = marginal / executed
            print(f"| {name} | {first:.2f} | {marginal:.2f} | {executed:.2f} | {ratios[name]:.2f} | "
                  f"{'yes' if ratios[name] <= GOAL else 'no'} |", flush=True)
    print(f"\n(load average {os.getloadavg()[0]:.1f} after the table)")
    return ratios


def table() -> None:
    """Print both tables: :func:`marginal_table`, then :func:`numpy_table`."""
    marginal_table()
    numpy_table()


def numpy_table() -> None:
    """Print the numpy vs torch table (best of 3, one thread for torch as for numpy)."""
    torch.set_num_threads(1)
    print(f"\ninstructor solution (numpy) vs torch {torch.__version__} on CPU, float64, 10^6 elements, "
          f"forward + backward, best of {REPEATS}, torch on 1 thread\n")
    print("| assignment | function | numpy ms | torch ms | numpy / torch |")
    print("|---|---|---|---|---|", flush=True)
    namespaces: dict[str, dict] = {}
    course = Course(DEFAULT_COURSE)
    rng = np.random.default_rng(0)
    for pair in PAIRS:
        if pair.assignment not in namespaces:
            namespaces[pair.assignment] = solution_namespace(course.assignment(pair.assignment))
        ns = namespaces[pair.assignment]
        arrays = pair.arrays(rng)
        numpy_s = _best(pair.numpy, ns, arrays)
        torch_s = _best(_torch_run, pair, arrays)
        print(f"| {pair.assignment} | {pair.name} | {numpy_s * 1e3:.1f} | {torch_s * 1e3:.1f} | "
              f"{numpy_s / torch_s:.2f} |", flush=True)


if __name__ == "__main__":
    marginal_table(sys.argv[1:] or None)
