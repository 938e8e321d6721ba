"""The ``scipipe`` entry point: a no-op rebuild's shortcut, else the command line.

``scipipe build ... --no-fetch`` when nothing changed since the same command last found
nothing to do prints that command's output again (see
:mod:`..sourcebuild.noopstamp`) without importing click or the library: the answer
costs what reading the checkouts' HEADs costs.  Anything else, and any doubt, runs
:func:`.app.main` as usual.  ``SCIPIPE_NO_SHORTCUT=1`` turns the shortcut off.
"""

from __future__ import annotations

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


def main() -> None:
    """Run ``scipipe``: the shortcut when it holds, else the whole command line."""
    global KEY
    argv = sys.argv[1:]
    KEY = noopstamp.run_key(argv, os.getcwd(), os.environ)
    if shortcut(argv, KEY, os.environ):
        sys.exit(0)
    app = importlib.import_module("scipipe_tools.cli.app")
    app.main()


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
    i = 0
    while i < len(argv) and argv[i] in _GLOBAL:
        i += 1
    rest = argv[i:]
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
