"""Tarball smoke tests: install what was published, as an end user would, and load it.

``scipipe distrib smoke -t TAG PRODUCT... -r ROOT`` installs the published binaries into
a fresh stack (the same install ``scipipe distrib install`` and ``lsstinstall --install``
do), optionally inside an environment (``--env PREFIX``, activated as a build activates
it), then for each product sets it up (its whole dependency tree, as ``setup`` does) and
runs the smoke command.  The default command imports the product's Python package
(``python/<pkg>/__init__.py`` of the installed product, e.g. ``lsst.utils``); a product
with no Python package passes when it sets up.  A product that fails is named with the
tail of its output (issue 17).
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BuildError, InputError, ScipipeError
from ..infra import proc
from ..infra.activate import activate, python_of
from ..infra.progress import NULL, Progress
from ..stack.setup import setup
from ..stack.stack import Stack
from .install import InstallOptions, install

TAIL_LINES = 15
TIMEOUT = 600.0


@dataclass(frozen=True)
class SmokeOptions:
    roots: tuple[str, ...]
    tag: str
    products: tuple[str, ...]
    #: the fresh stack goes here (created; must not hold a stack already)
    stack: Path
    flavor: str
    #: argv template run for each product ({product}, {version}, {package}, {python});
    #: None: import the product's Python package
    command: str | None = None
    #: environment activated for the install and the smoke command (conda prefix or venv)
    env: Path | None = None
    base_env: Mapping[str, str] | None = None
    timeout: float = TIMEOUT
    require_checksums: bool = False


@dataclass(frozen=True)
class SmokeOutcome:
    product: str
    version: str
    ok: bool
    argv: tuple[str, ...]
    tail: tuple[str, ...] = ()
    reason: str = ""

    def to_json(self) -> dict[str, object]:
        return {
            "product": self.product,
            "version": self.version,
            "ok": self.ok,
            "argv": list(self.argv),
            "reason": self.reason,
            "tail": list(self.tail),
        }


@dataclass
class SmokeResult:
    stack: Path
    installed: int
    outcomes: list[SmokeOutcome] = field(default_factory=list)

    @property
    def failed(self) -> list[SmokeOutcome]:
        return [o for o in self.outcomes if not o.ok]


class SmokeFailed(BuildError):
    """One or more products failed their smoke test (exit code of a failed build)."""

    def __init__(self, result: SmokeResult) -> None:
        self.result = result
        names = ", ".join(f"{o.product} {o.version}" for o in result.failed)
        first = result.failed[0]
        detail = f"{first.reason}: {first.tail[-1]}" if first.tail else first.reason
        super().__init__(
            f"smoke test failed for {names} ({first.product}: {detail})",
            hint=f"its output: scipipe distrib smoke ... --json, or set it up from {result.stack}",
        )


def python_package(product_dir: Path, product: str) -> str | None:
    """The dotted name of the product's Python package under ``python/``: the shallowest
    package whose path ends with the product's name (``lsst/daf/relation`` for
    daf_relation), else the shallowest one that is not a namespace shim (an
    ``__init__.py`` that only extends ``__path__``); None when there is none."""
    top = product_dir / "python"
    if not top.is_dir():
        return None
    packages = sorted(
        (len(parts), ".".join(parts), init)
        for init in top.rglob("__init__.py")
        if (parts := init.parent.relative_to(top).parts)
    )
    for _, name, _ in packages:
        if name.replace(".", "_").endswith(product):
            return name
    for _, name, init in packages:
        text = init.read_text(errors="replace")
        if "extend_path" not in text and "declare_namespace" not in text:
            return name
    return None


def smoke(options: SmokeOptions, progress: Progress = NULL) -> SmokeResult:
    if not options.products:
        raise InputError("no product to smoke-test")
    if (options.stack / "ups_db").exists():
        raise InputError(
            f"{options.stack} holds a stack already: a smoke test installs into a fresh one",
            hint="pass --stack with a new directory",
        )
    base = dict(os.environ if options.base_env is None else options.base_env)
    python = sys.executable
    if options.env is not None:
        activation = activate(options.env, base)
        base = activation.env
        found = python_of(activation.prefix, base)
        if found is None:
            raise InputError(f"{options.env}: no bin/python in this environment")
        python = found.path
    installed = install(
        InstallOptions(
            roots=options.roots,
            products=options.products,
            stack=options.stack,
            flavor=options.flavor,
            tag=options.tag,
            base_env=base,
            require_checksums=options.require_checksums,
        ),
        progress,
    )
    result = SmokeResult(options.stack, len(installed.installed))
    stack = Stack(options.stack, options.flavor)
    progress.start(len(options.products), "smoke tests")
    for product in options.products:
        progress.begin(product)
        outcome = _one(stack, product, python, base, options)
        result.outcomes.append(outcome)
        progress.advance(product, "ok" if outcome.ok else outcome.reason, failed=not outcome.ok)
    progress.finish()
    if result.failed:
        raise SmokeFailed(result)
    return result


def _one(
    stack: Stack, product: str, python: str, base: Mapping[str, str], options: SmokeOptions
) -> SmokeOutcome:
    try:
        changes = setup(stack, product, tag=options.tag, environ=base)
    except ScipipeError as exc:
        return SmokeOutcome(product, "?", False, (), (str(exc),), "setup failed")
    version = dict(changes.products).get(product, "?")
    env = dict(base)
    for name, value in changes.env.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    package = python_package(stack.product_dir(product, version), product)
    argv = _argv(options.command, product, version, package, python)
    if not argv:
        return SmokeOutcome(product, version, True, (), (), "set up (no Python package)")
    try:
        r = proc.run(argv, env=env, check=False, timeout=options.timeout)
    except ScipipeError as exc:
        return SmokeOutcome(product, version, False, tuple(argv), (str(exc),), "could not run")
    lines = tuple((r.stdout + r.stderr).splitlines()[-TAIL_LINES:])
    if r.returncode != 0:
        reason = f"exit code {r.returncode}"
        return SmokeOutcome(product, version, False, tuple(argv), lines, reason)
    return SmokeOutcome(product, version, True, tuple(argv), lines)


def _argv(
    command: str | None, product: str, version: str, package: str | None, python: str
) -> list[str]:
    if command is None:
        return [python, "-c", f"import {package}"] if package else []
    values = {"product": product, "version": version, "package": package or "", "python": python}
    try:
        return [part.format(**values) for part in shlex.split(command)]
    except (KeyError, ValueError, IndexError) as exc:
        raise InputError(f"--command {command!r}: {exc}") from None


def describe(outcomes: Sequence[SmokeOutcome]) -> list[str]:
    """One line per product, for the terminal and CI logs."""
    return [
        f"{'ok    ' if o.ok else 'FAILED'} {o.product} {o.version}"
        + (f"  ({o.reason})" if o.reason else "")
        for o in outcomes
    ]
