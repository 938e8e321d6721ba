"""One build per stack at a time: an advisory lock the kernel drops when we die."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from ..errors import LockedError

LOCK_NAME = ".scipipe-build.lock"


class StackLock:
    """``with StackLock(stack):`` holds ``<stack>/.scipipe-build.lock`` (flock).

    A second build of the same stack fails at once with :class:`LockedError` naming the
    holder's pid.  A kill -9 releases the lock with the process, so no stale lock can
    block the next build.
    """

    def __init__(
        self, stack: Path, *, lock_file: Path | None = None, activity: str = "a build"
    ) -> None:
        #: the file locked; ``lock_file`` lets other work (an env create) lock elsewhere
        self.path = lock_file or stack / LOCK_NAME
        self.target = stack
        self.activity = activity
        self._fd: int | None = None

    def __enter__(self) -> StackLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise LockedError(
                f"{self.activity} is already running in {self.target} (pid {holder})",
                hint=f"wait for it to finish; one at a time in {self.target}",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
