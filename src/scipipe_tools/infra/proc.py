"""The only place in scipipe-tools that starts subprocesses.

argv lists only, never a shell string.  Output is captured with ``communicate`` so a
chatty child cannot deadlock us, and a failure raises :class:`CommandError` with the
tail of stderr.

Child processes never outlive the command.  Every child starts as the leader of a
session and process group of its own (``setsid``), so that everything it forks can be
taken down with it: SIGTERM to the group, :data:`GRACE` seconds, then SIGKILL (see
:mod:`procgroups`).  That happens when the child ends (whatever it left running in the
background goes too, and a call does not wait for what holds its output open), when it
times out, when the call is interrupted, and for every child still alive when a
:class:`Scope` closes or is stopped.  The CLI boundary opens one scope per command and
stops it on SIGINT, SIGTERM and SIGHUP: in a group of its own a child no longer gets
the terminal's Ctrl-C, so the parent passes it on.  Once stopped, only the main thread
(unwinding: its cleanup may need git) starts children; other threads get
:class:`Stopped`.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import logging
import math
import os
import select
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from ..errors import CommandError, ScipipeError
from ..redaction import redact
from . import earlychild, procgroups
from .earlychild import EarlyChild

if TYPE_CHECKING:  # pathlib is not needed to start the CLI
    from pathlib import Path

log = logging.getLogger(__name__)

STDERR_TAIL_LINES = 20

#: Exit statuses of a Python child killed at interpreter exit by py-rattler's
#: pyo3/tokio shutdown race (see the peer survey): the child's work may be complete.
CRASH_AT_EXIT = frozenset({-signal.SIGSEGV, -signal.SIGABRT})

#: Seconds a process group has between SIGTERM and SIGKILL.
GRACE = 3.0
#: Seconds to wait for the output of a finished child once its group is gone; only a
#: process that left the session (``setsid``) can hold it open longer.
DRAIN_TIMEOUT = 5.0
#: How often a wait for something else than the child's exit looks at the child.
_POLL = 0.05


@dataclass(frozen=True)
class Result:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


def tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------- the registry


class Stopped(KeyboardInterrupt):
    """The command is being stopped (a signal, an interrupted build): a child that was
    taken down for it ends its call with this, and no new child starts.  Being a
    KeyboardInterrupt, it unwinds like Ctrl-C and no ``except Exception`` retries it."""

    def __init__(self, what: str = "stopped") -> None:
        super().__init__(what)


@dataclass(frozen=True)
class _Child:
    serial: int
    popen: subprocess.Popen[Any]
    #: its output is read to EOF: the watchdog ends what holds it once the child exited
    watched: bool


#: Held only for a moment, never around a call into anything else: the signal handler
#: takes it (reentrant: it runs in the main thread, which may hold it).
_lock = threading.RLock()
#: leader pid (= process group id = session id) -> the child
_live: dict[int, _Child] = {}
_serials = itertools.count(1)
_scopes: list[Scope] = []
_local = threading.local()


def live_groups() -> list[int]:
    """The process groups started here that are not yet known to be gone."""
    with _lock:
        return sorted(_live)


def stopping() -> bool:
    """Whether an open :class:`Scope` was stopped."""
    with _lock:
        return any(s.stopped for s in _scopes)


def _stopped_here() -> bool:
    """Once the command is stopping, only the main thread starts children: it unwinds,
    and its cleanup may need one (a ``git`` that undoes a half-made commit); the other
    threads' work ends with :class:`Stopped`."""
    return threading.current_thread() is not threading.main_thread() and stopping()


def _check_stopping() -> None:
    if _stopped_here():
        raise Stopped("stopped: no new process is started")


#: Scope.stop calls so far: a start tells whether one came while it started its child.
_stop_count = 0


def _start(args: list[str], *, watched: bool = False, **kwargs: Any) -> subprocess.Popen[Any]:
    """``Popen`` in a new session, registered; refused once the command is stopping."""
    _local.starting = True
    try:
        _check_stopping()
        stops = _stop_count
        popen: subprocess.Popen[Any] = subprocess.Popen(args, start_new_session=True, **kwargs)
        with _lock:
            _live[popen.pid] = _Child(next(_serials), popen, watched)
        if watched:
            _Watchdog.wake()
    finally:
        _local.starting = False
    if _stop_count != stops:  # a stop came while we started the child: it may have missed it
        _end(popen, grace=0)
        raise Stopped("stopped: no new process is started")
    return popen


