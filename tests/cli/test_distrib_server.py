"""``scipipe distrib publish|install``: the sample stack built for real, published, served
by a real HTTP server on 127.0.0.1 and installed into fresh stacks; then the faults.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scipipe_tools.cli.app import cli, run
from scipipe_tools.demo.samplestack import materialize
from scipipe_tools.distrib.manifest import parse_dist_manifest
from scipipe_tools.distrib.pkginfo import parse_pkginfo
from scipipe_tools.eups.manifest import Manifest
from scipipe_tools.eups.taglist import parse_taglist
from scipipe_tools.infra.lock import StackLock
from scipipe_tools.names import serverlayout as layout
from scipipe_tools.stack.readers import read_manifest
from scipipe_tools.stack.stack import Stack
from tests.support.httpserver import StaticServer, closed_port

from .conftest import Invoke

SCIPIPE = str(Path(sys.executable).parent / "scipipe")
FLAVOR = "Linux64"
TAG = "w_2025_02"
RUBIN_ENV = "13.0.1"
BIN_PATH = layout.binary_root_path("linux-64", RUBIN_ENV)
ENV_TEXT = (
    "# platform: linux-64\n@EXPLICIT\n"
    f"https://conda.anaconda.org/conda-forge/linux-64/rubin-env-{RUBIN_ENV}-h0_0.conda#{'0' * 32}\n"
)


@dataclass(frozen=True)
class Served:
    work: Path
    srv: Path
    url: str
    manifest: Manifest
    env_file: Path

    @property
    def stack(self) -> Path:
        return self.work / "stack"

    @property
    def plain(self) -> Path:
        return self.srv / "plain"

    def publish_args(self, *extra: str) -> list[str]:
        return ["distrib", "publish", "-b", "b1", "--stack", str(self.stack), "--flavor", FLAVOR,
                *extra, "lsst_demo"]  # fmt: skip


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, examples_dir: Path) -> Iterator[Served]:
    """The sample stack built once (b1), published twice (one root; an EUPS tree), served."""
    base = tmp_path_factory.mktemp("distrib")
    sample = materialize(examples_dir / "sample-stack", base / "remotes", history=False)
    work = base / "work"
    build = [SCIPIPE, "build", "lsst_demo", "--repos", str(sample.repos_yaml), "--root", str(work),
             "-j", "2", "--no-tests", "--exclusion-map", str(sample.exclusions), "--flavor", FLAVOR]  # fmt: skip
    r = subprocess.run(build, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    env_file = base / "rubin-env.explicit"
    env_file.write_text(ENV_TEXT)
    srv = base / "srv"
    s = Served(work, srv, "", read_manifest(work / "build" / "manifest.txt"), env_file)
    common = ["--sources", str(work / "sources"), "-t", TAG, "--env-file", str(env_file)]
    assert run(cli, s.publish_args(*common, "--server-dir", str(srv / "plain"),
                                   "--rolling", "w_latest"), "scipipe") == 0  # fmt: skip
    assert run(cli, s.publish_args(*common, "--eups-root", str(srv / "eups"),
                                   "--platform", "linux-64"), "scipipe") == 0  # fmt: skip
    with StaticServer(srv) as server:
        yield Served(work, srv, server.url, s.manifest, env_file)


@pytest.fixture(autouse=True)
def _no_env_roots(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EUPS_PKGROOT", raising=False)
    monkeypatch.delenv("EUPS_PATH", raising=False)


@pytest.fixture
def own_root(served: Served, tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A copy of the plain root that this test may damage, served on its own port."""
    root = tmp_path / "root"
    shutil.copytree(served.plain, root)
    with StaticServer(root) as server:
        yield root, server.url


def install_args(root: str, stack: Path, *extra: str) -> list[str]:
    return ["distrib", "install", "-t", TAG, "--root", root, "--stack", str(stack),
            "--flavor", FLAVOR, *extra, "lsst_demo"]  # fmt: skip


def stack_contents(stack: Path) -> list[str]:
    """Everything an install could have left in a stack (products, declarations, debris)."""
    if not stack.exists():
        return []
    skip = {"site", "ups_db", ".scipipe-build.lock"}
    found = [str(p.relative_to(stack)) for p in stack.iterdir() if p.name not in skip]
    if (stack / "ups_db").exists():
        found += [f"ups_db/{p.name}" for p in (stack / "ups_db").iterdir()]
    return sorted(found)


