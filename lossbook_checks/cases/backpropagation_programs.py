"""Test programs of the ``backpropagation`` assignment that run on the student's side.

numpy and the standard library only: when a submission is graded, student code runs in a
sandboxed kernel without torch, and what crosses to the grader is plain data. So the
objects the exercises are about (a function handed to ``numerical_gradient``, the
student's ``Value`` class) stay in the kernel, and the notebook's small adapter functions
call them through :func:`numerical_gradient_on` and :func:`run_engine`, which take and
return data only. The grader (:mod:`lossbook_checks.checking.backpropagation`) then compares that data with torch.

- :data:`SMOOTH_FUNCTIONS`: scalar test functions ``f(x, lib)`` written once for ``lib``
  numpy or torch, so the student's function and the reference are the same expression.
- :class:`Program`: an expression DAG as data; :func:`run_program` interprets it with
  Python operators and the methods ``exp``, ``log``, ``tanh``, ``relu``, which a ``Value``
  and a torch tensor both have; :func:`random_program` draws one (nodes reused) and
  :func:`deep_chain` builds a chain of thousands of nodes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np


def _sine_quadratic(x: Any, lib: ModuleType) -> Any:
    return lib.sum(lib.sin(3.0 * x) * x * x)


def _log_sum_exp(x: Any, lib: ModuleType) -> Any:
    return lib.log(lib.sum(lib.exp(x)))


def _tanh_ratio(x: Any, lib: ModuleType) -> Any:
    return lib.sum(lib.tanh(x) ** 3) + lib.sum(x) ** 2 / (1.0 + lib.sum(x * x))


#: Smooth scalar functions of an array of any shape, each ``f(x, lib)`` for ``lib`` numpy or torch.
SMOOTH_FUNCTIONS: dict[str, Callable[[Any, ModuleType], Any]] = {
    "sum(sin(3x) x^2)": _sine_quadratic, "log(sum(exp(x)))": _log_sum_exp,
    "sum(tanh(x)^3) + sum(x)^2 / (1 + |x|^2)": _tanh_ratio,
}


def numerical_gradient_on(numerical_gradient: Callable[..., Any], name: str, x: np.ndarray,
                          transposed: bool = False) -> tuple[Any, np.ndarray]:
    """``(numerical_gradient(f, x), x afterwards)`` for ``f = SMOOTH_FUNCTIONS[name]`` in numpy.

    With ``transposed`` the student's function receives ``x`` as a non-contiguous view
    (the transpose of a C-ordered copy of ``x.T``); the returned ``x`` lets the grader check
    that it was restored.
    """
    function = SMOOTH_FUNCTIONS[name]
    given = np.array(x.T, order="C").T if transposed else np.array(x, dtype=np.float64)
    gradient = numerical_gradient(lambda z: function(z, np), given)
    return gradient, np.array(given)


# ---------------------------------------------------------------- expression graphs

#: Each operation as code valid for the student's ``Value`` and for torch tensors alike.
OPS: dict[str, Callable[[Any, Any, float], Any]] = {
    "a + b": lambda a, b, c: a + b, "a - b": lambda a, b, c: a - b, "a * b": lambda a, b, c: a * b,
    "a / b": lambda a, b, c: a / b, "a ** c": lambda a, b, c: a ** c, "-a": lambda a, b, c: -a,
    "a + c": lambda a, b, c: a + c, "c + a": lambda a, b, c: c + a, "c - a": lambda a, b, c: c - a,
    "a * c": lambda a, b, c: a * c, "c * a": lambda a, b, c: c * a, "c / a": lambda a, b, c: c / a,
    "a.exp()": lambda a, b, c: a.exp(), "a.log()": lambda a, b, c: a.log(),
    "a.tanh()": lambda a, b, c: a.tanh(), "a.relu()": lambda a, b, c: a.relu(),
}
#: The same operations on Python floats (used to keep generated graphs inside every domain).
FLOAT_OPS: dict[str, Callable[[float, float, float], float]] = {
    **{op: fn for op, fn in OPS.items() if "." not in op},
    "a.exp()": lambda a, b, c: math.exp(a), "a.log()": lambda a, b, c: math.log(a),
    "a.tanh()": lambda a, b, c: math.tanh(a), "a.relu()": lambda a, b, c: max(a, 0.0),
}
BINARY = frozenset({"a + b", "a - b", "a * b", "a / b"})
_EXPONENTS = (2.0, 3.0, -1.0, 0.5, 1.5, -2.0)


@dataclass(frozen=True)
class Step:
    """One node: ``OPS[op](nodes[a], nodes[b], c)`` (``b`` unused by unary operations)."""

    op: str
    a: int
    b: int
    c: float

    def describe(self) -> str:
        """The operation as code on node names, e.g. ``n3 * n5`` or ``n2 ** 1.5``."""
        text = self.op.replace("a", f"n{self.a}", 1)
        return text.replace(" b", f" n{self.b}").replace("c", f"{self.c:g}") if "(" not in text else text


@dataclass(frozen=True)
class Program:
    """Leaves (nodes ``0 .. len(leaves) - 1``), then one node per step; the output is the sum of ``outputs``."""

    leaves: tuple[float, ...]
    steps: tuple[Step, ...]
    outputs: tuple[int, ...]

    def to_data(self) -> dict[str, Any]:
        """Plain lists and numbers, for crossing to the student's kernel."""
        return {"leaves": list(self.leaves), "steps": [[s.op, s.a, s.b, s.c] for s in self.steps],
                "outputs": list(self.outputs)}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Program:
        """The inverse of :meth:`to_data`."""
        steps = tuple(Step(str(op), int(a), int(b), float(c)) for op, a, b, c in data["steps"])
        return cls(tuple(float(v) for v in data["leaves"]), steps, tuple(int(i) for i in data["outputs"]))

    def describe(self, limit: int = 12) -> str:
        """The program as lines of code, the first ``limit`` steps."""
        n_leaves = len(self.leaves)
        lines = [f"  n{i} = Value({v:g})" for i, v in enumerate(self.leaves)]
        lines += [f"  n{n_leaves + i} = {s.describe()}" for i, s in enumerate(self.steps[:limit])]
        if len(self.steps) > limit:
            lines.append(f"  ... {len(self.steps) - limit} more nodes")
        lines.append("  out = " + " + ".join(f"n{i}" for i in self.outputs))
        return "\n".join(lines)


