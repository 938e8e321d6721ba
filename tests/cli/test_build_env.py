"""``scipipe build`` inside an environment, with EUPS as sconsUtils finds it (issue 15).

Real environments: a conda environment made by ``scipipe env create`` from a local
channel of real packages (its python is the channel's stand-in, a script, so a venv
made by the test stands in for an environment with a working python), and the real
EUPS 2.2.15 built from ``../shared/tools``.  A test product's build step reports what
it sees: ``command -v python``, ``$CONDA_PREFIX``, ``$CC``, a variable an
``activate.d`` script set, and what ``import eups`` gives, called as sconsUtils calls it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scipipe_tools.demo.channel import PackageSpec, channel_url, make_channel
from scipipe_tools.demo.samplestack import Materialized, materialize
from scipipe_tools.names.platforms import current_platform
from scipipe_tools.stack.readers import read_manifest

from ..realtools import RealEups
from .conftest import Invoke

FLAVOR = "Linux64"

PROBE_CFG = """\
# Reports what a build step sees (run by the build as eupspkg runs a cfg's build).
build() {
    {
        echo "python=$(command -v python || echo none)"
        echo "python_prefix=$(python -c 'import sys; print(sys.prefix)' 2>&1)"
        echo "python3=$(command -v python3 || echo none)"
        echo "python3_says=$(python3 --version 2>&1 | head -n 1)"
        echo "conda_prefix=${CONDA_PREFIX:-unset}"
        echo "conda_default_env=${CONDA_DEFAULT_ENV:-unset}"
        echo "virtual_env=${VIRTUAL_ENV:-unset}"
        echo "cc=${CC:-unset}"
        echo "cxx=${CXX:-unset}"
        echo "activated=${SCIPIPE_TEST_ACTIVATED:-unset}"
        echo "eups_dir=${EUPS_DIR:-unset}"
        echo "eups_path=${EUPS_PATH:-unset}"
        echo "path=$PATH"
        python ups/eupsprobe.py 2>&1
        if [ -n "${SETUP_EUPS:-}" ]; then eups list utils 2>&1 | sed 's/^/eups list: /'; fi
    } > probe.txt
    cat probe.txt
}

install() {
    mkdir -p "$PREFIX/ups" && cp ups/envprobe.table "$PREFIX/ups/" && cp probe.txt "$PREFIX/"
}
"""

# What sconsUtils asks of EUPS (eupsForScons, state, dependencies, installation).
EUPS_PROBE = """\
import os
try:
    from eups import *  # noqa: F403  (as sconsUtils' eupsForScons)
    import eups
    import eups.lock
except ImportError as exc:
    print("eupsprobe: EUPS integration: disabled (%s)" % exc)
    raise SystemExit(0)
print("eupsprobe: EUPS integration: enabled")
e = eups.Eups()
print("eupsprobe: flavor=%s" % eups.flavor())
print("eupsprobe: eupsPath=%s" % os.environ["EUPS_PATH"].split(":")[0])
version, path, pdir, table, flavor = e.findSetupVersion("utils")
print("eupsprobe: setup utils=%s %s" % (version, pdir))
product = e.findProduct("utils", version)
print("eupsprobe: findProduct utils=%s %s %s" % (product.name, product.version, product.dir))
print("eupsprobe: productDir utils=%s" % eups.productDir(eupsenv=e).get("utils"))
print("eupsprobe: setupEnvNameFor=%s" % eups.utils.setupEnvNameFor("utils"))
locks = eups.lock.takeLocks("setup", eups.Eups.setEupsPath(), eups.lock.LOCK_SH)
eups.lock.giveLocks(locks)
print("eupsprobe: locked")
"""

SCONSTRUCT = """\
import os
try:
    from eups import *  # noqa: F403  (as sconsUtils' eupsForScons)
    import eups
    state = "enabled"
except ImportError:
    state = "disabled"
print("EUPS integration: " + state)
if state == "enabled":
    e = eups.Eups()
    p = e.findProduct("utils", e.findSetupVersion("utils")[0])
    print("findProduct utils: %s %s" % (p.name, p.version))