def snapshot(tree: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p): (p.stat().st_mtime_ns, p.stat().st_size) for p in tree.rglob("*") if p.is_file()
    }


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- publish --------------------------------------------------------------------------


def test_published_root(served: Served) -> None:
    root, m = served.plain, served.manifest
    text = (root / "tags" / f"{TAG}.list").read_text()
    assert not (root / f"{TAG}.list").exists()  # a root with sources: its LIST_URL is tags/
    tl = parse_taglist(text, f"{TAG}.list")
    assert tl.build_id == "b1" and tl.conda_env == RUBIN_ENV
    assert tl.products() == {e.name: e.version for e in m.entries}
    assert {r.flavor for r in tl.rows} == {"generic"}  # the root carries sources
    rolling = parse_taglist((root / "tags" / "w_latest.list").read_text(), "w_latest.list")
    assert rolling.rows == tl.rows and rolling.build_id == "b1"
    assert not list(root.rglob("b1.list"))  # -t renames
    assert (root / "env" / f"{TAG}.env").read_text() == ENV_TEXT
    assert (root / "env" / "w_latest.env").read_text() == ENV_TEXT
    assert "eups.distrib.eupspkg.Distrib" in (root / "config.txt").read_text()
    for e in m.entries:
        tarball = root / layout.tarball(e.name, e.version, FLAVOR)
        digest = (root / layout.sha256_of(tarball.name)).read_text().split()[0]
        assert digest == sha256(tarball)
        installed = Stack(served.stack, FLAVOR).product_dir(e.name, e.version)
        with tarfile.open(tarball) as tar:  # as EUPS makes them: <p>/<v>/...
            names = tar.getnames()
        assert names[0] == f"{e.name}/{e.version}"
        assert all(n.startswith(f"{e.name}/{e.version}/") for n in names[1:])
        assert f"{e.name}/{e.version}/ups/{e.name}.table" in names
        assert (root / layout.table(e.name, e.version)).read_text() == (
            installed / "ups" / f"{e.name}.table"
        ).read_text()
        with tarfile.open(root / layout.eupspkg(e.name, e.version)) as tar:  # <p>-<v>/...
            top = f"{e.name}-{e.version}"
            assert {n.split("/")[0] for n in tar.getnames()} == {top}
            pkginfo = tar.extractfile(f"{top}/ups/pkginfo")
            assert pkginfo is not None
            info = parse_pkginfo(pkginfo.read().decode())
        assert info["SHA1"] == info["REPOVERSION"] == e.sha1 and info["SOURCE"] == "package"
        assert (info["PRODUCT"], info["VERSION"], info["FLAVOR"]) == (e.name, e.version, "generic")


def test_manifests_are_deepest_first(served: Served) -> None:
    m = served.manifest
    deps = m.graph()
    for e in m.entries:
        for rel in (layout.binary_manifest(e.name, e.version, FLAVOR),
                    layout.source_manifest(e.name, e.version)):  # fmt: skip
            dm = parse_dist_manifest((served.plain / rel).read_text(), rel)
            order = [r.product for r in dm.rows]
            assert order[-1] == e.name and dm.rows[-1].version == e.version
            for i, p in enumerate(order):
                assert set(deps[p]) <= set(order[:i]), (rel, p)  # dependencies come first
    demo = parse_dist_manifest(
        (
            served.plain / layout.binary_manifest("lsst_demo", m["lsst_demo"].version, FLAVOR)
        ).read_text()
    )
    assert len(demo.rows) == 11
    assert {r.dist_id for r in demo.rows} == {
        layout.tarball(e.name, e.version, FLAVOR) for e in m.entries
    }
    utils = layout.source_manifest("utils", m["utils"].version)
    assert [r.product for r in parse_dist_manifest((served.plain / utils).read_text()).rows] == [
        "utils"
    ]


