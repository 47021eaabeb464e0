"""The grader's side of a sandboxed kernel: start it, ask it things, stop it, clean up after it."""

from __future__ import annotations

import builtins
import collections
import functools
import json
import os
import signal
import subprocess
import sys
import sysconfig
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

import lossbook_checks.cases
from lossbook_checks.checking.student import OpaqueValue, StudentError

from . import confine, protocol

HERE = Path(__file__).resolve().parent
KERNEL_SCRIPT = HERE / "kernel.py"
CASES_DIR = Path(lossbook_checks.cases.__file__).resolve().parent
SYSTEM_READ = ("/usr", "/lib", "/lib64", "/bin", "/proc", "/sys/devices/system/cpu", "/etc/ld.so.cache",
               "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/mime.types",
               "/dev/urandom", "/dev/random", "/dev/zero")
_PR_SET_CHILD_SUBREAPER = 36


@dataclass(frozen=True)
class Limits:
    """What a submission may use: the one definition of the sandbox's limits and their defaults.

    ``SandboxedExecute``'s traits (set in ``nbgrader_config.py``) take their defaults from here.
    ``reply_mb`` is the largest value (its array data) the kernel sends back; the grader reads at
    most twice that per message, header included. ``budget_s`` is the time a whole submission may
    take; after it, its remaining cells are not run and score 0. ``calls_ahead``: an optimiser's
    step function is called ahead in the kernel, its replies streamed (:meth:`SandboxKernel.steps`).
    """

    timeout_s: float = 120.0
    budget_s: float = 300.0
    memory_mb: int = 2048
    cpu_s: int = 900
    file_mb: int = 64
    output_chars: int = 20_000
    reply_mb: int = 32
    start_s: float = 60.0
    calls_ahead: bool = True

    @property
    def message_bytes(self) -> int:
        """The most the grader reads in one message from the kernel."""
        return 2 * (self.reply_mb << 20)


class KernelGone(BaseException):  # noqa: N818 - not an error of the test; it ends the run
    """The kernel died or broke the protocol; ``str()`` says how, in one line for the student."""


class CellTimeout(BaseException):  # noqa: N818
    """The current cell ran past its time limit (the kernel was interrupted, or killed)."""


def readable_paths() -> tuple[list[str], list[str]]:
    """(directories and files the kernel may read, directories it may only list)."""
    read = [*SYSTEM_READ, sys.base_prefix, str(Path(sys.prefix) / "bin"), str(HERE), str(CASES_DIR)]
    listed = []
    for key in ("purelib", "platlib"):
        site = sysconfig.get_paths()[key]
        if site in listed or not os.path.isdir(site):
            continue
        listed.append(site)
        read += [os.path.join(site, entry) for entry in sorted(os.listdir(site))
                 if not protocol.is_hidden(entry)]
    return read, listed


def _category(name: str) -> type[Warning]:
    category = getattr(builtins, name, None)
    return category if isinstance(category, type) and issubclass(category, Warning) else UserWarning


