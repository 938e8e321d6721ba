"""Reading inputs and writing outputs: clear errors in, atomic writes out."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import InputError, Location


def read_text(path: str | os.PathLike[str], what: str) -> str:
    """The text of an input file; a missing or unreadable file is an :class:`InputError`."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            return fh.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(f"cannot read {what}: {reason}", location=Location(str(path))) from exc


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to a temporary sibling and rename it over ``path``.

    Readers see the old file or the new one, never a part of it, and a crash leaves at
    most a stray ``.<name>.*.tmp`` file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
