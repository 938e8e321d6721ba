from __future__ import annotations

import pytest

from scipipe_tools.errors import InputError, ResolutionError
from scipipe_tools.eups.exclusions import DEFAULT, parse_exclusions
from scipipe_tools.eups.graph import (
    ProductInfo,
    dependents_closure,
    find_cycle,
    resolve,
    toposort,
    transitive_deps,
)
from scipipe_tools.eups.table import TableContext, parse_table


def lookup_for(tables: dict[str, str | None]):  # type: ignore[no-untyped-def]
    def lookup(name: str) -> ProductInfo | None:
        if name not in tables:
            return None
        text = tables[name]
        return ProductInfo(name, parse_table(text, f"{name}.table") if text is not None else None)

    return lookup


STACK = {
    "utils": "",
    "base": "setupRequired(utils)\n",
    "geom": "setupRequired(base)\nsetupRequired(utils)\nif (flavor =~ Linux.*) {\n setupOptional(cuda_toolkit)\n}\n",
    "afwdata": None,  # a product without a table file
    "afw": "setupRequired(geom)\nsetupRequired(base)\nsetupOptional(afwdata)\nsetupOptional(notthere)\n"
    "setupRequired(eups [> 2.0])\nsetupRequired(pybind11 --external)\nsetupRequired(implicitProducts)\n",
    "top": "setupRequired(afw)\nsetupOptional(geom)\n",
    "cuda_toolkit": "",
}


def test_resolve_orders_levels_alphabetically() -> None:
    r = resolve(["top"], lookup_for(STACK))
    assert r.levels == (("afwdata", "utils"), ("base",), ("geom",), ("afw",), ("top",))
    assert r.order == ["afwdata", "utils", "base", "geom", "afw", "top"]
    assert r.deps["afw"] == ("geom", "base", "afwdata")  # table order, skipped ones out
    assert r.deps["afwdata"] == ()
    assert r.tables["afwdata"] is None and r.tables["afw"] == "afw.table"
    reasons = {(s.product, s.dep): (s.reason, s.where) for s in r.skipped}
    assert reasons == {
        ("geom", "cuda_toolkit"): ("excluded", "geom.table:4"),
        ("afw", "notthere"): ("unavailable", "afw.table:4"),
        ("afw", "pybind11"): ("external", "afw.table:6"),
    }


def test_conditions_follow_the_flavor_and_exclusions_the_map() -> None:
    r = resolve(["geom"], lookup_for(STACK), exclusions=parse_exclusions(""))
    assert "cuda_toolkit" in r.deps["geom"]
    r = resolve(
        ["geom"], lookup_for(STACK), ctx=TableContext("DarwinX86"), exclusions=parse_exclusions("")
    )
    assert "cuda_toolkit" not in r.deps["geom"]
    # the map is anchored regexes on (dep, product) and only drops optional deps
    ex = parse_exclusions("# comment\nafw.* top\nbase .*\n")
    r = resolve(["top"], lookup_for(STACK), exclusions=ex)
    assert r.deps["top"] == ("afw", "geom")  # afw is required: not excluded
    assert ex.excludes("afwdata", "top") and not ex.excludes("afwdata", "xtop")


def test_missing_required_names_the_table() -> None:
    tables = dict(STACK, afw="setupRequired(geom)\n\nsetupRequired(sphgeom)\n")
    with pytest.raises(ResolutionError) as info:
        resolve(["top"], lookup_for(tables), source="sources/")
    assert str(info.value) == "afw.table:3: afw requires 'sphgeom', which is not in sources/"


def test_unknown_top_product() -> None:
    with pytest.raises(ResolutionError, match="product 'nope' not found"):
        resolve(["nope"], lookup_for(STACK))
    with pytest.raises(InputError):
        resolve([], lookup_for(STACK))


def test_cycle_reported_with_path() -> None:
    tables = {
        "a": "setupRequired(b)\n",
        "b": "setupRequired(c)\n",
        "c": "setupRequired(a)\n",
        "d": "setupRequired(a)\n",
    }
    with pytest.raises(ResolutionError) as info:
        resolve(["d"], lookup_for(tables))
    assert str(info.value) == "dependency cycle: a -> b -> c -> a"


def test_self_dependency() -> None:
    with pytest.raises(ResolutionError, match=r"a.table:2: a depends on itself"):
        resolve(["a"], lookup_for({"a": "\nsetupRequired(a)\n"}))
    with pytest.raises(ResolutionError, match="self-including node: x"):
        toposort({"x": ["x"]})


def test_toposort_reports_missing_nodes() -> None:
    with pytest.raises(ResolutionError, match="a depends on zz, not in the graph"):
        toposort({"a": ["zz"]})


def test_find_cycle_and_closures() -> None:
    assert find_cycle({"x": ["y"], "y": ["x"]}) == ["x", "y", "x"]
    g = {"a": [], "b": ["a"], "c": ["b"], "d": ["a"]}
    assert transitive_deps(g, "c") == {"a", "b"}
    assert dependents_closure(g, ["b"]) == {"b", "c"}
    assert dependents_closure(g, ["a"]) == {"a", "b", "c", "d"}


def test_default_exclusions() -> None:
    assert DEFAULT.excludes("cuda_toolkit", "anything")
    assert DEFAULT.excludes("condor", "ctrl_bps")
    assert not DEFAULT.excludes("afwdata", "afw")


def test_bad_exclusion_map() -> None:
    with pytest.raises(InputError) as info:
        parse_exclusions("ok .*\nonlyone\n", "ex.txt")
    assert str(info.value.location) == "ex.txt:2"
    with pytest.raises(InputError, match="bad regular expression"):
        parse_exclusions("( .*\n", "ex.txt")


def test_duplicate_deps_are_kept_in_table_order() -> None:
    # lsst_build writes a dependency named twice (jointcal's obs_cfht) twice
    tables = {"a": "", "b": "", "c": "setupRequired(a)\nsetupOptional(b)\nsetupOptional(a)\n"}
    r = resolve(["c"], lookup_for(tables))
    assert r.deps["c"] == ("a", "b", "a")
    assert r.levels == (("a", "b"), ("c",))


def test_resolving_a_big_stack_runs_no_cycle_collection() -> None:
    """A full collection passes over every live object: made once per so many new
    objects, it made resolving grow faster than the stack.  The collector's state is
    left as it was found."""
    import gc

    names = [f"p{i:04d}" for i in range(3000)]
    tables: dict[str, str | None] = {"top": "\n".join(f"setupRequired({n})" for n in names)}
    for i, n in enumerate(names):
        tables[n] = "\n".join(f"setupRequired({d})" for d in names[max(0, i - 8) : i])
    lookup = lookup_for(tables)
    runs: list[str] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            runs.append(phase)

    gc.collect()  # from a fresh count, so no collection falls due before resolve starts
    gc.callbacks.append(count)
    try:
        res = resolve(["top"], lookup)
        assert gc.isenabled()
        gc.disable()
        resolve(["top"], lookup)
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.callbacks.remove(count)
    assert len(res.order) == 3001
    assert len(runs) <= 1  # the one that falls due once it is back on (68 before)
