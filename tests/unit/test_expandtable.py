from __future__ import annotations

from scipipe_tools.eups.expandtable import expand_table
from scipipe_tools.eups.table import TableContext, parse_table

EXACT = TableContext("Linux64", frozenset({"exact"}))
LOOSE = TableContext("Linux64")


def test_last_top_level_setup_block_becomes_exact() -> None:
    text = (
        "# geom\n"
        "setupRequired(base)\n"
        "setupRequired(utils)\n"
        "\n"
        "if (flavor =~ Linux.*) {\n"
        "    setupOptional(cuda_toolkit)\n"
        "}\n"
        "envPrepend(PYTHONPATH, ${PRODUCT_DIR}/python)\n"
    )
    exact = [("utils", "g3", False), ("base", "g1+2", False)]
    out = expand_table(text, exact, {"base": "g1+2", "utils": "g3"})
    t = parse_table(out, "geom.table")
    assert [(d.product, d.version, d.just) for d in t.dependencies(EXACT)] == [
        ("utils", "g3", True),
        ("base", "g1+2", True),
    ]
    loose = t.dependencies(LOOSE)
    assert [(d.product, d.version) for d in loose] == [
        ("base", "g1+2"),
        ("utils", "g3"),
        ("cuda_toolkit", None),
    ]
    assert str(loose[0].expr) == ">= g1+2"
    assert [e.var for e in t.env_actions(EXACT)] == ["PYTHONPATH"]
    assert "setupRequired(base            -j g1+2)" in out


def test_flags_kept_and_unknown_deps_untouched() -> None:
    text = "setupRequired(eups [> 2.0.2])\nsetupRequired(-j log)\nsetupRequired(pex_config -t x)\n"
    out = expand_table(text, [("log", "g5", False)], {"log": "g5", "pex_config": "g7"})
    t = parse_table(out, "p.table")
    loose = {d.product: d for d in t.dependencies(LOOSE)}
    assert loose["log"].just and loose["log"].version == "g5"
    assert loose["pex_config"].tag == "x" and loose["pex_config"].version == "g7"
    assert loose["eups"].version is None and str(loose["eups"].expr) == "> 2.0.2"


def test_table_without_setups_gets_an_exact_block_only_if_needed() -> None:
    assert expand_table("envPrepend(PATH, x)\n", [], {}) == "envPrepend(PATH, x)\n"
    out = expand_table("envPrepend(PATH, x)\n", [("a", "g1", True)], {})
    assert [d.optional for d in parse_table(out).dependencies(EXACT)] == [True]