def test_eups_root_layout(served: Served) -> None:
    binary, source = served.srv / "eups" / BIN_PATH, served.srv / "eups" / "src"
    assert BIN_PATH == "redhat/el7/conda-system/miniconda3-py38_4.9.2-13.0.1"
    bl = parse_taglist((binary / f"{TAG}.list").read_text(), f"{TAG}.list")
    sl = parse_taglist((source / "tags" / f"{TAG}.list").read_text(), f"{TAG}.list")
    assert {r.flavor for r in bl.rows} == {r.flavor for r in sl.rows} == {"generic"}
    assert not (binary / "tags").exists() and not (source / f"{TAG}.list").exists()
    assert bl.products() == sl.products() == {e.name: e.version for e in served.manifest.entries}
    assert len(list(binary.glob("*.tar.gz"))) == 11 and not list(binary.glob("products/*"))
    assert len(list(source.glob("products/*.eupspkg"))) == 11 and not list(source.glob("*.tar.gz"))
    assert "tarball" in (binary / "config.txt").read_text()
    assert "eupspkg" in (source / "config.txt").read_text()
    assert (binary / "env" / f"{TAG}.env").read_text() == ENV_TEXT


def test_publish_again_rewrites_nothing(scipipe: Invoke, served: Served) -> None:
    before = snapshot(served.plain)
    r = scipipe(*served.publish_args("--server-dir", str(served.plain), "--sources",
                                     str(served.work / "sources"), "-t", TAG, "--rolling",
                                     "w_latest", "--env-file", str(served.env_file), "--json"))  # fmt: skip
    assert r.code == 0, r.err
    assert {f["action"] for f in json.loads(r.out)["files"]} == {"exists"}
    assert snapshot(served.plain) == before


def test_publish_renames_the_build_list(scipipe: Invoke, served: Served, tmp_path: Path) -> None:
    root = tmp_path / "root"
    args = ["--server-dir", str(root), "--conda-env", RUBIN_ENV]
    assert scipipe(*served.publish_args(*args)).code == 0
    assert parse_taglist((root / "b1.list").read_text(), "b1.list").build_id == "b1"
    assert not (root / "env").exists()  # no env file given
    assert "tarball" in (root / "config.txt").read_text()  # binaries only
    tarballs = snapshot(root)
    r = scipipe(*served.publish_args(*args, "-t", "w_2025_03"))
    assert r.code == 0, r.err
    assert "delete" in r.out and not list(root.rglob("b1.list"))
    tl = parse_taglist((root / "w_2025_03.list").read_text(), "w_2025_03.list")
    assert tl.build_id == "b1" and tl.conda_env == RUBIN_ENV and len(tl.rows) == 11
    assert {r.flavor for r in tl.rows} == {"generic"}
    kept = {k: v for k, v in snapshot(root).items() if k.endswith((".tar.gz", ".manifest"))}
    assert kept == {k: v for k, v in tarballs.items() if k.endswith((".tar.gz", ".manifest"))}


def test_republish_over_what_older_scipipe_published(
    scipipe: Invoke, served: Served, tmp_path: Path
) -> None:
    """A root published before tarballs carried <p>/<v>/ and manifests named tables as
    EUPS does: those files stay (immutable, still installable); publishing the same
    build again succeeds, and what it installs is not nested."""
    from scipipe_tools.infra.archive import make_tarball

    root = tmp_path / "root"
    args = ["--server-dir", str(root), "--conda-env", RUBIN_ENV, "--json"]
    assert scipipe(*served.publish_args(*args)).code == 0
    version = served.manifest["utils"].version
    tarball = root / layout.tarball("utils", version, FLAVOR)
    make_tarball(Stack(served.stack, FLAVOR).product_dir("utils", version), tarball)  # unprefixed
    (root / layout.sha256_of(tarball.name)).write_text(f"{sha256(tarball)}  {tarball.name}\n")
    for m in root.glob("manifests/*.manifest"):  # the older table names and header
        text = re.sub(r"(\w+)-g[0-9a-f]+(\+[0-9a-f]+)?\.table", r"\1.table", m.read_text())
        m.write_text("\n".join(line for line in text.splitlines() if "Creator" not in line))
    before = snapshot(root)
    r = scipipe(*served.publish_args(*args))
    assert r.code == 0, r.err
    written = {f["path"] for f in json.loads(r.out)["files"] if f["action"] != "exists"}
    assert not [p for p in written if p.endswith((".manifest", ".tar.gz", ".sha256"))]
    assert {k: v for k, v in snapshot(root).items() if k.endswith((".manifest", ".tar.gz"))} == {
        k: v for k, v in before.items() if k.endswith((".manifest", ".tar.gz"))
    }
    target = tmp_path / "stack"
    r = scipipe("distrib", "install", "-t", "b1", "--root", str(root), "--stack", str(target),
                "--flavor", FLAVOR, "pipe_base")  # fmt: skip
    assert r.code == 0, r.err
    installed = Stack(target, FLAVOR).product_dir("utils", version)
    assert (installed / "ups" / "utils.table").is_file() and not (installed / "utils").exists()


