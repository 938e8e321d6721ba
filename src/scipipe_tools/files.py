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


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Read once, at import: os.umask can only be read by setting it.
UMASK = _umask()


def new_file_mode(target: Path) -> int:
    """The mode a rewrite of ``target`` gets: its own if it exists, else what ``open``
    would give a new file (0666 less the umask), not mkstemp's private 0600."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~UMASK


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to a temporary sibling and rename it over ``path``.

    Readers see the old file or the new one, never a part of it, and a crash leaves at
    most a stray ``.<name>.*.tmp`` file.  The file keeps its mode, or gets the umask's.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, new_file_mode(target))
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
