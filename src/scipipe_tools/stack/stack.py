"""An installed EUPS stack: ``ups_db/`` declarations, tags, and ``<flavor>/<p>/<v>/`` trees.

Written exactly as EUPS 2.x writes it (the formats are in :mod:`.ups_db`), so the real
``eups list`` and ``setup`` work on stacks we build.  Every write is atomic: a crash
leaves the old file or the new one.

EUPS keeps a pickled cache of a stack (``ups_db/<flavor>.pickleDB1_3_0``) and reloads it
when a file in ``ups_db/<product>/`` is newer than the cache.  Removing a product's
whole directory is the one change that check cannot see, so :meth:`Stack.undeclare`
then drops the caches in ``ups_db``.
"""

from __future__ import annotations

import functools
import os
import pwd
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..errors import InputError, Location, ResolutionError, did_you_mean
from ..eups.versions import check_version, sort_key
from ..infra.files import read_text, write_atomic
from .ups_db import (
    NONE,
    ChainFile,
    VersionFile,
    declaration,
    is_real_path,
    parse_chain_file,
    parse_tag_list,
    parse_version_file,
    render_tag_list,
    timestamp,
)

UPS_DB = "ups_db"
GLOBAL_TAGS = "global.tags"
#: Names EUPS uses for itself in the VRO (``Eups.py``: the pseudo tags and "latest").
RESERVED_TAGS = frozenset(
    {"commandLine", "keep", "latest", "path", "setup", "type", "version", "versionExpr", "warn"}
)
#: The flavor EUPS falls back to for every flavor (``hooks.config.Eups.fallbackFlavors``).
GENERIC = "generic"
#: The tags every EUPS knows untold: ``hooks.config.Eups.globalTags`` and ``latest``.
BUILTIN_TAGS = ("current", "stable", "latest")
#: ``<stack>/site/startup.py`` as LSST installs write it: EUPS locking off.
SITE_STARTUP = (
    "# Written by scipipe-tools when it created this stack; EUPS runs it at startup.\n"
    "# Configure EUPS not to take locks (as LSST installs do).\n"
    "hooks.config.site.lockDirectoryBase = None\n"
)

_PRODUCT = re.compile(r"^[A-Za-z0-9_]+$")  # Eups.declare's rule
_TAG = re.compile(r"^\w[\w.+\-]*$")  # a tag file must match ^(\w.*)\.chain$
_VERSION_FILE = re.compile(r"^(\w.*)\.version$")
_CHAIN_FILE = re.compile(r"^(\w.*)\.chain$")


def check_product_name(name: str) -> str:
    if not _PRODUCT.match(name):
        raise InputError(f"invalid product name {name!r} (EUPS allows [A-Za-z0-9_])")
    return name


def check_stack_version(version: str) -> str:
    check_version(version)
    if "/" in version or not re.match(r"\w", version):
        raise InputError(f"invalid version {version!r} for an EUPS database")
    return version


def check_tag(tag: str) -> str:
    """A global tag name that EUPS accepts; user and reserved tags are refused."""
    if tag.startswith("user:"):
        raise InputError(
            f"user tag {tag!r}: EUPS keeps user tags under ~/.eups, not in the stack",
            hint="use a global tag name (e.g. current, b42, w_2024_10)",
        )
    if tag in RESERVED_TAGS:
        raise InputError(f"tag {tag!r} is reserved by EUPS", hint="choose another tag name")
    if not _TAG.match(tag) or (tag.isascii() and tag.isdigit()):
        raise InputError(f"invalid tag name {tag!r}")
    return tag


@functools.cache
def default_declarer() -> str:
    """Who EUPS says declared something: the account's full name, else its login
    (looked up once: a build declares and tags every product)."""
    try:
        entry = pwd.getpwuid(os.geteuid())
    except KeyError:
        return os.environ.get("LOGNAME") or os.environ.get("USER") or "(unknown user)"
    return entry.pw_gecos.split(",")[0].strip() or entry.pw_name


