"""The files of an EUPS database (``ups_db/``), byte-compatible with EUPS 2.x.

Formats, as EUPS writes them (``python/eups/db/VersionFile.py``, ``db/ChainFile.py`` and
``tags.py`` in the EUPS sources):

``<product>/<version>.version``::

    FILE = version
    PRODUCT = afw
    VERSION = g123
    #***************************************

    Group:
       FLAVOR = Linux64
       QUALIFIERS = ""
       DECLARER = ...
       DECLARED = 2024/03/01 12:00:00 UTC
       PROD_DIR = Linux64/afw/g123
       UPS_DIR = ups
       TABLE_FILE = afw.table
    End:

One ``Group:`` per flavor; EUPS writes a single ``End:`` after the last group.  The
per-flavor fields come in the order DECLARER, DECLARED, MODIFIER, MODIFIED, PROD_DIR,
UPS_DIR, TABLE_FILE, and empty ones are left out.  A product without a table file has
``UPS_DIR = none`` and ``TABLE_FILE = none``.

``<product>/<tag>.chain`` says ``FILE = version`` too (EUPS keeps it for old readers)::

    FILE = version
    PRODUCT = afw
    CHAIN = current
    #***************************************

    #Group:
       FLAVOR = Linux64
       VERSION = g123
       QUALIFIERS = ""
       DECLARER = ...
       DECLARED = ...
    #End:

``global.tags``: the tag names on one line, separated by single spaces; EUPS reads any
whitespace and drops ``#`` comments.

The timestamps are EUPS's ``ctimeTZ``: ``%Y/%m/%d %H:%M:%S %Z`` in local time.

EUPS strips ``<PROD_DIR>/<UPS_DIR>/`` from TABLE_FILE with an unescaped regular
expression, so for a version containing ``+`` (``g123+1``) it writes the path relative
to the stack root instead (``TABLE_FILE = Linux64/afw/g123+1/ups/afw.table``) and finds
the file again through a fallback when reading.  We write the intended ``afw.table``,
which every EUPS reads the same way, and read both forms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ..errors import InputError, Location

HEADER_RULE = "#***************************************"
#: The per-flavor fields of a ``.version`` file, in the order EUPS writes them.
VERSION_FIELDS = (
    "DECLARER",
    "DECLARED",
    "MODIFIER",
    "MODIFIED",
    "PROD_DIR",
    "UPS_DIR",
    "TABLE_FILE",
)
#: The per-flavor fields of a ``.chain`` file after FLAVOR, VERSION and QUALIFIERS.
CHAIN_FIELDS = ("DECLARER", "DECLARED", "MODIFIER", "MODIFIED")
#: What EUPS writes for "no such path".
NONE = "none"

_KEY_VALUE = re.compile(r"^(\w+)\s*=\s*(.*)$")
_GROUP_MARK = re.compile(r"^#?\s*(End|Group)\s*:", re.I)


def timestamp(when: datetime | None = None) -> str:
    """EUPS's ``ctimeTZ``: ``2024/03/01 12:00:00 UTC`` (naive times are local)."""
    if when is None or when.tzinfo is None:
        when = (when or datetime.now()).astimezone()
    return when.strftime("%Y/%m/%d %H:%M:%S %Z").rstrip()


def is_real_path(value: str | None) -> bool:
    """EUPS's ``isRealFilename``: "none", "???" and "(none)" are placeholders."""
    return value is not None and value not in ("", NONE, "???", "(none)")


@dataclass
class VersionFile:
    """The declarations of one product version, one field dict per flavor."""

    product: str
    version: str
    flavors: dict[str, dict[str, str]] = field(default_factory=dict)

    def render(self) -> str:
        out = [
            f"FILE = version\nPRODUCT = {self.product}\nVERSION = {self.version}\n{HEADER_RULE}\n"
        ]
        for flavor_key, info in self.flavors.items():
            flavor, _, qualifiers = flavor_key.partition(":")
            out.append(f'\nGroup:\n   FLAVOR = {flavor}\n   QUALIFIERS = "{qualifiers}"\n')
            out.extend(f"   {name} = {info[name]}\n" for name in VERSION_FIELDS if info.get(name))
        out.append("End:\n")
        return "".join(out)