def test_publish_dry_run_writes_nothing(scipipe: Invoke, served: Served, tmp_path: Path) -> None:
    root = tmp_path / "root"
    r = scipipe(*served.publish_args("--server-dir", str(root), "--conda-env", RUBIN_ENV,
                                     "--dry-run", "--sources", str(served.work / "sources")))  # fmt: skip
    assert r.code == 0, r.err
    assert "would write" in r.out and "products/lsst_demo-" in r.out
    assert not root.exists()


def test_publish_errors(scipipe: Invoke, served: Served, tmp_path: Path) -> None:
    root = tmp_path / "root"
    base = ["distrib", "publish", "--stack", str(served.stack), "--flavor", FLAVOR,
            "--server-dir", str(root), "--conda-env", RUBIN_ENV]  # fmt: skip
    r = scipipe(*base, "-b", "b9", "lsst_demo")
    assert r.code == 3 and "no build b9" in r.err
    r = scipipe(*base, "-b", "b1", "lsst_dmo")
    assert r.code == 3 and "lsst_dmo is not tagged b1" in r.err and "lsst_demo" in r.err
    r = scipipe(*served.publish_args("--server-dir", str(root)))
    assert r.code == 2 and "--conda-env" in r.err
    assert not root.exists()
    # published bytes are immutable: a tarball that no longer matches its checksum
    assert scipipe(*base, "-b", "b1", "utils").code == 0
    tarball = next(root.glob("utils-*.tar.gz"))
    tarball.write_bytes(tarball.read_bytes() + b"x")
    r = scipipe(*base, "-b", "b1", "utils")
    assert r.code == 6 and "does not match" in r.err


# --- install --------------------------------------------------------------------------


def test_install_over_http(scipipe: Invoke, served: Served, tmp_path: Path) -> None:
    target = tmp_path / "stack"
    r = scipipe(*install_args(f"{served.url}/plain", target, "--json"))
    assert r.code == 0, r.err
    # stderr is not a terminal: a plain line per download and per product installed
    assert "downloading: 11 to do" in r.err.splitlines()
    assert re.search(r"^installing \[11/11\] lsst_demo \S+$", r.err, re.M), r.err
    result = json.loads(r.out)
    assert [row["action"] for row in result["rows"]] == ["binary"] * 11
    assert result["rows"][-1]["product"] == "lsst_demo" and result["rows"][-1]["top"]
    assert set(result["tags"]) == {TAG, "w_latest"}
    stack, built = Stack(target, FLAVOR), Stack(served.stack, FLAVOR)
    for e in served.manifest.entries:
        assert stack.versions(e.name) == [e.version]
        assert stack.tag_version(e.name, TAG) == e.version
        assert stack.tag_version(e.name, "w_latest") == e.version
        assert stack.tag_version(e.name, "current") is None
        table = stack.table_path(e.name, e.version)
        assert table is not None
        assert table.read_text() == (built.table_path(e.name, e.version) or Path()).read_text()
    assert set(stack.global_tags()) == {TAG, "w_latest"}
    assert stack_contents(target) == sorted([FLAVOR] + [f"ups_db/{p}" for p in
                                            ["global.tags", *served.manifest.names]])  # fmt: skip
    assert not list(target.rglob("*staging*"))
    script = (f'eval "$({SCIPIPE} setup lsst_demo -t {TAG} --stack {target} --flavor {FLAVOR})" '
              '&& python3 -c "import lsst_meas_base, lsst_afw; print(lsst_afw.__file__)"')  # fmt: skip
    sh = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)
    assert sh.returncode == 0, sh.stderr
    assert sh.stdout.startswith(str(target / FLAVOR / "afw"))
    # a second install is a no-op
    before = snapshot(target)
    r = scipipe(*install_args(f"{served.url}/plain", target, "--json"))
    assert r.code == 0, r.err
    assert {row["action"] for row in json.loads(r.out)["rows"]} == {"skip"}
    assert json.loads(r.out)["installed"] == []
    assert {k: v for k, v in snapshot(target).items() if "lock" not in k} == {
        k: v for k, v in before.items() if "lock" not in k
    }


