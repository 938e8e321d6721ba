"""``scipipe image build|push`` (issue 20, part 2): the sample stack built, published and
made into an OCI image on a base made offline; built twice for the same digests; the
environment layer reused when only the stack changes; pushed to a real registry
(Debian's docker-registry on 127.0.0.1) with skopeo, pulled back, unpacked with umoci,
and, as the Jenkins smoke stage does, ``setup lsst_demo`` run inside it (chroot)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from scipipe_tools.demo.channel import PackageSpec, make_channel, read_repodata
from tests.realtools import EUPS_ARCHIVE
from tests.support.ociimage import Registry, host_rootfs, pack_layout

from . import test_distrib_server as published
from .conftest import Invoke
from .test_distrib_server import FLAVOR, TAG, Served

served = published.served
TAG2 = "w_2025_03"
STAMP = "20250110T120000Z"
HOME = "/opt/lsst/software/stack"
ENV_NAME = "lsst-scipipe-13.0.1"
#: the base's EUPS, where the eups package's activation stand-in finds it
EUPS_IN_BASE = "/opt/eups"
EUPS_ACTIVATE = f"""\
# The eups conda package's activation, standing in: EUPS from the base image.
if [ -r {EUPS_IN_BASE}/bin/setups.sh ]; then . {EUPS_IN_BASE}/bin/setups.sh; fi
export EUPS_PATH="$CONDA_PREFIX/share/eups"
"""


def tools_missing(*names: str) -> list[str]:
    return [n for n in names if shutil.which(n) is None]


@pytest.fixture(scope="module")
def lock_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An explicit lock of a small real channel: eups's activation and a marker package."""
    root = tmp_path_factory.mktemp("image-channel") / "channel"
    make_channel(root, [
        PackageSpec("eups", "2.2.15", files={"etc/conda/activate.d/eups_activate.sh": EUPS_ACTIVATE}),
        PackageSpec("rubin-env-marker", "13.0.1"),
    ], subdirs=("linux-64",))  # fmt: skip
    packages = read_repodata(root, "noarch")["packages.conda"]
    lines = [
        f"{(root / 'noarch' / fn).as_uri()}#{rec['md5']}" for fn, rec in sorted(packages.items())
    ]
    return "# platform: linux-64\n@EXPLICIT\n" + "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def weekly(served: Served, lock_text: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The published root with the lock as both tags' env file; TAG2 a later weekly of the
    same products (so its stack layer differs only by its tag)."""
    root = tmp_path_factory.mktemp("image-root") / "root"
    shutil.copytree(served.plain, root)
    for tag in (TAG, TAG2):
        (root / "env" / f"{tag}.env").write_text(lock_text)
    text = (root / "tags" / f"{TAG}.list").read_text()
    (root / "tags" / f"{TAG2}.list").write_text(text.replace(TAG, TAG2))
    return root


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rootfs = tmp_path_factory.mktemp("tiny") / "rootfs"
    (rootfs / "etc").mkdir(parents=True)
    (rootfs / "etc" / "os-release").write_text('NAME="tiny test base"\n')
    return pack_layout(rootfs, rootfs.parent / "layout", "base")


def build_args(root: Path, base: str, out: Path, cache: Path, tag: str = TAG) -> list[str]:
    return ["image", "build", "-t", tag, "-r", str(root), "--base", base, "-o", str(out),
            "--flavor", FLAVOR, "--cache", str(cache), "--timestamp", STAMP,
            "--extra-tag", "w_latest", "--json", "lsst_demo"]  # fmt: skip


def built(scipipe: Invoke, *args: str) -> dict[str, object]:
    r = scipipe(*args)
    assert r.code == 0, r.err
    out: dict[str, object] = json.loads(r.out)
    return out


def test_same_inputs_same_digests(
    scipipe: Invoke, weekly: Path, tiny_base: Path, tmp_path: Path
) -> None:
    """Two cold builds (separate caches, separate layouts): the same manifest, layers and
    config, byte for byte; tagged as Rubin tags its images."""
    one = built(
        scipipe, *build_args(weekly, f"oci:{tiny_base}:base", tmp_path / "a", tmp_path / "c1")
    )
    two = built(
        scipipe, *build_args(weekly, f"oci:{tiny_base}:base", tmp_path / "b", tmp_path / "c2")
    )
    assert one["env_layer_reused"] is False and two["env_layer_reused"] is False
    for key in ("manifest", "config", "env_layer", "stack_layer"):
        assert one[key] == two[key], key
    assert one["tags"] == [TAG, f"al9-{TAG}", f"{TAG}-{STAMP}", f"al9-{TAG}-{STAMP}",
                           "w_latest", "al9-w_latest"]  # fmt: skip
    index = json.loads((tmp_path / "a" / "index.json").read_text())
    names = {
        m["annotations"]["org.opencontainers.image.ref.name"]: m["digest"]
        for m in index["manifests"]
    }
    assert names == dict.fromkeys(one["tags"], one["manifest"])  # type: ignore[arg-type]
    # skopeo reads the layout: the base's layer, then the environment's, then the stack's
    r = subprocess.run(["skopeo", "inspect", f"oci:{tmp_path / 'a'}:al9-{TAG}"],
                       capture_output=True, text=True, check=True)  # fmt: skip
    layers = json.loads(r.stdout)["Layers"]
    assert layers[1:] == [one["env_layer"], one["stack_layer"]] and len(layers) == 3
    # the layers are normalized tar: fixed times and owners, sorted, in place in the image
    blob = tmp_path / "a" / "blobs" / "sha256" / str(one["stack_layer"]).split(":")[1]
    with tarfile.open(blob) as tar:
        members = tar.getmembers()
    assert {(m.mtime, m.uid, m.gid, m.uname) for m in members} == {(0, 0, 0, "root")}
    names_in = [m.name for m in members]
    assert f"{HOME.lstrip('/')}/loadLSST.bash" in names_in
    stack = f"{HOME.lstrip('/')}/conda/envs/{ENV_NAME}/share/eups"
    assert f"{stack}/ups_db/lsst_demo/{TAG}.chain" in names_in
    assert not any(n.endswith(".lock") for n in names_in)
    with open(blob, "rb") as f:
        assert f.read(10)[4:8] == b"\0\0\0\0"  # gzip's mtime


def test_an_unchanged_environment_reuses_its_layer(
    scipipe: Invoke, weekly: Path, tiny_base: Path, tmp_path: Path
) -> None:
    """The next weekly with the same lock: the environment layer comes from the cache
    (nothing installed) with the same digest; only the stack layer changes."""
    base, cache = f"oci:{tiny_base}:base", tmp_path / "cache"
    first = built(scipipe, *build_args(weekly, base, tmp_path / "out", cache))
    second = built(scipipe, *build_args(weekly, base, tmp_path / "out", cache, TAG2))
    assert second["env_layer_reused"] is True
    assert second["env_layer"] == first["env_layer"]
    assert second["stack_layer"] != first["stack_layer"]
    assert second["manifest"] != first["manifest"]
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    tags = {
        m["annotations"]["org.opencontainers.image.ref.name"]: m["digest"]
        for m in index["manifests"]
    }
    assert tags[TAG] == first["manifest"] and tags[TAG2] == second["manifest"]
    assert tags["w_latest"] == second["manifest"]  # a rolling tag moves to the newer image
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no work dirs left


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        (["-t", "w_2099_01"], 3, "unknown tag 'w_2099_01'"),
        (["--base", "/nonexistent/layout"], 2, "/nonexistent/layout: no such OCI image layout"),
        (["--base", "oci:{empty}:base"], 2, "not an OCI image layout (no index.json)"),
        (["--base", "oci:{tiny}:nosuch"], 2, "no image tagged 'nosuch' (tags: base)"),
        (["--timestamp", "yesterday"], 2, "--timestamp 'yesterday': expected UTC"),
        (["--env-lock", "{missing}"], 2, "cannot read the environment lock"),
    ],
)
def test_bad_inputs_are_one_line_errors(
    scipipe: Invoke, weekly: Path, tiny_base: Path, tmp_path: Path,
    change: list[str], code: int, message: str,
) -> None:  # fmt: skip
    (tmp_path / "empty").mkdir()
    values = {"empty": tmp_path / "empty", "tiny": tiny_base, "missing": tmp_path / "no.env"}
    args = build_args(weekly, f"oci:{tiny_base}:base", tmp_path / "out", tmp_path / "c")
    args = _with(args, change[0], change[1].format(**values))
    r = scipipe(*args)
    assert r.code == code, r.err
    first = r.err.splitlines()[0]
    assert first.startswith("error: ") and message in first, r.err
    assert "Traceback" not in r.err
    assert not (tmp_path / "out").exists()  # nothing written


def _with(args: list[str], option: str, value: str) -> list[str]:
    if option in args:
        i = args.index(option)
        return [*args[: i + 1], value, *args[i + 2 :]]
    return [*args[:-1], option, value, args[-1]]


def test_a_push_to_a_bad_destination_is_refused(scipipe: Invoke, tiny_base: Path) -> None:
    r = scipipe("image", "push", str(tiny_base), "docker://127.0.0.1:1/Repo:tag")
    assert r.code == 2 and "bad destination repository" in r.err.splitlines()[0]
    r = scipipe("image", "push", str(tiny_base), "127.0.0.1:1/lsst/scipipe", "--tag", "nope")
    assert r.code == 2 and "no image tagged 'nope'" in r.err.splitlines()[0]


def _eups_for(rootfs: Path, work: Path) -> None:
    """EUPS 2.2.15 built for the base: configured for /usr/bin/python3 and installed
    under ``work``, then copied to ``/opt/eups`` of the root with its paths rewritten
    (EUPS has no DESTDIR).  A base image with EUPS; the environment's eups activation
    stand-in sources it, as rubin-env's eups package does its own."""
    with tarfile.open(EUPS_ARCHIVE) as tar:
        tar.extractall(work, filter="data")
    (src,) = [p for p in work.iterdir() if p.is_dir()]
    prefix, default = work / "eups", work / "default"
    default.mkdir()
    for argv in (["./configure", f"--prefix={prefix}", f"--with-eups={default}",
                  "--with-python=/usr/bin/python3"], ["make", "install"]):  # fmt: skip
        subprocess.run(argv, cwd=src, capture_output=True, check=True)
    dest = rootfs / EUPS_IN_BASE.lstrip("/")
    shutil.copytree(prefix, dest, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    (rootfs / "opt" / "eups-default" / "ups_db").mkdir(parents=True)
    for path in dest.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            new = data.replace(str(prefix).encode(), EUPS_IN_BASE.encode())
            new = new.replace(str(default).encode(), b"/opt/eups-default")
            if new != data:
                path.write_bytes(new)


@pytest.fixture(scope="module")
def host_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A base image made offline from this machine's bash, coreutils and python3, with
    EUPS; any base the test can build offline (debootstrap needs Debian's mirror)."""
    if not EUPS_ARCHIVE.is_file():
        pytest.skip(f"real EUPS not available: {EUPS_ARCHIVE} does not exist")
    work = tmp_path_factory.mktemp("host-base")
    rootfs = host_rootfs(work / "rootfs")
    _eups_for(rootfs, work / "eups-build")
    return pack_layout(rootfs, work / "layout", "al9")


def _chroot_works(root: Path) -> str | None:
    """Why a chroot into ``root`` cannot run here, or None."""
    if os.geteuid() != 0:
        return "chroot needs root"
    r = subprocess.run(["chroot", str(root), "/bin/true"], capture_output=True, text=True,
                       check=False)  # fmt: skip
    return None if r.returncode == 0 else f"chroot is not permitted here: {r.stderr.strip()}"


def test_push_pull_unpack_and_set_up_inside(
    scipipe: Invoke, weekly: Path, host_base: Path, tmp_path: Path
) -> None:
    """The Jenkins smoke stage's check: the image pushed with ``build --push``, pulled back
    from the registry, unpacked; inside it ``setup lsst_demo`` and an import work."""
    missing = tools_missing("skopeo", "umoci", "docker-registry", "chroot")
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")
    with Registry(tmp_path / "registry") as registry:
        repo = f"{registry.host}/lsst/scipipe"
        out = built(scipipe, *build_args(weekly, f"oci:{host_base}:al9", tmp_path / "img",
                                         tmp_path / "cache"),
                    "--push", f"docker://{repo}", "--no-tls-verify")  # fmt: skip
        assert registry.tags("lsst/scipipe") == sorted(out["tags"])  # type: ignore[arg-type]
        assert out["pushed"] == [f"docker://{repo}:{t}" for t in sorted(out["tags"])]  # type: ignore[arg-type]
        pulled = tmp_path / "pulled"
        subprocess.run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{repo}:al9-{TAG}",
                        f"oci:{pulled}:al9-{TAG}"], capture_output=True, check=True)  # fmt: skip
    r = subprocess.run(["skopeo", "inspect", f"oci:{pulled}:al9-{TAG}"], capture_output=True,
                       text=True, check=True)  # fmt: skip
    inspected = json.loads(r.stdout)
    assert inspected["Layers"][-2:] == [out["env_layer"], out["stack_layer"]]
    assert inspected["Labels"]["org.lsst.eups.tag"] == TAG
    bundle = tmp_path / "bundle"
    subprocess.run(["umoci", "unpack", "--image", f"{pulled}:al9-{TAG}", str(bundle)],
                   capture_output=True, check=True)  # fmt: skip
    rootfs = bundle / "rootfs"
    assert (rootfs / HOME.lstrip("/") / "loadLSST.bash").is_file()
    why = _chroot_works(rootfs)
    if why:
        pytest.skip(why)
    script = (f". {HOME}/loadLSST.bash && setup lsst_demo && "
              "python3 -c 'import lsst_utils, lsst_pipe_base; print(\"imported\")' && "
              "echo \"UTILS_DIR=$UTILS_DIR\"")  # fmt: skip
    chroot = shutil.which("chroot") or "chroot"
    r = subprocess.run([chroot, str(rootfs), "/bin/bash", "-c", script], capture_output=True,
                       text=True, check=False, env={"PATH": "/usr/bin:/bin", "HOME": "/root"},
                       timeout=300)  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    assert "imported" in r.stdout
    assert f"UTILS_DIR={HOME}/conda/envs/{ENV_NAME}/share/eups/{FLAVOR}/utils/" in r.stdout
