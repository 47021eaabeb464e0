"""The sandboxed kernel: ``python -I -B kernel.py CMD_FD REPLY_FD SPEC_JSON`` (started by the client).

It confines itself (:mod:`confine`), hides torch and the course's grading code from the
submission (of the course's package only ``lossbook_checks.cases``, numpy and the standard library
only, is real here; ``lossbook_checks.checking`` and ``lossbook_checks.references`` are stand-ins),
then serves the grader's requests on two pipes:

- ``exec``: run a cell's source in an IPython shell; reply with its outputs and error;
- ``resolve``: say what each of a list of names is in the user namespace;
- ``call``: call a user function with plain arguments; reply with its value as data;
- ``steps``: make an optimiser step function's calls ahead, one run or an interleaved pair of runs,
  each call's arguments exactly what ``call`` would have received from the grader (see :meth:`Kernel.op_steps`).

Nothing here is trusted by the grader: submitted code can patch all of it. The grader
only ever receives data (see :mod:`protocol`), and decides every grade itself.
"""

import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import signal
import sys
import traceback
import types
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_MESSAGE = ("torch is not available to graded code: this exercise asks for a numpy implementation "
                 "(torch is only the grader's reference)")
REFERENCE_MESSAGE = "the course's references and checks run in the grader, not in the graded notebook"


