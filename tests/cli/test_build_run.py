"""``scipipe build``: the sample stack built end to end from local git remotes, and faults.

Real git remotes, real builds (hook files and Python products with their unit tests), a
real EUPS stack on disk; a second process for the kill -9 and concurrency cases.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from scipipe_tools.demo.gitrepo import git
from scipipe_tools.demo.samplestack import Materialized, materialize
from scipipe_tools.stack.readers import read_manifest
from scipipe_tools.stack.stack import Stack
from scipipe_tools.stack.versiondb import VersionDb

from .conftest import Invoke

SCIPIPE = str(Path(sys.executable).parent / "scipipe")
FLAVOR = "Linux64"


def build_args(stack: Materialized, root: Path, *extra: str) -> list[str]:
    return ["build", *extra, "--repos", str(stack.repos_yaml), "--root", str(root), "-j", "2",
            "--exclusion-map", str(stack.exclusions), "--flavor", FLAVOR]  # fmt: skip


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, examples_dir: Path
) -> tuple[Materialized, Path]:
    """The whole sample stack built once (unit tests on), with a versiondb."""
    base = tmp_path_factory.mktemp("built")
    stack = materialize(examples_dir / "sample-stack", base / "remotes")
    root = base / "work"
    VersionDb.init(root / "versiondb")
    r = subprocess.run([SCIPIPE, *build_args(stack, root, "lsst_demo")], capture_output=True,
                       text=True, check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return stack, root


@pytest.fixture
def own_stack(tmp_path: Path, examples_dir: Path) -> Materialized:
    """A sample stack whose remotes this test may change."""
    return materialize(examples_dir / "sample-stack", tmp_path / "remotes", history=False)


def push_change(stack: Materialized, product: str, path: str, text: str, tmp: Path) -> None:
    work = tmp / f"edit-{product}-{time.monotonic_ns()}"
    git(["clone", "-q", str(stack.remotes[product]), str(work)])
    (work / path).parent.mkdir(parents=True, exist_ok=True)
    (work / path).write_text(text)
    git(["add", "-A"], cwd=work)
    git(["commit", "-q", "-m", f"change {path}"], cwd=work)
    git(["push", "-q", "origin", "HEAD:main"], cwd=work)


def test_full_build(built: tuple[Materialized, Path]) -> None:
    _, root = built
    stack = Stack(root / "stack", FLAVOR)
    manifest = read_manifest(root / "build" / "manifest.txt")
    assert manifest.build_id == "b1" and len(manifest) == 11
    for e in manifest.entries:
        assert stack.is_declared(e.name, e.version), e.name
        assert stack.tag_version(e.name, "b1") == e.version
        assert (
            (stack.product_dir(e.name, e.version) / "ups" / "pkginfo")
            .read_text()
            .endswith(f"SHA1={e.sha1}\n")
        )
    assert "b1" in stack.global_tags()
    status = json.loads((root / "build" / "status.json").read_text())
    assert {p["status"] for p in status["products"]} == {"built"}
    legacy = yaml.safe_load((root / "build" / "status.yaml").read_text())
    assert len(legacy["built"]) == 11 and legacy["failed_at"] is None
    suite = ET.parse(root / "build" / "junit.xml").getroot()
    assert suite.get("tests") == "11" and suite.get("failures") == "0"
    assert (root / "build" / "timeline.html").read_text().count("<rect") >= 11
    # build times kept for the next build's scheduling priorities
    durations = json.loads((root / "build" / "durations.json").read_text())
    assert set(durations) == set(manifest.names) and all(v >= 0 for v in durations.values())
    log = (root / "build" / "logs" / "utils.log").read_text()
    assert "-m pytest" in log or "unittest" in log
    # the installed table is pinned to what it was built against
    afw = manifest["afw"]
    table = (stack.product_dir("afw", afw.version) / "ups" / "afw.table").read_text()
    assert f"setupRequired(base            -j {manifest['base'].version})" in table
    # versiondb recorded it
    vdb = VersionDb(root / "versiondb")
    assert vdb.build_tags() == ["b1"]
    assert vdb.manifest_path("b1").read_text() == manifest.to_text()


def test_noop_rebuild_reuses_the_build_id(
    scipipe: Invoke, built: tuple[Materialized, Path]
) -> None:
    stack, root = built
    r = scipipe(*build_args(stack, root, "lsst_demo"), "--no-fetch", "--json")
    assert r.code == 0, r.err
    status = json.loads(r.out)
    assert {p["status"] for p in status["products"]} == {"already-installed"}
    assert "# BUILD ID: b1 (reused)" in r.err


def test_setup_after_build(built: tuple[Materialized, Path]) -> None:
    _, root = built
    script = (
        f'eval "$({SCIPIPE} setup meas_base --stack {root / "stack"} -t b1)" && '
        'python3 -c "import lsst_meas_base, lsst_afw; print(lsst_afw.__file__)" && echo "$AFW_DIR"'
    )
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    module, afw_dir = r.stdout.split()
    assert module.startswith(afw_dir + "/python/") and "/stack/Linux64/afw/g" in afw_dir


def test_tag_clone(scipipe: Invoke, built: tuple[Materialized, Path]) -> None:
    stack, root = built
    r = scipipe(*build_args(stack, root, "lsst_demo"), "--no-fetch", "-t", "current")
    assert r.code == 0, r.err
    s = Stack(root / "stack", FLAVOR)
    assert s.tagged("current") == s.tagged("b1") and len(s.tagged("current")) == 11


def test_prep_only_and_graph(scipipe: Invoke, built: tuple[Materialized, Path]) -> None:
    stack, root = built
    r = scipipe(*build_args(stack, root, "lsst_demo"), "--no-fetch", "-p", "--json")
    assert r.code == 0 and json.loads(r.out)["to_build"] == []
    dot = scipipe("build", "graph", "lsst_demo", "--sources", root / "sources")
    assert "digraph" in dot.out and '"afw" -> "base"' in dot.out
    svg = scipipe("build", "graph", "lsst_demo", "--sources", root / "sources", "--format", "svg")
    assert ET.fromstring(svg.out).tag.endswith("svg")


def test_failing_tests_skip_dependents_then_resume(
    scipipe: Invoke, own_stack: Materialized, tmp_path: Path
) -> None:
    root = tmp_path / "work"
    push_change(own_stack, "utils", "tests/test_broken.py", "def test_x():\n    assert 1 == 2\n",
                tmp_path)  # fmt: skip
    r = scipipe(*build_args(own_stack, root, "daf_base"))
    assert r.code == 8
    assert "*** error building product utils." in r.err and "Failed unit tests" in r.err
    status = json.loads((root / "build" / "status.json").read_text())
    by = {p["name"]: p for p in status["products"]}
    assert by["utils"]["status"] == "failed" and by["utils"]["tail"]
    assert by["base"]["status"] == "skipped" and by["daf_base"]["status"] == "skipped"
    assert (
        yaml.safe_load((root / "build" / "status.yaml").read_text())["failed_at"]["name"] == "utils"
    )
    assert not Stack(root / "stack", FLAVOR).versions("utils")  # nothing half-declared
    # fix it upstream: the rerun builds exactly what is missing
    push_change(own_stack, "utils", "tests/test_broken.py", "def test_x():\n    pass\n", tmp_path)
    r = scipipe(*build_args(own_stack, root, "daf_base"), "--json")
    assert r.code == 0, r.err
    assert {p["name"]: p["status"] for p in json.loads(r.out)["products"]} == {
        "utils": "built",
        "base": "built",
        "daf_base": "built",
    }


def test_failing_build_step(scipipe: Invoke, own_stack: Materialized, tmp_path: Path) -> None:
    push_change(own_stack, "afwdata", "ups/eupspkg.cfg.sh", "build() { echo nope; exit 3; }\n",
                tmp_path)  # fmt: skip
    r = scipipe(*build_args(own_stack, tmp_path / "w", "afwdata"))
    assert r.code == 8 and "afwdata: build failed with exit code 3" in r.err
    assert ":::::  " in r.err and "nope" in r.err


def test_kill_9_leaves_a_sound_stack_and_a_rerun_finishes(
    own_stack: Materialized, tmp_path: Path
) -> None:
    root = tmp_path / "work"
    pid_file = tmp_path / "step.pid"
    push_change(own_stack, "afwdata", "ups/eupspkg.cfg.sh",
                f'build() {{ sleep 60 & echo $! > {pid_file}; echo started; wait; }}\n',
                tmp_path)  # fmt: skip
    proc = subprocess.Popen([SCIPIPE, *build_args(own_stack, root, "afwdata")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    log = root / "build" / "logs" / "afwdata.log"
    deadline = time.monotonic() + 60
    while not (log.exists() and "started" in log.read_text()):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.1)
    # a second build of the same stack is refused while the first runs
    second = subprocess.run([SCIPIPE, *build_args(own_stack, root, "afwdata"), "--no-fetch"],
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert second.returncode == 7 and "a build is already running in" in second.stderr
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # SIGKILL cannot be passed on: the step (in a session of its own) is ours to end
    with contextlib.suppress(ProcessLookupError, ValueError):
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
    stack = Stack(root / "stack", FLAVOR)
    assert stack.versions("afwdata") == []
    assert not any((root / "stack" / FLAVOR / "afwdata").glob("g*"))
    push_change(own_stack, "afwdata", "ups/eupspkg.cfg.sh", "build() { :; }\n", tmp_path)
    r = subprocess.run([SCIPIPE, *build_args(own_stack, root, "afwdata")], capture_output=True,
                       text=True, check=False)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert len(Stack(root / "stack", FLAVOR).versions("afwdata")) == 1
    assert not list((root / "stack" / FLAVOR / "afwdata").glob(".*staging*"))


def test_unreachable_remote(scipipe: Invoke, tmp_path: Path) -> None:
    repos = tmp_path / "repos.yaml"
    repos.write_text("lonely: git://127.0.0.1:9/lonely.git\n")
    r = scipipe("build", "lonely", "--repos", repos, "--root", tmp_path / "w", "--tries", "1")
    assert r.code == 5, r.err
    assert "lonely" in r.err and "127.0.0.1:9" in r.err and "Traceback" not in r.err


def test_missing_ref(scipipe: Invoke, own_stack: Materialized, tmp_path: Path) -> None:
    r = scipipe(*build_args(own_stack, tmp_path / "w", "utils"), "-r", "tickets/DM-0000")
    assert r.code == 2
    assert "Did not checkout any products with the following refs: tickets/DM-0000" in r.err


@pytest.mark.parametrize("prefixed", [True, False])
def test_prebuilt_binary_is_used_and_verified(
    scipipe: Invoke, built: tuple[Materialized, Path], tmp_path: Path, prefixed: bool
) -> None:
    """An EUPS tarball (``utils/<v>/...``) or one of our older ones (the tree at the
    top): either way the product lands in its own folder, not nested."""
    from scipipe_tools.infra.archive import make_tarball, sha256_file

    stack, root = built
    manifest = read_manifest(root / "build" / "manifest.txt")
    version = manifest["utils"].version
    distrib = tmp_path / "distrib"
    tarball = distrib / f"utils-{version}@{FLAVOR}.tar.gz"
    arcname = f"utils/{version}" if prefixed else "."
    make_tarball(Stack(root / "stack", FLAVOR).product_dir("utils", version), tarball, arcname)
    (distrib / f"{tarball.name}.sha256").write_text(sha256_file(tarball) + "\n")
    r = scipipe(*build_args(stack, tmp_path / "w1", "utils"), "--binary-root", distrib, "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["products"][0]["status"] == "installed-binary"
    installed = Stack(tmp_path / "w1" / "stack", FLAVOR).product_dir("utils", version)
    assert (installed / "ups" / "utils.table").is_file() and not (installed / "utils").exists()
    (distrib / f"{tarball.name}.sha256").write_text("0" * 64 + "\n")  # tampered
    r = scipipe(*build_args(stack, tmp_path / "w2", "utils"), "--binary-root", distrib, "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["products"][0]["status"] == "built"
    r = scipipe(*build_args(stack, tmp_path / "w3", "utils"), "--binary-root", distrib, "-B",
                "--json")  # fmt: skip
    assert json.loads(r.out)["products"][0]["status"] == "built"


@pytest.mark.parametrize("fault", ["link-chain", "not-a-tarball"])
def test_hostile_prebuilt_binary_is_refused(
    scipipe: Invoke, built: tuple[Materialized, Path], tmp_path: Path, fault: str
) -> None:
    """A tarball with a valid checksum that would write outside its folder, or that is no
    tarball at all, is refused: the product is built from source and nothing else moves."""
    import io
    import tarfile

    from scipipe_tools.infra.archive import sha256_file

    stack, root = built
    version = read_manifest(root / "build" / "manifest.txt")["utils"].version
    distrib = tmp_path / "distrib"
    distrib.mkdir()
    tarball = distrib / f"utils-{version}@{FLAVOR}.tar.gz"
    if fault == "not-a-tarball":
        tarball.write_bytes(b"<html>not found</html>\n")
    else:
        with tarfile.open(tarball, "w:gz") as tar:
            for name, link in (("d", "."), ("e", "d/.."), ("f", "e/..")):
                m = tarfile.TarInfo(name)
                m.type, m.linkname = tarfile.SYMTYPE, link
                tar.addfile(m)
            m = tarfile.TarInfo("f/f/f/f/f/f/f/f/f/f/pwned.txt")
            m.size = 6
            tar.addfile(m, io.BytesIO(b"pwned\n"))
    (distrib / f"{tarball.name}.sha256").write_text(sha256_file(tarball) + "\n")
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    r = scipipe(*build_args(stack, tmp_path / "w", "utils"), "--binary-root", distrib, "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["products"][0]["status"] == "built"
    assert not list(tmp_path.parent.rglob("pwned.txt"))
    log = (tmp_path / "w" / "build" / "logs" / "utils.log").read_text()
    assert "binary refused" in log
    assert set(before) <= {str(p) for p in tmp_path.rglob("*")}


def test_a_link_out_of_the_product_is_never_installed(
    scipipe: Invoke, own_stack: Materialized, tmp_path: Path
) -> None:
    """A repository's link that leads out of the product's folder fails that product (and
    its dependents); nothing of it is declared."""
    work = tmp_path / "edit"
    git(["clone", "-q", str(own_stack.remotes["utils"]), str(work)])
    (work / "doc" / "escape").symlink_to("../../../..")
    git(["add", "-A"], cwd=work)
    git(["commit", "-q", "-m", "a link out"], cwd=work)
    git(["push", "-q", "origin", "HEAD:main"], cwd=work)
    r = scipipe(*build_args(own_stack, tmp_path / "w", "utils"), "--no-tests", "--json")
    assert r.code == 8, r.err
    (row,) = json.loads(r.out)["products"]
    assert row["status"] == "failed" and "doc/escape -> ../../../.. leaves its folder" in r.out
    stack = Stack(tmp_path / "w" / "stack", FLAVOR)
    assert stack.products() == []


def test_a_line_eups_skips_is_told_once_per_file(
    scipipe: Invoke, own_stack: Materialized, tmp_path: Path
) -> None:
    """A build reads base's table when planning, when building base and when setting up
    each of its dependents: one warning for the checkout's table, one for the installed
    copy, not one per reading."""
    push_change(own_stack, "base", "ups/base.table",
                "setupRequired(utils)\nthis is not a command\n", tmp_path)  # fmt: skip
    r = scipipe(*build_args(own_stack, tmp_path / "w", "afw"), "--no-tests")
    assert r.code == 0, r.err
    told = [line for line in r.err.splitlines() if "line skipped" in line]
    assert len(told) == 2, told
    assert "sources/base/ups/base.table:2:1" in told[0] and "/stack/" in told[1]
