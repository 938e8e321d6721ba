"""The environment a product builds in: ``setup -r .`` with exact dependency versions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ..eups.setup import setup_directory
from ..eups.stack import Stack


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
    result = setup_directory(stack, product, version, source, tag=tag, environ=env, pins=dict(deps))
    for var, value in result.env.items():
        if value is None:
            env.pop(var, None)
        else:
            env[var] = value
    return env
