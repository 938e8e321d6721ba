"""A Python child started first thing, before the command imports anything.

``scipipe env lock`` and ``env create`` hand their work to a py-rattler worker process
(:mod:`scipipe_tools.env.worker`): its Python and py-rattler take 60-70 ms to start, so
the sooner it starts, the less of that the command waits for.  :func:`spawn` starts one
with what the interpreter has loaded at start (``os`` and ``sys``: ``subprocess`` alone
costs 12 ms to import) via ``os.posix_spawn``, as :mod:`.proc` starts its children: in a
session and process group of its own, its stdin a pipe, its stdout and stderr files in a
new private directory.  :func:`.proc.adopt` then makes it one of proc's children (taken
down with the command's scope, waited for, stopped); until then the caller owns it.
"""

from __future__ import annotations

import os
import sys


class EarlyChild:
    """A child :func:`spawn` started: its pid, its command line, the write end of its
    stdin, and the directory of its stdout, stderr and anything else it writes."""

    __slots__ = ("argv", "pid", "stdin_fd", "workdir")

    def __init__(self, pid: int, argv: list[str], stdin_fd: int, workdir: str) -> None:
        self.pid = pid
        self.argv = argv
        self.stdin_fd = stdin_fd
        self.workdir = workdir


def new_workdir(prefix: str) -> str:
    """A new directory only this user can enter, in ``$TMPDIR`` (else ``/tmp``), as
    ``tempfile.mkdtemp`` makes one (without importing it)."""
    base = os.environ.get("TMPDIR") or "/tmp"
    for _ in range(100):
        path = os.path.join(base, f"{prefix}{os.urandom(6).hex()}")
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"no free directory name for {prefix}* in {base}")


def src_root() -> str:
    """The directory that holds this copy of ``scipipe_tools`` (for the child's path)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))


def child_pythonpath() -> str:
    """``$PYTHONPATH`` for a Python child, so that it imports this very copy of
    ``scipipe_tools`` (:func:`src_root` first)."""
    here, current = src_root(), os.environ.get("PYTHONPATH")
    return here if not current else here + os.pathsep + current


def spawn(module: str, args: list[str], *, prefix: str) -> EarlyChild:
    """Start ``python -m module ARGS`` with this interpreter, this copy of scipipe_tools
    first on its path; ``{workdir}`` in ``args`` is the new private directory.

    Raises OSError when it cannot, also where ``os.posix_spawn`` cannot start a session
    (the caller then starts its worker the usual way)."""
    if not hasattr(os, "posix_spawn") or not hasattr(os, "POSIX_SPAWN_DUP2"):
        raise OSError("os.posix_spawn is not available here")
    workdir = new_workdir(prefix)
    argv = [sys.executable, "-m", module, *(a.replace("{workdir}", workdir) for a in args)]
    env = {**os.environ, "PYTHONPATH": child_pythonpath()}
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    read, write = os.pipe()  # both close-on-exec; dup2 makes the child's stdin inheritable
    try:
        pid = os.posix_spawn(
            sys.executable,
            argv,
            env,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, read, 0),
                (os.POSIX_SPAWN_OPEN, 1, os.path.join(workdir, "stdout"), flags, 0o600),
                (os.POSIX_SPAWN_OPEN, 2, os.path.join(workdir, "stderr"), flags, 0o600),
            ],
            setsid=True,
        )
    except NotImplementedError as exc:  # setsid: not in this C library's posix_spawn
        os.close(write)
        _remove(workdir)
        raise OSError(f"os.posix_spawn cannot start a session here: {exc}") from exc
    except BaseException:
        os.close(write)
        _remove(workdir)
        raise
    finally:
        os.close(read)
    return EarlyChild(pid, argv, write, workdir)


def _remove(workdir: str) -> None:
    for name in os.listdir(workdir):
        os.unlink(os.path.join(workdir, name))
    os.rmdir(workdir)
