"""Exact scores of full, empty, partial and wrong submissions of ``backpropagation``."""

from __future__ import annotations

import pytest
from grading_helpers import grade, released, source
from nbformat import NotebookNode

from autograder.notebooks import fill_solutions, grade_id

ASSIGNMENT = "backpropagation"
POINTS = {"test_linear_forward": 1, "test_linear_backward": 3, "test_activations": 3, "test_cross_entropy": 3,
          "test_mlp": 4, "test_numerical_gradient": 2, "test_relative_error": 1, "test_value_forward": 2,
          "test_value_backward": 4, "test_value_deep_chain": 2, "test_softplus": 3, "test_hvp": 2}
FULL = sum(POINTS.values())

#: A wrong answer: (answer cell, text of the solution, its replacement) -> the test cells it must lose.
MISTAKES = {
    "bias_gradient_not_summed": (
        ("linear", "grad_out.sum(axis=0)", "grad_out.mean(axis=0)"), {"test_linear_backward", "test_mlp"}),
    "forward_differences": (
        ("numerical", "x[index] = old - eps\n        f_minus = float(f(x))",
         "f_minus = float(f(x))"), {"test_numerical_gradient"}),
    "perturbs_a_copy": (
        ("numerical", "for index in np.ndindex(x.shape):", "x = x.reshape(-1)\n    grad = grad.reshape(-1)\n"
         "    for index in range(x.size):"), {"test_numerical_gradient"}),
    "gradients_overwritten": (
        ("value", "self.grad += out.grad\n            other.grad += out.grad",
         "self.grad = out.grad\n            other.grad = out.grad"), {"test_value_backward"}),
    "recursive_topological_sort": (
        ("value", "order, visited, stack = [], set(), [(self, False)]",
         "order, visited, stack = [], set(), []\n\n"
         "        def visit(node):\n"
         "            if id(node) not in visited:\n"
         "                visited.add(id(node))\n"
         "                for child in node._prev:\n"
         "                    visit(child)\n"
         "                order.append(node)\n"
         "        visit(self)"), {"test_value_deep_chain"}),
    "naive_softplus": (
        ("softplus", "np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))", "np.log(1 + np.exp(x))"), {"test_softplus"}),
    "sigmoid_from_input_overflows": (
        ("activations", "return grad_out * cache * (1.0 - cache)",
         "return grad_out * np.exp(-cache) / (1.0 + np.exp(-cache)) ** 2"), {"test_activations"}),
}


def _mutated(release: NotebookNode, src: NotebookNode, gid: str, old: str, new: str) -> NotebookNode:
    """The full solution with ``old`` replaced by ``new`` in answer cell ``gid`` (which must contain it)."""
    nb = fill_solutions(release, src)
    (cell,) = [c for c in nb.cells if grade_id(c) == gid]
    assert old in cell.source, f"{old!r} is not in the solution of {gid}"
    cell.source = cell.source.replace(old, new)
    return nb


@pytest.mark.xdist_group("backpropagation")
def test_full_empty_partial_and_wrong_submissions_get_exactly_their_points(tmp_path):
    release, src = released(tmp_path, ASSIGNMENT), source(ASSIGNMENT)
    notebooks = {"solved": fill_solutions(release, src), "stub": release,
                 "layers_only": fill_solutions(release, src, only={"linear", "activations"}),
                 "engine_only": fill_solutions(release, src, only={"value"})}
    notebooks |= {name: _mutated(release, src, *change) for name, (change, _) in MISTAKES.items()}
    scores, outcomes = grade(tmp_path, ASSIGNMENT, notebooks)
    assert all(o.status == "graded" for o in outcomes.values())
    assert {cell: maximum for cell, (_, maximum) in scores["solved"].cells.items()} == POINTS
    assert scores["solved"].total == FULL
    assert scores["stub"].total == 0
    assert scores["layers_only"].total == sum(POINTS[c] for c in ("test_linear_forward", "test_linear_backward",
                                                                  "test_activations"))
    assert scores["engine_only"].total == sum(POINTS[c] for c in ("test_value_forward", "test_value_backward",
                                                                  "test_value_deep_chain"))
    for name, (_, lost) in MISTAKES.items():
        zero = {cell for cell, (score, _) in scores[name].cells.items() if score == 0}
        assert zero == lost, name
        assert scores[name].total == FULL - sum(POINTS[c] for c in lost), name