def test_install_only_tag_and_current(scipipe: Invoke, served: Served, tmp_path: Path) -> None:
    target = tmp_path / "stack"
    r = scipipe(*install_args(f"{served.url}/plain", target, "-U", "-C"))
    assert r.code == 0, r.err
    stack = Stack(target, FLAVOR)
    assert set(stack.global_tags()) == {TAG, "current"}
    assert (
        stack.tagged("current")
        == stack.tagged(TAG)
        == {e.name: e.version for e in served.manifest.entries}
    )
    assert stack.tagged("w_latest") == {}


def test_install_rolling_tag_from_local_root(
    scipipe: Invoke, served: Served, tmp_path: Path
) -> None:
    target = tmp_path / "stack"
    r = scipipe("distrib", "install", "-t", "w_latest", "--root", str(served.plain), "--stack",
                str(target), "--flavor", FLAVOR, "pipe_base")  # fmt: skip
    assert r.code == 0, r.err
    stack = Stack(target, FLAVOR)
    expected = {"base", "daf_base", "log", "pex_config", "pipe_base", "utils"}
    assert set(stack.tagged("w_latest")) == expected == set(stack.tagged(TAG))


def test_binary_before_source(
    scipipe: Invoke, served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = tmp_path / "eups"
    shutil.copytree(served.srv / "eups", tree)
    version = served.manifest["pipe_base"].version
    for name in (layout.tarball("pipe_base", version, FLAVOR),) * 1:
        (tree / BIN_PATH / name).unlink()
        (tree / BIN_PATH / layout.sha256_of(name)).unlink()
    target = tmp_path / "stack"
    with StaticServer(tree) as server:
        bin_url, src_url = f"{server.url}/{BIN_PATH}", f"{server.url}/src"
        monkeypatch.setenv("EUPS_PKGROOT", f"{bin_url}|{src_url}")
        monkeypatch.setenv("EUPS_PATH", str(target))
        r = scipipe("distrib", "install", "-t", TAG, "--flavor", FLAVOR, "--json", "lsst_demo")
    assert r.code == 0, r.err
    rows = {row["product"]: row for row in json.loads(r.out)["rows"]}
    assert rows["pipe_base"]["action"] == "source" and rows["pipe_base"]["root"] == src_url
    assert all(row["action"] == "binary" and row["root"] == bin_url
               for p, row in rows.items() if p != "pipe_base")  # fmt: skip
    stack = Stack(target, FLAVOR)
    assert stack.tag_version("pipe_base", TAG) == version
    installed = stack.product_dir("pipe_base", version)
    assert (installed / "python" / "lsst_pipe_base" / "__init__.py").is_file()
    assert (installed / "ups" / "pipe_base.table").read_text() == (
        tree / "src" / layout.table("pipe_base", version)
    ).read_text()
    script = (f'eval "$({SCIPIPE} setup pipe_base -t {TAG} --stack {target} --flavor {FLAVOR})" '
              '&& python3 -c "import lsst_pipe_base, lsst_daf_base"')  # fmt: skip
    sh = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)
    assert sh.returncode == 0, sh.stderr


def test_source_package_installed_by_plain_copy(
    scipipe: Invoke, served: Served, tmp_path: Path
) -> None:
    """A product with nothing to build (data, a metapackage) is installed from its source
    package by a copy: it has a build log too, and a rerun has nothing to do."""
    tree = tmp_path / "eups"
    shutil.copytree(served.srv / "eups", tree)
    for product in ("lsst_demo", "afwdata"):
        name = layout.tarball(product, served.manifest[product].version, FLAVOR)
        (tree / BIN_PATH / name).unlink()
        (tree / BIN_PATH / layout.sha256_of(name)).unlink()
    target = tmp_path / "stack"
    with StaticServer(tree) as server:
        roots = f"{server.url}/{BIN_PATH}|{server.url}/src"
        args = ["distrib", "install", "-t", TAG, "--root", roots, "--stack", str(target),
                "--flavor", FLAVOR, "--json", "lsst_demo"]  # fmt: skip
        r = scipipe(*args)
        assert r.code == 0, r.err
        rows = {row["product"]: row["action"] for row in json.loads(r.out)["rows"]}
        assert rows["lsst_demo"] == rows["afwdata"] == "source"
        again = scipipe(*args)
    assert again.code == 0, again.err
    assert {row["action"] for row in json.loads(again.out)["rows"]} == {"skip"}
    stack = Stack(target, FLAVOR)
    for product in ("lsst_demo", "afwdata"):
        installed = stack.product_dir(product, served.manifest[product].version)
        assert (installed / "ups" / "_build.log").is_file()
        assert (installed / "ups" / f"{product}.table").is_file()


