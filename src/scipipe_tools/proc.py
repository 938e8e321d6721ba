"""The only place in scipipe-tools that starts subprocesses.

argv lists only, never a shell string.  Output is captured with ``communicate`` so a
chatty child cannot deadlock us, and a failure raises :class:`CommandError` with the
tail of stderr.
"""

from __future__ import annotations

import datetime
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import CommandError, ScipipeError
from .redaction import redact

log = logging.getLogger(__name__)

STDERR_TAIL_LINES = 20

#: Exit statuses of a Python child killed at interpreter exit by py-rattler's
#: pyo3/tokio shutdown race (see the peer survey): the child's work may be complete.
CRASH_AT_EXIT = frozenset({-signal.SIGSEGV, -signal.SIGABRT})


@dataclass(frozen=True)
class Result:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


def tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    return "\n".join(text.splitlines()[-lines:])


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
    try:
        if stdout_path is not None:
            with open(stdout_path, "ab") as out:
                proc = subprocess.run(
                    args,
                    cwd=cwd,
                    env=full_env,
                    input=input.encode() if isinstance(input, str) else input,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    check=False,
                )
            stdout_text, stderr_text = "", ""
        else:
            proc = subprocess.run(
                args,
                cwd=cwd,
                env=full_env,
                input=input,
                capture_output=True,
                text=not binary,
                timeout=timeout,
                check=False,
            )
            so, se = proc.stdout, proc.stderr
            stdout_text = so.decode(errors="replace") if isinstance(so, bytes) else so
            stderr_text = se.decode(errors="replace") if isinstance(se, bytes) else se
    except FileNotFoundError as exc:
        raise ScipipeError(
            f"cannot run {args[0]!r}: not found", hint="is it installed and on PATH?"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise CommandError(args, -1, f"timed out after {timeout} s") from exc
    result = Result(args, proc.returncode, stdout_text, stderr_text)
    if check and proc.returncode != 0:
        detail = stderr_text or stdout_text
        if stdout_path is not None:
            detail = tail(stdout_path.read_text(errors="replace"))
        raise CommandError(args, proc.returncode, tail(detail))
    return result


def spawn(
    argv: Sequence[str | os.PathLike[str]],
    *,
    stdout_path: Path,
    stderr_path: Path,
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` without waiting: its stdin is a pipe for the caller to write, its
    stdout and stderr go to files (no pipe to fill up and deadlock)."""
    args = [os.fspath(a) for a in argv]
    env = {**os.environ, **extra_env} if extra_env else None
    log.debug("$ %s &", redact(shlex.join(args)))
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        try:
            return subprocess.Popen(args, env=env, stdin=subprocess.PIPE, stdout=out, stderr=err)
        except FileNotFoundError as exc:
            raise ScipipeError(f"cannot run {args[0]!r}: not found") from exc


def python_module(module: str, *args: str | os.PathLike[str]) -> list[str]:
    """argv that runs ``python -m module args`` with this interpreter."""
    return [sys.executable, "-m", module, *(os.fspath(a) for a in args)]


def child_pythonpath() -> dict[str, str]:
    """PYTHONPATH for a Python child, so it imports this very copy of scipipe_tools."""
    here = str(Path(__file__).resolve().parents[1])
    current = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": here if not current else here + os.pathsep + current}


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
    """
    args = [os.fspath(a) for a in argv]
    logfile.parent.mkdir(parents=True, exist_ok=True)
    deadline = None if timeout is None else time.monotonic() + timeout
    with open(logfile, "a", encoding="utf-8", errors="replace", buffering=1) as out:
        out.write(f"[{_stamp()}] $ {shlex.join(args)}\n")
        out.flush()
        log.debug("$ %s  (log: %s)", redact(shlex.join(args)), logfile)
        try:
            proc = subprocess.Popen(
                args,
                cwd=cwd,
                env=None if env is None else dict(env),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                errors="replace",
                bufsize=1,
            )
        except FileNotFoundError as exc:
            out.write(f"[{_stamp()}] cannot run {args[0]!r}: not found\n")
            raise ScipipeError(
                f"cannot run {args[0]!r}: not found", hint="is it installed and on PATH?"
            ) from exc
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                out.write(f"[{_stamp()}] {line}")
                if deadline is not None and time.monotonic() > deadline:
                    proc.kill()
                    out.write(f"[{_stamp()}] *** timed out after {timeout} s\n")
                    break
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        out.write(f"[{_stamp()}] exit code {code}\n")
    return code


def _stamp() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
