"""The ``scipipe`` entry point: a no-op rebuild's shortcut, else the command line.

``scipipe build ... --no-fetch`` when nothing changed since the same command last found
nothing to do prints that command's output again (see
:mod:`..sourcebuild.noopstamp`) without importing click or the library: the answer
costs what reading the checkouts' HEADs costs.  Anything else, and any doubt, runs
:func:`.app.main` as usual.  ``SCIPIPE_NO_SHORTCUT=1`` turns the shortcut off.

``scipipe env lock`` (without ``--check``) and ``scipipe env create -p NEW`` (without
``--dry-run``) start their py-rattler worker here, before click and the CLI import, so
that the worker's Python and py-rattler start meanwhile (:func:`early_op` guesses from
argv; :func:`take_early` hands the worker to the command, which starts its own when the
guess was wrong).  Whatever happens, the worker is closed before this process ends;
such a command then exits without the interpreter's teardown (:func:`exit_now`).
"""

from __future__ import annotations

import atexit
import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from ..redaction import RedactingStream, register_environment
from ..sourcebuild import noopstamp

#: global options that may precede ``build`` (anything else: no shortcut)
_GLOBAL = {"-q", "-qq", "-qqq", "-v", "-vv", "--quiet", "--verbose", "--json"}

#: the key of this process's command, when it started here (what a no-op stamp records)
KEY: dict[str, Any] | None = None

#: the py-rattler worker started here for this command (``env.worker.Started``), if any
EARLY: Any = None


def main() -> None:
    """Run ``scipipe``: the shortcut when it holds, else the whole command line."""
    global KEY, EARLY
    argv = sys.argv[1:]
    if _is_noop_candidate(argv):  # the only commands that write or read a no-op stamp
        KEY = noopstamp.run_key(argv, os.getcwd(), os.environ)
        if shortcut(argv, KEY, os.environ):
            sys.exit(0)
    op = early_op(argv)
    if op is not None:
        EARLY = importlib.import_module("scipipe_tools.env.worker").Started(op)
    code = 0
    try:
        app = importlib.import_module("scipipe_tools.cli.app")
        app.main()
    except SystemExit as exc:
        if op is None or not (exc.code is None or isinstance(exc.code, int)):
            raise
        code = exc.code or 0
    finally:
        early, EARLY = EARLY, None
        if early is not None:  # not taken (a usage error, another guess): closed here
            early.close()
    exit_now(code)


def exit_now(code: int) -> None:
    """Exit with ``code`` as :func:`sys.exit` would, without the interpreter's teardown.

    Everything registered to run at exit runs (logging's flush, temporary files'
    finalizers) and the standard streams are flushed; what is skipped is clearing every
    module and collecting what they hold (30 ms once conda-lock's models, pydantic and
    the environment library are loaded).  A flush that fails exits the usual way."""
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)


def take_early(op: str) -> Any:
    """The worker started here, if it was started for ``op`` (the command owns and closes
    it from now on); None otherwise."""
    global EARLY
    early = EARLY
    if early is None or early.op != op:
        return None
    EARLY = None
    return early


def early_op(argv: Sequence[str]) -> str | None:
    """The worker op ``argv`` will need for sure enough to start it now: ``solve`` for
    ``env lock`` (not ``--check``), ``install`` for ``env create`` into a new ``-p``
    prefix (not ``--dry-run``); None for anything else or any doubt."""
    rest = _command(argv)
    if len(rest) < 2 or rest[0] != "env" or "--help" in rest or "-h" in rest:
        return None
    if rest[1] == "lock" and "--check" not in rest:
        return "solve"
    if rest[1] == "create" and "--dry-run" not in rest:
        prefix = _option(rest, "-p", "--prefix")
        if prefix and not os.path.isdir(os.path.join(prefix, "conda-meta")):
            return "install"
    return None


def _option(argv: Sequence[str], short: str, long: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg in (short, long) and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(long + "="):
            return arg[len(long) + 1 :]
    return None


def shortcut(argv: Sequence[str], key: Mapping[str, Any], environ: Mapping[str, str]) -> bool:
    """Print a no-op's recorded output if ``argv`` is one whose stamp still holds."""
    if environ.get("SCIPIPE_NO_SHORTCUT") or not _is_noop_candidate(argv):
        return False
    output = noopstamp.check(_build_dir(argv, environ), key)
    if output is None:
        return False
    register_environment(environ)
    out, err = RedactingStream(sys.stdout), RedactingStream(sys.stderr)
    out.write(output["stdout"])
    for line in output["stderr"]:
        err.write(f"{line}\n")
    if environ.get("SCIPIPE_DEBUG_NOOP"):
        err.write("debug: no-op stamp holds: nothing resolved\n")
    out.flush()
    err.flush()
    return True


def _is_noop_candidate(argv: Sequence[str]) -> bool:
    """``[global options] build [run] ... --no-fetch ...``."""
    rest = _command(argv)
    return bool(rest) and rest[0] == "build" and ("-n" in rest or "--no-fetch" in rest)


def _command(argv: Sequence[str]) -> Sequence[str]:
    """``argv`` from the command on: the global options that may precede it skipped."""
    i = 0
    while i < len(argv) and argv[i] in _GLOBAL:
        i += 1
    return argv[i:]


def _build_dir(argv: Sequence[str], environ: Mapping[str, str]) -> str:
    """Where the stamp would be: --build-dir, else ROOT/build (--root, $SCIPIPE_ROOT, .).

    A wrong guess only misses the shortcut: the stamp records the whole command."""
    found: dict[str, str | None] = {"--build-dir": None, "--root": None}
    for i, arg in enumerate(argv):
        for name in found:
            if arg == name and i + 1 < len(argv):
                found[name] = argv[i + 1]
            elif arg.startswith(name + "="):
                found[name] = arg[len(name) + 1 :]
    if found["--build-dir"]:
        return str(found["--build-dir"])
    return os.path.join(found["--root"] or environ.get("SCIPIPE_ROOT") or ".", "build")
