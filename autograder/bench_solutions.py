"""The instructor solutions (numpy) vs the PyTorch references on CPU: 10^6 elements, forward + backward.

Each solution is loaded from its source notebook (``solutions/<assignment>/``: the set-up and
solution cells are executed, the test cells are not) and timed on float64 inputs of 10^6 elements
against the torch reference of ``autograder/references/`` (forward, then ``backward`` with the
same upstream gradient). The ratio numpy / torch is the price of writing it by hand in numpy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from lossbook_checks.references import backpropagation, classification_losses, likelihood_information, regression_losses

from .course import DEFAULT_COURSE, Assignment, Course
from .notebooks import read_notebook

N = 1_000_000
REPEATS = 3


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


def solution_namespace(assignment: Assignment) -> dict:
    """The names the source notebook defines in its set-up and solution cells (test cells not run)."""
    namespace: dict = {}
    for cell in read_notebook(assignment.source).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and (meta.get("solution") or not meta.get("grade")):
            exec(compile(cell.source, f"<{assignment.name}:{meta.get('grade_id')}>", "exec"), namespace)  # noqa: S102
    return namespace


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


def table() -> None:
    """Print the table (best of 3, one thread for torch as for numpy)."""
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