class SandboxKernel:
    """One confined kernel process in ``workdir`` (which must lie outside the course directory)."""

    def __init__(self, workdir: Path, limits: Limits) -> None:
        self.workdir, self.limits = workdir, limits
        self.deadline: float | None = None
        self.deadline_reason = ""  # why the deadline is what it is, when not the per-cell timeout
        self.landlock_abi = 0
        self.gone: str | None = None
        self.proc: subprocess.Popen | None = None
        self._stream: CallsAhead | None = None

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> SandboxKernel:
        if sys.platform.startswith("linux"):
            confine._libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)  # orphans of the kernel come back to us
        self._before = {p.pid for p in psutil.Process().children()}
        for sub in ("tmp", ".ipython", ".config"):
            (self.workdir / sub).mkdir(parents=True, exist_ok=True)
        read, listed = readable_paths()
        spec = {"memory_mb": self.limits.memory_mb, "cpu_s": self.limits.cpu_s, "file_mb": self.limits.file_mb,
                "read": read, "list": listed, "write": [str(self.workdir), "/dev/null"],
                "workdir": str(self.workdir), "cases_dir": str(CASES_DIR),
                "output_limit": self.limits.output_chars, "reply_bytes": self.limits.reply_mb << 20}
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.workdir), "TMPDIR": str(self.workdir / "tmp"),
               "IPYTHONDIR": str(self.workdir / ".ipython"), "MPLCONFIGDIR": str(self.workdir / ".config"),
               "MPLBACKEND": "Agg", "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1"}
        cmd_r, self._cmd = os.pipe()
        self._reply, reply_w = os.pipe()
        self._log = self.workdir / "kernel.log"
        with self._log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-B", str(KERNEL_SCRIPT), str(cmd_r), str(reply_w), json.dumps(spec)],
                pass_fds=(cmd_r, reply_w), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                cwd=self.workdir, env=env, start_new_session=True)
        os.close(cmd_r)
        os.close(reply_w)
        try:
            ready, _ = protocol.recv(self._reply, time.monotonic() + self.limits.start_s, 1 << 16)
        except (protocol.Timeout, protocol.Closed, protocol.ProtocolError):
            self._die("the grading kernel did not start")
        self.landlock_abi = int(ready.get("landlock_abi", 0))
        return self

    def close(self) -> None:
        """Kill the kernel and everything it started (its group, and orphans adopted by us)."""
        if self.proc is not None:
            victims = []
            try:
                victims = psutil.Process(self.proc.pid).children(recursive=True)
            except psutil.Error:
                pass
            victims += [p for p in psutil.Process().children() if p.pid not in self._before]
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            for proc in victims:
                try:
                    proc.kill()
                except psutil.Error:
                    pass
            self.proc.wait()
            psutil.wait_procs(victims, timeout=2)
            for fd in (self._cmd, self._reply):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.proc = None

    def __enter__(self) -> SandboxKernel:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _log_tail(self) -> str:
        try:
            lines = [ln for ln in self._log.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return ""
        return lines[-1][:300] if lines else ""

    def _die(self, why: str) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            code = self.proc.wait()
            how = (f"killed by {signal.Signals(-code).name}" if code < 0 and -code in signal.valid_signals()
                   else f"exit code {code}")
            tail = self._log_tail()
            why = f"{why} ({how}{'; ' + tail if tail else ''})"
        self.gone = why
        raise KernelGone(why)

    # -- requests --------------------------------------------------------------------------

    def request(self, header: dict, buffers: list[bytes] = ()) -> tuple[dict, list[bytes]]:
        """Send one request and wait for its reply until :attr:`deadline` (first reading what is left
        of a stream of calls made ahead, :class:`CallsAhead`, that was not read to its end)."""
        if self._stream is not None:
            self._stream.drain()
        return self._exchange(lambda: (protocol.send(self._cmd, header, list(buffers), self.deadline),
                                       self._receive())[1])

    def _receive(self) -> tuple[dict, list[bytes]]:
        return protocol.recv(self._reply, self.deadline, self.limits.message_bytes)

    def _exchange(self, action: Callable[[], tuple[dict, list[bytes]]]) -> tuple[dict, list[bytes]]:
        """``action()``, a send and/or a receive: a timeout interrupts the kernel, a dead or misbehaving
        kernel ends the run (:class:`CellTimeout`, :class:`KernelGone`)."""
        if self.gone:
            raise KernelGone(self.gone)
        try:
            return action()
        except protocol.Timeout:
            if self._stream is not None:
                self._stream.close()
            stopped = self._interrupt()
            raise CellTimeout((self.deadline_reason or f"the cell ran for more than {self.limits.timeout_s:g} s")
                              + " and was stopped"
                              + ("" if stopped else "; the kernel did not stop when interrupted and was killed")
                              ) from None
        except protocol.Closed:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.wait(timeout=5)
            self._die("the kernel died")
        except protocol.ProtocolError as err:
            self._die(f"the kernel broke the grading protocol: {err}")
        raise AssertionError("unreachable")

    def _interrupt(self) -> bool:
        """Ctrl-C the kernel and take the reply it owes (the last message of a stream); kill it if it does
        not answer in 3 s. Return whether it is still alive."""
        try:
            os.kill(self.proc.pid, signal.SIGINT)
            deadline = time.monotonic() + 3.0
            while protocol.recv(self._reply, deadline, self.limits.message_bytes)[0].get("more") is True:
                pass
            return True
        except (OSError, protocol.Timeout, protocol.Closed, protocol.ProtocolError):
            try:
                self._die("the kernel did not stop when interrupted and was killed")
            except KernelGone:
                pass
            return False

    def execute(self, source: str) -> dict:
        """Run a cell: ``{"stdout": str, "errors": [{"ename", "evalue", "traceback"}]}`` (checked types)."""
        reply, _ = self.request({"op": "exec", "source": source})
        errors = []
        for err in reply.get("errors", [])[:3] if isinstance(reply.get("errors"), list) else []:
            if isinstance(err, dict):
                tb = err.get("traceback") if isinstance(err.get("traceback"), list) else []
                errors.append({"ename": str(err.get("ename", "Error"))[:200],
                               "evalue": str(err.get("evalue", ""))[:2000],
                               "traceback": [str(line)[:2000] for line in tb[:40]]})
        return {"stdout": str(reply.get("stdout", ""))[: self.limits.output_chars * 2], "errors": errors}

    def resolve(self, names: list[str]) -> dict[str, Any]:
        """``name -> RemoteFunction | value`` for the names the kernel's namespace defines."""
        reply, buffers = self.request({"op": "resolve", "names": names})
        found = reply.get("names") if isinstance(reply.get("names"), dict) else {}
        out = {}
        for name in names:
            entry = found.get(name)
            if not isinstance(entry, dict):
                continue
            if entry.get("kind") == "function":
                out[name] = RemoteFunction(self, name)
            elif entry.get("kind") == "value":
                out[name] = self._decode(entry.get("value"), buffers)
        return out

    def _decode(self, tree: Any, buffers: list[bytes]) -> Any:
        """A value from the kernel; one that cannot be read fails like an exception in student code."""
        try:
            return protocol.decode(tree, buffers, lambda name, handle: OpaqueValue(name, (id(self), handle)))
        except protocol.ProtocolError as err:
            raise StudentError("ValueError", f"returned a value the grader cannot read ({err})") from None

    def _encode(self, name: str, value: Any, buffers: list[bytes]) -> Any:
        """``value`` as a tree for the kernel: data, and this kernel's own objects by their handles."""
        def refer(value: Any) -> int | None:
            if isinstance(value, OpaqueValue) and value.handle is not None and value.handle[0] == id(self):
                return value.handle[1]
            return None

        def refuse(value: Any) -> int:
            raise TypeError(f"{name}: only data can be passed to the submission's code, not {type(value).__name__}")

        return protocol.encode(value, buffers, refuse, refer)

    def call(self, name: str, args: tuple, kwargs: dict) -> Any:
        """Call the kernel's ``name(*args, **kwargs)``; its output goes to ``sys.stdout``, its
        warnings are re-issued here, its exceptions raise :class:`StudentError`."""
        buffers: list[bytes] = []
        header = {"op": "call", "name": name, "args": self._encode(name, list(args), buffers),
                  "kwargs": self._encode(name, dict(kwargs), buffers)}
        return self._answer(*self.request(header, buffers))

    def _answer(self, reply: Any, buffers: list[bytes]) -> Any:
        """Replay one call's reply: its output, its warnings, its exception or its value."""
        if not isinstance(reply, dict):
            self._die("the kernel broke the grading protocol: a call's reply is not an object")
        out = reply.get("stdout")
        if isinstance(out, str) and out:
            sys.stdout.write(out[: self.limits.output_chars])
        for item in reply.get("warnings", [])[:20] if isinstance(reply.get("warnings"), list) else []:
            if isinstance(item, list) and len(item) == 2:
                warnings.warn(str(item[1])[:500], _category(str(item[0])), stacklevel=3)
        error = reply.get("error")
        if isinstance(error, dict):
            raise StudentError(str(error.get("type", "Exception"))[:100], str(error.get("message", ""))[:2000],
                               str(error.get("frames", ""))[:2000])
        if "value" not in reply:
            self._die("the kernel broke the grading protocol: a reply without a value")
        return self._decode(reply["value"], buffers)

    def steps(self, name: str, runs: list[dict]) -> CallsAhead:
        """Have the kernel make the step function ``name``'s calls ahead (its ``steps`` request, which says
        what ``runs`` hold): the calls in the order they were made, as :class:`CallsAhead`."""
        buffers: list[bytes] = []
        reply, rbuffers = self.request({"op": "steps", "name": name, "runs": self._encode(name, runs, buffers)},
                                       buffers)
        self._stream = CallsAhead(self, reply, rbuffers)
        return self._stream


class CallsAhead:
    """The calls a kernel made ahead, as ``(run index, answer)`` in the order it made them, read from its
    stream of messages as they are needed: ``answer()`` replays that call exactly as :meth:`SandboxKernel.call`
    would have returned or raised."""

    def __init__(self, kernel: SandboxKernel, reply: dict, buffers: list[bytes]) -> None:
        self._kernel, self._pending, self._open = kernel, collections.deque(), True
        self._take(reply, buffers)

    def _take(self, reply: Any, buffers: list[bytes]) -> None:
        calls = reply.get("calls") if isinstance(reply, dict) and isinstance(reply.get("calls"), list) else []
        for item in calls:
            if isinstance(item, list) and len(item) == 2 and type(item[0]) is int:
                self._pending.append((item[0], functools.partial(self._kernel._answer, item[1], buffers)))
        self._open = isinstance(reply, dict) and reply.get("more") is True

    def __iter__(self) -> CallsAhead:
        return self

    def __next__(self) -> tuple[int, Callable[[], Any]]:
        while not self._pending:
            if not self._open:
                raise StopIteration
            self._take(*self._kernel._exchange(self._kernel._receive))
        return self._pending.popleft()

    def drain(self) -> None:
        """Read the rest of the stream; the calls not yet taken are dropped."""
        while self._open:
            self._take(*self._kernel._exchange(self._kernel._receive))
        self.close()

    def close(self) -> None:
        """Drop what is left (the stream was read to its end, or the kernel was interrupted)."""
        self._pending.clear()
        self._open = False
        if self._kernel._stream is self:
            self._kernel._stream = None


class RemoteFunction:
    """A student's function, called in the kernel; what comes back is data."""

    def __init__(self, kernel: SandboxKernel, name: str) -> None:
        self._kernel, self.__name__, self.__qualname__ = kernel, name, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._kernel.call(self.__name__, args, kwargs)

    @property
    def calls_ahead(self) -> bool:
        """Whether the checks may have this function's calls made ahead (:meth:`run_steps`)."""
        return self._kernel.limits.calls_ahead

    def run_steps(self, runs: list[dict]) -> CallsAhead:
        """This function's calls as an optimiser's steps, made ahead in the kernel (:meth:`SandboxKernel.steps`)."""
        return self._kernel.steps(self.__name__, runs)

    def __repr__(self) -> str:
        return f"<function {self.__name__} (in the graded notebook)>"
