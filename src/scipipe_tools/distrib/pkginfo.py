"""``ups/pkginfo``: what an eupspkg source package says about itself.

eupspkg's ``create`` verb writes one ``NAME='value'`` line per variable (``PRODUCT``,
``VERSION``, ``FLAVOR``, ``SOURCE``, ``SHA1``, ``REPOSITORY``, ``REPOVERSION``) and its
install verbs *source* the file with bash.  We never run it: each line is read as a
plain assignment (a value bare, single-quoted with ``'\\''`` escapes, or double-quoted
without expansions); anything else on a line (a command, an expansion) is refused.
Products built by ``scipipe build`` carry a ``SHA1=<sha>`` line in the same language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from ..errors import InputError, IntegrityError, Location
from ..infra.files import read_text

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: a value made of bare words, '...' strings and "..." strings without $ ` \ inside
_VALUE = re.compile(r"""(?:[^\s'"$`\\;&|<>()]+|'[^']*'|"[^"$`\\]*"|\\')*""")

#: The order eupspkg's ``create`` writes them in.
FIELDS = ("PRODUCT", "VERSION", "FLAVOR", "SOURCE", "SHA1", "REPOSITORY", "REPOVERSION")


def _unquote(value: str) -> str:
    out: list[str] = []
    for m in re.finditer(r"""'([^']*)'|"([^"]*)"|\\(')|([^'"\\]+)""", value):
        out.append(next(g for g in m.groups() if g is not None))
    return "".join(out)


def parse_pkginfo(text: str, path: str | Path = "ups/pkginfo") -> dict[str, str]:
    """The variables a pkginfo file assigns (the last assignment of a name wins)."""
    found: dict[str, str] = {}
    for lineno, raw in enumerate(text.split("\n"), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, eq, value = line.partition("=")
        if not eq or not _NAME.fullmatch(name) or not _VALUE.fullmatch(value):
            raise InputError(
                "expected NAME=value (a plain assignment; pkginfo is never run)",
                location=Location(str(path), lineno),
            )
        found[name] = _unquote(value)
    return found


def quote(value: str) -> str:
    """``value`` single-quoted for a shell (eupspkg's ``append_pkginfo`` quoting)."""
    return "'" + value.replace("'", "'\\''") + "'"


def format_pkginfo(items: Iterable[tuple[str, str]]) -> str:
    """``NAME='value'`` lines, as eupspkg's ``create`` writes them."""
    return "".join(f"{name}={quote(value)}\n" for name, value in items)


def package_info(source: Path, product: str, version: str) -> dict[str, str]:
    """An unpacked source package's ``ups/pkginfo`` (empty when it has none), which must
    name ``product`` and ``version`` when it names any."""
    path = source / "ups" / "pkginfo"
    info = parse_pkginfo(read_text(path, "pkginfo"), path) if path.is_file() else {}
    for key, want in (("PRODUCT", product), ("VERSION", version)):
        if info.get(key, want) != want:
            raise IntegrityError(
                f"{product} {version}: its source package says {key}={info[key]}",
                hint="the server's package does not match its manifest",
            )
    return info