@dataclass
class ChainFile:
    """The versions one tag points at, one field dict (with VERSION) per flavor."""

    product: str
    tag: str
    flavors: dict[str, dict[str, str]] = field(default_factory=dict)

    def version_for(self, flavor: str) -> str | None:
        info = self.flavors.get(flavor)
        return info.get("VERSION") if info else None

    def render(self) -> str:
        out = [f"FILE = version\nPRODUCT = {self.product}\nCHAIN = {self.tag}\n{HEADER_RULE}\n"]
        for flavor_key, info in self.flavors.items():
            flavor, _, qualifiers = flavor_key.partition(":")
            out.append(
                f"\n#Group:\n   FLAVOR = {flavor}\n   VERSION = {info['VERSION']}\n"
                f'   QUALIFIERS = "{qualifiers}"\n'
            )
            out.extend(f"   {name} = {info[name]}\n" for name in CHAIN_FIELDS if info.get(name))
            out.append("#End:\n")
        return "".join(out)


def _parse_blocks(
    text: str, path: str, kind: str, header_key: str, defaults: tuple[str | None, str | None]
) -> tuple[str, str, dict[str, dict[str, str]]]:
    """The product, the ``header_key`` field (each from the header, else from
    ``defaults``) and the per-flavor fields, read the way EUPS reads them."""
    header: dict[str, str] = {}
    flavors: dict[str, dict[str, str]] = {}
    flavor: str | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if _GROUP_MARK.match(line):
            continue
        line = re.sub(r"#.*$", "", line).strip()
        if not line:
            continue
        m = _KEY_VALUE.match(line)
        if m is None:
            raise InputError(f"unexpected line {raw.strip()!r}", location=Location(path, lineno))
        key, value = m.group(1).upper(), m.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        if key == "FILE":
            if value.lower() not in ("version", kind):
                raise InputError(
                    f"expected 'FILE = version', saw {raw.strip()!r}",
                    location=Location(path, lineno),
                )
        elif key == "FLAVOR":
            flavor = value
            flavors.setdefault(flavor, {})
        elif flavor is None:
            if key not in ("PRODUCT", header_key):
                raise InputError(f"{key} outside a flavor block", location=Location(path, lineno))
            header[key] = value
        elif key == "QUALIFIERS":
            if value:  # EUPS keys a qualified declaration as "Linux64:qualifier"
                qualified = f"{flavor}:{value}"
                flavors[qualified] = flavors.pop(flavor)
                flavor = qualified
        else:
            flavors[flavor][key] = value
    name = header.get("PRODUCT") or defaults[0]
    ident = header.get(header_key) or defaults[1]
    if not name or not ident:
        raise InputError(f"missing PRODUCT or {header_key}", location=Location(path))
    return name, ident, flavors


def parse_version_file(
    text: str, path: str, product: str | None = None, version: str | None = None
) -> VersionFile:
    name, vers, flavors = _parse_blocks(text, path, "version", "VERSION", (product, version))
    return VersionFile(name, vers, flavors)


def parse_chain_file(
    text: str, path: str, product: str | None = None, tag: str | None = None
) -> ChainFile:
    name, chain, flavors = _parse_blocks(text, path, "chain", "CHAIN", (product, tag))
    for flavor, info in flavors.items():
        if not info.get("VERSION"):
            raise InputError(f"flavor {flavor} has no VERSION", location=Location(path))
    return ChainFile(name, chain, flavors)


def parse_tag_list(text: str) -> list[str]:
    """Tag names from ``global.tags``: whitespace-separated, ``#`` comments dropped."""
    names: list[str] = []
    for line in text.splitlines():
        for name in re.sub(r"\s*#.*$", "", line).split():
            if name not in names:
                names.append(name)
    return names


def render_tag_list(names: Iterable[str]) -> str:
    return " ".join(names) + "\n"


def declaration(
    *,
    declarer: str,
    declared: str,
    prod_dir: str,
    ups_dir: str,
    table_file: str,
    previous: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The per-flavor fields of a declaration.

    Redeclaring keeps the first DECLARER/DECLARED and records MODIFIER/MODIFIED, as EUPS
    does; an unchanged redeclaration returns ``previous`` untouched.
    """
    paths = {"PROD_DIR": prod_dir, "UPS_DIR": ups_dir, "TABLE_FILE": table_file}
    if previous is not None and all(previous.get(k) == v for k, v in paths.items()):
        return dict(previous)
    info: dict[str, str] = {}
    if previous is not None and (previous.get("DECLARER") or previous.get("DECLARED")):
        info["DECLARER"] = previous.get("DECLARER", "")
        info["DECLARED"] = previous.get("DECLARED", "")
        info["MODIFIER"] = declarer
        info["MODIFIED"] = declared
    else:
        info["DECLARER"] = declarer
        info["DECLARED"] = declared
    info.update(paths)
    return info
