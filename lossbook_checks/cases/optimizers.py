"""Seeded test cases for the ``optimizers`` assignment (numpy and the standard library only).

An optimiser is checked on a :class:`Run`: initial parameters (a list of arrays of
random shapes, a 0-d and an empty one among them), a gradient for every parameter at
every step, and the optimiser's options. The grader runs ``torch.optim`` on the same
gradients and compares the student's parameters with torch's after every step
(:func:`lossbook_checks.checking.optimizers.check_runs`).

The generators below yield, for one optimiser: its defaults (options omitted), every
combination of the options in a grid, extreme learning rates and gradient scales, zero
and sparse gradients, and pairs of runs to interleave (two independent optimisers whose
steps alternate, each with its own state: hidden global state fails them).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .core import DTYPES, Case, Hint

STEPS = 100
SHAPES: tuple[tuple[int, ...], ...] = ((), (1,), (7,), (3, 4), (2, 3, 2), (0,))


@dataclass
class Run:
    """One optimiser run: ``params`` at the start, ``grads[t][i]`` for parameter ``i`` at step ``t``.

    ``options`` are the keyword arguments of both the step function and torch's optimiser
    (an option left out is the default, which must equal torch's). ``hint`` is shown when
    the run fails: it names the mistake the run was built to catch.
    """

    params: list[np.ndarray]
    grads: list[list[np.ndarray]]
    options: dict[str, Any]
    hint: Hint | None = None

    @property
    def steps(self) -> int:
        return len(self.grads)


def make_run(gen: np.random.Generator, options: Mapping[str, Any], *, dtype: type = np.float64,
             shapes: Sequence[tuple[int, ...]] | None = None, steps: int = STEPS, grad_scale: float = 1.0,
             sparsity: float = 0.0, hint: Hint | None = None) -> Run:
    """A run with gradients of size about ``grad_scale``; a fraction ``sparsity`` of them is exactly 0.

    Without ``shapes``, one to three parameters of random shapes from :data:`SHAPES`. The
    parameters are of the size the steps move them by (at most 1), so that every step
    changes them measurably, even for a learning rate of 1e-6.
    """
    if shapes is None:
        picks = gen.choice(len(SHAPES), size=int(gen.integers(1, 4)), replace=False)
        shapes = [SHAPES[i] for i in picks]
    lr = float(options.get("lr", 1e-2))
    scale = min(1.0, 1e3 * lr)
    params = [(scale * gen.normal(size=s)).astype(dtype) for s in shapes]
    grads = []
    for _ in range(steps):
        step = []
        for s in shapes:
            g = grad_scale * gen.normal(size=s) * np.exp(gen.normal(0.0, 0.5, size=s))
            if sparsity:
                g = np.where(gen.uniform(size=s) < sparsity, 0.0, g)
            step.append(np.asarray(g, dtype=dtype))
        grads.append(step)
    return Run(params, grads, dict(options), hint)


@dataclass
class Optimiser:
    """How to draw runs for one optimiser.

    Every combination of the values in ``grid`` is run; the options in ``cycled`` take their
    values in turn (combination k gets value k mod len), so that each value meets several
    combinations; ``lrs`` are the learning rates that suit the optimiser.
    """

    grid: dict[str, Sequence[Any]]
    lrs: Sequence[float]
    cycled: dict[str, Sequence[Any]] = field(default_factory=dict)

    def option_sets(self) -> list[dict[str, Any]]:
        combos = [dict(zip(self.grid, values, strict=True)) for values in itertools.product(*self.grid.values())]
        return [{**combo, **{name: values[k % len(values)] for name, values in self.cycled.items()}}
                for k, combo in enumerate(combos)]


#: (learning rate: "small", "large" or "usual", gradient scale, fraction of zero gradients) of the extreme runs
EXTREMES = (("small", 1.0, 0.0), ("large", 1.0, 0.0), ("usual", 1e-6, 0.0), ("usual", 1e4, 0.0),
            ("usual", 0.0, 0.0), ("usual", 1.0, 0.8))


def runs(seed: int, optimiser: Optimiser) -> Iterator[Run | tuple[Run, Run]]:
    """Seeded runs of 100 steps: the defaults in both dtypes; every option set, float64 and float32 in turn;
    the extremes, one at a time (learning rate 1e-6 and 10 times the largest usual one with gradients of about 1;
    gradients of about 1e-6 and 1e4, zero gradients and 80 % zero gradients at the largest usual learning rate);
    and a pair of 20-step runs to interleave, both with state."""
    gen = np.random.default_rng(seed)
    combos = optimiser.option_sets()
    for dtype in DTYPES:
        yield make_run(gen, {}, dtype=dtype)
    for k, options in enumerate(combos):
        yield make_run(gen, {"lr": float(gen.choice(optimiser.lrs)), **options}, dtype=DTYPES[(k + k // 2) % 2])
    lrs = {"small": 1e-6, "large": 10.0 * max(optimiser.lrs), "usual": max(optimiser.lrs)}
    for k, (lr, grad_scale, sparsity) in enumerate(EXTREMES):
        options = {**combos[(3 * k + 1) % len(combos)], "lr": lrs[lr]}
        yield make_run(gen, options, dtype=DTYPES[k % 2], grad_scale=grad_scale, sparsity=sparsity)
    stateful = [combo for combo in combos if carries_state(combo)]
    yield (make_run(gen, {**stateful[0], "lr": min(optimiser.lrs)}, steps=20),
           make_run(gen, {**stateful[-1], "lr": max(optimiser.lrs)}, steps=20, dtype=np.float32))


def carries_state(options: Mapping[str, Any]) -> bool:
    """Whether a step with these options needs state from the previous one: every optimiser here does, except
    SGD without momentum (which a pair of interleaved runs must avoid, or global state goes unseen)."""
    return options.get("momentum", 1.0) != 0


SGD = Optimiser({"momentum": [0.0, 0.9], "weight_decay": [0.0, 0.1], "maximize": [False, True]}, lrs=[0.01, 0.1],
                cycled={"dampening": [0.0, 0.5]})
SGD_NESTEROV = Optimiser({"nesterov": [True], "weight_decay": [0.0, 0.1], "maximize": [False, True]},
                         lrs=[0.01, 0.1], cycled={"momentum": [0.9, 0.5, 0.5, 0.9]})
RMSPROP = Optimiser({"weight_decay": [0.0, 0.1], "momentum": [0.0, 0.9], "centered": [False, True],
                     "maximize": [False, True]}, lrs=[1e-3, 1e-2],
                    cycled={"alpha": [0.99, 0.9, 0.99], "eps": [1e-8, 1e-8, 1e-3, 1e-8]})
ADAGRAD = Optimiser({"lr_decay": [0.0, 0.01], "weight_decay": [0.0, 0.1], "maximize": [False, True]},
                    lrs=[0.01, 0.1], cycled={"initial_accumulator_value": [0.0, 0.5, 0.5], "eps": [1e-10, 1e-3]})
ADAM = Optimiser({"weight_decay": [0.0, 0.1], "amsgrad": [False, True], "maximize": [False, True]},
                 lrs=[1e-3, 1e-2], cycled={"betas": [(0.9, 0.999), (0.5, 0.9), (0.0, 0.99)], "eps": [1e-8, 1e-4]})
ADAMW = Optimiser({"weight_decay": [0.0, 0.3], "amsgrad": [False, True], "maximize": [False, True]},
                  lrs=[1e-3, 1e-2], cycled={"betas": [(0.9, 0.999), (0.0, 0.99), (0.5, 0.9)], "eps": [1e-8, 1e-4]})


def sgd(seed: int) -> Iterator[Run | tuple[Run, Run]]:
    """SGD without Nesterov: momentum, weight decay and maximize in every combination, dampening in turn."""
    return runs(seed, SGD)


def sgd_nesterov(seed: int) -> Iterator[Run | tuple[Run, Run]]:
    """SGD with ``nesterov=True`` (torch requires momentum > 0 and dampening 0)."""
    return runs(seed, SGD_NESTEROV)


def rmsprop(seed: int) -> Iterator[Run | tuple[Run, Run]]:
    return runs(seed, RMSPROP)


def adagrad(seed: int) -> Iterator[Run | tuple[Run, Run]]:
    return runs(seed, ADAGRAD)


def adam(seed: int) -> Iterator[Run | tuple[Run, Run]]:
    return runs(seed, ADAM)


def adamw(seed: int) -> Iterator[Run | tuple[Run, Run]]:
    return runs(seed, ADAMW)


#: Short runs that each isolate one usual mistake (options, gradient scale, hint); the visible tests use them.
#: ``eps=0`` where eps is not the point, so that a misplaced eps does not fail a run whose hint is about
#: something else.
MISTAKES: dict[str, tuple[dict[str, Any], float, Hint]] = {
    "sgd_first_step": ({"lr": 0.1, "momentum": 0.9, "dampening": 0.5}, 1.0,
                       Hint("sgd-first-step",
                            "torch starts the momentum buffer at the first gradient itself, b_1 = g_1 (no dampening "
                            "at step 1); later b_t = momentum * b_(t-1) + (1 - dampening) * g_t.")),
    "nesterov": ({"lr": 0.1, "momentum": 0.9, "nesterov": True}, 1.0,
                 Hint("nesterov-lookahead",
                      "Nesterov is not plain momentum: after updating the buffer b, the step uses g + momentum * b "
                      "(the gradient plus the look-ahead), not b.")),
    "rmsprop_eps": ({"lr": 0.01, "eps": 1e-8}, 1e-6,
                    Hint("eps-inside-sqrt",
                         "The gradients here are about 1e-6, so v is about 1e-12: eps must be added OUTSIDE the square "
                         "root, sqrt(v) + eps; sqrt(v + eps) is about 1e-4 and shrinks the step a hundredfold.")),
    "adam_bias_correction": ({"lr": 0.01, "eps": 0.0}, 1.0,
                             Hint("adam-bias-correction",
                                  "Adam's first step moves each parameter by about lr: m and v start at 0, so divide "
                                  "them by (1 - beta1^t) and (1 - beta2^t) (bias correction), with t counted from 1.")),
    "adam_weight_decay": ({"lr": 0.01, "weight_decay": 0.5, "eps": 0.0}, 1.0,
                          Hint("adam-decay-as-adamw",
                               "torch.optim.Adam's weight_decay is an L2 penalty: add weight_decay * param to the "
                               "gradient BEFORE the moments; adding it after the adaptive scaling is AdamW.")),
    "adam_eps": ({"lr": 0.01, "eps": 1e-8}, 1e-6,
                 Hint("eps-inside-sqrt",
                      "The gradients here are about 1e-6: eps goes OUTSIDE the square root, "
                      "m_hat / (sqrt(v_hat) + eps); sqrt(v_hat + eps) shrinks these steps a hundredfold.")),
    "adamw_decoupled": ({"lr": 0.01, "weight_decay": 0.5, "eps": 0.0}, 1.0,
                        Hint("adamw-decay-as-l2",
                             "AdamW decays the parameters directly, param * (1 - lr * weight_decay), then takes the "
                             "Adam step WITHOUT adding weight_decay * param to the gradient (that would be Adam's "
                             "L2).")),
    "adagrad_accumulator": ({"lr": 0.1, "initial_accumulator_value": 0.5, "lr_decay": 0.1}, 1.0,
                            Hint("adagrad-accumulator",
                                 "The sum of squares starts at initial_accumulator_value, and step t (from 1) uses "
                                 "lr / (1 + (t - 1) * lr_decay).")),
}


def mistake(name: str, steps: int = 5, dtype: type = np.float64) -> Run:
    """A short fixed run (two small parameters) that catches the mistake ``name`` of :data:`MISTAKES`."""
    options, grad_scale, hint = MISTAKES[name]
    return make_run(np.random.default_rng(1100), options, dtype=dtype, shapes=[(3,), (2, 2)], steps=steps,
                    grad_scale=grad_scale, hint=hint)


_DECAY_L2 = "weight_decay adds weight_decay * param to the gradient (after maximize's sign flip), before anything else."
_MAXIMIZE = "maximize=True negates the gradient first, g <- -g, before the weight decay is added."
_EPS = "eps is added OUTSIDE the square root."

#: One visible run per option of each optimiser, set away from torch's default: (options, hint). The first of each
#: carries state from step to step, so that two of its runs can be interleaved.
OPTION_RUNS: dict[str, tuple[tuple[dict[str, Any], str], ...]] = {
    "sgd": (({"lr": 0.1, "momentum": 0.9, "dampening": 0.5}, MISTAKES["sgd_first_step"][2]),
            ({"lr": 0.1, "weight_decay": 0.1}, _DECAY_L2), ({"lr": 0.1, "maximize": True}, _MAXIMIZE)),
    "sgd_nesterov": (({"lr": 0.1, "momentum": 0.5, "nesterov": True, "weight_decay": 0.1}, _DECAY_L2),
                     ({"lr": 0.1, "momentum": 0.9, "nesterov": True, "maximize": True}, _MAXIMIZE)),
    "rmsprop": (({"lr": 0.01, "alpha": 0.9}, "alpha weighs the old average of squares: v = alpha v + (1 - alpha) g^2."),
                ({"lr": 0.01, "eps": 1e-3}, _EPS), ({"lr": 0.01, "weight_decay": 0.1}, _DECAY_L2),
                ({"lr": 0.01, "momentum": 0.9}, "with momentum, b = momentum * b + g / denominator, and the step is "
                                                "lr * b."),
                ({"lr": 0.01, "centered": True}, "centered: the denominator is sqrt(v - gbar^2) + eps, gbar the "
                                                 "moving average of g with the same alpha."),
                ({"lr": 0.01, "maximize": True}, _MAXIMIZE)),
    "adagrad": (({"lr": 0.1, "lr_decay": 0.1}, "step t (from 1) uses lr / (1 + (t - 1) * lr_decay)."),
                ({"lr": 0.1, "initial_accumulator_value": 0.5}, "the sum of squares starts at "
                                                                "initial_accumulator_value, in every element."),
                ({"lr": 0.1, "eps": 1e-3}, _EPS), ({"lr": 0.1, "weight_decay": 0.1}, _DECAY_L2),
                ({"lr": 0.1, "maximize": True}, _MAXIMIZE)),
    "adam": (({"lr": 0.01, "betas": (0.5, 0.9)}, "m uses beta1 and v uses beta2, and so do the bias corrections "
                                                 "1 - beta1^t and 1 - beta2^t."),
             ({"lr": 0.01, "eps": 1e-4}, _EPS), ({"lr": 0.01, "weight_decay": 0.1}, _DECAY_L2),
             ({"lr": 0.01, "amsgrad": True}, "amsgrad keeps the elementwise maximum of the UNCORRECTED v, then divides "
                                             "it by 1 - beta2^t."),
             ({"lr": 0.01, "maximize": True}, _MAXIMIZE)),
    "adamw": (({"lr": 0.01, "betas": (0.5, 0.9)}, "m uses beta1 and v uses beta2, and so do the bias corrections."),
              ({"lr": 0.01, "eps": 1e-4}, _EPS),
              ({"lr": 0.01, "weight_decay": 0.3}, MISTAKES["adamw_decoupled"][2]),
              ({"lr": 0.01, "amsgrad": True}, "amsgrad keeps the elementwise maximum of the UNCORRECTED v, then "
                                              "divides it by 1 - beta2^t."),
              ({"lr": 0.01, "maximize": True}, _MAXIMIZE)),
}


#: The optimisers whose visible option runs set eps = 0 (unless eps is the option), so that a misplaced eps fails
#: only the run about eps.
_ADAPTIVE = ("rmsprop", "adagrad", "adam", "adamw")


def option_runs(name: str, steps: int = 10) -> list[Run | tuple[Run, Run]]:
    """The visible runs of optimiser ``name`` (a key of :data:`OPTION_RUNS`): one per option, its hint saying
    which option the run sets; the defaults in float32; and two runs with state, interleaved (the first option
    set, once as is and once maximising). Run them after the defaults, so that an option's hint fires only when
    the defaults pass."""
    gen = np.random.default_rng(1200)
    shapes = [(3,), (2, 2)]
    no_eps = {"eps": 0.0} if name in _ADAPTIVE else {}
    runs: list[Run | tuple[Run, Run]] = []
    for options, hint in OPTION_RUNS[name]:
        changed = ", ".join(f"{key}={value!r}" for key, value in options.items() if key != "lr")
        runs.append(make_run(gen, {**no_eps, **options}, shapes=shapes, steps=steps,
                             hint=f"this run changes {changed} from torch's defaults: {hint}"))
    runs.append(make_run(gen, {}, dtype=np.float32, shapes=shapes, steps=steps,
                         hint="float32 parameters and gradients, torch's defaults: torch computes in float32."))
    first = {**no_eps, **OPTION_RUNS[name][0][0]}
    runs.append((make_run(gen, first, steps=steps), make_run(gen, {**first, "maximize": True}, steps=steps)))
    return runs


@dataclass
class Schedule:
    """A learning-rate schedule: the optimiser's ``base_lr``, the scheduler's ``options``, ``steps`` to compare."""

    base_lr: float
    options: dict[str, Any]
    steps: int


def cosine(seed: int) -> Iterator[Schedule]:
    """``CosineAnnealingLR``: several periods (the schedule goes back up after T_max), eta_min omitted or not."""
    gen = np.random.default_rng(seed)
    yield Schedule(0.1, {"T_max": 10}, 35)
    for t_max in (1, 2, 7, 50):
        for eta_min in (0.0, 1e-4, 0.05):
            yield Schedule(float(gen.choice([1e-3, 0.1, 3.0])), {"T_max": t_max, "eta_min": eta_min},
                           3 * t_max + 2)


def warmup(seed: int) -> Iterator[Schedule]:
    """``LinearLR``: defaults, warm-up from a small factor, decay to a smaller one, one-step warm-up."""
    gen = np.random.default_rng(seed)
    yield Schedule(0.1, {}, 12)
    for start, end, total in ((0.01, 1.0, 10), (1.0, 0.1, 7), (0.5, 0.5, 3), (0.25, 1.0, 1), (0.1, 0.9, 40)):
        yield Schedule(float(gen.choice([1e-3, 0.1, 3.0])),
                       {"start_factor": start, "end_factor": end, "total_iters": total}, total + 5)


def newton(seed: int) -> Iterator[Case]:
    """Single Newton steps: symmetric positive definite Hessians of several sizes and conditionings."""
    gen = np.random.default_rng(seed)
    yield Case(_newton_inputs(gen, 3, 10.0, np.float64), {})
    for n, condition, dtype in itertools.product((1, 2, 5, 12), (1.0, 1e3), DTYPES):
        for options in ({"lr": 1.0}, {"lr": 0.5, "damping": 0.1}, {"damping": 10.0}):
            yield Case(_newton_inputs(gen, n, condition, dtype), dict(options),
                       rtol=1e-4 if dtype == np.float32 else None)


def _newton_inputs(gen: np.random.Generator, n: int, condition: float, dtype: type) -> dict[str, np.ndarray]:
    q, _ = np.linalg.qr(gen.normal(size=(n, n)))
    eigenvalues = np.geomspace(1.0, condition, n) * float(gen.uniform(0.5, 2.0))
    hessian = (q * eigenvalues) @ q.T
    return {"params": gen.normal(size=n).astype(dtype), "grad": gen.normal(size=n).astype(dtype),
            "hessian": ((hessian + hessian.T) / 2).astype(dtype)}


@dataclass
class NewtonRun:
    """Newton iterations on a named objective (see ``lossbook_checks.references.optimizers.OBJECTIVES``)
    with its ``data``, from ``params``; the grader computes each gradient and Hessian with torch.func."""

    objective: str
    data: dict[str, np.ndarray]
    params: np.ndarray
    options: dict[str, Any]
    steps: int


def newton_runs(seed: int) -> Iterator[NewtonRun]:
    """Damped and undamped Newton iterations on logistic regression, a quartic and a quadratic."""
    gen = np.random.default_rng(seed)
    for n in (2, 4):
        x = gen.normal(size=(30, n))
        y = (gen.uniform(size=30) < 1 / (1 + np.exp(-x @ gen.normal(size=n)))).astype(np.float64)
        data = {"x": x, "y": y, "l2": np.float64(0.1)}
        yield NewtonRun("logistic", data, gen.normal(size=n), {}, 6)
        yield NewtonRun("logistic", data, gen.normal(size=n), {"lr": 0.5, "damping": 0.1}, 6)
    for n in (1, 3):
        data = {"a": gen.uniform(0.5, 2.0, size=n), "b": gen.normal(size=n)}
        yield NewtonRun("quartic", data, gen.normal(size=n), {"damping": 0.5}, 8)
    m = gen.normal(size=(4, 4))
    data = {"a": m @ m.T + np.eye(4), "b": gen.normal(size=4)}
    yield NewtonRun("quadratic", data, gen.normal(size=4), {"lr": 1.0}, 2)
