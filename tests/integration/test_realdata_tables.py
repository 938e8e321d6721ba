"""Every real table file (lsst_distrib b8466, ../shared/realdata) parses the same on the
fast path as with the general parser (issue 13: one language)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.eups.table import TableContext, parse_table
from scipipe_tools.infra.files import read_text

pytestmark = pytest.mark.realdata

CONTEXTS = [
    TableContext(flavor, frozenset(types))
    for flavor in ("Linux64", "DarwinX86", "DarwinARM64")
    for types in ((), ("exact",), ("build",))
]


def test_every_real_table_parses_the_same_on_both_paths(realdata: Path) -> None:
    paths = sorted((realdata / "lsst_distrib-b8466" / "tables").glob("*.table"))
    assert len(paths) > 100
    fast_paths = 0
    for path in paths:
        text = read_text(path, "table file")
        fast = parse_table(text, path)
        full = parse_table(text, path, fast=False)
        fast_paths += fast.simple_deps is not None
        assert fast.flat == full.flat, path
        assert fast.statements == full.statements, path
        for ctx in CONTEXTS:
            assert fast.commands(ctx) == full.commands(ctx), path
            assert fast.dependencies(ctx) == full.dependencies(ctx), path
        if fast.simple_deps is not None:
            assert [(p, k[0] in "Oo") for k, p in fast.simple_deps] == [
                (d.product, d.optional) for d in full.dependencies()
            ], path
    # the real tables are simple: resolution reads them without the general parser
    assert fast_paths == len(paths)
