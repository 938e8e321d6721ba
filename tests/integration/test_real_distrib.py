"""Real EUPS 2.2.15 as the judge of the distribution server, both ways (issue 14, parts 2-3).

The sample stack is built once by ``scipipe build``, then published twice from the same
stack: by ``scipipe distrib publish`` and by real ``eups distrib create`` + ``eups distrib
declare`` (binary tarballs; eupspkg sources carried in the package and fetched from git).
The roots are compared file by file and field by field, then installed across: real
``eups distrib install`` over HTTP on 127.0.0.1 from ours, ``scipipe distrib install``
(and ``lsstinstall --install``) from real EUPS's, and the stacks judged by real ``setup``.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scipipe_tools.cli.app import run
from scipipe_tools.demo.channel import channel_url
from scipipe_tools.demo.samplestack import materialize
from scipipe_tools.distrib.manifest import parse_dist_manifest
from scipipe_tools.distrib.pkginfo import parse_pkginfo
from scipipe_tools.eups.manifest import Manifest
from scipipe_tools.eups.table import TableContext
from scipipe_tools.eups.taglist import parse_taglist
from scipipe_tools.names.serverlayout import binary_root_path
from scipipe_tools.stack.readers import read_manifest, read_table
from scipipe_tools.stack.stack import Stack
from tests.support.httpserver import StaticServer

from ..realtools import RealEups

SCIPIPE = str(Path(sys.executable).parent / "scipipe")
FLAVOR = "Linux64"
BUILD = "b1"
TAG = "w_2025_15"
RUBIN_ENV = "13.0.1"
BIN = binary_root_path("linux-64", RUBIN_ENV)
#: our roots, published by scipipe as an EUPS tree
OURS_BIN, OURS_SRC = f"ours/{BIN}", "ours/src"


@dataclass(frozen=True)
class World:
    base: Path
    #: the stack scipipe built (read only)
    stack: Path
    sources: Path
    manifest: Manifest
    url: str

    def root(self, rel: str) -> Path:
        return self.base / rel

    def http(self, rel: str) -> str:
        return f"{self.url}/{rel}"


def eups(real: RealEups, script: str, stack: Path) -> subprocess.CompletedProcess[str]:
    """A real EUPS command on ``stack`` alone (``setups.sh`` puts EUPS's default stack
    first on ``EUPS_PATH``: installs would go there)."""
    return real.run(f"export EUPS_PATH={shlex.quote(str(stack))} && {script}", stack)


def scipipe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCIPIPE, *args], capture_output=True, text=True, check=False)


def fresh(path: Path) -> Path:
    (path / "ups_db").mkdir(parents=True)
    return path


def _rename_taglist(path: Path, tag: str, *headers: str) -> None:
    """What Rubin's publishing does to a declared bN list: line 1 names the distribution
    tag (lsstsw's src-publish also adds #BUILD and #CONDA_ENV after it)."""
    lines = path.read_text().splitlines(keepends=True)
    lines[0] = f"EUPS distribution {tag} version list. Version 1.0\n"
    path.with_name(f"{tag}.list").write_text("".join([lines[0], *headers, *lines[1:]]))
    path.unlink()


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, examples_dir: Path, real_eups: RealEups
) -> Iterator[World]:
    base = tmp_path_factory.mktemp("real-distrib")
    sample = materialize(examples_dir / "sample-stack", base / "remotes", history=False)
    work = base / "work"
    r = subprocess.run(
        [SCIPIPE, "build", "lsst_demo", "--repos", str(sample.repos_yaml), "--root", str(work),
         "-j", "2", "--no-tests", "--exclusion-map", str(sample.exclusions), "--flavor", FLAVOR],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    stack, sources = work / "stack", work / "sources"
    # ours: a binary root and a source root (an EUPS tree), as bN
    r = scipipe("distrib", "publish", "-b", BUILD, "--stack", str(stack), "--flavor", FLAVOR,
                "--conda-env", RUBIN_ENV, "--eups-root", str(base / "ours"), "--platform",
                "linux-64", "--sources", str(sources), "lsst_demo")  # fmt: skip
    assert r.returncode == 0, r.stderr
    # real EUPS, from a copy of the same stack (create writes into product directories)
    copy = base / "eups-copy"
    shutil.copytree(stack, copy, symlinks=True)
    real = base / "real"
    path = shlex.quote(f"{sources}/$PRODUCT")
    for script in (
        f"eups distrib create --server-dir {real}/bin -d tarball -t {BUILD} lsst_demo",
        f"eups distrib declare --server-dir {real}/bin -t {BUILD}",
        f"EUPSPKG_SOURCE=package EUPSPKG_REPOSITORY_PATH={path} eups distrib create "
        f"--server-dir {real}/src -f generic -d eupspkg -t {BUILD} lsst_demo",
        f"eups distrib declare --server-dir {real}/src -t {BUILD}",
        f"EUPSPKG_SOURCE=git EUPSPKG_REPOSITORY_PATH={path} eups distrib create "
        f"--server-dir {real}/srcgit -f generic -d eupspkg -t {BUILD} lsst_demo",
        f"eups distrib declare --server-dir {real}/srcgit -t {BUILD}",
    ):
        eups(real_eups, script, copy)
    # real EUPS's roots as the Rubin server serves them: an EUPS tree, under a dist tag
    tree = base / "tree" / "stack"
    shutil.copytree(real / "bin", tree / BIN)
    shutil.copytree(real / "srcgit", tree / "src")
    _rename_taglist(tree / BIN / f"{BUILD}.list", TAG)
    _rename_taglist(tree / "src" / "tags" / f"{BUILD}.list", TAG, f"#BUILD={BUILD}\n",
                    f"#CONDA_ENV={RUBIN_ENV}\n")  # fmt: skip
    with StaticServer(base) as server:
        yield World(base, stack, sources, read_manifest(work / "build" / "manifest.txt"),
                    server.url)  # fmt: skip


# --- comparing roots ----------------------------------------------------------------------


def files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def comments(text: str) -> list[str]:
    """The comment lines EUPS writes, its time and version stamps aside."""
    return [line for line in text.splitlines()
            if line.startswith("#") and not line.startswith(("# Time:", "# Eups version:"))]  # fmt: skip


def members(path: Path, drop: tuple[str, ...] = ()) -> dict[str, tuple[str, int, bytes]]:
    """name -> (kind, mode, content) of every member of a tarball."""
    out: dict[str, tuple[str, int, bytes]] = {}
    with tarfile.open(path) as tar:
        for m in tar.getmembers():
            if m.name.endswith(drop):
                continue
            data = tar.extractfile(m)
            kind = "dir" if m.isdir() else "link" if m.issym() else "file"
            content = data.read() if data is not None else m.linkname.encode()
            out[m.name] = (kind, m.mode, content)
    return out


def table_deps(path: Path, types: frozenset[str]) -> list[tuple[str, str | None]]:
    ctx = TableContext(flavor=FLAVOR, types=types)
    return sorted((d.product, d.version) for d in read_table(path).dependencies(ctx))


def compare_roots(world: World, ours: Path, real: Path) -> None:
    extra = {f for f in files(ours) if f.endswith(".sha256")}  # what ours carries more
    assert files(ours) - extra == files(real)
    assert len(extra) == len({f for f in files(real) if f.endswith((".tar.gz", ".eupspkg"))})
    built = Stack(world.stack, FLAVOR)
    for rel in sorted(files(real)):
        mine, theirs = (ours / rel).read_bytes(), (real / rel).read_bytes()
        if rel == "config.txt":
            assert mine == theirs
        elif rel.endswith(".list"):
            a, b = parse_taglist(mine.decode(), rel), parse_taglist(theirs.decode(), rel)
            assert (a.tag, a.rows, a.format_version) == (b.tag, b.rows, b.format_version)
            assert {r.flavor for r in a.rows} == {"generic"}
            # the same lines; ours carries lsstsw's #BUILD and #CONDA_ENV more
            assert [line for line in mine.decode().splitlines() if "=" not in line] == (
                theirs.decode().splitlines()
            )
            assert a.headers == {"BUILD": BUILD, "CONDA_ENV": RUBIN_ENV} and b.headers == {}
        elif rel.endswith(".manifest"):
            a, b = (parse_dist_manifest(t.decode(), rel) for t in (mine, theirs))
            # every row, every field; the product itself last.  The order of the others is
            # a dependency order in ours; EUPS's follows its own traversal, which does not
            # look behind a `-j` dependency (it may list log before the base log needs)
            assert (a.product, a.version, a.rows[-1]) == (b.product, b.version, b.rows[-1])
            assert sorted(a.rows, key=repr) == sorted(b.rows, key=repr), rel
            graph = world.manifest.graph()
            order = [r.product for r in a.rows]
            assert all(set(graph[p]) <= set(order[:i]) for i, p in enumerate(order)), rel
            assert comments(mine.decode())[1:] == comments(theirs.decode())[1:]  # Creator aside
        elif rel.endswith(".tar.gz"):  # EUPS records the build directory in .pwd; we do not
            assert members(ours / rel) == members(real / rel, drop=("/.pwd",)), rel
        elif rel.endswith(".eupspkg"):
            a, b = members(ours / rel), members(real / rel)
            info = [m for m in a if m.endswith("/ups/pkginfo")]
            assert len(info) == 1
            assert parse_pkginfo(a.pop(info[0])[2].decode()) == parse_pkginfo(
                b.pop(info[0])[2].decode()
            )
            assert a == b, rel
        elif rel.startswith("tables/"):
            product, version = rel.removeprefix("tables/").removesuffix(".table").split("-", 1)
            installed = built.table_path(product, version)
            assert installed is not None and mine == installed.read_bytes()
            # real EUPS expands the already expanded table again: the same dependencies
            # outside the exact branch (inside it, its double expansion sets up nothing)
            types = frozenset[str]()
            assert table_deps(ours / rel, types) == table_deps(real / rel, types)
        else:
            pytest.fail(f"unexpected file in the real root: {rel}")


def test_binary_root_is_what_eups_distrib_create_writes(world: World) -> None:
    compare_roots(world, world.root(OURS_BIN), world.root("real/bin"))


def test_source_root_is_what_eups_distrib_create_writes(world: World) -> None:
    compare_roots(world, world.root(OURS_SRC), world.root("real/src"))


# --- judging installed stacks with real setup ------------------------------------------

_SEP = "\0--setup--\0"
#: printf's spelling of it (a command line holds no NUL)
_PRINT_SEP = "printf '\\0--setup--\\0'"
_SHELL_NOISE = {"_", "SHLVL", "PWD", "OLDPWD"}


def _added(text: str, stack: Path) -> dict[str, str]:
    """What a setup added to the environment: new variables, and the entries put in front
    of path-like ones; the stack's path made neutral."""
    before_text, after_text = text.split(_SEP)

    def parse(t: str) -> dict[str, str]:
        return dict(item.split("=", 1) for item in t.split("\0") if "=" in item)

    before, after = parse(before_text), parse(after_text)
    out: dict[str, str] = {}
    for name, value in after.items():
        old = before.get(name)
        if name in _SHELL_NOISE or value == old:
            continue
        if old and ":" in value:  # the entries put in (scipipe drops duplicates it finds)
            kept = set(old.split(":"))
            value = ":".join(e for e in value.split(":") if e not in kept)
        out[name] = value.replace(str(stack), "<stack>")
    return out


def real_setup(real: RealEups, stack: Path, tag: str, product: str = "lsst_demo") -> dict[str, str]:
    r = eups(real, f"env -0 && {_PRINT_SEP} && setup -t {tag} {product} && env -0", stack)
    return _added(r.stdout, stack)


def scipipe_setup(stack: Path, tag: str, product: str = "lsst_demo") -> dict[str, str]:
    cmd = shlex.join([SCIPIPE, "setup", product, "-t", tag, "--stack", str(stack), "--flavor",
                      FLAVOR])  # fmt: skip
    script = f'env -0 && {_PRINT_SEP} && eval "$({cmd})" && env -0'
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    return _added(r.stdout, stack)


def real_install(real: RealEups, root: str, stack: Path, tag: str) -> None:
    eups(real, f"eups distrib install -r {root} -t {tag} lsst_demo", fresh(stack))


def scipipe_install(
    root: str, stack: Path, tag: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    return scipipe("distrib", "install", "-t", tag, "--root", root, "--stack", str(stack),
                   "--flavor", FLAVOR, *extra, "lsst_demo")  # fmt: skip


def check_declared(world: World, stack: Path) -> None:
    """Every product in its own folder (not nested) and declared with its ups/ (not
    UPS_DIR = none), as real EUPS lays a stack out."""
    s = Stack(stack, FLAVOR)
    for e in world.manifest.entries:
        home = s.product_dir(e.name, e.version)
        assert (home / "ups" / f"{e.name}.table").is_file(), e.name
        assert not (home / e.name).exists(), f"{e.name} nested in itself"
        text = (stack / "ups_db" / e.name / f"{e.version}.version").read_text()
        assert "UPS_DIR = ups" in text, text


@pytest.fixture(scope="module")
def reference(
    world: World, real_eups: RealEups, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """What real setup gives on a stack real EUPS installed from its own binary root."""
    stack = tmp_path_factory.mktemp("reference") / "stack"
    real_install(real_eups, world.http("real/bin"), stack, BUILD)
    found = real_setup(real_eups, stack, BUILD)
    assert len([n for n in found if n.startswith("SETUP_")]) == 11, found
    return found


def test_real_eups_installs_our_binary_root(
    world: World, real_eups: RealEups, reference: dict[str, str], tmp_path: Path
) -> None:
    real_installed, ours_installed = tmp_path / "real", tmp_path / "ours"
    real_install(real_eups, world.http(OURS_BIN), real_installed, BUILD)
    check_declared(world, real_installed)
    assert not [p.name for p in (real_installed / FLAVOR).iterdir() if p.name.startswith("ups")]
    found = real_setup(real_eups, real_installed, BUILD)
    assert found == reference
    # ... the same variables as scipipe setup on the stack scipipe installs from that root
    r = scipipe_install(world.http(OURS_BIN), ours_installed, BUILD)
    assert r.returncode == 0, r.stderr
    assert (
        scipipe_setup(ours_installed, BUILD)
        == found
        == real_setup(real_eups, ours_installed, BUILD)
    )


def test_real_eups_builds_our_source_root_with_eupspkg(
    world: World, real_eups: RealEups, reference: dict[str, str], tmp_path: Path
) -> None:
    stack = tmp_path / "stack"
    real_install(real_eups, world.http(OURS_SRC), stack, BUILD)
    check_declared(world, stack)
    for e in world.manifest.entries:  # each one built by real eupspkg: its build.log is there
        assert (Stack(stack, FLAVOR).product_dir(e.name, e.version) / "ups" / "build.log").is_file()
    found = real_setup(real_eups, stack, BUILD)
    # eupspkg's expandtable orders the exact blocks its own way: same entries, own order
    assert found.keys() == reference.keys()
    for name, value in found.items():
        assert sorted(value.split(":")) == sorted(reference[name].split(":")), name


def test_scipipe_installs_real_eups_binary_root(
    world: World, real_eups: RealEups, reference: dict[str, str], tmp_path: Path
) -> None:
    root = world.http("real/bin")
    r = scipipe_install(root, tmp_path / "strict", BUILD, "--require-checksums")
    assert r.returncode == 6, r.stderr
    assert "no afwdata-" in r.stderr and ".sha256 beside it" in r.stderr
    assert not (tmp_path / "strict" / FLAVOR).exists()
    stack = tmp_path / "stack"
    r = scipipe_install(root, stack, BUILD, "--json")
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("had no published checksum") == 1  # said once per install
    assert "11 artifacts" in r.stderr and "--require-checksums" in r.stderr
    assert len(json.loads(r.stdout)["unverified"]) == 11
    check_declared(world, stack)
    assert real_setup(real_eups, stack, BUILD) == reference == scipipe_setup(stack, BUILD)


@pytest.mark.parametrize("root", ["real/src", "real/srcgit"])
def test_scipipe_builds_real_eupspkg_packages(
    world: World, real_eups: RealEups, reference: dict[str, str], tmp_path: Path, root: str
) -> None:
    """Sources in the package (release) or fetched from git at their SHA1 (what lsstsw's
    src-publish makes): built, then set up by real EUPS as its own binary install is."""
    stack = tmp_path / "stack"
    r = scipipe_install(world.http(root), stack, BUILD, "--json")
    assert r.returncode == 0, r.stderr
    assert {row["action"] for row in json.loads(r.stdout)["rows"]} == {"source"}
    check_declared(world, stack)
    s, built = Stack(stack, FLAVOR), Stack(world.stack, FLAVOR)
    for e in world.manifest.entries:  # the same expanded tables as scipipe build wrote
        table = s.table_path(e.name, e.version)
        assert (
            table is not None
            and table.read_text() == (built.table_path(e.name, e.version) or Path()).read_text()
        )
    assert real_setup(real_eups, stack, BUILD) == reference


def test_lsstinstall_installs_from_real_eups_tree(
    world: World,
    real_eups: RealEups,
    reference: dict[str, str],
    conda_channel: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """rubin-env from the source root's #CONDA_ENV, then the tag installed from the
    platform's binary root as Rubin's server lays it out (no checksums anywhere)."""
    from scipipe_tools.cli.lsstinstall import lsstinstall

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(home)
    monkeypatch.setenv("LSST_CONDA_CHANNELS", channel_url(conda_channel))
    monkeypatch.setenv("SCIPIPE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CONDA_EXE", raising=False)
    monkeypatch.delenv("EUPS_PKGROOT", raising=False)
    code = run(lsstinstall, ["-T", TAG, "-E", world.http("tree/stack"), "--install",
                             "lsst_demo", "--json"], "lsstinstall")  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    result = json.loads(out.out)
    assert result["rubin_env"] == RUBIN_ENV and len(result["installed"]) == 11
    assert {row["action"] for row in result["installed"]} == {"binary"}
    assert out.err.count("had no published checksum") == 1
    stack = Path(result["prefix"]) / "share" / "eups"
    check_declared(world, stack)
    ours = {k: v for k, v in real_setup(real_eups, stack, TAG).items() if k != "SETUP_EUPS"}
    assert ours == {k: v for k, v in reference.items() if k != "SETUP_EUPS"}
    # and with --require-checksums: refused, nothing installed
    code = run(lsstinstall, ["-T", TAG, "-E", world.http("tree/stack"), "-e", "strict",
                             "--install", "lsst_demo", "--require-checksums"], "lsstinstall")  # fmt: skip
    assert code == 6, capsys.readouterr().err
    assert os.listdir(home / "conda" / "envs" / "strict" / "share" / "eups" / "ups_db") == []


# --- manifest.remap (issue 18) ------------------------------------------------------------


def _declared_products(stack: Path) -> dict[str, set[str]]:
    db = stack / "ups_db"
    dirs = [d for d in db.iterdir() if d.is_dir() and not d.name.startswith("_")]  # _servers_
    return {d.name: {v.stem for v in d.glob("*.version")} for d in dirs}


def test_manifest_remap_honoured_as_real_eups_installs(
    world: World, real_eups: RealEups, tmp_path: Path
) -> None:
    """A ``manifest.remap`` in the user's EUPS directory leaving a dependency out: real
    ``eups distrib install`` and ``scipipe distrib install`` install the same products."""
    left_out = world.manifest.entries[0].name
    assert left_out != "lsst_demo"
    userdata = tmp_path / "userdata"
    userdata.mkdir()
    (userdata / "manifest.remap").write_text(f"# leave it out\n{left_out}   None\n")
    real_stack, ours_stack = fresh(tmp_path / "real"), tmp_path / "ours"
    q = shlex.quote(str(userdata))
    eups(real_eups, f"export EUPS_USERDATA={q} && eups distrib install -r "
         f"{world.http(OURS_BIN)} -t {BUILD} lsst_demo", real_stack)  # fmt: skip
    env = {**os.environ, "EUPS_USERDATA": str(userdata)}
    r = subprocess.run(
        [SCIPIPE, "distrib", "install", "-t", BUILD, "--root", world.http(OURS_BIN), "--stack",
         str(ours_stack), "--flavor", FLAVOR, "lsst_demo"],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    real, ours = _declared_products(real_stack), _declared_products(ours_stack)
    assert left_out not in real
    assert ours == real, (ours, real)
    assert len(ours) == len(world.manifest.entries) - 1
    # the top product left out: both refuse
    (userdata / "manifest.remap").write_text("lsst_demo None\n")
    r = subprocess.run(
        [SCIPIPE, "distrib", "install", "-t", BUILD, "--root", world.http(OURS_BIN), "--stack",
         str(tmp_path / "none"), "--flavor", FLAVOR, "lsst_demo"],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    assert r.returncode == 3 and "manifest.remap leaves lsst_demo" in r.stderr, r.stderr
    bad = real_eups.run(f"export EUPS_USERDATA={q} && eups distrib install -r "
                        f"{world.http(OURS_BIN)} -t {BUILD} lsst_demo",
                        fresh(tmp_path / "none-real"), check=False)  # fmt: skip
    assert bad.returncode != 0 and "not in the manifest" in bad.stderr


def test_manifest_remap_create_lines_leave_products_out_of_published_manifests(
    world: World, tmp_path: Path
) -> None:
    left_out = world.manifest.entries[0].name
    userdata = tmp_path / "userdata"
    userdata.mkdir()
    (userdata / "manifest.remap").write_text(f"[create]{left_out} None\n")
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "manifest.remap").write_text("kept as it is\n")
    env = {**os.environ, "EUPS_USERDATA": str(userdata)}
    r = subprocess.run(
        [SCIPIPE, "distrib", "publish", "-b", BUILD, "--stack", str(world.stack), "--flavor",
         FLAVOR, "--conda-env", RUBIN_ENV, "--server-dir", str(tmp_path / "root"), "lsst_demo"],
        capture_output=True, text=True, check=False, env=env,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    manifests = tmp_path / "root" / "manifests"
    (path,) = manifests.glob(f"lsst_demo-*@{FLAVOR}.manifest")
    top = parse_dist_manifest(path.read_text(), path)
    names = [row.product for row in top.rows]
    assert left_out not in names and "lsst_demo" in names
    assert len(names) == len(world.manifest.entries) - 1
    assert (tmp_path / "root" / "manifest.remap").read_text() == "kept as it is\n"
