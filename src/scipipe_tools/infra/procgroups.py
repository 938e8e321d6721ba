"""Signal, and wait for, the processes of a child's session (the OS side of :mod:`proc`).

:mod:`proc` starts every child as the leader of a new session (``setsid``), so its
pid is also its process group id and its session id.  Everything the child starts
stays in that group, even once its parent has exited and it was reparented, unless it
moves itself out: ``setpgid`` to a group of its own (coreutils ``timeout`` does this)
keeps it in the session, ``setsid`` (a real daemon) leaves that too.

``killpg`` reaches the group.  On Linux the *sweep* also reaches the rest of the
session, by reading ``/proc``; elsewhere only the group is reached.  A process that
called ``setsid`` is out of reach, as it is for a terminal.

A zombie (dead, never reaped: an orphan in a container whose pid 1 does not reap) is
not counted as running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_PROC = "/proc"


@dataclass(frozen=True)
class _Stat:
    pid: int
    state: str
    ppid: int
    pgrp: int
    session: int

    @property
    def running(self) -> bool:
        return self.state not in ("Z", "X", "x")


def _stat(pid: int) -> _Stat | None:
    try:
        with open(f"{_PROC}/{pid}/stat", "rb") as fh:
            text = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    # "pid (comm) state ppid pgrp session ...": comm may hold spaces and parentheses
    fields = text.rpartition(")")[2].split()
    try:
        return _Stat(pid, fields[0], int(fields[1]), int(fields[2]), int(fields[3]))
    except (IndexError, ValueError):
        return None


def _processes() -> Iterator[_Stat]:
    """Every process /proc shows (nothing where there is no /proc)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        names = os.listdir(_PROC)
    except OSError:
        return
    for name in names:
        if name.isascii() and name.isdigit():
            st = _stat(int(name))
            if st is not None:
                yield st


def _members(leader: int) -> list[_Stat]:
    """The running processes of the session and group ``leader`` leads (Linux)."""
    return [st for st in _processes() if (st.pgrp == leader or st.session == leader) and st.running]


def has_proc() -> bool:
    return sys.platform.startswith("linux") and os.path.isdir(f"{_PROC}/self")


def group_exists(leader: int) -> bool:
    """Whether anything at all (zombies included) is left in the group: one syscall."""
    try:
        os.killpg(leader, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def running(leader: int, *, sweep: bool) -> bool:
    """Whether a process of the group (with ``sweep``: of the session) still runs."""
    if not has_proc():
        return group_exists(leader)
    if not sweep:
        return any(st.pgrp == leader for st in _members(leader))
    return bool(_members(leader))


def signal_group(leader: int, signum: int, *, sweep: bool) -> None:
    """Send ``signum`` to the group ``leader`` leads and (``sweep``, Linux) its session."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(leader, signum)
    if sweep and has_proc():
        for st in _members(leader):
            if st.pgrp != leader:
                _kill_checked(st.pid, signum, lambda s: s.session == leader)


def signal_pids(pids: list[int], signum: int, *, parent: int) -> None:
    """Send ``signum`` to each of ``pids`` that is still a child of ``parent``."""
    for pid in pids:
        _kill_checked(pid, signum, lambda s: s.ppid == parent)


def children(parent: int) -> list[int]:
    """The running direct children of ``parent`` (Linux; empty elsewhere)."""
    return [st.pid for st in _processes() if st.ppid == parent and st.running]


def _kill_checked(pid: int, signum: int, still: Callable[[_Stat], bool]) -> None:
    """Signal ``pid`` if it still passes ``still``: through a pidfd where there is one, so
    that a pid reused between the check and the signal is never hit."""
    pidfd_open = getattr(os, "pidfd_open", None)
    send = getattr(signal, "pidfd_send_signal", None)
    if pidfd_open is None or send is None:
        st = _stat(pid)
        if st is not None and still(st):
            _kill(pid, signum)
        return
    try:
        fd = pidfd_open(pid)
    except OSError:  # gone, or no pidfd support in this kernel
        st = _stat(pid)
        if st is not None and still(st):
            _kill(pid, signum)
        return
    try:
        st = _stat(pid)  # the pidfd pins the process: this is the one we will signal
        if st is not None and still(st):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                send(fd, signum)
    finally:
        os.close(fd)


def _kill(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)