def login_name() -> str:
    """The account's login, which EUPS always knows as the user tag ``user:<login>``."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return os.environ.get("LOGNAME") or os.environ.get("USER") or ""


@dataclass(frozen=True)
class VersionInfo:
    """One flavor's declaration of a product version, as stored and as resolved."""

    product: str
    version: str
    flavor: str
    declarer: str
    declared: str
    prod_dir: str
    ups_dir: str
    table_file: str
    modifier: str | None = None
    modified: str | None = None
    directory: Path | None = None  # PROD_DIR resolved against the stack root
    table: Path | None = None  # TABLE_FILE resolved, None for "none"


class Stack:
    """An EUPS stack directory for one flavor.

    Products are read for that flavor and, as EUPS falls back to it, for ``generic``
    (the own flavor first when a version is declared for both); they are written for the
    stack's flavor, tags for the flavor the version is declared for.
    """

    def __init__(self, root: Path, flavor: str) -> None:
        self.root = Path(os.path.normpath(os.path.abspath(root)))
        self.flavor = flavor
        self.db = self.root / UPS_DB
        #: the flavors products are looked up for, in order
        self.flavors = (flavor,) if flavor == GENERIC else (flavor, GENERIC)
        #: global tags this object registered or found registered (the file only grows)
        self._registered: set[str] = set()

    def __repr__(self) -> str:
        return f"Stack({str(self.root)!r}, {self.flavor!r})"

    @classmethod
    def create(cls, root: Path, flavor: str) -> Stack:
        """Make ``ups_db/`` and ``site/`` (idempotent); ``site/startup.py`` if absent."""
        stack = cls(root, flavor)
        stack.db.mkdir(parents=True, exist_ok=True)
        site = stack.root / "site"
        site.mkdir(exist_ok=True)
        startup = site / "startup.py"
        if not startup.exists():
            write_atomic(startup, SITE_STARTUP)
        return stack

    @classmethod
    def open(cls, root: Path, flavor: str) -> Stack:
        stack = cls(root, flavor)
        if not stack.db.is_dir():
            raise InputError(
                f"not an EUPS stack: no {UPS_DB}/ directory",
                location=Location(str(stack.root)),
                hint="scipipe build or scipipe distrib install makes one there; or pass "
                "another --stack (or set EUPS_PATH)",
            )
        return stack

    # --- paths -----------------------------------------------------------------------

    def product_dir(self, product: str, version: str) -> Path:
        return self.root / self.flavor / product / version

    def _version_file(self, product: str, version: str) -> Path:
        return self.db / product / f"{version}.version"

    def _chain_file(self, product: str, tag: str) -> Path:
        return self.db / product / f"{tag}.chain"

    # --- reading ---------------------------------------------------------------------

    def _read_version(self, product: str, version: str) -> VersionFile | None:
        path = self._version_file(product, version)
        if not path.is_file():
            return None
        return parse_version_file(read_text(path, "version file"), str(path), product, version)

    def _read_chain(self, product: str, tag: str) -> ChainFile | None:
        path = self._chain_file(product, tag)
        if not path.is_file():
            return None
        return parse_chain_file(read_text(path, "chain file"), str(path), product, tag)

    def _flavor_in(self, declared: Iterable[str]) -> str | None:
        """The first of :attr:`flavors` among ``declared`` flavors, if any."""
        keys = set(declared)
        return next((f for f in self.flavors if f in keys), None)

    def is_declared(self, product: str, version: str) -> bool:
        """Whether ``<product>/<version>.version`` exists (one stat; any flavor)."""
        return self._version_file(product, version).is_file()

    def versions(self, product: str) -> list[str]:
        """The versions declared for this flavor, in EUPS version order."""
        pdir = self.db / product
        if not pdir.is_dir():
            return []
        found = []
        for entry in os.scandir(pdir):
            m = _VERSION_FILE.match(entry.name)
            if m is None:
                continue
            vf = self._read_version(product, m.group(1))
            if vf is not None and self._flavor_in(vf.flavors) is not None:
                found.append(m.group(1))
        return sorted(found, key=sort_key)

    def products(self) -> list[str]:
        return sorted(self.declared())

    def declared(self) -> dict[str, list[str]]:
        """Every product declared for this flavor and its versions."""
        if not self.db.is_dir():
            return {}
        out: dict[str, list[str]] = {}
        for entry in sorted(os.scandir(self.db), key=lambda e: e.name):
            if entry.is_dir():
                versions = self.versions(entry.name)
                if versions:
                    out[entry.name] = versions
        return out

    def version_info(self, product: str, version: str) -> VersionInfo:
        vf = self._read_version(product, version)
        flavor = self._flavor_in(vf.flavors) if vf is not None else None
        if vf is None or flavor is None:
            raise self._not_declared(product, version)
        info = vf.flavors[flavor]
        prod_dir = info.get("PROD_DIR", NONE)
        ups_dir = info.get("UPS_DIR", NONE)
        table_file = info.get("TABLE_FILE", NONE)
        directory, table = self._resolve(prod_dir, ups_dir, table_file, flavor)
        return VersionInfo(
            product=product,
            version=version,
            flavor=flavor,
            declarer=info.get("DECLARER", ""),
            declared=info.get("DECLARED", ""),
            prod_dir=prod_dir,
            ups_dir=ups_dir,
            table_file=table_file,
            modifier=info.get("MODIFIER"),
            modified=info.get("MODIFIED"),
            directory=directory,
            table=table,
        )

    def table_path(self, product: str, version: str) -> Path | None:
        return self.version_info(product, version).table

    def _resolve(
        self, prod_dir: str, ups_dir: str, table_file: str, flavor: str
    ) -> tuple[Path | None, Path | None]:
        """PROD_DIR, UPS_DIR and TABLE_FILE resolved by EUPS's rules (``Product.resolvePaths``)."""
        macros = {"PROD_ROOT": str(self.root), "FLAVOR": flavor, "UPS_DB": str(self.db)}

        def sub(value: str) -> str:
            for name, val in macros.items():
                value = re.sub(rf"\${name}\b", val.replace("\\", "\\\\"), value)
            return value

        directory: Path | None = None
        if is_real_path(prod_dir):
            directory = Path(
                sub(prod_dir if prod_dir[0] == "$" else os.path.join(self.root, prod_dir))
            )
            macros["PROD_DIR"] = str(directory)
        ups: str | None = None
        if is_real_path(ups_dir):
            relative = directory is not None and ups_dir[0] != "$"
            ups = sub(os.path.join(str(directory), ups_dir) if relative else ups_dir)
            macros["UPS_DIR"] = ups
        if not is_real_path(table_file):
            return directory, None
        table = sub(table_file)
        if not os.path.isabs(table):
            if ups is not None:
                candidate = os.path.join(ups, table)
                # EUPS also looks relative to the stack root, for old malformed files
                fallback = os.path.join(self.root, table)
                table = (
                    candidate
                    if os.path.exists(candidate) or not os.path.exists(fallback)
                    else fallback
                )
            elif directory is not None:
                table = os.path.join(directory, table)
        return directory, Path(table)

    # --- declaring -------------------------------------------------------------------

    def declare(
        self,
        product: str,
        version: str,
        prod_dir: Path,
        *,
        table_file: str | None = None,
        declarer: str | None = None,
        declared: datetime | None = None,
        tags: Iterable[str] = (),
    ) -> None:
        """Declare ``product version`` for this flavor, then assign ``tags``.

        ``table_file`` defaults to ``ups/<product>.table`` when that exists, else the
        product is declared without a table (``TABLE_FILE = none``), as ``eups declare -m
        none`` does.  A relative ``table_file`` is relative to ``<prod_dir>/ups``.
        Redeclaring the same directory and table changes nothing.
        """
        tag_list = [check_tag(t) for t in tags]
        planned = self.plan_declare(
            product, version, prod_dir, table_file=table_file, declarer=declarer, declared=declared
        )
        if planned is not None:
            self.db.mkdir(parents=True, exist_ok=True)
            write_atomic(self._version_file(product, version), planned.render())
        for tag in tag_list:
            self.assign_tag(product, version, tag, declarer=declarer, when=declared)

    def plan_declare(
        self,
        product: str,
        version: str,
        prod_dir: Path,
        *,
        table_file: str | None = None,
        declarer: str | None = None,
        declared: datetime | None = None,
    ) -> VersionFile | None:
        """The ``.version`` file :meth:`declare` would write, or None if it is up to date."""
        check_product_name(product)
        check_stack_version(version)
        directory = os.path.normpath(os.path.abspath(prod_dir))
        if not os.path.isdir(directory):
            raise InputError(
                f"cannot declare {product} {version}: not a directory", location=Location(directory)
            )
        ups_dir, table = self._table_fields(product, directory, table_file)
        root = str(self.root)
        stored_dir = (
            directory[len(root) + 1 :] if directory.startswith(root + os.sep) else directory
        )
        vf = self._read_version(product, version) or VersionFile(product, version)
        previous = vf.flavors.get(self.flavor)
        info = declaration(
            declarer=declarer if declarer is not None else default_declarer(),
            declared=timestamp(declared),
            prod_dir=stored_dir,
            ups_dir=ups_dir,
            table_file=table,
            previous=previous,
        )
        if info == previous:
            return None
        vf.flavors[self.flavor] = info
        return vf

    def _table_fields(
        self, product: str, directory: str, table_file: str | None
    ) -> tuple[str, str]:
        """(UPS_DIR, TABLE_FILE) as EUPS stores them for a declaration."""
        if table_file is None:
            default = os.path.join(directory, "ups", f"{product}.table")
            return ("ups", f"{product}.table") if os.path.isfile(default) else (NONE, NONE)
        if not is_real_path(table_file):
            return NONE, NONE
        full = os.path.normpath(os.path.join(directory, "ups", os.path.expanduser(table_file)))
        if not os.path.isfile(full):
            raise InputError(f"cannot declare {product}: no table file", location=Location(full))
        if not full.startswith(directory + os.sep):
            return NONE, full
        relative = full[len(directory) + 1 :]
        ups, name = os.path.split(relative)
        return (ups or NONE), name

    def undeclare(self, product: str, version: str) -> None:
        """Forget this flavor's declaration and the tags that point at it."""
        vf = self._read_version(product, version)
        flavor = self._flavor_in(vf.flavors) if vf is not None else None
        if vf is None or flavor is None:
            raise self._not_declared(product, version)
        for tag in self._tags_in(product):
            if self.tag_version(product, tag) == version:
                self.unassign_tag(product, tag)
        del vf.flavors[flavor]
        path = self._version_file(product, version)
        if vf.flavors:
            write_atomic(path, vf.render())
            return
        path.unlink()
        pdir = self.db / product
        if not any(pdir.iterdir()):
            pdir.rmdir()
            for cache in self.db.glob("*.pickleDB*"):
                cache.unlink(missing_ok=True)

    def _not_declared(self, product: str, version: str) -> ResolutionError:
        known = self.versions(product)
        hint = (
            f"declared versions: {', '.join(known)}"
            if known
            else did_you_mean(product, self.products())
        )
        return ResolutionError(
            f"{product} {version} is not declared for {self.flavor}",
            location=Location(str(self.root)),
            hint=hint,
        )

    # --- tags ------------------------------------------------------------------------

    def global_tags(self) -> list[str]:
        path = self.db / GLOBAL_TAGS
        if not path.is_file():
            return []
        return parse_tag_list(read_text(path, "tag list"))

    def known_tags(self, login: str | None = None) -> list[str]:
        """What ``eups tags`` lists for this stack, sorted: EUPS's built-in tags, the
        stack's ``global.tags`` (or, when it has none, every tag its chain files assign
        for this flavor or ``generic``, as EUPS then defines them) and ``user:<login>``."""
        user = login_name() if login is None else login
        names = set(BUILTIN_TAGS)
        if (self.db / GLOBAL_TAGS).is_file():
            names.update(self.global_tags())
        elif self.db.is_dir():
            for entry in os.scandir(self.db):
                if entry.is_dir():
                    names.update(self._chain_tags(entry.name))
            names.discard(user)  # the user's own tag, not a global one
        if user:
            names.add(f"user:{user}")
        return sorted(names)

    def _chain_tags(self, product: str) -> list[str]:
        found = []
        for tag in self._tags_in(product):
            chain = self._read_chain(product, tag)
            if chain is not None and self._flavor_in(chain.flavors) is not None:
                found.append(tag)
        return found

    def register_global_tag(self, tag: str) -> None:
        if tag in self._registered:  # tagging a whole build asks once per product
            return
        check_tag(tag)
        known = self.global_tags()
        if tag not in known:
            self.db.mkdir(parents=True, exist_ok=True)
            write_atomic(self.db / GLOBAL_TAGS, render_tag_list([*known, tag]))
        self._registered.add(tag)

    def _tags_in(self, product: str) -> list[str]:
        pdir = self.db / product
        if not pdir.is_dir():
            return []
        return sorted(m.group(1) for e in os.scandir(pdir) if (m := _CHAIN_FILE.match(e.name)))

    def tag_version(self, product: str, tag: str) -> str | None:
        chain = self._read_chain(product, tag)
        flavor = self._flavor_in(chain.flavors) if chain is not None else None
        return chain.version_for(flavor) if chain is not None and flavor is not None else None

    def tags_of(self, product: str, version: str) -> list[str]:
        """The tags that point at ``product version`` for this flavor, sorted."""
        return [t for t in self._tags_in(product) if self.tag_version(product, t) == version]

    def tagged(self, tag: str) -> dict[str, str]:
        """``{product: version}`` for every product this tag is assigned to."""
        out: dict[str, str] = {}
        if not self.db.is_dir():
            return out
        for entry in sorted(os.scandir(self.db), key=lambda e: e.name):
            if entry.is_dir():
                version = self.tag_version(entry.name, tag)
                if version is not None:
                    out[entry.name] = version
        return out

    def assign_tag(
        self,
        product: str,
        version: str,
        tag: str,
        *,
        declarer: str | None = None,
        when: datetime | None = None,
    ) -> None:
        """Point ``tag`` at ``product version`` (one version per product and flavor)."""
        check_tag(tag)
        vf = self._read_version(product, version)
        flavor = self._flavor_in(vf.flavors) if vf is not None else None
        if flavor is None:
            raise self._not_declared(product, version)
        self.register_global_tag(tag)
        chain = self._read_chain(product, tag) or ChainFile(product, tag)
        previous = chain.flavors.get(flavor)
        if previous is not None and previous.get("VERSION") == version:
            return
        who = declarer if declarer is not None else default_declarer()
        if previous is not None:
            info = {**previous, "MODIFIER": who, "MODIFIED": timestamp(when)}
        else:
            info = {"DECLARER": who, "DECLARED": timestamp(when)}
        info["VERSION"] = version
        chain.flavors[flavor] = info
        write_atomic(self._chain_file(product, tag), chain.render())

    def unassign_tag(self, product: str, tag: str) -> bool:
        """Remove ``tag`` from ``product`` for this flavor; False if it was not assigned."""
        chain = self._read_chain(product, tag)
        flavor = self._flavor_in(chain.flavors) if chain is not None else None
        if chain is None or flavor is None:
            return False
        del chain.flavors[flavor]
        path = self._chain_file(product, tag)
        if chain.flavors:
            write_atomic(path, chain.render())
        else:
            path.unlink()
        return True

    def clone_tag(self, old: str, new: str, *, declarer: str | None = None) -> int:
        """``eups tags --clone OLD NEW``: give NEW every assignment of OLD; the count."""
        check_tag(old)
        check_tag(new)
        assignments = self.tagged(old)
        if not assignments and old not in self.global_tags():
            raise ResolutionError(
                f"unknown tag {old!r}",
                location=Location(str(self.db)),
                hint=did_you_mean(old, self.global_tags()),
            )
        for product, version in assignments.items():
            self.assign_tag(product, version, new, declarer=declarer)
        return len(assignments)