def starting() -> bool:
    """Whether this thread is between starting a child and registering it.  A signal
    handler must not raise there, or the child would be lost; it stops the scope, and
    the start raises :class:`Stopped` once the child is registered and taken down."""
    return bool(getattr(_local, "starting", False))


def _forget(popens: Iterable[subprocess.Popen[Any]]) -> None:
    with _lock:
        for popen in popens:
            child = _live.get(popen.pid)
            if child is not None and child.popen is popen:
                del _live[popen.pid]


def _end(popen: subprocess.Popen[Any], *, grace: float = GRACE) -> None:
    """Take down whatever is left of ``popen``'s session, reap it and forget it."""
    try:
        _take_down([popen], grace)
    finally:
        _forget([popen])


def _end_quietly(popen: subprocess.Popen[Any]) -> None:
    """After a normal exit: one syscall tells that nothing is left (the usual case)."""
    if popen.poll() is not None and not procgroups.group_exists(popen.pid):
        _forget([popen])
        return
    _end(popen)


def _take_down(popens: Iterable[subprocess.Popen[Any]], grace: float) -> None:
    """SIGTERM to each child's group and session, up to ``grace`` seconds for them to go,
    SIGKILL to what is left; the leaders are reaped."""
    left = [p for p in popens if _still_running(p)]
    for p in left:
        procgroups.signal_group(p.pid, signal.SIGTERM, sweep=True)
    deadline = time.monotonic() + grace
    while left and time.monotonic() < deadline:
        time.sleep(_POLL)
        left = [p for p in left if _still_running(p)]
    for p in left:
        procgroups.signal_group(p.pid, signal.SIGKILL, sweep=True)
    for p in left:
        try:
            p.wait(timeout=GRACE)  # SIGKILL cannot be refused; this is for a stuck kernel
        except subprocess.TimeoutExpired:
            log.warning("process %d did not die of SIGKILL", p.pid)


def _still_running(popen: subprocess.Popen[Any]) -> bool:
    popen.poll()  # a dead leader, once reaped, is no longer a member
    return procgroups.running(popen.pid, sweep=True)


class Scope:
    """The children started (by any thread) while the scope is open.

    ``with Scope() as scope:`` ... :meth:`stop` takes them down and refuses new ones;
    leaving the block takes down whatever of them is still running (also after an
    exception).  Children started before the scope opened are not its business.
    """

    def __init__(self) -> None:
        self.stopped = False
        self._closed = threading.Event()
        self._wake = threading.Event()
        self._signalled: list[subprocess.Popen[Any]] | None = None
        # Started now, not by stop(): a signal handler must not start a thread (the
        # interrupted main thread may hold threading's own locks).
        self._escalation = threading.Thread(target=self._escalate, name="scipipe-stop",
                                            daemon=True)  # fmt: skip
        self._escalation.start()
        with _lock:
            self._first = next(_serials)
            _scopes.append(self)

    def members(self) -> list[subprocess.Popen[Any]]:
        with _lock:
            return [c.popen for c in _live.values() if c.serial > self._first]

    def stop(self, *, force: bool = False, strays: bool = False) -> None:
        """Refuse new children (but in the main thread); SIGTERM (``force``: SIGKILL)
        every child's group now and SIGKILL what is left of them :data:`GRACE` seconds
        later, in a daemon thread.  This returns at once, and is safe in a signal
        handler.  ``strays``: also signal our direct children that :mod:`proc` did not
        start (a library's own children)."""
        global _stop_count
        with _lock:
            self.stopped = True
            _stop_count += 1
            members = self.members()
            leaders = set(_live)
        signum = signal.SIGKILL if force else signal.SIGTERM
        for p in members:
            procgroups.signal_group(p.pid, signum, sweep=True)
        if strays:
            me = os.getpid()
            others = [pid for pid in procgroups.children(me) if pid not in leaders]
            procgroups.signal_pids(others, signum, parent=me)
        if self._signalled is None and not self._closed.is_set():
            self._signalled = members
            self._wake.set()

    def _escalate(self) -> None:
        self._wake.wait()
        # Only the children the stop signalled: what the main thread's cleanup starts
        # afterwards is waited for (or taken down when the scope closes).
        if self._signalled is None or self._closed.wait(GRACE):
            return
        for p in self._signalled:
            if _still_running(p):
                log.debug("process group %d ignored SIGTERM: SIGKILL", p.pid)
                procgroups.signal_group(p.pid, signal.SIGKILL, sweep=True)

    def close(self) -> None:
        """Take down every child of the scope that is still running."""
        try:
            members = self.members()
            _take_down(members, GRACE)
            _forget(members)
        finally:
            self._closed.set()
            self._wake.set()
            with _lock:
                if self in _scopes:
                    _scopes.remove(self)

    def __enter__(self) -> Scope:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def stop(popen: subprocess.Popen[Any], *, grace: float = GRACE) -> int:
    """Take a :func:`spawn`\\ ed child down with its whole group (SIGTERM, ``grace``
    seconds, SIGKILL), reap it and return its exit status.  Fine on a child that
    already ended: whatever it left running goes."""
    _end(popen, grace=grace)
    code = popen.poll()
    return -signal.SIGKILL if code is None else code