def _load(name: str, path: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class _Unavailable:
    """What the notebook sees for a reference or a check in the sandbox."""

    def __init__(self, name: str) -> None:
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        raise RuntimeError(f"{self.__name__}: {REFERENCE_MESSAGE}")

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Unavailable(f"{self.__name__}.{name}")


def _stand_in(prefix: str):
    """A module ``__getattr__`` answering every public name with an :class:`_Unavailable`."""

    def getattr_(name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Unavailable(f"{prefix}.{name}")

    return getattr_


def _checking_shim() -> types.ModuleType:
    """``lossbook_checks.checking`` for student code: seeded generators work, checks do nothing."""
    import numpy as np

    module = types.ModuleType("lossbook_checks.checking", "Sandbox stand-in: checks run in the grader.")
    module.__path__ = []

    class CheckFailure(AssertionError):
        """A failed check."""

    def no_op(*args, **kwargs):
        return None

    for name in ("check_forward", "check_backward", "check_backward_matches_forward", "check_value",
                 "assert_close"):
        setattr(module, name, no_op)
    module.CheckFailure = CheckFailure
    module.rng = np.random.default_rng
    module.device = lambda: "cpu"
    module.__getattr__ = _stand_in("ck")
    return module


class _Guard(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Blocks torch (``protocol.is_hidden``) and the grader (``autograder``); serves ``lossbook_checks.cases``
    from its files and the rest of ``lossbook_checks`` as stand-ins."""

    def __init__(self, cases_dir: str, is_hidden) -> None:
        self.cases_dir, self.is_hidden = cases_dir, is_hidden

    def find_spec(self, fullname, path=None, target=None):
        root = fullname.split(".")[0]
        if self.is_hidden(root):
            raise ModuleNotFoundError(TORCH_MESSAGE, name=fullname)
        if root == "autograder":
            raise ModuleNotFoundError(f"{fullname}: {REFERENCE_MESSAGE}", name=fullname)
        if root != "lossbook_checks":
            return None
        parts = fullname.split(".")
        if len(parts) == 2 and parts[1] == "cases":
            return importlib.util.spec_from_file_location(
                fullname, os.path.join(self.cases_dir, "__init__.py"), submodule_search_locations=[self.cases_dir])
        if len(parts) == 3 and parts[1] == "cases":
            file = os.path.join(self.cases_dir, parts[2] + ".py")
            if os.path.isfile(file):
                return importlib.util.spec_from_file_location(fullname, file)
        if len(parts) > 1 and parts[1] not in ("checking", "references"):
            raise ModuleNotFoundError(f"{fullname}: {REFERENCE_MESSAGE}", name=fullname)
        return importlib.machinery.ModuleSpec(fullname, self, is_package=len(parts) < 3)

    def create_module(self, spec):
        parts = spec.name.split(".")
        if parts == ["lossbook_checks", "checking"]:
            return _checking_shim()
        module = types.ModuleType(spec.name)
        if len(parts) == 3:
            module.__getattr__ = _stand_in(parts[2])
        return module

    def exec_module(self, module):
        if module.__name__ in ("lossbook_checks", "lossbook_checks.references"):
            module.__path__ = []


def _on_course(params, expected, scales, rtol) -> bool:
    """The grader's first test of a step's parameters against torch's ``expected`` (``lossbook_checks.checking.
    optimizers._step``), on the same numbers: ``scales`` is the largest magnitude each parameter has had,
    ``rtol`` each one's relative tolerance."""
    import numpy as np

    with np.errstate(all="ignore"):
        for got, want, scale, tol in zip(params, expected, scales, rtol, strict=True):
            if not np.all(np.abs(got - want) <= tol * (np.abs(want) + scale)):
                return False
    return True


class _Chunk:
    """The replies of calls made ahead (``steps``), sent a few at a time: a message is sent when it holds
    ``target`` calls (1, then 2, 4, .. 64), so that the grader starts checking early, or ``room_bytes`` of data
    or ``room_buffers`` buffers; then one more call's at most."""

    def __init__(self, kernel, room_bytes, room_buffers):
        self.kernel, self.room_bytes, self.room_buffers = kernel, room_bytes, room_buffers
        self.calls, self.bufs, self.size, self.target = [], [], 0, 1

    def add(self, k, result, caught, capture):
        """Add one call's reply (what ``serve`` would have sent for ``call``); return it (its arrays are
        in :attr:`bufs` until the next call is added)."""
        if len(self.calls) >= self.target or self.size > self.room_bytes or len(self.bufs) > self.room_buffers:
            self.send(more=True)
            self.target = min(2 * self.target, 64)
        mark = len(self.bufs)
        reply = self.kernel.reply_of(result, caught, capture, self.bufs)
        value_bytes = sum(len(buf) for buf in self.bufs[mark:])
        if value_bytes > self.kernel.reply_bytes:  # as ``serve`` answers such a ``call``
            del self.bufs[mark:]
            reply = self.kernel.too_large()
        self.size += value_bytes + 6 * len(reply.get("stdout", "")) + 1000
        self.calls.append([k, reply])
        return reply

    def send(self, more):
        """Send the calls added so far (if any)."""
        if not self.calls:
            return
        self.kernel.protocol.send(self.kernel.reply_fd, {"calls": self.calls, "more": more}, self.bufs)
        self.calls, self.bufs, self.size = [], [], 0

    def last(self):
        """The last message (``serve`` sends it)."""
        return {"calls": self.calls, "more": False}, self.bufs


class Kernel:
    """The request loop (see the module docstring)."""

    def __init__(self, cmd_fd: int, reply_fd: int, output_limit: int, reply_bytes: int) -> None:
        import protocol
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        self.protocol, self.cmd_fd, self.reply_fd, self.output_limit = protocol, cmd_fd, reply_fd, output_limit
        self.reply_bytes = reply_bytes
        config = Config()
        config.HistoryManager.enabled = False
        config.InteractiveShell.colors = "nocolor"
        self.shell = InteractiveShell.instance(config=config)
        self.errors: list[dict] = []
        self.handles: list = []  # objects the grader holds a handle to (returned values that are not data)
        self.shell._showtraceback = self._record_traceback
        self.shell.showsyntaxerror = lambda *a, **k: self._record_current("SyntaxError")

    def _record_traceback(self, etype, evalue, stb) -> None:
        text = "\n".join(stb) if isinstance(stb, list) else str(stb)
        self.errors.append({"ename": getattr(etype, "__name__", "Error"), "evalue": str(evalue)[:2000],
                            "traceback": text.splitlines()[-40:]})

    def _record_current(self, default: str) -> None:
        etype, evalue, tb = sys.exc_info()
        lines = traceback.format_exception_only(etype, evalue) if etype else [default]
        self.errors.append({"ename": getattr(etype, "__name__", default), "evalue": str(evalue)[:2000],
                            "traceback": "".join(lines).splitlines()[-40:]})

    def _run(self, fn, interruptible=False):
        """Run ``fn()`` with output captured and Ctrl-C (the grader's timeout) enabled (``interruptible``:
        it is already)."""
        capture = self.protocol.BoundedText(self.output_limit)
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = capture
        if not interruptible:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            return fn(), capture
        finally:
            if not interruptible:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
            sys.stdout, sys.stderr = saved

    def op_exec(self, msg, buffers):
        self.errors = []
        _, capture = self._run(lambda: self.shell.run_cell(str(msg["source"]), store_history=False))
        return {"stdout": capture.text(), "errors": self.errors[:3]}, []

    def keep(self, value) -> int:
        self.handles.append(value)
        return len(self.handles) - 1

    def op_resolve(self, msg, buffers):
        encode = self.protocol.encode
        out, bufs = {}, []
        for name in msg["names"]:
            if name not in self.shell.user_ns:
                continue
            value = self.shell.user_ns[name]
            if callable(value):
                out[name] = {"kind": "function", "type": type(value).__name__}
            else:
                out[name] = {"kind": "value", "value": encode(value, bufs, self.keep)}
        return {"names": out}, bufs

    def _invoke(self, name, args, kwargs, interruptible=False):
        """Call the user's ``name(*args, **kwargs)``: ``({"value": v} or {"error": ..}, warnings, captured output)``."""
        fn = self.shell.user_ns.get(name)

        def call():
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    return {"value": fn(*args, **kwargs)}, caught
                except BaseException as err:  # noqa: BLE001 - every failure goes back to the grader
                    return {"error": {"type": type(err).__name__, "message": str(err)[:2000],
                                      "frames": self.protocol.student_frames(err)}}, caught

        (result, caught), capture = self._run(call, interruptible)
        return result, caught, capture

    def reply_of(self, result, caught, capture, bufs):
        """The reply ``call`` sends for one call's outcome; a value's array data is appended to ``bufs``."""
        reply = {"stdout": capture.text(),
                 "warnings": [[w.category.__name__, str(w.message)[:500]] for w in caught[:20]]}
        if "error" in result:
            reply["error"] = result["error"]
        else:
            reply["value"] = self.protocol.encode(result["value"], bufs, self.keep)
        return reply

    def op_call(self, msg, buffers):
        decode = self.protocol.decode
        args = decode(msg["args"], buffers, lookup=self.handles.__getitem__)
        kwargs = decode(msg["kwargs"], buffers, lookup=self.handles.__getitem__)
        bufs: list[bytes] = []
        return self.reply_of(*self._invoke(msg["name"], args, kwargs), bufs), bufs

    def op_steps(self, msg, buffers):
        """Make a step function's calls ahead and stream their replies: ``{"name", "runs": [{"steps", "params",
        "state", "grads", "options", "expected", "scales", "rtol"}]}``, each run from its first parameters and
        state, with each parameter's gradients at every step and torch's values after it, stacked
        (``grads[i][t]``, ``expected[i][t]``), and the scale of each one's tolerance at each step (``scales[t][i]``).

        Runs are interleaved as the grader steps them: step ``t`` of each run that has one, then step
        ``t + 1``. Each call receives what ``call`` would have received had the grader sent it the
        parameters and state the previous call returned (``protocol.round_trip``: fresh copies of the data,
        the same objects for values kept by handle). Calls stop where the grader's would: after an error,
        a returned value the grader rejects or could not send back (:meth:`_next_params`), or parameters the grader
        finds off torch's (:func:`_on_course`, the grader's first test, on the same numbers); and at
        Ctrl-C. So no call is made that the grader would not have made. The replies go in messages of
        a few calls, ``{"calls": [[run index, what call would have replied], ..], "more": true}``, the
        last with ``"more": false``, so that the grader checks them while the next are made.
        """
        round_trip = self.protocol.round_trip
        runs = self.protocol.decode(msg["runs"], buffers, lookup=self.handles.__getitem__)
        options = [None if all(map(self._immutable, run["options"].values())) else run["options"] for run in runs]
        chunk = _Chunk(self, self.reply_bytes // 2, self.protocol.MAX_BUFFERS // 2)
        self._ahead = {"in_call": False, "interrupted": False}
        signal.signal(signal.SIGINT, self._interrupted)
        try:
            for step in range(max(run["steps"] for run in runs)):
                for k, run in enumerate(runs):
                    if step >= run["steps"]:
                        continue
                    if self._ahead["interrupted"]:
                        return chunk.last()
                    grads = [g[step, ...].copy() for g in run["grads"]]  # as decoded: C-contiguous, 0-d stays
                    kwargs = {"params": run["params"], "grads": grads, "state": run["state"],
                              **(run["options"] if options[k] is None else round_trip(options[k]))}
                    self._ahead["in_call"] = True
                    outcome = self._invoke(msg["name"], (), kwargs, interruptible=True)
                    self._ahead["in_call"] = False
                    following = None
                    if "value" in outcome[0]:
                        try:
                            following = self._next_params(round_trip(outcome[0]["value"]), run["params"])
                        except self.protocol.ProtocolError:  # the grader fails it alone, as it would one call
                            chunk.send(more=True)
                    reply = chunk.add(k, *outcome)
                    if "error" in reply or following is None \
                            or not _on_course(following[0], [e[step, ...] for e in run["expected"]],
                                              run["scales"][step], run["rtol"]):
                        return chunk.last()
                    run["params"], run["state"] = following
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        return chunk.last()

    def _interrupted(self, signum, frame):
        """Ctrl-C while calls are made ahead: it stops the student's call that runs, else the next one."""
        self._ahead["interrupted"] = True
        if self._ahead["in_call"]:
            raise KeyboardInterrupt()

    @staticmethod
    def _immutable(value):
        """Whether ``value`` is built of immutable data only (then a copy of it, as sent, is the same)."""
        if value is None or type(value) in (bool, int, float, str):
            return True
        return type(value) is tuple and all(map(Kernel._immutable, value))

    def _next_params(self, value, params):
        """``(new_params, new_state)`` if the grader accepts ``value`` as a step's result, else None."""
        import numpy as np

        if type(value) not in (tuple, list) or len(value) != 2 or type(value[1]) is not dict \
                or type(value[0]) not in (tuple, list) or len(value[0]) != len(params):
            return None
        arrays = []
        for got, old in zip(value[0], params, strict=True):
            if not isinstance(got, np.ndarray | np.generic | float | int):
                return None
            arr = np.asarray(got)
            if arr.shape != old.shape or arr.dtype != old.dtype:
                return None
            arrays.append(arr)
        return arrays, value[1]

    def serve(self) -> None:
        send, recv = self.protocol.send, self.protocol.recv
        handlers = {"exec": self.op_exec, "resolve": self.op_resolve, "call": self.op_call,
                    "steps": self.op_steps}
        while True:
            msg, buffers = recv(self.cmd_fd)
            try:
                reply, bufs = handlers[msg["op"]](msg, buffers)
            except Exception as err:  # noqa: BLE001 - a bad request is answered, not fatal
                reply, bufs = {"error": {"type": type(err).__name__, "message": str(err)[:500], "frames": ""}}, []
            if msg.get("op") != "steps" and sum(map(len, bufs)) > self.reply_bytes:  # steps: see _Chunk
                reply, bufs = self.too_large(), []
            send(self.reply_fd, reply, bufs)

    def too_large(self):
        """The reply to a call whose value is larger than the grader reads."""
        return {"error": {"type": "ValueError", "frames": "",
                          "message": f"the value is larger than the grader accepts ({self.reply_bytes >> 20} MiB)"}}


def main() -> None:
    cmd_fd, reply_fd, spec = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.dont_write_bytecode = True
    sys.path.insert(0, HERE)  # protocol, confine
    import confine
    import protocol

    applied = confine.apply(spec)
    sys.meta_path.insert(0, _Guard(spec["cases_dir"], protocol.is_hidden))
    os.chdir(spec["workdir"])
    kernel = Kernel(cmd_fd, reply_fd, spec["output_limit"], spec["reply_bytes"])
    kernel.protocol.send(reply_fd, {"ready": True, **applied})
    kernel.serve()


if __name__ == "__main__":
    main()
