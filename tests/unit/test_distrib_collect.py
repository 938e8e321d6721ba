"""What a publish ships, from a stack declared by hand: expanded and plain tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.distrib.collect import collect
from scipipe_tools.errors import ResolutionError
from scipipe_tools.stack.stack import Stack

FLAVOR = "Linux64"
EXPANDED_C = """\
if (type == exact) {
   setupRequired(a               -j 1)
   setupRequired(b               -j 2)
} else {
   setupRequired(b 2 [>= 2])
}
envPrepend(PATH, ${PRODUCT_DIR}/bin)
"""


def declare(stack: Stack, product: str, version: str, table: str | None, *tags: str) -> None:
    d = stack.product_dir(product, version)
    (d / "ups").mkdir(parents=True)
    if table is not None:
        (d / "ups" / f"{product}.table").write_text(table)
    stack.declare(product, version, d, tags=tags)


@pytest.fixture
def stack(tmp_path: Path) -> Stack:
    s = Stack.create(tmp_path / "stack", FLAVOR)
    declare(s, "a", "1", None, "b7")
    declare(s, "a", "0.9", None)  # another version: not the one b7 tags
    declare(s, "b", "2", "setupRequired(a)\nsetupRequired(eups)\nsetupOptional(gone)\n", "b7")
    declare(s, "c", "3", EXPANDED_C, "b7")
    declare(s, "d", "4", "setupRequired(c)\nsetupRequired(z)\n", "b7")
    return s


def test_order_and_closures(stack: Stack) -> None:
    coll = collect(stack, "b7", ["c"])
    assert [(p.name, p.version) for p in coll.products] == [("a", "1"), ("b", "2"), ("c", "3")]
    by = coll.by_name()
    assert by["b"].deps == ("a",)  # eups is never followed, a missing optional is dropped
    assert by["c"].deps == ("a", "b") and by["a"].table is None
    assert [p.name for p in coll.closure("b")] == ["a", "b"]
    assert [p.name for p in coll.closure("c")] == ["a", "b", "c"]


def test_errors(stack: Stack) -> None:
    with pytest.raises(ResolutionError, match="no build b8 in") as info:
        collect(stack, "b8", ["c"])
    assert info.value.hint == "builds here: b7"
    with pytest.raises(ResolutionError) as info:
        collect(stack, "b77", ["c"])
    assert info.value.hint == "did you mean 'b7'?"
    with pytest.raises(ResolutionError, match="e is not tagged b7"):
        collect(stack, "b7", ["e"])
    with pytest.raises(ResolutionError, match=r"d\.table:2: d needs z, which is not installed"):
        collect(stack, "b7", ["d"])


def test_conflicting_versions(stack: Stack) -> None:
    declare(stack, "x", "1", "setupRequired(a 0.9)\n", "b7")
    with pytest.raises(ResolutionError, match="needs a"):
        collect(stack, "b7", ["x", "c"])


def test_a_line_eups_skips_does_not_stop_a_publish(stack: Stack) -> None:
    """Publishing reads installed tables as EUPS and the build did: leniently."""
    declare(stack, "e", "5", "setupRequired(a)\nthis line is not a command\n", "b7")
    coll = collect(stack, "b7", ["e"])
    assert coll.by_name()["e"].deps == ("a",)
