"""The ``scipipe`` command after :mod:`.start`: a no-op rebuild's shortcut, else the
command line.

``scipipe build ... --no-fetch`` when nothing changed since the same command last found
nothing to do prints that command's output again (see
:mod:`..sourcebuild.noopstamp`) without importing click or the library: the answer
costs what reading the checkouts' HEADs costs.  Anything else, and any doubt, runs
:func:`.app.main` as usual.  ``SCIPIPE_NO_SHORTCUT=1`` turns the shortcut off.

A py-rattler worker :mod:`.start` started for the command (``env lock``, ``env create
-p NEW``) is the command's to take (:func:`take_early`); whatever happens, it is closed
before this process ends, and such a command then exits without the interpreter's
teardown (:func:`exit_now`).
"""

from __future__ import annotations

import atexit
import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from ..infra.earlychild import EarlyChild
from ..redaction import RedactingStream, register_environment
from ..sourcebuild import noopstamp
from .start import command

#: the key of this process's command, when it started here (what a no-op stamp records)
KEY: dict[str, Any] | None = None

#: the py-rattler worker :mod:`.start` started for this command (op, child), if any
EARLY: tuple[str, EarlyChild] | None = None


def main(op: str | None = None, early: EarlyChild | None = None) -> None:
    """Run ``scipipe``: the shortcut when it holds, else the whole command line.

    ``early``: the worker :mod:`.start` started for ``op``."""
    global KEY, EARLY
    argv = sys.argv[1:]
    EARLY = (op, early) if op is not None and early is not None else None
    code = 0
    try:
        if _is_noop_candidate(argv):  # the only commands that write or read a no-op stamp
            KEY = noopstamp.run_key(argv, os.getcwd(), os.environ)
            if shortcut(argv, KEY, os.environ):
                sys.exit(0)
        app = importlib.import_module("scipipe_tools.cli.app")
        app.main()
    except SystemExit as exc:
        if op is None or not (exc.code is None or isinstance(exc.code, int)):
            raise
        code = exc.code or 0
    finally:
        left, EARLY = EARLY, None
        if left is not None:  # not taken (a usage error, another guess): closed here
            importlib.import_module("scipipe_tools.env.worker").Started(*left).close()
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


def take_early(op: str) -> tuple[str, EarlyChild] | None:
    """The worker :mod:`.start` started, if it was for ``op``: the command owns it from
    now on (``worker.Started(*taken)`` adopts it); None otherwise."""
    global EARLY
    early = EARLY
    if early is None or early[0] != op:
        return None
    EARLY = None
    return early


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
    rest = command(argv)
    return bool(rest) and rest[0] == "build" and ("-n" in rest or "--no-fetch" in rest)


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
