"""Text as inputs give it: UTF-8 checked, places as (line, column).  Pure: no I/O."""

from __future__ import annotations

import os
import re

from .errors import InputError, Location

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
