"""Reading inputs and writing outputs: clear errors in, atomic writes out."""

from __future__ import annotations

import io
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ..errors import InputError, Location


def read_text(path: str | os.PathLike[str], what: str) -> str:
    """The text of an input file; a missing or unreadable file is an :class:`InputError`."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            return fh.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputError(f"cannot read {what}: {reason}", location=Location(str(path))) from exc


#: what ``read_text``'s surrogateescape makes of a byte that is not UTF-8
_ESCAPED = re.compile("[\udc80-\udcff]")


def place(text: str, index: int) -> tuple[int, int]:
    """The 1-based (line, column) of character ``index`` of ``text``; lines end at ``\\n``."""
    line_start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - line_start + 1


def decode(data: bytes, path: str | os.PathLike[str]) -> str:
    """``data`` as UTF-8; a byte that is not is an :class:`InputError` at its line and column."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        column = len(data[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        raise _not_utf8(data[exc.start], Location(str(path), line, column)) from None


def check_utf8(text: str, path: str | os.PathLike[str]) -> str:
    """``text`` (as :func:`read_text` gives it) when every byte of it was UTF-8; else the
    :class:`InputError` :func:`decode` would have raised."""
    m = _ESCAPED.search(text)
    if m is not None:
        raise escaped_byte(text, m.start(), path)
    return text


def escaped_byte(text: str, index: int, path: str | os.PathLike[str]) -> InputError:
    """The error for ``text[index]``, a byte that surrogateescape kept from a non-UTF-8 file."""
    line, column = place(text, index)
    return _not_utf8(ord(text[index]) - 0xDC00, Location(str(path), line, column))


def _not_utf8(byte: int, where: Location) -> InputError:
    return InputError(f"not UTF-8: byte 0x{byte:02x}", location=where)


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


@contextmanager
def atomic_writer(
    path: str | os.PathLike[str], *, mode: int | None = None, suffix: str = ".tmp"
) -> Iterator[IO[bytes]]:
    """``with atomic_writer(path) as out:`` writes to a temporary sibling that becomes
    ``path`` (``os.replace``) when the block ends, and is removed if it raises.

    Readers see the old file or the new one, never a part of it, and a crash leaves at
    most a stray ``.<name>.*<suffix>`` file.  The file gets ``mode``, else keeps its own,
    else gets the umask's (not mkstemp's private 0600).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    try:
        os.fchmod(fd, new_file_mode(target) if mode is None else mode)
        with os.fdopen(fd, "wb") as out:
            yield out
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike[str], text: str, *, mode: int | None = None) -> None:
    """Write ``text`` (UTF-8; surrogate escapes as :func:`read_text` makes them) through
    :func:`atomic_writer`."""
    with (
        atomic_writer(path, mode=mode) as out,
        io.TextIOWrapper(out, encoding="utf-8", errors="surrogateescape") as fh,
    ):
        fh.write(text)