def finish(popen: subprocess.Popen[Any]) -> None:
    """:func:`stop` for a spawned child that ended (as :func:`wait` saw): one
    syscall when nothing of its group is left, the usual case; else the same take-down."""
    _end_quietly(popen)


def wait(popen: subprocess.Popen[Any], *, timeout: float | None = None) -> int:
    """Wait for a :func:`spawn`\\ ed child; its exit status.

    On timeout the child's group is taken down and CommandError raised; a child taken
    down because the command is stopping raises :class:`Stopped`.
    """
    try:
        if timeout is not None and not _exited_within(popen, timeout):
            raise subprocess.TimeoutExpired(popen.args, timeout)
        code = popen.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(popen)
        raise CommandError(_argv_of(popen), -1, f"timed out after {timeout} s") from None
    _check_stopping()
    return code


def _exited_within(popen: subprocess.Popen[Any], timeout: float) -> bool:
    """Sleep until ``popen`` exits (True) or ``timeout`` passes (False), woken by the exit
    itself (a pidfd): ``Popen.wait(timeout)`` polls, up to 50 ms late.  No pidfd (not
    Linux 5.3+, or already reaped): True, and ``Popen.wait`` decides as before."""
    if popen.returncode is not None or not hasattr(os, "pidfd_open"):
        return True
    try:
        fd = os.pidfd_open(popen.pid)
    except OSError:
        return True
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(max(0, math.ceil(timeout * 1000))))
    finally:
        os.close(fd)


def _argv_of(popen: subprocess.Popen[Any]) -> list[str]:
    args = popen.args
    if isinstance(args, str | bytes | os.PathLike):
        return [os.fsdecode(args)]
    return [os.fsdecode(a) for a in args]


class _Watchdog:
    """Ends what a child left holding its output open once the child has exited, so that
    reading that output to EOF (``communicate``) does not wait for it.

    Once a :data:`WATCH_INTERVAL` it looks, without reaping, for a watched child that
    exited but was not reaped (its reader still waits for EOF).  Seen so twice in a row,
    its group is taken down, SIGKILL once :data:`GRACE` has passed.  The thread sleeps
    while nothing is watched.
    """

    _thread: threading.Thread | None = None
    _wanted = threading.Event()
    # not _lock: that one is only ever held for a moment (a signal handler takes it)
    _starting = threading.Lock()

    @classmethod
    def wake(cls) -> None:
        with cls._starting:
            if cls._thread is None:
                cls._thread = threading.Thread(target=cls._run, name="scipipe-watchdog",
                                               daemon=True)  # fmt: skip
                cls._thread.start()
        cls._wanted.set()

    @classmethod
    def _run(cls) -> None:
        exited: dict[int, float] = {}  # serial -> when it was first seen exited
        while True:
            cls._wanted.clear()  # a wake() from here on is not missed
            with _lock:
                watched = [c for c in _live.values() if c.watched]
            if not watched:
                exited.clear()
                cls._wanted.wait()
                continue
            time.sleep(WATCH_INTERVAL)
            now = time.monotonic()
            for child in watched:
                if not _exited_unreaped(child.popen):
                    exited.pop(child.serial, None)
                    continue
                since = exited.setdefault(child.serial, now)
                if since < now:
                    late = now - since > GRACE
                    signum = signal.SIGKILL if late else signal.SIGTERM
                    procgroups.signal_group(child.popen.pid, signum, sweep=True)
            live = {c.serial for c in watched}
            for serial in [s for s in exited if s not in live]:
                del exited[serial]


#: Seconds between the watchdog's looks at the watched children.
WATCH_INTERVAL = 0.5


