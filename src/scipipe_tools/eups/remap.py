"""EUPS's ``manifest.remap``: products left out of, or renamed in, a distribution manifest.

EUPS reads the file from its customisation directories, not from the server: the site
directory (``$EUPS_SITEDATA``, else ``$EUPS_DIR/site``), each stack's ``site``, then the
user's (``$EUPS_USERDATA``, else ``~/.eups``).  One mapping a line, up to three columns::

    product[:version-in-manifest]   [[newproduct:]desired-version]   [flavor]

``#`` starts a comment.  A missing, ``Any`` or ``any`` version in the manifest matches
every version; a missing, ``None``/``none`` or ``any`` desired version deletes the
product; ``noreinstall`` marks an installed version as never reinstalled; a flavor limits
the line to that flavor (otherwise ``generic``, which every flavor falls back to).  A
``[mode]`` prefix limits a line to one mode (``[create]``: only when publishing);
``verbose = ...`` lines are ignored.

The lookup is EUPS's, quirks kept: per flavor and product, a table from the manifest's
version to the replacement; a deleting line removes that version's entry, and a product
whose table ends up empty is deleted whatever its version.  Files read later do not
override what an earlier one mapped when installing, and do when publishing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, Location

FILENAME = "manifest.remap"
GENERIC = "generic"
ANY = "any"
#: The modes: ``install`` (``eups distrib install``) and ``create`` (publishing).
INSTALL, CREATE = "install", "create"

_MODE = re.compile(r"\[([^]]+)\]\s*(.*)")
_VERBOSE = re.compile(r"verbose\s*=\s*(True|False|0|1)")

#: flavor -> product -> version in the manifest -> (product, version)
_Table = dict[str, dict[str, dict[str, tuple[str, str]]]]


@dataclass
class Remap:
    """A mapping of ``(product, version)`` pairs, by flavor, as EUPS's ``Mapping``."""

    _map: _Table = field(default_factory=dict)
    _no_reinstall: _Table = field(default_factory=dict)

    def add(
        self,
        product: str,
        in_version: str = ANY,
        out_product: str | None = None,
        out_version: str | None = None,
        flavor: str = GENERIC,
        *,
        overwrite: bool = True,
    ) -> None:
        out_product = out_product or product
        noreinstall = out_version is not None and out_version.lower() == "noreinstall"
        table = self._no_reinstall if noreinstall else self._map
        versions = table.setdefault(flavor, {}).setdefault(product, {})
        if not overwrite and in_version in versions:
            return
        if out_version:
            versions[in_version] = (out_product, out_version)
        else:
            versions.pop(in_version, None)

    def apply(self, product: str, version: str, flavor: str) -> tuple[str, str] | None:
        """The replacement ``(product, version)``, the same pair, or None: left out."""
        out = self._apply(product, version, flavor)
        if flavor != GENERIC and out == (product, version):
            out = self._apply(product, version, GENERIC)
        return out

    def _apply(self, product: str, version: str, flavor: str) -> tuple[str, str] | None:
        versions = self._map.get(flavor, {}).get(product)
        if versions is None:
            return product, version
        if not versions:
            return None
        for key in (version, ANY):
            if key in versions:
                return versions[key]
        return product, version

    def no_reinstall(self, product: str, version: str, flavor: str) -> bool:
        for f in (flavor, GENERIC):
            versions = self._no_reinstall.get(f, {}).get(product, {})
            if version in versions or ANY in versions:
                return True
        return False

    def __bool__(self) -> bool:
        return bool(self._map) or bool(self._no_reinstall)


def _split(word: str) -> tuple[str, str | None]:
    name, colon, version = word.partition(":")
    return name, (version if colon else None)


def parse_remap(
    text: str, source: str, mode: str = INSTALL, into: Remap | None = None, overwrite: bool = True
) -> Remap:
    """Add the lines of one ``manifest.remap`` for ``mode`` to ``into`` (or a new Remap)."""
    remap = into if into is not None else Remap()
    for n, raw in enumerate(text.split("\n"), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = _MODE.fullmatch(line)
        if m:
            if m.group(1) != mode:
                continue
            line = m.group(2)
        if _VERBOSE.match(line):
            continue
        words = line.split()
        if not words:
            continue
        if len(words) > 3:
            raise InputError(
                f"{Location(source, n)}: expected at most 3 fields "
                f"(product[:version] [[product:]version] [flavor]), got {len(words)}"
            )
        product, in_version = _split(words[0])
        if not product:
            raise InputError(f"{Location(source, n)}: no product name in {words[0]!r}")
        if in_version in (None, "", "Any", ANY):
            in_version = ANY
        out_product: str | None = None
        out_version: str | None = None
        if len(words) > 1:
            out_product, out_version = _split(words[1])
            if not out_version:
                out_product, out_version = product, out_product
            if not out_product:
                raise InputError(f"{Location(source, n)}: no product name in {words[1]!r}")
            if out_version in (ANY, "none", "None"):
                out_version = None
        flavor = words[2] if len(words) > 2 else GENERIC
        remap.add(product, in_version, out_product, out_version, flavor, overwrite=overwrite)
    return remap


def remap_dirs(env: Mapping[str, str], stacks: Iterable[Path] = ()) -> list[Path]:
    """EUPS's customisation directories, in the order it reads them."""
    dirs: list[Path] = []
    if env.get("EUPS_SITEDATA"):
        dirs.append(Path(env["EUPS_SITEDATA"]))
    elif env.get("EUPS_DIR"):
        dirs.append(Path(env["EUPS_DIR"]) / "site")
    dirs += [Path(s) / "site" for s in stacks]
    if env.get("EUPS_USERDATA"):
        dirs.append(Path(env["EUPS_USERDATA"]))
    elif env.get("HOME"):
        dirs.append(Path(env["HOME"]) / ".eups")
    return dirs


def read_remaps(paths: Iterable[Path], mode: str = INSTALL) -> Remap:
    """The mapping of every existing file in ``paths`` (files, or directories holding one)."""
    remap = Remap()
    for p in paths:
        path = p / FILENAME if p.is_dir() else p
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"{path}: cannot read: {e}") from e
        parse_remap(text, str(path), mode, remap, overwrite=mode == CREATE)
    return remap