def run_program(program: Program, leaves: Sequence[Any]) -> tuple[list[Any], Any]:
    """Every node (leaves first) and the output, built from ``leaves`` with Python operators."""
    nodes = list(leaves)
    for step in program.steps:
        nodes.append(OPS[step.op](nodes[step.a], nodes[step.b], step.c))
    out = nodes[program.outputs[0]]
    for index in program.outputs[1:]:
        out = out + nodes[index]
    return nodes, out


def run_engine(value_class: type, program: dict[str, Any], backward: bool) -> dict[str, list[float]]:
    """The student's engine on ``program`` (as :meth:`Program.to_data`): every node's ``data``
    (the output last) and, after ``out.backward()`` when ``backward``, every node's ``grad``."""
    parsed = Program.from_data(program)
    nodes, out = run_program(parsed, [value_class(v) for v in parsed.leaves])
    if backward:
        out.backward()
    return {"data": [float(n.data) for n in [*nodes, out]],
            "grad": [float(n.grad) for n in nodes] if backward else []}


def _valid(op: str, a: float, b: float, c: float) -> bool:
    if op == "a / b":
        return abs(b) > 0.2
    if op == "a ** c" and not c.is_integer():
        return a > 0.2
    if op == "c / a" or (op == "a ** c" and c < 0):
        return abs(a) > 0.2
    if op == "a.log()":
        return a > 0.05
    if op == "a.relu()":
        return abs(a) > 1e-3
    return True


def random_program(seed: int, *, n_leaves: int = 4, n_steps: int = 40) -> Program:
    """A random expression DAG: operands drawn from every earlier node, so nodes are reused.

    About one step in six uses one node twice (``n3 * n3``); the output sums three nodes.
    Values stay within [-30, 30] and every operation inside its domain (log of positives,
    no division near 0, no relu at its kink).
    """
    gen = np.random.default_rng(seed)
    values = [float(v) for v in gen.uniform(-2.0, 2.0, size=n_leaves)]
    leaves, names, steps = tuple(values), list(OPS), []
    while len(steps) < n_steps:
        op = names[int(gen.integers(len(names)))]
        a = len(values) - min(int(gen.geometric(0.3)), len(values))
        b = a if gen.random() < 1 / 6 else int(gen.integers(len(values)))
        c = float(gen.choice(_EXPONENTS)) if op == "a ** c" else round(float(gen.uniform(-2.0, 2.0)), 3)
        if not _valid(op, values[a], values[b], c):
            continue
        value = FLOAT_OPS[op](values[a], values[b], c)
        if abs(value) > 30.0:
            continue
        values.append(value)
        steps.append(Step(op, a, b, c))
    outputs = tuple(int(i) for i in gen.choice(np.arange(n_leaves, len(values)), size=3, replace=False))
    return Program(leaves, tuple(steps), outputs)


def deep_chain(n_nodes: int = 5000, seed: int = 0) -> Program:
    """A chain ``y <- y + c tanh(y)`` of at least ``n_nodes`` nodes; each step uses ``y`` twice."""
    gen = np.random.default_rng(seed)
    steps: list[Step] = []
    y = 0
    while len(steps) < n_nodes:
        c = round(float(gen.uniform(-0.002, 0.004)), 5)
        steps += [Step("a.tanh()", y, y, 0.0), Step("c * a", y + 1, y + 1, c), Step("a + b", y, y + 2, 0.0)]
        y += 3
    return Program((float(gen.uniform(0.5, 1.0)),), tuple(steps), (len(steps),))


def uses(program: Program) -> np.ndarray:
    """How many times each node is used as an operand or output."""
    count = np.zeros(len(program.leaves) + len(program.steps), dtype=int)
    for step in program.steps:
        count[step.a] += 1
        count[step.b] += step.op in BINARY
    for index in program.outputs:
        count[index] += 1
    return count
