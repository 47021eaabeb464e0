"""The sandboxed kernel: ``python -I -B kernel.py CMD_FD REPLY_FD SPEC_JSON`` (started by the client).

It confines itself (:mod:`confine`), hides torch and the course's grading code from the
submission (of the course's package only ``lossbook_checks.cases``, numpy and the standard library
only, is real here; ``lossbook_checks.checking`` and ``lossbook_checks.references`` are stand-ins),
then serves the grader's requests on two pipes:

- ``exec``: run a cell's source in an IPython shell; reply with its outputs and error;
- ``resolve``: say what each of a list of names is in the user namespace;
- ``call``: call a user function with plain arguments; reply with its value as data.

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

    def _run(self, fn):
        """Run ``fn()`` with output captured and Ctrl-C (the grader's timeout) enabled."""
        capture = self.protocol.BoundedText(self.output_limit)
        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = capture
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            return fn(), capture
        finally:
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

    def op_call(self, msg, buffers):
        decode, encode = self.protocol.decode, self.protocol.encode
        fn = self.shell.user_ns.get(msg["name"])
        args = decode(msg["args"], buffers, lookup=self.handles.__getitem__)
        kwargs = decode(msg["kwargs"], buffers, lookup=self.handles.__getitem__)

        def call():
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    return {"value": fn(*args, **kwargs)}, caught
                except BaseException as err:  # noqa: BLE001 - every failure goes back to the grader
                    return {"error": {"type": type(err).__name__, "message": str(err)[:2000],
                                      "frames": self.protocol.student_frames(err)}}, caught

        (result, caught), capture = self._run(call)
        reply: dict = {"stdout": capture.text(),
                       "warnings": [[w.category.__name__, str(w.message)[:500]] for w in caught[:20]]}
        bufs: list[bytes] = []
        if "error" in result:
            reply["error"] = result["error"]
        else:
            reply["value"] = encode(result["value"], bufs, self.keep)
        return reply, bufs

    def serve(self) -> None:
        send, recv = self.protocol.send, self.protocol.recv
        handlers = {"exec": self.op_exec, "resolve": self.op_resolve, "call": self.op_call}
        while True:
            msg, buffers = recv(self.cmd_fd)
            try:
                reply, bufs = handlers[msg["op"]](msg, buffers)
            except Exception as err:  # noqa: BLE001 - a bad request is answered, not fatal
                reply, bufs = {"error": {"type": type(err).__name__, "message": str(err)[:500], "frames": ""}}, []
            if sum(map(len, bufs)) > self.reply_bytes:
                reply, bufs = {"error": {"type": "ValueError", "frames": "",
                                         "message": f"the value is larger than the grader accepts "
                                                    f"({self.reply_bytes >> 20} MiB)"}}, []
            send(self.reply_fd, reply, bufs)


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
