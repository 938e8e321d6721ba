"""Real ``lsst-build prepare`` (lsst_build at ccab3aa) as the judge of ``scipipe build
--prep-only``: the same repos, refs, exclusion map, EUPS tags and versiondb give the same
``manifest.txt``, byte for byte (issue 14, part 1).

lsst-build is called as lsstsw's ``rebuild`` calls it: ``lsst-build prepare
--repos=etc/repos.yaml --exclusion-map=etc/exclusions.txt [--version-git-repo=versiondb]
[--ref R]... build/ PRODUCT`` with ``EUPS_PATH`` naming the stack whose ``bN`` tags the
build id must not reuse.  Each tool gets its own build directory, stack and versiondb,
made identical beforehand.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from scipipe_tools.demo.gitrepo import git
from scipipe_tools.demo.samplestack import Materialized, materialize
from scipipe_tools.stack.versiondb import VersionDb

from ..realtools import LsstBuild

SCIPIPE = str(Path(sys.executable).parent / "scipipe")
FLAVOR = "Linux64"


@dataclass(frozen=True)
class Sides:
    """One work area per tool: ``<side>/stack``, ``<side>/versiondb``, and the build dir
    (lsst-build: ``lsst/build``; scipipe: ``scipipe/build`` with checkouts in
    ``scipipe/sources``)."""

    base: Path

    @property
    def lsst(self) -> Path:
        return self.base / "lsst"

    @property
    def ours(self) -> Path:
        return self.base / "scipipe"

    def make(self, *, global_tags: str | None = None, versiondb: bool = False) -> None:
        for side in (self.lsst, self.ours):
            (side / "stack" / "ups_db").mkdir(parents=True)
            (side / "build").mkdir()
            if global_tags is not None:
                (side / "stack" / "ups_db" / "global.tags").write_text(global_tags)
        if versiondb:
            VersionDb.init(self.lsst / "versiondb")
            shutil.copytree(self.lsst / "versiondb", self.ours / "versiondb", symlinks=True)


def prepare_both(
    lsst_build: LsstBuild, sample: Materialized, sides: Sides, *extra: str, versiondb: bool = False
) -> tuple[bytes, bytes]:
    """Run both tools; their manifests, as bytes (lsst-build's first)."""
    common = ["--exclusion-map", str(sample.exclusions), *extra]
    lsst = ["prepare", "--repos", str(sample.repos_yaml), *common]
    if versiondb:
        lsst += ["--version-git-repo", str(sides.lsst / "versiondb")]
    lsst_build.run([*lsst, str(sides.lsst / "build"), "lsst_demo"], stack=sides.lsst / "stack",
                   cwd=sides.lsst)  # fmt: skip
    ours = [SCIPIPE, "build", "lsst_demo", "--prep-only", "--repos", str(sample.repos_yaml),
            "--root", str(sides.ours), "--flavor", FLAVOR, *common]  # fmt: skip
    if not versiondb:
        assert not (sides.ours / "versiondb").exists()  # so --root does not pick one up
    r = subprocess.run(ours, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    theirs = (sides.lsst / "build" / "manifest.txt").read_bytes()
    return theirs, (sides.ours / "build" / "manifest.txt").read_bytes()


def build_line(manifest: bytes) -> str:
    return next(line for line in manifest.decode().splitlines() if line.startswith("BUILD="))


def test_prepare_writes_the_same_manifest(
    lsst_build: LsstBuild, sample_stack: Materialized, tmp_path: Path
) -> None:
    sides = Sides(tmp_path)
    sides.make()
    theirs, ours = prepare_both(lsst_build, sample_stack, sides)
    assert ours == theirs
    assert build_line(ours) == "BUILD=b1"
    assert len(ours.decode().splitlines()) == 13  # header, BUILD=, 11 products


def test_prepare_with_refs_writes_the_same_manifest(
    lsst_build: LsstBuild, sample_stack: Materialized, tmp_path: Path
) -> None:
    """Each repository gets the first ref it has (DM-44900: base, geom, meas_base, utils;
    DM-43388: afw, log, pex_config), else its default branch; versions change with it."""
    sides = Sides(tmp_path)
    sides.make()
    refs = ["--ref", "tickets/DM-44900", "--ref", "tickets/DM-43388"]
    theirs, ours = prepare_both(lsst_build, sample_stack, sides, *refs)
    assert ours == theirs
    plain = Sides(tmp_path / "plain")
    plain.make()
    assert prepare_both(lsst_build, sample_stack, plain)[1] != ours


def test_prepare_with_versiondb_and_build_tags(
    lsst_build: LsstBuild, sample_stack: Materialized, tmp_path: Path
) -> None:
    """The build id is the highest ``b`` git tag of the versiondb + 1, skipping ids the
    stack already has as EUPS tags; both tools record the manifest in the versiondb."""
    sides = Sides(tmp_path)
    sides.make(global_tags="b1 b2 b3 current\n", versiondb=True)
    for side in (sides.lsst, sides.ours):
        git(["tag", "-a", "-m", "an older build", "b2"], cwd=side / "versiondb")
    theirs, ours = prepare_both(lsst_build, sample_stack, sides, versiondb=True)
    assert ours == theirs
    assert build_line(ours) == "BUILD=b4"
    for name in ("b4.txt", "content_sha.db.txt"):
        lsst_file = sides.lsst / "versiondb" / "manifests" / name
        assert (
            sides.ours / "versiondb" / "manifests" / name
        ).read_bytes() == lsst_file.read_bytes()
    assert (sides.ours / "versiondb" / "manifests" / "b4.txt").read_bytes() == ours
    for side in (sides.lsst, sides.ours):
        assert git(["log", "-1", "--format=%s"], cwd=side / "versiondb") == "Updates for build b4."
        assert git(["tag", "-l", "b*"], cwd=side / "versiondb").split() == ["b2", "b4"]


def test_prepare_again_after_a_push(
    lsst_build: LsstBuild, examples_dir: Path, tmp_path: Path
) -> None:
    """A second prepare over the same checkouts fetches, resets and versions the same."""
    sample = materialize(examples_dir / "sample-stack", tmp_path / "remotes", history=False)
    sides = Sides(tmp_path / "work")
    sides.make()
    first = prepare_both(lsst_build, sample, sides)
    assert first[1] == first[0]
    work = tmp_path / "edit"
    git(["clone", "-q", str(sample.remotes["utils"]), str(work)])
    (work / "CHANGES.txt").write_text(f"# {time.monotonic_ns()}\n")
    git(["add", "-A"], cwd=work)
    git(["commit", "-q", "-m", "a change to utils"], cwd=work)
    git(["push", "-q", "origin", "HEAD:main"], cwd=work)
    second = prepare_both(lsst_build, sample, sides)
    assert second[1] == second[0]
    assert second[1] != first[1]  # utils and everything above it have new versions