def _exited_unreaped(popen: subprocess.Popen[Any]) -> bool:
    waitid = getattr(os, "waitid", None)  # not on macOS before Python 3.13
    if popen.returncode is not None or waitid is None:
        return False
    try:
        return waitid(os.P_PID, popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:  # reaped meanwhile
        return False


# --------------------------------------------------------------------------- the calls


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
    input: str | bytes | None = None,
    check: bool = True,
    timeout: float | None = None,
    stdout_path: Path | None = None,
) -> Result:
    """Run ``argv`` and return its output.

    ``env`` replaces the environment; ``extra_env`` is added on top of it (or of ours).
    With ``stdout_path`` stdout and stderr both go, interleaved, to that file.
    ``timeout`` (seconds) takes the child and its whole group down and raises
    CommandError; so does an interrupt, which is re-raised.  Whatever the child left
    running in its group when it exits is taken down too.
    """
    args = [os.fspath(a) for a in argv]
    if not args:
        raise ValueError("empty argv")
    full_env: dict[str, str] | None = None
    if env is not None or extra_env:
        full_env = dict(os.environ if env is None else env)
        full_env.update(extra_env or {})
    log.debug("$ %s%s", redact(shlex.join(args)), f"  (in {cwd})" if cwd else "")
    binary = isinstance(input, bytes)
    stdin = None if input is None else subprocess.PIPE
    data: str | bytes | None = input
    try:
        if stdout_path is not None:
            with open(stdout_path, "ab") as out:
                popen = _start(args, cwd=cwd, env=full_env, stdin=stdin, stdout=out,
                               stderr=subprocess.STDOUT)  # fmt: skip
            data = input.encode() if isinstance(input, str) else input
        else:
            popen = _start(args, cwd=cwd, env=full_env, stdin=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=not binary, watched=True)  # fmt: skip
    except FileNotFoundError as exc:
        raise ScipipeError(
            f"cannot run {args[0]!r}: not found", hint="is it installed and on PATH?"
        ) from exc
    try:
        so, se = popen.communicate(data, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        _end(popen)
        raise CommandError(args, -1, f"timed out after {timeout} s") from exc
    except BaseException:
        _end(popen)
        raise
    _end_quietly(popen)
    _check_stopping()
    if stdout_path is not None:
        stdout_text, stderr_text = "", ""
    else:
        stdout_text = so.decode(errors="replace") if isinstance(so, bytes) else so
        stderr_text = se.decode(errors="replace") if isinstance(se, bytes) else se
    result = Result(args, popen.returncode, stdout_text, stderr_text)
    if check and popen.returncode != 0:
        detail = stderr_text or stdout_text
        if stdout_path is not None:
            detail = tail(stdout_path.read_text(errors="replace"))
        raise CommandError(args, popen.returncode, tail(detail))
    return result


def spawn(
    argv: Sequence[str | os.PathLike[str]],
    *,
    stdout_path: Path,
    stderr_path: Path,
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` without waiting: its stdin is a pipe for the caller to write, its
    stdout and stderr go to files (no pipe to fill up and deadlock).

    The caller ends it with :func:`stop` (and may :func:`wait` for it first); a child
    still running when the command's :class:`Scope` closes is taken down then."""
    args = [os.fspath(a) for a in argv]
    env = {**os.environ, **extra_env} if extra_env else None
    log.debug("$ %s &", redact(shlex.join(args)))
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        try:
            popen: subprocess.Popen[bytes] = _start(
                args, env=env, stdin=subprocess.PIPE, stdout=out, stderr=err
            )
        except FileNotFoundError as exc:
            raise ScipipeError(f"cannot run {args[0]!r}: not found") from exc
    return popen


def adopt(child: EarlyChild) -> subprocess.Popen[bytes]:
    """Make a child :mod:`.earlychild` started one of ours, as if :func:`spawn` had: a
    ``Popen`` (its stdin the pipe's write end) that :func:`wait`, :func:`stop` and
    :func:`finish` take, registered so that the command's :class:`Scope` takes it down.

    A command already stopping refuses it: the child is taken down and Stopped raised."""
    popen = _Adopted(child.pid, child.argv, os.fdopen(child.stdin_fd, "wb"))
    stops = _stop_count
    with _lock:
        _live[popen.pid] = _Child(next(_serials), popen, False)
    if _stop_count != stops or _stopped_here():
        _end(popen, grace=0)
        raise Stopped("stopped: no new process is started")
    return popen


class _Adopted(subprocess.Popen[bytes]):
    """A ``Popen`` for a child started without :mod:`subprocess` (``os.posix_spawn``).

    ``Popen.__init__`` would start a process, so it is not called; this sets what its
    waiting, polling and finalizing read on POSIX (CPython 3.11 to 3.13), and
    tests/unit/test_earlychild.py checks each of them on a real child."""

    def __init__(self, pid: int, argv: list[str], stdin: IO[bytes]) -> None:
        self.args = argv
        self.pid = pid
        self.returncode = None
        self.stdin, self.stdout, self.stderr = stdin, None, None
        self.text_mode = False
        self.encoding = self.errors = None
        self._waitpid_lock = threading.Lock()
        self._child_created = True
        self._input = None
        self._communication_started = False
        self._sigint_wait_secs = 0.25
        self._closed_child_pipe_fds = True


def python_module(module: str, *args: str | os.PathLike[str]) -> list[str]:
    """argv that runs ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *(os.fspath(a) for a in args)]


def child_pythonpath() -> dict[str, str]:
    """PYTHONPATH for a Python child, so it imports this very copy of scipipe_tools."""
    return {"PYTHONPATH": earlychild.child_pythonpath()}


def seconds(value: float | None) -> str:
    """``2``, ``1.5``: a duration for a message, to a tenth of a second."""
    return f"{value or 0.0:.1f}".removesuffix(".0")


def describe_exit(code: int) -> str:
    """``exit code 3`` or ``signal SIGSEGV``."""
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def run_logged(
    argv: Sequence[str | os.PathLike[str]],
    logfile: Path,
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> int:
    """Run ``argv`` with stdout and stderr, line by line, appended to ``logfile``.

    Each line is prefixed with ``[<ISO UTC time>Z]``, as in lsst_build's ``_build.log``.
    Returns the exit code; a command that cannot start raises :class:`ScipipeError`.

    The command ends when its first process does: anything it left running in its
    process group is taken down then (a build step keeps no daemons).  ``timeout``
    takes the whole group down and returns the resulting status; an interrupt takes it
    down and is re-raised, and a step taken down because the command is stopping
    raises :class:`Stopped`.
    """
    args = [os.fspath(a) for a in argv]
    logfile.parent.mkdir(parents=True, exist_ok=True)
    with open(logfile, "a", encoding="utf-8", errors="replace", buffering=1) as out:
        log_line = _LogWriter(out)
        log_line(f"$ {shlex.join(args)}")
        log.debug("$ %s  (log: %s)", redact(shlex.join(args)), logfile)
        try:
            popen = _start(args, cwd=cwd, env=None if env is None else dict(env),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, text=True, errors="replace",
                           bufsize=1)  # fmt: skip
        except FileNotFoundError as exc:
            log_line(f"cannot run {args[0]!r}: not found")
            raise ScipipeError(
                f"cannot run {args[0]!r}: not found", hint="is it installed and on PATH?"
            ) from exc
        assert popen.stdout is not None
        pump = threading.Thread(target=_pump, args=(popen.stdout, log_line), daemon=True,
                                name=f"log-{popen.pid}")  # fmt: skip
        try:
            pump.start()
            try:
                popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log_line(f"*** timed out after {seconds(timeout)} s: stopping its process group "
                         f"(SIGTERM, then SIGKILL after {GRACE:g} s)")  # fmt: skip
        except BaseException:
            log_line("*** interrupted")
            raise
        finally:
            _end(popen)
            pump.join(DRAIN_TIMEOUT)
            if pump.is_alive():
                log_line("*** a process that left the session still holds the output open")
            log_line.close()
        code = -signal.SIGKILL if popen.returncode is None else popen.returncode
        if _stopped_here():
            out.write(f"[{_stamp()}] *** stopped ({describe_exit(code)})\n")
            raise Stopped(f"{args[0]}: stopped")
        out.write(f"[{_stamp()}] exit code {code}\n")
    return code


class _LogWriter:
    """Writes stamped lines to the log from the pump thread and the caller's, one at a
    time; after :meth:`close` (the pump outlived its wait) it drops them."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._open = True

    def __call__(self, line: str) -> None:
        with self._lock:
            if self._open:
                # a build log is published (CI artifacts, ups/_build.log): no secrets
                self._out.write(f"[{_stamp()}] {redact(line.rstrip(chr(10)))}\n")

    def close(self) -> None:
        with self._lock:
            self._open = False


def _pump(stream: IO[str], write: _LogWriter) -> None:
    try:
        for line in stream:
            write(line)
    except (OSError, ValueError):  # the stream was closed under us
        pass
    finally:
        with contextlib.suppress(OSError):
            stream.close()


def _stamp() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