env = Environment(ENV=os.environ)
out = env.Command("probe.txt", [], "echo EUPS integration: %s > $TARGET" % state)
Default(out)
prefix = ARGUMENTS.get("prefix", "_install")
env.Alias("install", [env.Install(prefix, out), env.Install(prefix + "/ups", "ups/sconsprobe.table")])
env.Alias("tests", [])
"""


def probe_stack(examples_dir: Path, dest: Path) -> Materialized:
    """The sample stack plus ``envprobe`` (and ``sconsprobe``), built on ``utils``."""
    source = dest / "source"
    shutil.copytree(examples_dir / "sample-stack", source)
    products = {
        "envprobe": {
            "ups/envprobe.table": "setupRequired(utils)\n",
            "ups/eupspkg.cfg.sh": PROBE_CFG,
            "ups/eupsprobe.py": EUPS_PROBE,
        },
        "sconsprobe": {"ups/sconsprobe.table": "setupRequired(utils)\n", "SConstruct": SCONSTRUCT},
    }
    for product, files in products.items():
        for rel, text in files.items():
            path = source / "products" / product / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        with open(source / "repos.yaml", "a") as fh:
            fh.write(f"{product}: https://github.com/lsst-sample/{product}.git\n")
    return materialize(source, dest / "remotes", history=False)


def build_args(stack: Materialized, root: Path, *products: str) -> list[str]:
    return ["build", *products, "--repos", str(stack.repos_yaml), "--root", str(root),
            "-j", "2", "--exclusion-map", str(stack.exclusions), "--flavor", FLAVOR]  # fmt: skip


def probe(root: Path, product: str = "envprobe") -> dict[str, str]:
    version = read_manifest(root / "build" / "manifest.txt")[product].version
    text = (root / "stack" / FLAVOR / product / version / "probe.txt").read_text()
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and " " not in key:
            out.setdefault(key, value)
    out["text"] = text
    return out


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The build starts from a shell with no conda and no EUPS set up."""
    for var in list(os.environ):
        if var.startswith(("CONDA_", "EUPS_", "SETUP_")) or var in ("VIRTUAL_ENV", "CC", "CXX"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("SCIPIPE_CACHE_DIR", str(tmp_path / "cache"))


def test_build_runs_in_the_conda_environment_env_create_made_in_the_work_root(
    scipipe: Invoke, tmp_path: Path, conda_channel: Path, examples_dir: Path
) -> None:
    platform = current_platform()
    if platform not in ("linux-64", "linux-aarch64"):
        pytest.skip(f"the sample build needs a Linux flavor, not {platform}")
    # a package whose activation sets a compiler and a variable, as conda's compilers do
    script = 'export CC="$CONDA_PREFIX/bin/test-cc"\nexport SCIPIPE_TEST_ACTIVATED="yes:$CONDA_DEFAULT_ENV"\n'
    extra = make_channel(
        tmp_path / "extra",
        [PackageSpec("test-activation", "1.0", subdir="noarch",
                     files={"etc/conda/activate.d/test-activation.sh": script})],
        subdirs=(platform,),
    )  # fmt: skip
    spec = tmp_path / "envs" / "rubin-env.yaml"
    spec.parent.mkdir()
    spec.write_text(yaml.safe_dump({
        "name": "rubin-env", "version": "13.0.1",
        "channels": [channel_url(conda_channel), channel_url(extra)],
        "dependencies": ["rubin-env ==13.0.1", "test-activation"],
        "platforms": [platform],
        "virtual_packages": {platform: {"__glibc": "2.28", "__unix": "0", "__linux": "5.10"}},
    }))  # fmt: skip
    assert scipipe("-q", "env", "lock", spec).code == 0
    lock = spec.with_name("rubin-env.conda-lock.yml")
    root = tmp_path / "work"
    r = scipipe("-q", "env", "create", "--lock", lock, "--root", root, "-n", "rubin")
    assert r.code == 0, r.err
    prefix = root / "envs" / "rubin"
    stack = probe_stack(examples_dir, tmp_path)

    r = scipipe(*build_args(stack, root, "lsst_demo", "envprobe"))
    assert r.code == 0, r.err
    assert f"environment: {prefix} (the work root's environment)" in r.err
    seen = probe(root)
    assert seen["python3"] == f"{prefix}/bin/python3"
    assert seen["python3_says"] == "Python 3.13.7"  # the environment's, not ours
    assert seen["conda_prefix"] == str(prefix) and seen["conda_default_env"] == "rubin"
    assert seen["path"].split(":")[0] == f"{prefix}/bin"
    assert seen["cc"] == f"{prefix}/bin/test-cc"  # the activation's, kept
    assert seen["cxx"] == "c++"  # eupspkg's default
    assert seen["activated"] == "yes:rubin"
    assert seen["eups_dir"] == f"{prefix}/eups"  # set by the eups package's activate.d
    assert seen["eups_path"] == str(root / "stack")  # the stack being built wins
    assert "EUPS integration: disabled" in seen["text"]
    log = (root / "build" / "logs" / "envprobe.log").read_text()
    assert f"environment: conda {prefix}\n" in log
    assert f"eups: none (EUPS_DIR={prefix}/eups holds no python/eups)" in log
    assert f"note: {prefix}/bin/python3 is not a working Python" in log

    status = json.loads((root / "build" / "status.json").read_text())
    assert status["environment"] == {
        "prefix": str(prefix),
        "chosen_by": "the work root's environment",
        "record": str(root / "build" / "env" / "b1.json"),
    }
    eups_of = {p["name"]: p["eups"] for p in status["products"]}
    assert eups_of["envprobe"].startswith("none (EUPS_DIR=")

    # which environment built b1?
    r = scipipe("--json", "build", "env", "b1", "--root", root)
    assert r.code == 0, r.err
    (env,) = json.loads(r.out)["environments"]
    assert env["prefix"] == str(prefix) and env["kind"] == "conda"
    assert env["lock_sha256"] == hashlib.sha256(lock.read_bytes()).hexdigest()
    assert env["lock_matches"] is True
    assert sorted(env["products"]) == sorted(read_manifest(root / "build" / "manifest.txt").names)
    assert env["activation"]["scripts"] == [
        "etc/conda/activate.d/eups_activate.sh",
        "etc/conda/activate.d/rubin-env-13.0.1.sh",
        "etc/conda/activate.d/test-activation.sh",
    ]
    assert "SCIPIPE_TEST_ACTIVATED" in env["activation"]["variables"]
    r = scipipe("build", "env", "b1", "--root", root)
    assert f"b1: conda {prefix} (the work root's environment)" in r.out
    # ... and its packages recreate it
    r = scipipe("build", "env", "b1", "--root", root, "--explicit")
    explicit = tmp_path / "b1.explicit"
    explicit.write_text(r.out)
    assert scipipe("-q", "env", "create", "--lock", explicit, "-p", tmp_path / "again").code == 0
    names = sorted(p.name for p in (prefix / "conda-meta").glob("*.json"))
    assert sorted(p.name for p in (tmp_path / "again" / "conda-meta").glob("*.json")) == names


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path


def test_build_in_a_venv_with_the_real_eups(
    scipipe: Invoke,
    tmp_path: Path,
    examples_dir: Path,
    venv: Path,
    real_eups: RealEups,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EUPS_DIR", str(real_eups.prefix))  # as EUPS's setups.sh leaves it
    monkeypatch.setenv("EUPS_USERDATA", str(tmp_path / "eups-userdata"))
    stack = probe_stack(examples_dir, tmp_path)
    root = tmp_path / "work"
    r = scipipe(*build_args(stack, root, "envprobe"), "--env", venv)
    assert r.code == 0, r.err
    assert f"environment: {venv} (--env)" in r.err
    seen = probe(root)
    assert seen["python"] == f"{venv}/bin/python"
    assert seen["python_prefix"] == str(venv)
    assert seen["virtual_env"] == str(venv)
    assert seen["eups_dir"] == str(real_eups.prefix)
    assert seen["eups_path"] == str(root / "stack")
    utils = read_manifest(root / "build" / "manifest.txt")["utils"]
    utils_dir = root / "stack" / FLAVOR / "utils" / utils.version
    for line in (
        "eupsprobe: EUPS integration: enabled",
        f"eupsprobe: flavor={FLAVOR}",
        f"eupsprobe: eupsPath={root / 'stack'}",
        f"eupsprobe: setup utils={utils.version} {utils_dir}",
        f"eupsprobe: findProduct utils=utils {utils.version} {utils_dir}",
        f"eupsprobe: productDir utils={utils_dir}",
        "eupsprobe: locked",
    ):
        assert line in seen["text"], seen["text"]
    assert f"eups list: {' ' * 3}{utils.version}" in seen["text"]  # the real eups command

    real = f"real (EUPS_DIR={real_eups.prefix}, eups 2.2.15)"
    status = json.loads((root / "build" / "status.json").read_text())
    assert {p["name"]: p["eups"] for p in status["products"]} == {"utils": real, "envprobe": real}
    for product in ("utils", "envprobe"):
        log = (root / "build" / "logs" / f"{product}.log").read_text()
        assert f"eups: {real}\n" in log and f"python: {venv}/bin/python (" in log
    r = scipipe("--json", "build", "env", "b1", "--root", root)
    (env,) = json.loads(r.out)["environments"]
    assert env["kind"] == "venv" and env["prefix"] == str(venv)
    assert env["python"]["path"] == f"{venv}/bin/python" and env["python"]["note"] is None
    assert env["eups"]["state"] == "real" and env["lock_sha256"] is None
    assert env["explicit"][0].startswith("# python 3.")
    assert sorted(env["products"]) == ["envprobe", "utils"]


def test_without_environment_or_eups_the_build_says_so(
    scipipe: Invoke, tmp_path: Path, examples_dir: Path
) -> None:
    stack = probe_stack(examples_dir, tmp_path)
    root = tmp_path / "work"
    r = scipipe(*build_args(stack, root, "envprobe"))
    assert r.code == 0, r.err
    assert "environment: none (no --env or -e, no active $CONDA_PREFIX" in r.err
    seen = probe(root)
    assert "EUPS integration: disabled" in seen["text"] and seen["conda_prefix"] == "unset"
    log = (root / "build" / "logs" / "envprobe.log").read_text()
    assert "environment: none (scipipe's own environment)\neups: none\n" in log.replace(
        f"python: {sys.executable} ({'.'.join(map(str, sys.version_info[:3]))})\n", ""
    )
    status = json.loads((root / "build" / "status.json").read_text())
    assert {p["eups"] for p in status["products"]} == {"none"}
    (env,) = json.loads(scipipe("--json", "build", "env", "b1", "--root", root).out)["environments"]
    assert env["kind"] == "none" and env["prefix"] is None


@pytest.mark.skipif(shutil.which("scons") is None, reason="scons is not installed")
def test_a_scons_product_sees_the_real_eups(
    scipipe: Invoke,
    tmp_path: Path,
    examples_dir: Path,
    real_eups: RealEups,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EUPS_DIR", str(real_eups.prefix))
    monkeypatch.setenv("EUPS_USERDATA", str(tmp_path / "eups-userdata"))
    stack = probe_stack(examples_dir, tmp_path)
    root = tmp_path / "work"
    r = scipipe(*build_args(stack, root, "sconsprobe"), "--no-env")
    assert r.code == 0, r.err
    log = (root / "build" / "logs" / "sconsprobe.log").read_text()
    utils = read_manifest(root / "build" / "manifest.txt")["utils"]
    assert "EUPS integration: enabled" in log
    assert f"findProduct utils: utils {utils.version}" in log
    assert probe(root, "sconsprobe")["text"] == "EUPS integration: enabled\n"