def test_failed_source_build_declares_nothing_of_it(
    scipipe: Invoke, served: Served, tmp_path: Path
) -> None:
    tree = tmp_path / "eups"
    shutil.copytree(served.srv / "eups", tree)
    version = served.manifest["log"].version
    name = layout.tarball("log", version, FLAVOR)
    for path in (tree / BIN_PATH / name, tree / BIN_PATH / layout.sha256_of(name)):
        path.unlink()
    # a source package whose build fails (and a checksum that matches it)
    pkg = tree / "src" / layout.eupspkg("log", version)
    with tarfile.open(pkg, "w:gz") as tar:
        hook = b"build() { echo broken build; exit 3; }\n"
        info = tarfile.TarInfo("ups/eupspkg.cfg.sh")
        info.size = len(hook)
        tar.addfile(info, io.BytesIO(hook))
    pkg.with_name(pkg.name + ".sha256").write_text(f"{sha256(pkg)}  {pkg.name}\n")
    target = tmp_path / "stack"
    with StaticServer(tree) as server:
        roots = f"{server.url}/{BIN_PATH}|{server.url}/src"
        r = scipipe(*install_args(roots, target))
    assert r.code == 8 and f"log {version}: building the source package failed" in r.err
    assert "broken build" in r.err  # the log's tail
    stack = Stack(target, FLAVOR)
    assert stack.versions("log") == [] and not stack.product_dir("log", version).exists()
    assert stack.versions("base") == [served.manifest["base"].version]  # before it: complete
    assert stack.tagged(TAG) == {}  # tags go on only when everything is in
    assert not list(target.glob(".distrib-*"))


def test_source_package_of_another_version_installs_nothing(
    scipipe: Invoke, served: Served, tmp_path: Path
) -> None:
    """A package whose pkginfo names another version than the manifest: refused while
    staging, before anything (even what comes before it) is declared."""
    tree = tmp_path / "eups"
    shutil.copytree(served.srv / "eups", tree)
    version = served.manifest["log"].version
    name = layout.tarball("log", version, FLAVOR)
    for path in (tree / BIN_PATH / name, tree / BIN_PATH / layout.sha256_of(name)):
        path.unlink()
    pkg = tree / "src" / layout.eupspkg("log", version)
    with tarfile.open(pkg, "w:gz") as tar:
        info = b"PRODUCT='log'\nVERSION='g0000000000'\nFLAVOR='generic'\nSOURCE='package'\n"
        member = tarfile.TarInfo(f"log-{version}/ups/pkginfo")
        member.size = len(info)
        tar.addfile(member, io.BytesIO(info))
    pkg.with_name(pkg.name + ".sha256").write_text(f"{sha256(pkg)}  {pkg.name}\n")
    target = tmp_path / "stack"
    with StaticServer(tree) as server:
        r = scipipe(*install_args(f"{server.url}/{BIN_PATH}|{server.url}/src", target))
    assert r.code == 6 and "its source package says VERSION=g0000000000" in r.err
    assert stack_contents(target) == []


def test_install_selection_and_dry_run(scipipe: Invoke, served: Served, tmp_path: Path) -> None:
    target, root = tmp_path / "stack", f"{served.url}/plain"
    r = scipipe(*install_args(root, target, "--dry-run"))
    assert r.code == 0, r.err
    assert "lsst_demo" in r.out and "binary" in r.out and "would install" in r.err
    assert not target.exists()
    r = scipipe(*install_args(root, target, "--dry-run", "--json", "--no-deps"))
    assert [row["product"] for row in json.loads(r.out)["rows"]] == ["lsst_demo"]
    r = scipipe(*install_args(root, target, "--dry-run", "--json", "--deps-only"))
    assert len(json.loads(r.out)["rows"]) == 10
    assert "lsst_demo" not in [row["product"] for row in json.loads(r.out)["rows"]]
    version = served.manifest["lsst_demo"].version
    assert scipipe(*install_args(root, target, "--dry-run"), version).code == 0
    r = scipipe(*install_args(root, target, "--dry-run"), "g0000000000")
    assert r.code == 3 and f"has lsst_demo {version}, not g0000000000" in r.err
    assert not target.exists()


# --- faults ---------------------------------------------------------------------------


