"""``scipipe build --manifest``: exactly a manifest's products, SHAs, versions and order.

Real git remotes whose branches move on after the manifest was built; real builds into a
real EUPS stack.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.demo.gitrepo import git
from scipipe_tools.demo.samplestack import Materialized, materialize
from scipipe_tools.errors import InputError
from scipipe_tools.eups.manifest import Manifest, ManifestEntry
from scipipe_tools.sourcebuild.pinned import plan_of
from scipipe_tools.stack.readers import read_manifest
from scipipe_tools.stack.stack import Stack
from scipipe_tools.stack.versiondb import VersionDb

from .conftest import Invoke
from .test_build_run import FLAVOR, build_args, push_change


@pytest.fixture
def first_build(scipipe: Invoke, tmp_path: Path, examples_dir: Path) -> tuple[Materialized, Path]:
    """The sample stack built once (b1, recorded in a versiondb), then its branches moved on."""
    stack = materialize(examples_dir / "sample-stack", tmp_path / "remotes", history=False)
    root = tmp_path / "first"
    VersionDb.init(root / "versiondb")
    r = scipipe(*build_args(stack, root, "lsst_demo"), "--no-tests")
    assert r.code == 0, r.err
    push_change(stack, "utils", "python/lsst/utils/moved_on.py", "MOVED = True\n", tmp_path)
    push_change(stack, "lsst_demo", "doc/moved_on.txt", "later\n", tmp_path)
    return stack, root


def test_rebuilds_the_manifest_after_branches_moved_on(
    scipipe: Invoke, first_build: tuple[Materialized, Path], tmp_path: Path
) -> None:
    stack, first = first_build
    b1 = read_manifest(first / "build" / "manifest.txt")
    root = tmp_path / "again"
    # checkouts at the branches' new commits, as a later weekly would have them
    r = scipipe(*build_args(stack, root, "lsst_demo"), "-p")
    assert r.code == 0, r.err
    moved = read_manifest(root / "build" / "manifest.txt")
    assert moved["utils"].sha1 != b1["utils"].sha1

    r = scipipe(*build_args(stack, root), "--manifest", str(first / "build" / "manifest.txt"))
    assert r.code == 0, r.err
    built = Stack(root / "stack", FLAVOR)
    for e in b1.entries:
        assert built.is_declared(e.name, e.version), e.name
        assert built.tag_version(e.name, "b1") == e.version
        assert git(["rev-parse", "HEAD"], cwd=root / "sources" / e.name).strip() == e.sha1
    again = read_manifest(root / "build" / "manifest.txt")
    assert [(e.name, e.sha1, e.version, e.deps) for e in again.entries] == [
        (e.name, e.sha1, e.version, e.deps) for e in b1.entries
    ]
    assert again.build_id == "b1"


def test_manifest_by_build_id_from_the_versiondb(
    scipipe: Invoke, first_build: tuple[Materialized, Path]
) -> None:
    """In the root that built it, ``--manifest b1`` moves the checkouts back and builds
    nothing new (every product of b1 is installed); no new build id is allocated."""
    stack, root = first_build
    r = scipipe(*build_args(stack, root, "lsst_demo"), "-p")  # checkouts move on: b2
    assert r.code == 0, r.err
    assert read_manifest(root / "build" / "manifest.txt").build_id == "b2"
    r = scipipe(*build_args(stack, root), "--manifest", "b1", "--json")
    assert r.code == 0, r.err
    b1 = read_manifest(root / "versiondb" / "manifests" / "b1.txt")
    for e in b1.entries:
        assert git(["rev-parse", "HEAD"], cwd=root / "sources" / e.name).strip() == e.sha1
    assert read_manifest(root / "build" / "manifest.txt").build_id == "b1"
    assert not (root / "versiondb" / "manifests" / "b3.txt").exists()


def test_a_sha_in_no_remote_is_an_error_naming_product_and_sha(
    scipipe: Invoke, first_build: tuple[Materialized, Path], tmp_path: Path
) -> None:
    stack, first = first_build
    text = (first / "build" / "manifest.txt").read_text()
    b1 = read_manifest(first / "build" / "manifest.txt")
    bogus = "0123456789abcdef0123456789abcdef01234567"
    bad = tmp_path / "bad.txt"
    bad.write_text(text.replace(b1["base"].sha1, bogus))
    r = scipipe(*build_args(stack, tmp_path / "w"), "--manifest", str(bad), "-p")
    assert r.code == 3, r.err
    assert f"base: commit {bogus} of the manifest is in none of" in r.err
    assert "Traceback" not in r.err


def test_usage(scipipe: Invoke, tmp_path: Path, examples_dir: Path) -> None:
    stack = materialize(examples_dir / "sample-stack", tmp_path / "remotes", history=False)
    r = scipipe(*build_args(stack, tmp_path / "w"))
    assert r.code == 2 and "--manifest" in r.err
    r = scipipe(*build_args(stack, tmp_path / "w"), "--manifest", "b7", "-r", "main")
    assert r.code == 2 and "no --ref" in r.err
    r = scipipe(*build_args(stack, tmp_path / "w"), "--manifest", "b7")
    assert r.code == 2 and "b7" in r.err


def test_plan_of_keeps_the_manifests_order_and_levels(tmp_path: Path) -> None:
    m = Manifest(
        (
            ManifestEntry("a", "1" * 40, "1.0"),
            ManifestEntry("c", "3" * 40, "3.0"),
            ManifestEntry("b", "2" * 40, "2.0", ("a",)),
            ManifestEntry("d", "4" * 40, "4.0", ("b", "c")),
        ),
        "b9",
    )
    plan = plan_of(m, tmp_path, FLAVOR)
    assert [p.name for p in plan.products] == ["a", "c", "b", "d"]
    assert [p.level for p in plan.products] == [0, 0, 1, 2]
    assert plan.resolution.top == ("d",)
    assert plan.manifest("b9").to_text() == m.to_text()
    late = Manifest(
        (ManifestEntry("b", "2" * 40, "2.0", ("a",)), ManifestEntry("a", "1" * 40, "1"))
    )
    with pytest.raises(InputError, match="listed after it"):
        plan_of(late, tmp_path, FLAVOR)
