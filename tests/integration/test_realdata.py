"""The EUPS model against the real stack: lsst_distrib at build b8466 (../shared/realdata).

The table files are the products' own, 55 at the manifest's exact SHA and the rest the
nearest available copy; SOURCES.tsv names the 5 whose dependencies differ from the
manifest because the copy is older or newer than the manifest's commit.  These tests
check that every difference between what we compute and the manifest is one of those.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from scipipe_tools.eups.graph import ProductInfo, Resolution, resolve, toposort
from scipipe_tools.eups.manifest import Manifest, build_manifest
from scipipe_tools.eups.pkgversion import compute_versions
from scipipe_tools.eups.repos import lint
from scipipe_tools.eups.table import TableContext
from scipipe_tools.stack.readers import read_manifest, read_repos, read_table

pytestmark = pytest.mark.realdata

#: The canonical build's top-level products (release spec section 1).
CANONICAL = ["lsst_distrib", "lsst_ci", "lsst_extras"]


@pytest.fixture
def b8466(realdata: Path) -> Path:
    return realdata / "lsst_distrib-b8466"


@pytest.fixture
def manifest(b8466: Path) -> Manifest:
    return read_manifest(b8466 / "manifest-b8466.txt")


def documented_mismatches(b8466: Path) -> dict[str, tuple[set[str], set[str]]]:
    """{product: (deps only in the table, deps only in the manifest)} from SOURCES.tsv."""
    out = {}
    with open(b8466 / "SOURCES.tsv", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            m = re.search(r"DEPS MISMATCH vs manifest: (table|manifest)-only=([\w,]+)", row["note"])
            if m:
                names = set(m.group(2).split(","))
                out[row["product"]] = (names, set()) if m.group(1) == "table" else (set(), names)
    return out


def resolve_real(b8466: Path, manifest: Manifest, top: list[str]) -> Resolution:
    def lookup(name: str) -> ProductInfo | None:
        if name not in manifest:
            return None
        table = b8466 / "tables" / f"{name}.table"
        return ProductInfo(name, read_table(table) if table.exists() else None)

    return resolve(top, lookup, ctx=TableContext("Linux64"))


def test_every_table_parses(b8466: Path) -> None:
    tables = sorted((b8466 / "tables").glob("*.table"))
    assert len(tables) == 126  # testdata_images has no table file
    setup_line = re.compile(r"^\s*setup(Required|Optional)\(", re.M)
    env_line = re.compile(r"^\s*env(Prepend|Set)\(", re.M)
    n_deps = 0
    for path in tables:
        text = path.read_text()
        table = read_table(path)
        # a cross-check by plain regex: every setup and env line became a command
        assert len(table.dependencies()) == len(setup_line.findall(text)), path
        assert len(table.env_actions()) == len(env_line.findall(text)), path
        n_deps += len(table.dependencies())
    assert n_deps == 737


def test_manifest_round_trips_byte_for_byte(b8466: Path, manifest: Manifest) -> None:
    text = (b8466 / "manifest-b8466.txt").read_text()
    assert manifest.build_id == "b8466" and len(manifest) == 127
    assert manifest.to_text() == text
    # and the file is in exactly lsst_build's order
    assert manifest.toposorted().to_text() == text


def test_versions_reproduced_from_shas_and_manifest_deps(manifest: Manifest) -> None:
    versions = compute_versions(manifest.graph(), {e.name: e.sha1 for e in manifest.entries})
    assert versions == {e.name: e.version for e in manifest.entries}


def test_lsst_distrib_alone_is_a_closed_subset(b8466: Path, manifest: Manifest) -> None:
    res = resolve_real(b8466, manifest, ["lsst_distrib"])
    assert len(res.deps) == 117
    # what only the other canonical products pull in
    assert set(manifest.names) - set(res.deps) == {
        "lsst_ci",
        "lsst_extras",
        "lsst_sitcom",
        "lsst_middleware",
        "pipelines_check",
        "summit_utils",
        "summit_extras",
        "daf_butler_admin",
        "daf_butler_migrate",
        "dax_obscore",
    }


def test_resolution_matches_the_manifest(b8466: Path, manifest: Manifest) -> None:
    res = resolve_real(b8466, manifest, CANONICAL)
    # (a) the product set
    assert set(res.deps) == set(manifest.names)
    assert res.skipped == ()
    # (b) direct deps equal the manifest's 4th column, except the documented stale tables
    expected = documented_mismatches(b8466)
    assert len(expected) == 5
    found = {}
    for name, deps in res.deps.items():
        if list(deps) != list(manifest[name].deps):
            ours, theirs = set(deps), set(manifest[name].deps)
            found[name] = (ours - theirs, theirs - ours)
    assert found == expected
    # with those five rows corrected, the graph is the manifest's, order and all
    graph = dict(res.deps)
    for name in expected:
        graph[name] = manifest[name].deps
    assert graph == manifest.graph()
    assert [p for level in toposort(graph) for p in level] == manifest.names


def test_versions_and_manifest_from_tables(b8466: Path, manifest: Manifest) -> None:
    res = resolve_real(b8466, manifest, CANONICAL)
    shas = {e.name: e.sha1 for e in manifest.entries}
    # (c) versions from our graph: every difference comes from the five stale tables
    versions = compute_versions(res.deps, shas)
    stale = set(documented_mismatches(b8466))
    wrong = {n for n in versions if versions[n] != manifest[n].version}
    assert wrong, "the stale tables must change some versions"
    from scipipe_tools.eups.graph import transitive_deps

    for name in wrong:
        affected = {name} | transitive_deps(res.deps, name)
        assert affected & stale, f"{name}: version differs for no documented reason"
    # with the documented corrections, versions and the whole file come out byte for byte
    graph = {n: (manifest[n].deps if n in stale else d) for n, d in res.deps.items()}
    order = [p for level in toposort(graph) for p in level]
    fixed = compute_versions(graph, shas, order=order)
    ours = build_manifest(order, graph, shas, fixed, "b8466")
    # (d) writing the manifest reproduces the file
    assert ours.to_text() == (b8466 / "manifest-b8466.txt").read_text()


def test_real_repos_yaml(realdata: Path) -> None:
    repos = read_repos(realdata / "repos.yaml")
    assert len(repos) > 300
    assert lint(repos) == []
    afwdata = repos.get("afwdata")
    assert afwdata is not None and afwdata.lfs