def replace_tarball(root: Path, product: str, version: str, *members: tarfile.TarInfo) -> None:
    """Put a tarball with these members (and a matching .sha256) in place of the real one."""
    name = layout.tarball(product, version, FLAVOR)
    with tarfile.open(root / name, "w:gz") as tar:
        for m in members:
            data = b"evil\n" if m.isfile() else b""
            m.size = len(data)
            tar.addfile(m, io.BytesIO(data) if m.isfile() else None)
    (root / layout.sha256_of(name)).write_text(f"{sha256(root / name)}  {name}\n")


def entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    m = tarfile.TarInfo(name)
    m.type, m.linkname = kind, link
    return m


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("tampered", "checksum mismatch"),
        ("dotdot", "leaves the target directory"),
        ("symlink", "refusing link"),
        ("absolute", "leaves the target directory"),
        ("chain", "placed through a link"),
        ("not-a-tarball", "not a readable tar archive"),
        ("truncated", "not a readable tar archive: it ends early"),
        ("too-many", "more than 3 members"),
    ],
)
def test_bad_artifact_installs_nothing(
    scipipe: Invoke, served: Served, own_root: tuple[Path, str], tmp_path: Path, fault: str,
    message: str, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    root, url = own_root
    version = served.manifest["afw"].version
    tarball = root / layout.tarball("afw", version, FLAVOR)
    if fault == "tampered":
        tarball.write_bytes(tarball.read_bytes()[:-10] + b"0123456789")
    elif fault == "chain":  # each link text stays inside; `e` is the folder above the top
        replace_tarball(root, "afw", version, entry("d", tarfile.SYMTYPE, "."),
                        entry("e", tarfile.SYMTYPE, "d/.."), entry("e/evil"))  # fmt: skip
    elif fault in ("not-a-tarball", "truncated"):
        data = b"<html>503</html>\n" if fault == "not-a-tarball" else tarball.read_bytes()[:200]
        tarball.write_bytes(data)
        (root / layout.sha256_of(tarball.name)).write_text(f"{sha256(tarball)}  {tarball.name}\n")
    elif fault == "too-many":
        monkeypatch.setenv("SCIPIPE_ARCHIVE_MAX_MEMBERS", "3")
    elif fault == "dotdot":
        replace_tarball(root, "afw", version, entry("ups/afw.table"), entry("../../evil"))
    elif fault == "symlink":
        replace_tarball(root, "afw", version, entry("python", tarfile.DIRTYPE),
                        entry("python/escape", tarfile.SYMTYPE, "../../../../etc"))  # fmt: skip
    else:
        replace_tarball(root, "afw", version, entry("/tmp/evil"))
    target = tmp_path / "stack"
    r = scipipe(*install_args(url, target))
    assert r.code == 6, r.err
    assert message in r.err
    assert f"-{version}@{FLAVOR}.tar.gz" in r.err or fault == "too-many"
    assert stack_contents(target) == []
    assert not (tmp_path / "evil").exists()
    # after the progress lines (stderr is not a terminal), the error and its hint only
    error = r.err[r.err.index("error: ") :]
    assert "Traceback" not in r.err and len(error.strip().splitlines()) <= 2, r.err


def test_tag_list_naming_another_tag(
    scipipe: Invoke, own_root: tuple[Path, str], tmp_path: Path
) -> None:
    root, url = own_root
    (root / "tags" / "w_bad.list").write_text((root / "tags" / f"{TAG}.list").read_text())
    r = scipipe("distrib", "install", "-t", "w_bad", "--root", url, "--stack",
                str(tmp_path / "s"), "--flavor", FLAVOR, "lsst_demo")  # fmt: skip
    assert r.code == 2
    assert f"{url}/tags/w_bad.list:1: header names tag '{TAG}', expected 'w_bad'" in r.err


def test_unknown_tag_and_product(scipipe: Invoke, served: Served, tmp_path: Path) -> None:
    base = ["distrib", "install", "--root", f"{served.url}/plain", "--stack", str(tmp_path / "s"),
            "--flavor", FLAVOR]  # fmt: skip
    r = scipipe(*base, "-t", "w_2025_20", "lsst_demo")
    assert r.code == 3 and "unknown tag 'w_2025_20'" in r.err and "w_2025_02" in r.err
    r = scipipe(*base, "-t", TAG, "lsst_dem")
    assert r.code == 3 and "lsst_dem is not in tag" in r.err and "'lsst_demo'" in r.err
    assert not (tmp_path / "s").exists()


def test_missing_artifact(
    scipipe: Invoke, served: Served, own_root: tuple[Path, str], tmp_path: Path
) -> None:
    root, url = own_root
    version = served.manifest["utils"].version
    (root / layout.tarball("utils", version, FLAVOR)).unlink()
    (root / layout.eupspkg("utils", version)).unlink()
    r = scipipe(*install_args(url, tmp_path / "stack"))
    assert r.code == 3 and f"utils {version}" in r.err and "no root has" in r.err
    assert stack_contents(tmp_path / "stack") == []


def test_network_faults(scipipe: Invoke, served: Served, tmp_path: Path) -> None:
    target = tmp_path / "stack"
    r = scipipe(*install_args(f"http://127.0.0.1:{closed_port()}/stack", target))
    assert r.code == 5 and "cannot reach the server" in r.err
    r = scipipe("distrib", "install", "-t", TAG, "--stack", str(target), "lsst_demo")
    assert r.code == 2 and "No repositories specified" in r.err
    assert stack_contents(target) == []


def test_transient_and_persistent_http_faults(
    scipipe: Invoke, served: Served, own_root: tuple[Path, str], tmp_path: Path
) -> None:
    root, _url = own_root
    name = layout.tarball("geom", served.manifest["geom"].version, FLAVOR)
    with StaticServer(root) as server:
        server.fail(name, "drop")
        r = scipipe(*install_args(server.url, tmp_path / "a"))
        assert r.code == 5 and "geom-" in r.err
        assert stack_contents(tmp_path / "a") == []
        server.heal()
        server.fail(name, "500", times=1)
        r = scipipe(*install_args(server.url, tmp_path / "b"))
        assert r.code == 0, r.err
        assert Stack(tmp_path / "b", FLAVOR).tag_version("geom", TAG) is not None


def test_install_holds_the_stack_lock(scipipe: Invoke, served: Served, tmp_path: Path) -> None:
    target = tmp_path / "stack"
    Stack.create(target, FLAVOR)
    with StackLock(target):
        r = scipipe(*install_args(f"{served.url}/plain", target))
    assert r.code == 7 and f"pid {os.getpid()}" in r.err
    assert stack_contents(target) == []


def test_list(scipipe: Invoke, served: Served) -> None:
    r = scipipe("distrib", "list", f"{served.url}/plain")
    assert r.code == 0 and r.out.split() == [TAG, "w_latest"]
    r = scipipe("distrib", "list", str(served.plain), "-t", TAG, "--json")
    data = json.loads(r.out)
    assert data["headers"] == {"BUILD": "b1", "CONDA_ENV": RUBIN_ENV} and len(data["rows"]) == 11


def test_list_errors(scipipe: Invoke, tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = scipipe("distrib", "list", f"http://127.0.0.1:{port}/stack")
    assert r.code == 5 and "cannot reach the server" in r.err and "-t TAG" not in r.err, r.err
    r = scipipe("distrib", "list", str(tmp_path / "nothing"))
    assert r.code == 3 and "no such directory" in r.err
    (tmp_path / "srv").mkdir()
    with StaticServer(tmp_path / "srv") as server:  # reachable, but no index page
        (tmp_path / "srv" / "index.html").write_text("<html>hello</html>")
        (tmp_path / "srv" / "tags").mkdir()
        (tmp_path / "srv" / "tags" / "index.html").write_text("<html>hello</html>")
        r = scipipe("distrib", "list", server.url)
    assert r.code == 0 and r.out == ""


def test_library_install_of_several_products(served: Served, tmp_path: Path) -> None:
    from scipipe_tools.distrib.install import InstallOptions, install

    options = InstallOptions(roots=(str(served.plain),), products=("meas_base", "afw"),
                             stack=tmp_path / "s", flavor=FLAVOR, tag=TAG)  # fmt: skip
    result = install(options)
    names = [r.product for r in result.plan.rows]
    assert len(names) == 9 and {r.product for r in result.plan.rows if r.top} == {
        "meas_base",
        "afw",
    }
    deps = served.manifest.graph()
    assert all(set(deps[p]) <= set(names[:i]) for i, p in enumerate(names))
    assert Stack(tmp_path / "s", FLAVOR).tagged(TAG) == {
        p: served.manifest[p].version for p in names
    }
