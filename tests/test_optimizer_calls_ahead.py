"""An optimiser's step function called ahead in the sandboxed kernel (``SandboxKernel.steps``, streamed) gives
exactly what one call per step gives: the same verdict and message, the same output, and the same calls.

Each variant below is the instructor's ``sgd_step`` with one behaviour written in (a mistake, an error, a
value the grader rejects, output, warnings, global state, objects in the state...). Every variant is checked
on the visible runs of ``sgd`` (mistakes, defaults, every option, float32, an interleaved pair) both ways, in
one kernel; a counter in the kernel shows that calls made ahead stop exactly where the grader stops.
"""

from __future__ import annotations

import contextlib
import io
import time

import numpy as np
import pytest
from grading_helpers import source

from autograder.notebooks import grade_id, is_solution
from autograder.sandbox.client import CellTimeout, Limits, SandboxKernel
from lossbook_checks.cases import optimizers as cases
from lossbook_checks.checking import CheckFailure
from lossbook_checks.checking import optimizers as co
from lossbook_checks.references import optimizers as ref

pytestmark = pytest.mark.xdist_group("calls_ahead")

VARIANTS = {
    "right": "return sgd_step(params, grads, state, **kw)",
    "off_from_call_8": """new, st = sgd_step(params, grads, state, **kw)
    return ([p * (1 + 1e-6) for p in new] if CALLS >= 8 else new), st""",
    "raises_at_call_3": """if CALLS == 3:
        raise ZeroDivisionError("the third call")
    return sgd_step(params, grads, state, **kw)""",
    "shape_at_call_2": """new, st = sgd_step(params, grads, state, **kw)
    return ([p.reshape(-1)[:1] for p in new] if CALLS == 2 else new), st""",
    "form_at_call_4": "return sgd_step(params, grads, state, **kw) if CALLS != 4 else [1, 2, 3]",
    "talks": """print("call", CALLS, "lr", kw.get("lr"))
    return sgd_step(params, grads, state, **kw)""",
    "warns": """np.log(np.zeros(1))
    warnings.warn(f"call {CALLS}")
    return sgd_step(params, grads, state, **kw)""",
    "global_state": """new, st = sgd_step(params, grads, GLOBAL, **kw)
    GLOBAL.clear()
    GLOBAL.update(st)
    return new, {}""",
    "object_in_state": """new, st = sgd_step(params, grads, {k: v for k, v in state.items() if k != "box"}, **kw)
    box = state.get("box") or Box()
    box.seen += 1
    return new, {**st, "box": box}""",
    "in_place": """new, st = sgd_step(params, grads, state, **kw)
    for p, q in zip(params, new):
        p[...] = q
    grads.clear()
    return params, st""",
    "float64_out": "return [np.asarray(p, dtype=np.float64) for p in sgd_step(params, grads, state, **kw)[0]], {}",
    "too_deep_in_state": """new, st = sgd_step(params, grads, state, **kw)
    deep = []
    for _ in range(40):
        deep = [deep]
    return new, ({**st, "deep": deep} if CALLS == 5 else st)""",
    "hangs_at_call_5": """while CALLS == 5:
        pass
    return sgd_step(params, grads, state, **kw)""",
    "diverges": """new, st = sgd_step(params, grads, state, **kw)
    return ([p / 0.0 for p in new] if CALLS == 7 else new), st""",
}

#: Which runs each variant passes (all: {True}, none: {False}; not named: some of them).
PASSES = {"right": {True}, "talks": {True}, "warns": {True}, "object_in_state": {True},
          "too_deep_in_state": {True},  # the grader sends the too deep part back as a string, which sgd ignores
          "raises_at_call_3": {False}, "shape_at_call_2": {False}, "form_at_call_4": {False}}

SETUP = """
import warnings
import numpy as np
CALLS = 0
GLOBAL = {}

class Box:
    seen = 0
"""


def _kernel_source() -> str:
    solution = next(c.source for c in source("optimizers").cells if is_solution(c) and grade_id(c) == "sgd")
    functions = [f"def {name}(params, grads, state, **kw):\n    global CALLS\n    CALLS += 1\n    {body}\n"
                 for name, body in VARIANTS.items()]
    return "\n".join([SETUP, solution, *functions])


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    with SandboxKernel(tmp_path_factory.mktemp("calls-ahead"), Limits()) as kernel:
        outcome = kernel.execute(_kernel_source())
        assert not outcome["errors"], outcome
        yield kernel


class OneCallAtATime:
    """The same remote function without ``calls_ahead``: every step one ``call``, as before."""

    def __init__(self, remote) -> None:
        self.remote, self.__name__ = remote, remote.__name__

    def __call__(self, **kwargs):
        return self.remote(**kwargs)


HANGS = "hangs_at_call_5"  # checked apart: the cell times out
ITEMS = [cases.mistake("sgd_first_step"), cases.make_run(np.random.default_rng(1), {}, steps=10),
         *cases.option_runs("sgd")]


def _outcome(kernel: SandboxKernel, student, item) -> tuple[str, str, int]:
    """The check's verdict (or message), its output and warnings, and how many calls the kernel made."""
    kernel.execute("CALLS = 0\nGLOBAL.clear()")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            verdict = f"passed {co.check_runs(student, ref.sgd, [item])}"
        except CheckFailure as failure:
            verdict = str(failure)
    calls = kernel.resolve(["CALLS"])["CALLS"]
    return verdict, out.getvalue(), calls


@pytest.mark.parametrize("variant", [name for name in VARIANTS if name != HANGS])
def test_calls_ahead_give_what_one_call_at_a_time_gives(kernel, variant):
    remote = kernel.resolve([variant])[variant]
    assert remote.calls_ahead
    verdicts = set()
    for item in ITEMS:
        ahead = _outcome(kernel, remote, item)
        one_by_one = _outcome(kernel, OneCallAtATime(remote), item)
        assert ahead == one_by_one, f"{variant} on {item}"
        verdicts.add(ahead[0].startswith("passed"))
    assert verdicts == PASSES.get(variant, {True, False}), verdicts


def test_the_calls_are_made_ahead(kernel, monkeypatch):
    """The fast path is taken: one ``steps`` request per run or interleaved pair, no single calls."""
    remote = kernel.resolve(["right"])["right"]
    requests: list[str] = []
    original = kernel.request

    def counted(header, buffers=()):
        requests.append(header["op"])
        return original(header, buffers)

    monkeypatch.setattr(kernel, "request", counted)
    assert co.check_runs(remote, ref.sgd, ITEMS) == len(ITEMS)
    assert requests == ["steps"] * len(ITEMS)


@pytest.mark.parametrize("ahead", [True, False], ids=["ahead", "one call at a time"])
def test_a_call_that_never_returns_times_out_the_cell_and_the_kernel_serves_on(kernel, ahead):
    """Ctrl-C stops the hanging call (the fifth); what the kernel streamed before is read and dropped."""
    remote = kernel.resolve([HANGS])[HANGS]
    kernel.execute("CALLS = 0")
    kernel.deadline = time.monotonic() + 3.0
    try:
        with pytest.raises(CellTimeout, match="was stopped$"):
            co.check_runs(remote if ahead else OneCallAtATime(remote), ref.sgd, [ITEMS[1]])
    finally:
        kernel.deadline = None
    assert kernel.resolve(["CALLS"])["CALLS"] == 5
    assert _outcome(kernel, kernel.resolve(["right"])["right"], ITEMS[1])[0] == "passed 1"
