"""Unpacking what a distribution server serves into a product tree, as EUPS lays it out.

An EUPS binary tarball holds ``<product>/<version>/...``: ``eups distrib create -d
tarball`` packs the product directory relative to the stack's flavor directory, and
``eups distrib install`` unpacks it there.  An eupspkg source package holds one top
directory (``<product>-<version>/``) that its install script enters.  Both are unpacked
here by :func:`scipipe_tools.infra.archive.safe_extract` (every guarantee of it kept) into a
scratch directory next to the destination; the product's own tree is then renamed into
place, and checked again: a link that stayed inside the archive's top but leads out of
the product's own directory is refused.

Our older tarballs and packages (before they carried the prefix: the tree itself at the
top, ``ups/`` there) are still accepted.  Anything else (a second top-level entry next to
``<product>/``, another version inside it) is refused: nothing is installed half nested.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from ..errors import IntegrityError
from ..infra import archive


def _entries(path: Path) -> list[str]:
    return sorted(os.listdir(path))


def _real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def _scratch(dest: Path) -> Path:
    scratch = dest.with_name(f".{dest.name}.unpack")
    if scratch.exists():
        shutil.rmtree(scratch)
    return scratch


def _place(scratch: Path, tree: Path, dest: Path, label: str) -> None:
    """Rename ``tree`` (inside ``scratch``) to ``dest``, drop the rest, check the links."""
    try:
        os.rename(tree, dest)
        archive.check_links(dest, label)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def unpack_binary(tarball: Path, dest: Path, product: str, version: str, label: str) -> bool:
    """Unpack an EUPS binary tarball so that ``dest`` is the product directory.

    Returns True when the tarball had EUPS's ``<product>/<version>/`` prefix (stripped),
    False for one of our older unprefixed tarballs."""
    scratch = _scratch(dest)
    archive.safe_extract(tarball, scratch, label)
    try:
        top = _entries(scratch)
        if product not in top or "ups" in top:
            _place(scratch, scratch, dest, label)  # our older tarballs: the tree itself
            return False
        inner = scratch / product
        versions = _entries(inner) if _real_dir(inner) else []
        if top != [product] or versions != [version] or not _real_dir(inner / version):
            found = ", ".join(f"{product}/{v}/" for v in versions) or f"{product} (not a folder)"
            raise IntegrityError(
                f"{label}: expected only {product}/{version}/ in it (as the manifest says), "
                f"found {found}" + (f" and {len(top) - 1} other entries" if len(top) > 1 else "")
            )
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    _place(scratch, inner / version, dest, label)
    return True


def unpack_source(package: Path, dest: Path, label: str) -> bool:
    """Unpack an eupspkg source package so that ``dest`` is its source tree.

    Returns True when the package had one top directory (eupspkg's ``<p>-<v>/``,
    entered), False for one of our older packages (the tree at the top)."""
    scratch = _scratch(dest)
    archive.safe_extract(package, scratch, label)
    try:
        top = _entries(scratch)
        if "ups" in top:
            _place(scratch, scratch, dest, label)
            return False
        visible = [name for name in top if not name.startswith(".")]
        if len(visible) != 1 or not _real_dir(scratch / visible[0]):
            raise IntegrityError(
                f"{label}: not an eupspkg package: expected one top directory "
                f"(<product>-<version>/), found {', '.join(visible) or 'nothing'}"
            )
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    _place(scratch, scratch / visible[0], dest, label)
    return True
