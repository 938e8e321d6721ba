"""The environment a product builds in: ``setup -r .`` with exact dependency versions."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..eups.setup import _Session
from ..eups.stack import Stack, VersionInfo
from ..eups.table import Dependency, Table


def _apply(env: dict[str, str], changes: Mapping[str, str | None]) -> None:
    for var, value in changes.items():
        if value is None:
            env.pop(var, None)
        else:
            env[var] = value


class _WithLocal:
    """A stack that also knows one undeclared product: the source tree being built."""

    def __init__(self, stack: Stack, info: VersionInfo) -> None:
        self._stack = stack
        self._info = info

    def version_info(self, product: str, version: str) -> VersionInfo:
        if (product, version) == (self._info.product, self._info.version):
            return self._info
        return self._stack.version_info(product, version)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stack, name)


class _PinnedSession(_Session):
    """Dependencies take the versions the build pins (lsst_build's ``--vro=_build.tags``),
    whatever version expressions the tables have: ``g<sha>`` versions do not order."""

    def __init__(
        self, stack: Any, tag: str, environ: Mapping[str, str], pins: Mapping[str, str]
    ) -> None:
        super().__init__(stack, tag, environ)
        self.pins = pins

    def _dependency(self, dep: Dependency, table: Table, depth: int) -> None:
        pinned = self.pins.get(dep.product)
        if pinned is not None:
            dep = dataclasses.replace(dep, version=pinned, expr=None)
        super()._dependency(dep, table, depth)


def setup_local(
    stack: Stack,
    product: str,
    version: str,
    source: Path,
    *,
    tag: str,
    environ: Mapping[str, str],
    pins: Mapping[str, str],
) -> dict[str, str | None]:
    """What ``setup -r SOURCE`` changes: the product's own table with ``PRODUCT_DIR`` the
    source tree, dependencies from the stack at the ``pins`` versions."""
    table = source / "ups" / f"{product}.table"
    info = VersionInfo(
        product=product, version=version, flavor=stack.flavor, declarer="", declared="",
        prod_dir=str(source), ups_dir="ups",
        table_file=table.name if table.is_file() else "none", directory=source,
        table=table if table.is_file() else None,
    )  # fmt: skip
    session = _PinnedSession(_WithLocal(stack, info), tag, environ, pins)
    session.setup(product, version, depth=0, just=False)
    return session.changes()


def build_env(
    stack: Stack,
    product: str,
    version: str,
    source: Path,
    deps: Sequence[tuple[str, str]],
    tag: str,
    base: Mapping[str, str],
) -> dict[str, str]:
    """``base`` with the product's own source table applied and every dependency set up
    at the version built against (``deps``: all transitive ones)."""
    env = dict(base)
    _apply(env, setup_local(stack, product, version, source, tag=tag, environ=env,
                            pins=dict(deps)))  # fmt: skip
    return env
