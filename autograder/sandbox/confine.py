"""Confining the kernel process from the inside, before it runs any submitted code.

:func:`apply` (called first thing in the kernel process) sets resource limits, drops every
capability (a grader started as root must not hand root to a submission), sets
``no_new_privs``, and, where the Linux kernel has Landlock, restricts the process and its
children to reading only the paths the spec lists (the interpreter, site-packages without
torch, the course's checking package) and writing only to its working directory; TCP
bind/connect and signals to processes outside the sandbox are denied as well.

Standard library only: it runs before numpy is imported.
"""

from __future__ import annotations

import ctypes
import os
import resource
import sys
from typing import Any

# Landlock (include/uapi/linux/landlock.h)
_SYS_CREATE, _SYS_ADD_RULE, _SYS_RESTRICT = 444, 445, 446
_RULE_PATH_BENEATH = 1
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_ALL_FS_V1 = (1 << 13) - 1
_REFER, _TRUNCATE, _IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | _TRUNCATE | _IOCTL_DEV
READ = EXECUTE | READ_FILE | READ_DIR

_PR_SET_NO_NEW_PRIVS, _PR_CAPBSET_DROP, _PR_SET_PDEATHSIG = 38, 24, 1
_CAP_LAST = 63


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(None, use_errno=True)


def landlock_abi() -> int:
    """The Landlock ABI version of the running Linux kernel, 0 when unavailable."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        version = _libc.syscall(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except (AttributeError, OSError):
        return 0
    return max(int(version), 0)


def _fs_rights(abi: int) -> int:
    rights = _ALL_FS_V1
    if abi >= 2:
        rights |= _REFER
    if abi >= 3:
        rights |= _TRUNCATE
    if abi >= 5:
        rights |= _IOCTL_DEV
    return rights


def _landlock(read: list[str], listed: list[str], write: list[str], abi: int) -> None:
    handled = _fs_rights(abi)
    attr = _RulesetAttr(handled, (_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 else 0,
                        (_SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL) if abi >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = _libc.syscall(_SYS_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for paths, rights in ((read, READ), (listed, READ_DIR), (write, handled)):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    allowed = rights & (FILE_RIGHTS if not os.path.isdir(path) else handled) & handled
                    rule = _PathBeneath(allowed, fd)
                    if _libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule),
                                     ctypes.c_uint32(0)) < 0:
                        raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
                finally:
                    os.close(fd)
        if _libc.syscall(_SYS_RESTRICT, ruleset, ctypes.c_uint32(0)) < 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)


def _drop_capabilities() -> None:
    """Empty the bounding, effective, permitted and inheritable sets (no-op without capabilities)."""
    for cap in range(_CAP_LAST + 1):
        _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    data = (Data * 2)()
    if _libc.capset(ctypes.byref(Header(0x20080522, 0)), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def _limit(which: int, value: int) -> None:
    resource.setrlimit(which, (value, value))


def apply(spec: dict[str, Any]) -> dict[str, Any]:
    """Confine this process as ``spec`` says; return what was applied (for the grader's log).

    ``spec``: ``memory_mb``, ``cpu_s``, ``file_mb``, and path lists ``read`` (read and execute
    beneath), ``list`` (list only: site-packages, whose torch must stay unreadable) and ``write``
    (everything beneath). There is no
    process-count limit (Linux exempts root from it and counts a user's every process
    otherwise); the grader kills whatever the kernel leaves behind instead.
    """
    _limit(resource.RLIMIT_AS, spec["memory_mb"] << 20)
    resource.setrlimit(resource.RLIMIT_CPU, (spec["cpu_s"], spec["cpu_s"] + 5))
    _limit(resource.RLIMIT_FSIZE, spec["file_mb"] << 20)
    _limit(resource.RLIMIT_CORE, 0)
    if not sys.platform.startswith("linux"):
        return {"landlock_abi": 0}
    _libc.prctl(_PR_SET_PDEATHSIG, 9, 0, 0, 0)  # die with the grader
    _drop_capabilities()
    if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(NO_NEW_PRIVS) failed")
    abi = landlock_abi()
    if abi:
        _landlock(spec["read"], spec["list"], spec["write"], abi)
    return {"landlock_abi": abi}
