"""Which lines of a table file real EUPS (2.2.15) skips, and what it says about them.

EUPS reads a table line by line.  It strips the blanks at the start of each line and
everything from the first ``#`` (inside quotes too), drops empty lines, and takes the
legacy lines (``File =``, ``Product =`` after it, ``Action =``, ``Qualifiers = "..."``,
``Group:``/``Common:``/``End:`` and ``Flavor =``).  Each other line must then be a block
line, exactly ``if (...) {``, ``}``, ``} else {`` or ``} else if (...) {`` (``if`` and
``else`` in any case, nothing after the ``{`` of an ``else``, not even a blank), or a
command, ``name(...)`` with an optional ``;``.  A command EUPS does not know is skipped
with "Unexpected line", ``sourceRequired`` with "Ignoring unsupported directive", and any
other line with "Unrecognized line"; EUPS warns and goes on with the rest of the table.

:func:`eups_skipped_lines` finds those lines in one pass (every expression is anchored at
the start of a line, or possessive).
"""

from __future__ import annotations

import re

#: The commands EUPS's reader knows (lower case); ``sourcerequired`` it ignores.
EUPS_COMMANDS = frozenset(
    {
        "addalias", "declareoptions", "envappend", "envprepend", "envset", "envunset",
        "pathappend", "pathprepend", "pathremove", "pathset", "print", "proddir",
        "setupenv", "setenv", "unsetenv", "setuprequired", "setupoptional",
        "unsetuprequired", "unsetupoptional",
    }
)  # fmt: skip

UNRECOGNIZED = "Unrecognized line"
UNEXPECTED = "Unexpected line"
UNSUPPORTED = "Ignoring unsupported directive"

# Python's re with re.I, as EUPS uses it: Unicode case-folding included (``elſe``).
_FILE = re.compile(r"File\s*+=\s*+\w", re.I)
_PRODUCT = re.compile(r"Product\s*+=\s*+\w", re.I)
_ACTION = re.compile(r"Action\s*+=\s*+[\w+.]", re.I)
_QUALIFIERS = re.compile(r'Qualifiers\s*+=\s*+"[^"]*+"', re.I)
_GROUP = re.compile(r"Group:\s*+", re.I)
_COMMON = re.compile(r"Common:\s*+", re.I)
_END = re.compile(r"End:\s*+", re.I)
_FLAVOR = re.compile(r"Flavor\s*+=\s*+[\w+.]", re.I)
_IF = re.compile(r"if\s*+\(", re.I)
_ELSE = re.compile(r"else", re.I)
_CALL = re.compile(r"(\w++)\s*+\(")


def eups_skipped_lines(text: str) -> dict[int, str]:
    """``{line number: EUPS's warning}`` for every line EUPS skips."""
    skipped: dict[int, str] = {}
    old = in_group = False
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.lstrip()
        cut = line.find("#")
        if cut >= 0:
            line = line[:cut]
        if not line:
            continue
        if _FILE.match(line):
            old = True
            continue
        if (old and _PRODUCT.match(line)) or _ACTION.match(line) or _QUALIFIERS.match(line):
            continue
        if _GROUP.fullmatch(line):
            in_group = True
            continue
        if in_group and _COMMON.fullmatch(line):
            continue
        if in_group and _END.fullmatch(line):
            in_group = False
            continue
        if _FLAVOR.match(line):  # in a Group:, or one of EUPS's "new style" blocks
            continue
        why = line_skipped(line)
        if why is not None:
            skipped[lineno] = why
    return skipped


def line_skipped(line: str) -> str | None:
    """EUPS's warning for a line (blanks at the start and the comment removed) that is
    not a legacy line, or None when EUPS reads it."""
    if _block_line(line):
        return None
    m = _CALL.match(line)
    if m is None or not _ends_call(line, m.end()):
        return UNRECOGNIZED
    name = m.group(1).lower()
    if name == "sourcerequired":
        return UNSUPPORTED
    return None if name in EUPS_COMMANDS else UNEXPECTED


def _ends_call(line: str, start: int) -> bool:
    """Whether ``line`` ends with ``)``, optionally ``;``, and blanks, the ``)`` at or
    after ``start`` (just past the ``(``)."""
    tail = line.rstrip()
    if tail.endswith(";"):
        tail = tail[:-1].rstrip()
    return tail.endswith(")") and len(tail) - 1 >= start


def _if_head(text: str, *, blanks_after: bool) -> bool:
    """``if (...) {``: ``text`` starts with ``if (`` and ends with ``) {``."""
    m = _IF.match(text)
    if m is None:
        return False
    tail = text.rstrip() if blanks_after else text
    if not tail.endswith("{"):
        return False
    tail = tail[:-1].rstrip()
    return tail.endswith(")") and len(tail) - 1 >= m.end()


def _block_line(line: str) -> bool:
    if line[0] != "}":
        return _if_head(line, blanks_after=True)
    rest = line[1:].lstrip()
    if not rest:
        return True
    m = _ELSE.match(rest)
    if m is None:
        return False
    after = rest[m.end() :].lstrip()
    return after == "{" or _if_head(after, blanks_after=False)
