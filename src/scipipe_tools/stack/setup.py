"""What ``setup PRODUCT [-t TAG]`` does to an environment, computed as data.

The walk follows EUPS (``Eups.setup`` and ``table.Action`` in the EUPS sources): the
product's ``<P>_DIR`` and ``SETUP_<P>`` are set first, then its installed table's
commands run in file order for the flavor with setup type ``exact``, each
``setupRequired``/``setupOptional`` setting up that product on the spot.  Tables
installed by ``eups expandtable`` list every dependency in an ``if (type == exact)``
block with ``-j`` (set up just that product, not its dependencies), so the result is
the exact versions the product was built with.

Versions are chosen by EUPS's default VRO, ``type:exact commandLine [TAG] version
versionExpr current``: a tag given with ``-t TAG`` (and a table's own ``-t``) comes first,
even for a dependency whose table names another version; then the version the table
names; then the highest version its expression accepts; ``current`` only for a
dependency that names no version.  ``setup -t TAG P`` when no version of P has TAG sets
up what the rest of the VRO finds, and says so as EUPS does.

Differences from EUPS, on purpose:

- where EUPS finds nothing (no version named, none tagged, none current), the only
  declared version is taken (EUPS fails with "Unable to find an acceptable version");
- a bracketed expression with no version before it (``setupRequired(b [< 2.0])``) is
  honoured (EUPS ignores it and takes ``current``, inside the range or not);
- a product that is set up with another version is unset up first, following its
  table as EUPS does, but only the products and variables that table names.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, Location, ResolutionError, ScipipeError, did_you_mean
from ..eups.table import (
    IMPLICIT_PRODUCTS,
    Alias,
    Dependency,
    EnvAction,
    OtherCommand,
    Table,
    TableContext,
    expand,
)
from ..eups.versions import sort_key, vercmp
from .readers import read_table
from .stack import Stack, VersionInfo

#: The setup types in force: installed tables pin their dependencies under ``exact``.
SETUP_TYPES = frozenset({"exact"})
SHELLS = ("bash", "zsh")

_REF = re.compile(r"\$(\?)?\{([^{}]*)\}")
_ALIAS_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:+\-]*$")


@dataclass(frozen=True)
class SetupResult:
    """The products set up, in the order EUPS sets them up, and what changes."""

    products: list[tuple[str, str]]
    env: dict[str, str | None]  # new value, or None to unset
    aliases: dict[str, str | None] = field(default_factory=dict)  # None to unalias
    messages: list[str] = field(default_factory=list)  # from print() in tables
    flavor: str = ""
    stack: str = ""


def dir_var(product: str) -> str:
    """``<PRODUCT>_DIR``."""
    return product.upper() + "_DIR"


def setup_var(product: str, environ: Mapping[str, str]) -> str:
    """``SETUP_<PRODUCT>``, or an existing variable whose name matches it ignoring case."""
    name = "SETUP_" + product.upper()
    if name in environ:
        return name
    matches = [k for k in environ if k.upper() == name]
    return matches[0] if matches else name


def setup_string(product: str, version: str, flavor: str, root: Path) -> str:
    """The value of ``SETUP_<PRODUCT>``: ``afw g123 -f Linux64 -Z /stack``."""
    return f"{product} {version} -f {flavor} -Z {str(root).replace(' ', '-+-')}"


def parse_setup_string(value: str) -> tuple[str, str, str | None, str | None]:
    """(product, version, flavor, stack root) from a ``SETUP_<PRODUCT>`` value."""
    words = value.split()
    if len(words) < 2:
        return (words[0] if words else "", "", None, None)
    flavor = root = None
    for flag, arg in itertools.pairwise(words[2:]):
        if flag == "-f":
            flavor = arg
        elif flag == "-Z":
            root = arg.replace("-+-", " ")
    return words[0], words[1], flavor, root


def resolve_version(
    stack: Stack, product: str, version: str | None = None, tag: str | None = None
) -> str:
    """The version ``setup`` picks: explicit, else ``tag``, else current, else the only one."""
    declared = stack.versions(product)
    where = Location(str(stack.root))
    if not declared:
        raise ResolutionError(
            f"{product} is not declared for {stack.flavor}",
            location=where,
            hint=did_you_mean(product, stack.products()),
        )
    if version is not None:
        if version in declared:
            return version
        raise ResolutionError(
            f"{product} {version} is not declared for {stack.flavor}",
            location=where,
            hint=f"declared versions: {', '.join(declared)}",
        )
    tags = [t for t in (tag, "current") if t is not None]
    for t in tags:  # EUPS goes on down its VRO when no version has the tag
        tagged = stack.tag_version(product, t)
        if tagged is not None and tagged in declared:
            return tagged
    if len(declared) == 1:
        return declared[0]
    raise ResolutionError(
        f"{product} has {len(declared)} versions and none is tagged {' or '.join(tags)}",
        location=where,
        hint=f"choose one of {', '.join(declared)}, or pass -t TAG",
    )


def setup(
    stack: Stack,
    product: str,
    version: str | None = None,
    *,
    tag: str | None = None,
    environ: Mapping[str, str],
) -> SetupResult:
    """What ``setup product [version] [-t tag]`` changes in ``environ``."""
    chosen = resolve_version(stack, product, version, tag)
    session = _Session(stack, tag, environ)
    if tag is not None and version is None and stack.tag_version(product, tag) != chosen:
        session.messages.append(
            f"No versions of {product} are tagged {tag}; setup version is {chosen}"
        )
    session.setup(product, chosen, depth=0, just=False)
    return session.result()


def setup_directory(
    stack: Stack,
    product: str,
    version: str,
    directory: Path,
    *,
    tag: str | None = None,
    environ: Mapping[str, str],
    pins: Mapping[str, str] | None = None,
) -> SetupResult:
    """What ``setup -r DIRECTORY`` changes: an undeclared product (a source tree) set up
    from its own ``ups/<product>.table``, its dependencies from ``stack``.  ``pins`` fix
    dependency versions whatever the tables say, as lsst_build's ``--vro`` file does:
    ``g<sha>`` versions do not order, so version expressions cannot choose them."""
    table = directory / "ups" / f"{product}.table"
    has_table = table.is_file()
    local = VersionInfo(
        product=product, version=version, flavor=stack.flavor, declarer="", declared="",
        prod_dir=str(directory), ups_dir="ups" if has_table else "none",
        table_file=table.name if has_table else "none", directory=directory,
        table=table if has_table else None,
    )  # fmt: skip
    session = _Session(stack, tag, environ, pins=pins, local=local)
    session.setup(product, version, depth=0, just=False)
    return session.result()


def _pick(stack: Stack, dep: Dependency, tags: Sequence[str], versions: list[str]) -> str | None:
    """A dependency's version by EUPS's VRO: ``tags`` (the table's ``-t``, then the command
    line's) whatever the table names; then the exact version; then the highest version the
    expression accepts; then, for a dependency that names no version, ``current``, else the
    only declared version."""
    for t in tags:
        tagged = stack.tag_version(dep.product, t)
        if tagged is not None and tagged in versions:
            return tagged
    if dep.version is not None:
        if dep.version in versions:
            return dep.version
        same = next((v for v in versions if vercmp(v, dep.version) == 0), None)
        if same is not None:
            return same
    if dep.expr is not None:
        matching = [v for v in versions if dep.expr.matches(v)]
        return max(matching, key=sort_key) if matching else None
    if dep.version is not None:
        return None
    current = stack.tag_version(dep.product, "current")
    if current is not None and current in versions:
        return current
    return versions[0] if len(versions) == 1 else None


class _Session:
    def __init__(
        self,
        stack: Stack,
        tag: str | None,
        environ: Mapping[str, str],
        *,
        pins: Mapping[str, str] | None = None,
        local: VersionInfo | None = None,
    ) -> None:
        self.stack = stack
        #: versions that win over table versions and expressions (lsst_build's --vro)
        self.pins = dict(pins or {})
        #: an undeclared product set up from its directory (``setup -r DIR``)
        self.local = local
        #: the command line's ``-t`` (EUPS puts it before the tables' versions)
        self.tags = [tag] if tag else []
        self.before = dict(environ)
        self.env = dict(environ)
        self.touched: list[str] = []
        self.order: list[tuple[str, str]] = []
        self.done: dict[str, str] = {}
        self.aliases: dict[str, str | None] = {}
        self.messages: list[str] = []
        # conditions see the environment as it is at each step, as in EUPS
        self.ctx = TableContext(flavor=stack.flavor, types=SETUP_TYPES, environ=self.env)

    # --- environment -----------------------------------------------------------------

    def put(self, var: str, value: str | None) -> None:
        if value is None:
            self.env.pop(var, None)
        else:
            self.env[var] = value
        if var not in self.touched:
            self.touched.append(var)

    def result(self) -> SetupResult:
        return SetupResult(
            products=self.order,
            env=self.changes(),
            aliases=self.aliases,
            messages=self.messages,
            flavor=self.stack.flavor,
            stack=str(self.stack.root),
        )

    def changes(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for var in self.touched:
            new = self.env.get(var)
            if new != self.before.get(var):
                out[var] = new
        return out

    # --- setup -----------------------------------------------------------------------

    def setup(self, product: str, version: str, *, depth: int, just: bool) -> None:
        if depth > 0:
            if self.done.get(product) == version:
                return
            if product not in self.done and self._setup_version(product) == version:
                return  # EUPS: "already setup; skipping"
        if self.local is not None and (product, version) == (self.local.product, version):
            info = self.local
        else:
            info = self.stack.version_info(product, version)
        table = read_table(info.table, strict=False) if info.table is not None else None
        self.unsetup(product, set(), just=just)
        if info.directory is not None:
            self.put(dir_var(product), str(info.directory))
        self.put(
            setup_var(product, self.env),
            setup_string(product, version, info.flavor, self.stack.root),
        )
        extra = self._extra_dir(info)
        if extra.is_dir():
            self.put(dir_var(product) + "_EXTRA", str(extra))
        self.done[product] = version
        self.order.append((product, version))
        if table is None:
            return
        lookup = self._lookup(info, table)
        for cmd in table.commands(self._context(info)):
            if isinstance(cmd, Dependency):
                if not just:
                    self._dependency(cmd, table, depth)
            elif isinstance(cmd, EnvAction):
                self._env(cmd, info, table, lookup)
            elif isinstance(cmd, Alias):
                self._alias(cmd, info, table)
            elif isinstance(cmd, OtherCommand) and cmd.command == "print":
                self.messages.append(" ".join(_print_args(cmd.args)))
        if not just and product != IMPLICIT_PRODUCTS and self.stack.versions(IMPLICIT_PRODUCTS):
            implicit = Dependency(IMPLICIT_PRODUCTS, optional=True, line=0)
            self._dependency(implicit, table, depth)

    def _extra_dir(self, info: VersionInfo) -> Path:
        return self.stack.db / info.flavor / info.product / info.version

    def _context(self, info: VersionInfo) -> TableContext:
        """Conditions see the flavor the product is declared for (``generic`` when EUPS
        fell back to it), as EUPS evaluates them."""
        if info.flavor == self.ctx.flavor:
            return self.ctx
        return TableContext(flavor=info.flavor, types=SETUP_TYPES)

    def _setup_version(self, product: str) -> str | None:
        value = self.env.get(setup_var(product, self.env))
        return parse_setup_string(value)[1] if value else None

    def _dependency(self, dep: Dependency, table: Table, depth: int) -> None:
        if dep.product == "eups" or dep.external:
            return
        pinned = self.pins.get(dep.product)
        tags = [t for t in (dep.tag, *self.tags) if t]
        if pinned is not None:
            dep = dataclasses.replace(dep, version=pinned, expr=None)
            tags = []
        where = table.location(dep.line) if dep.line else Location(table.path)
        if dep.root is not None:
            if dep.optional:
                return
            raise InputError(f"{dep.product}: setupRequired -r is not supported", location=where)
        if dep.keep and self._setup_version(dep.product) is not None:
            return
        versions = self.stack.versions(dep.product)
        chosen = _pick(self.stack, dep, tags, versions) if versions else None
        if chosen is None:
            if dep.optional:
                return
            if not versions:
                problem = "is not declared"
            elif dep.version is None and dep.expr is None:
                named = " or ".join([*tags, "current"])
                problem = f"has {len(versions)} versions and none is tagged {named}"
            else:
                problem = f"has no version matching (declared: {', '.join(versions)})"
            raise ResolutionError(
                f"setup{'Optional' if dep.optional else 'Required'}({dep}): {dep.product} "
                f"{problem} for {self.stack.flavor}",
                location=where,
            )
        try:
            self.setup(dep.product, chosen, depth=depth + 1, just=dep.just)
        except ScipipeError:
            if not dep.optional:
                raise

    def _eups_vars(self, info: VersionInfo, table: Table) -> dict[str, str | None]:
        """The variables EUPS fills in when it reads a table (``expandEupsVariables``)."""
        product, version = info.product, info.version
        extra = self._extra_dir(info)
        directory = str(info.directory) if info.directory else None
        return {
            "PRODUCT_DIR": directory,
            dir_var(product): directory,
            "PRODUCT_DIR_EXTRA": str(extra) if extra.is_dir() else None,
            "PRODUCT_NAME": product,
            "PRODUCT_VERSION": version,
            "PRODUCT_FLAVOR": info.flavor,
            "UPS_DIR": os.path.dirname(table.path),
            "PRODUCTS": str(self.stack.root),
        }

    def _lookup(self, info: VersionInfo, table: Table) -> Callable[[str], str | None]:
        fixed = self._eups_vars(info, table)

        def lookup(name: str) -> str | None:
            if name in fixed:
                return fixed[name]
            m = re.fullmatch(r"EUPS_PATH\[([0-9]+)\]", name)
            if m is not None:
                parts = self.env.get("EUPS_PATH", "").split(":")
                index = int(m.group(1))
                return parts[index] if index < len(parts) else None
            return self.env.get(name)

        return lookup

    def _expand(
        self, value: str, lookup: Callable[[str], str | None], where: Location
    ) -> str | None:
        for m in _REF.finditer(value):
            name, dash, _ = m.group(2).partition("-")
            if not m.group(1) and not dash and lookup(name) is None:
                raise ResolutionError(f"${{{name}}} is not defined", location=where)
        return expand(value, lookup)

    def _env(
        self,
        action: EnvAction,
        info: VersionInfo,
        table: Table,
        lookup: Callable[[str], str | None],
    ) -> None:
        where = table.location(action.line)
        var = action.var
        if action.command == "envUnset":
            # EUPS only lets a table unset its own product's directory variable
            if var in ("PRODUCT_DIR", dir_var(info.product)):
                self.put(dir_var(info.product), None)
            return
        raw = action.value or ""
        if action.command == "envSet":
            value = self._expand(raw, lookup, where)
            if value:
                self.put(var, value)
            return
        delim = action.delimiter
        lead = raw.startswith(delim)
        trail = raw.endswith(delim) and len(raw) > len(delim)
        raw = raw[len(delim) :] if lead else raw
        raw = raw[: -len(delim)] if trail else raw
        value = self._expand(raw, lookup, where)
        if value is None:
            return
        path = [p for p in self.env.get(var, "").split(delim) if p]
        for piece in value.split(delim):
            if action.command == "envRemove":
                path = [p for p in path if p != piece]
            elif action.command == "envAppend":
                path.append(piece)
            else:  # each piece goes to the front in turn, as in EUPS
                path.insert(0, piece)
        joined = delim.join(dict.fromkeys(path))
        if lead and not joined.startswith(delim):
            joined = delim + joined
        if trail and not joined.endswith(delim):
            joined += delim
        self.put(var, joined)

    def _alias(self, alias: Alias, info: VersionInfo, table: Table) -> None:
        if not _ALIAS_NAME.match(alias.name):
            raise InputError(
                f"addAlias: invalid alias name {alias.name!r}", location=table.location(alias.line)
            )
        fixed = self._eups_vars(info, table)

        def sub(m: re.Match[str]) -> str:
            value = fixed.get(m.group(2))
            return m.group(0) if m.group(1) or value is None else value

        # only EUPS's own variables: the rest is for the shell when the alias runs
        self.aliases[alias.name] = _REF.sub(sub, alias.value)

    # --- unsetup ---------------------------------------------------------------------

    def unsetup(self, product: str, seen: set[str], *, just: bool = False) -> None:
        """Undo what the set-up version of ``product`` did, following its table.

        As in EUPS, the products its table sets up are unset up too, unless ``just``.
        """
        var = setup_var(product, self.env)
        value = self.env.get(var)
        if not value or product in seen:
            return
        seen.add(product)
        _, version, flavor, root = parse_setup_string(value)
        self.put(var, None)
        self.put(dir_var(product), None)
        if dir_var(product) + "_EXTRA" in self.env:
            self.put(dir_var(product) + "_EXTRA", None)
        self.done.pop(product, None)
        stack = Stack(Path(root), flavor or self.stack.flavor) if root else self.stack
        try:
            info = stack.version_info(product, version)
            table = read_table(info.table, strict=False) if info.table is not None else None
        except ScipipeError:
            return  # no longer declared: its variables are gone, nothing else is known
        if table is None:
            return
        lookup = self._lookup(info, table)
        for cmd in table.commands(self._context(info)):
            if isinstance(cmd, Dependency):
                if not just:
                    self.unsetup(cmd.product, seen, just=cmd.just)
            elif isinstance(cmd, EnvAction) and cmd.command in ("envPrepend", "envAppend"):
                value = expand(cmd.value or "", lookup)
                if value is None or cmd.var not in self.env:
                    continue
                drop = set(value.split(cmd.delimiter))
                kept = [p for p in self.env[cmd.var].split(cmd.delimiter) if p and p not in drop]
                self.put(cmd.var, cmd.delimiter.join(kept))
            elif isinstance(cmd, EnvAction) and cmd.command == "envSet":
                self.put(cmd.var, None)
            elif isinstance(cmd, Alias):
                self.aliases[cmd.name] = None


def _print_args(args: Sequence[str]) -> list[str]:
    words = list(args)
    if words and words[0].lower() in ("stdout", "stderr", "stdwarn", "stdinfo"):
        words = words[1:]
    return words


# --- shell code ------------------------------------------------------------------------


def quote(value: str) -> str:
    """Single-quote for sh-family shells: ``it's`` -> ``'it'\\''s'``."""
    return "'" + value.replace("'", "'\\''") + "'"


def render_shell(changes: SetupResult, shell: str = "bash") -> str:
    """Shell code to ``eval``: exports, unsets, aliases; messages go to stderr."""
    if shell not in SHELLS:
        raise InputError(f"unsupported shell {shell!r}", hint=f"choose one of {', '.join(SHELLS)}")
    top = " ".join(changes.products[0]) if changes.products else "(nothing)"
    lines = [
        f"# Generated by scipipe setup for {shell}: {top} ({changes.flavor}) from {changes.stack}",
        '# Use: eval "$(scipipe setup ...)"',
    ]
    for var, value in changes.env.items():
        lines.append(f"unset {var}" if value is None else f"export {var}={quote(value)}")
    for name, alias in changes.aliases.items():
        if alias is None:
            lines.append(f"unalias {name} 2>/dev/null || true")
        else:
            lines.append(f"alias {name}={quote(alias)}")
    lines.extend(f"echo {quote(msg)} >&2" for msg in changes.messages)
    return "\n".join(lines) + "\n"
