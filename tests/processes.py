"""Is that process still running?  Helpers for the tests of process groups."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

#: Seconds a process may take to be gone once it should be (generous: catches hangs).
GONE_TIMEOUT = 30.0


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by its parent, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    state = stat.rpartition(")")[2].split()[0]
    return state not in ("Z", "X", "x")


def wait_gone(pids: Iterable[int], timeout: float = GONE_TIMEOUT) -> list[int]:
    """The pids still running after up to ``timeout`` seconds of waiting for them."""
    pids = list(pids)
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in pids if alive(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def pids_in(directory: Path) -> list[int]:
    """The pids written to ``directory/*.pid``, one a file."""
    return [int(f.read_text()) for f in sorted(directory.glob("*.pid")) if f.read_text().strip()]
