"""The ``scipipe`` console script: what a command surely needs is started first.

``scipipe env lock`` (without ``--check``) and ``scipipe env create -p NEW`` (without
``--dry-run``) hand their work to a py-rattler worker process whose Python and
py-rattler take 60-70 ms to start.  This module, the first one the script imports,
loads nothing the interpreter has not (``os``, ``sys``) and starts that worker at once
(:func:`early_op` guesses from argv, :func:`..env.early.spawn_early` starts it) so that
it starts while click, the CLI and the library import; then :func:`.entry.main` runs
the command, which takes the worker over (:func:`.entry.take_early`) or, when the guess
was wrong, closes it.
"""

from __future__ import annotations

import os
import sys

from ..env.early import spawn_early

#: typing.TYPE_CHECKING without importing typing (which imports re: 5 ms before the
#: worker could start); mypy reads the block below
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from ..infra.earlychild import EarlyChild

#: global options that may precede the command
GLOBAL = {"-q", "-qq", "-qqq", "-v", "-vv", "--quiet", "--verbose", "--json"}


def main() -> None:
    """Run ``scipipe``: the worker started first when the command will need one."""
    op = early_op(sys.argv[1:])
    early: EarlyChild | None = None
    try:
        if op is not None:
            try:
                early = spawn_early(op)
            except OSError:
                early = None  # the command starts its own, the usual way
        entry = _module("scipipe_tools.cli.entry")
    except BaseException:
        if early is not None:  # interrupted this early: nobody else knows of the child
            _module("scipipe_tools.env.worker").Started(op, early).close()
        raise
    entry.main(op, early)


def _module(name: str) -> Any:
    """``importlib.import_module(name)``, without importing importlib."""
    __import__(name)
    return sys.modules[name]


def early_op(argv: Sequence[str]) -> str | None:
    """The worker op ``argv`` will need for sure enough to start it now: ``solve`` for
    ``env lock`` (not ``--check``), ``install`` for ``env create`` into a new ``-p``
    prefix (not ``--dry-run``); None for anything else or any doubt."""
    rest = command(argv)
    if len(rest) < 2 or rest[0] != "env" or "--help" in rest or "-h" in rest:
        return None
    if rest[1] == "lock" and "--check" not in rest:
        return "solve"
    if rest[1] == "create" and "--dry-run" not in rest:
        prefix = _option(rest, "-p", "--prefix")
        if prefix and not os.path.isdir(os.path.join(prefix, "conda-meta")):
            return "install"
    return None


def command(argv: Sequence[str]) -> Sequence[str]:
    """``argv`` from the command on: the global options that may precede it skipped."""
    i = 0
    while i < len(argv) and argv[i] in GLOBAL:
        i += 1
    return argv[i:]


def _option(argv: Sequence[str], short: str, long: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg in (short, long) and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(long + "="):
            return arg[len(long) + 1 :]
    return None
