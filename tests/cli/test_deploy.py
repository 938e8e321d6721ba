"""``scipipe deploy`` and ``scipipe envconfig``: real environments from the local conda
channel, real git clones, and the activation scripts sourced by real shells."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scipipe_tools.demo.channel import channel_url
from scipipe_tools.demo.samplestack import Materialized
from scipipe_tools.eups.flavor import current_flavor
from scipipe_tools.sourcebuild.buildenv import EnvRecord
from scipipe_tools.stack.stack import Stack

from .conftest import Invoke

SRC = Path(__file__).resolve().parents[2] / "src"
SPEC = """\
name: rubin-env
version: {version}
channels: [{channel}]
dependencies: ["rubin-env =={version}"]
platforms: [linux-64]
"""


@pytest.fixture
def world(tmp_path: Path, conda_channel: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The test channel standing in for conda-forge, a private cache, no active conda,
    and a versiondb repository to clone."""
    monkeypatch.setenv("LSST_CONDA_CHANNELS", channel_url(conda_channel))
    monkeypatch.setenv("SCIPIPE_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("CONDA_EXE", "CONDA_PREFIX", "SCIPIPE_ROOT", "EUPS_PATH"):
        monkeypatch.delenv(name, raising=False)
    vdb = tmp_path / "versiondb-origin"
    vdb.mkdir()
    git = ["git", "-C", str(vdb), "-c", "user.name=T", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], check=True)
    (vdb / "manifests").mkdir()
    (vdb / "manifests" / "b1.txt").write_text("BUILD=b1\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "b1"], check=True)
    return {"tmp": tmp_path, "versiondb": vdb, "channel": conda_channel}


def spec_file(world: dict[str, Path], version: str) -> Path:
    path = world["tmp"] / f"rubin-env-{version}.yaml"
    path.write_text(SPEC.format(version=version, channel=channel_url(world["channel"])))
    return path


def test_deploy_from_nothing_then_a_second_run_does_nothing(
    world: dict[str, Path], sample_stack: Materialized, scipipe: Invoke
) -> None:
    root = world["tmp"] / "root"
    repos = sample_stack.repos_yaml.as_uri()
    vdb = world["versiondb"].as_uri()
    r = scipipe("--json", "deploy", root, "--repos", repos, "--versiondb-url", vdb)
    assert r.code == 0, r.err
    result = json.loads(r.out)
    assert result["environment"] == "lsst-scipipe-13.0.1" and not result["noop"]
    assert (root / "repos.yaml").read_text() == sample_stack.repos_yaml.read_text()
    assert (root / "versiondb" / "manifests" / "b1.txt").read_text() == "BUILD=b1\n"
    prefix = root / "envs" / "lsst-scipipe-13.0.1"
    meta = {json.loads(p.read_text())["name"] for p in (prefix / "conda-meta").glob("*.json")}
    assert {"rubin-env", "eups", "python"} <= meta
    assert (root / "stack" / "ups_db").is_dir()
    names = sorted(p.name for p in (root / "bin").iterdir())
    assert names == ["setup.bash", "setup.csh", "setup.sh", "setup.zsh"]
    state = json.loads((root / "etc" / "deploy.json").read_text())
    assert state["repos_source"] == repos and state["versiondb_url"] == vdb

    before = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    r = scipipe("deploy", root, "--repos", repos, "--versiondb-url", vdb)
    assert r.code == 0, r.err
    assert r.out.splitlines()[-1] == f"nothing to do: {root} is deployed"
    assert all(line.startswith(("ok: ", "nothing")) for line in r.out.splitlines())
    after = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    assert after == before
    # without --repos, the root's repos.yaml is kept
    r = scipipe("--json", "deploy", root)
    assert r.code == 0 and json.loads(r.out)["noop"] is True, r.err


def test_dry_run_prints_the_plan_and_makes_nothing(
    world: dict[str, Path], sample_stack: Materialized, scipipe: Invoke
) -> None:
    root = world["tmp"] / "root"
    lock = world["tmp"] / "env.conda-lock.yml"
    r = scipipe("env", "lock", spec_file(world, "12.1.0"), "-o", lock, "--no-explicit")
    assert r.code == 0, r.err
    r = scipipe("deploy", root, "--repos", sample_stack.repos_yaml, "--lock", lock,
                "--versiondb-url", world["versiondb"].as_uri(), "--dry-run")  # fmt: skip
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert all(line.startswith("would: ") for line in lines), lines
    assert f"would: copy repos.yaml from {sample_stack.repos_yaml}" in lines[0]
    assert lines[1].startswith("would: git clone ")
    assert f"--prefix {root}/envs/lsst-scipipe-12.1.0" in lines[2]
    assert "create the EUPS stack" in lines[3] and "setup.csh" in lines[4]
    assert not root.exists()
    # and from the lock for real: the environment is named after its rubin-env
    r = scipipe("--json", "deploy", root, "--repos", sample_stack.repos_yaml, "--lock", lock)
    assert r.code == 0, r.err
    assert json.loads(r.out)["environment"] == "lsst-scipipe-12.1.0"


def test_bad_inputs_are_one_line_errors(
    world: dict[str, Path], sample_stack: Materialized, scipipe: Invoke
) -> None:
    root = world["tmp"] / "root"
    bad = world["tmp"] / "bad.yaml"
    bad.write_text("- not\n- a mapping\n")
    r = scipipe("deploy", root, "--repos", bad)
    assert r.code == 2 and f"{bad}:1" in r.err and "Traceback" not in r.err
    assert not (root / "repos.yaml").exists()
    r = scipipe("deploy", root, "--repos", sample_stack.repos_yaml, "--lock", bad, "-X", "w_1")
    assert r.code == 2 and "--lock and -X cannot be combined" in r.err


def _declare_product(root: Path) -> None:
    prod = root / "products" / "demo_prod"
    (prod / "ups").mkdir(parents=True)
    (prod / "ups" / "demo_prod.table").write_text("")
    Stack.open(root / "stack", current_flavor()).declare("demo_prod", "1.0", prod, tags=["current"])


def _shell_env(root: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(root), "PYTHONPATH": str(SRC)}


@pytest.fixture
def deployed(world: dict[str, Path], sample_stack: Materialized, scipipe: Invoke) -> Path:
    root = world["tmp"] / "work root"  # a space: the scripts quote it
    r = scipipe("deploy", root, "--repos", sample_stack.repos_yaml)
    assert r.code == 0, r.err
    _declare_product(root)
    return root


@pytest.mark.parametrize("shell", ["bash", "zsh", "sh"])
def test_the_sh_scripts_activate_env_and_eups_in_real_shells(deployed: Path, shell: str) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    root = deployed
    script = (
        f'. "$1/bin/setup.{"sh" if shell == "sh" else shell}" && echo "$SCIPIPE_ROOT" && '
        'echo "$CONDA_PREFIX" && echo "$EUPS_PATH" && eups && command -v python3 && '
        f'eval "$({sys.executable} -m scipipe_tools setup demo_prod --shell bash)" && '
        'echo "$DEMO_PROD_DIR"'
    )
    out = subprocess.run([shell, "-c", script, shell, str(root)], env=_shell_env(root),
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    prefix = root / "envs" / "lsst-scipipe-13.0.1"
    assert lines == [str(root), str(prefix), f"{root}/stack", "EUPS Version: 2.2.15",
                     f"{prefix}/bin/python3", str(root / "products" / "demo_prod")]  # fmt: skip


def test_the_csh_script_activates_env_and_eups_in_tcsh(deployed: Path) -> None:
    if shutil.which("tcsh") is None:
        pytest.skip("tcsh is not installed")
    root = deployed
    script = (
        f'source \'{root}/bin/setup.csh\' && echo "$SCIPIPE_ROOT" && echo "$CONDA_PREFIX" '
        f'&& echo "$EUPS_PATH" && eups && which python3 && '
        f"{sys.executable} -m scipipe_tools --json setup demo_prod"
    )
    out = subprocess.run(["tcsh", "-f", "-c", script], env=_shell_env(root),
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    prefix = root / "envs" / "lsst-scipipe-13.0.1"
    assert lines[:5] == [str(root), str(prefix), f"{root}/stack", "EUPS Version: 2.2.15",
                         f"{prefix}/bin/python3"]  # fmt: skip
    setup = json.loads("\n".join(lines[5:]))
    assert setup["stack"] == f"{root}/stack"
    assert setup["env"]["DEMO_PROD_DIR"] == str(root / "products" / "demo_prod")


def test_envconfig_lists_switches_by_name_and_by_build(
    deployed: Path, world: dict[str, Path], scipipe: Invoke
) -> None:
    root = deployed
    r = scipipe("--json", "deploy", root, "--spec", spec_file(world, "12.1.0"))
    assert r.code == 0, r.err
    new, old = "lsst-scipipe-12.1.0", "lsst-scipipe-13.0.1"
    assert json.loads(r.out)["environment"] == new  # deploy made it the active one
    for build_id, name in (("b7", old), ("b8", new), ("b9", old)):
        entry = {"prefix": str(root / "envs" / name), "kind": "conda", "explicit_sha256": name}
        EnvRecord(root / "build", build_id, entry).built("demo_prod")

    r = scipipe("--json", "envconfig", "--root", root)
    assert r.code == 0, r.err
    rows = {e["name"]: e for e in json.loads(r.out)["environments"]}
    assert rows[old]["builds"] == ["b7", "b9"] and rows[new]["builds"] == ["b8"]
    assert rows[new]["active"] and not rows[old]["active"]
    assert "a solve of" in rows[new]["made_from"]

    r = scipipe("envconfig", "--root", root, "-b", "b9")
    assert r.code == 0, r.err
    assert r.out == f"{old} is now the active environment of {root}\n"
    out = subprocess.run(["bash", "-c", '. "$1/bin/setup.bash" && echo "$CONDA_PREFIX"', "x",
                          str(root)], env=_shell_env(root), capture_output=True, text=True)  # fmt: skip
    assert out.stdout == f"{root}/envs/{old}\n"
    assert f"setenv SCIPIPE_ENV '{old}'" in (root / "bin" / "setup.csh").read_text()
    r = scipipe("envconfig", "--root", root, "-n", old)
    assert r.out == f"{old} was already the active environment of {root}\n"
    r = scipipe("envconfig", "--root", root, "-n", new)
    assert r.code == 0 and "is now" in r.out
    r = scipipe("envconfig", "--root", root)
    assert r.code == 0, r.err
    lines = r.out.splitlines()[1:]
    assert [line.split()[1] for line in lines if line.startswith("*")] == [new]
    assert any(f"{old}  b7, b9" in line for line in lines)

    r = scipipe("envconfig", "--root", root, "-n", "lsst-scipipe-12.1")
    assert r.code == 2 and "did you mean 'lsst-scipipe-12.1.0'" in r.err
    r = scipipe("envconfig", "--root", root, "-b", "b99")
    assert r.code == 2 and "no environment record for b99" in r.err
    r = scipipe("envconfig", "--root", root, "-i")  # the test's stdin is not a terminal
    assert r.code == 2 and "-i needs a terminal" in r.err


def test_envconfig_root_defaults_to_scipipe_root(
    deployed: Path, scipipe: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCIPIPE_ROOT", str(deployed))
    r = scipipe("--json", "envconfig")
    assert r.code == 0, r.err
    assert [e["name"] for e in json.loads(r.out)["environments"]] == ["lsst-scipipe-13.0.1"]
    assert os.environ["SCIPIPE_ROOT"] == str(deployed)


def test_build_u_refreshes_repos_yaml_from_where_deploy_copied_it(
    world: dict[str, Path], sample_stack: Materialized, scipipe: Invoke
) -> None:
    source = world["tmp"] / "published" / "repos.yaml"
    source.parent.mkdir()
    full = sample_stack.repos_yaml.read_text()
    without_utils = "".join(
        line for line in full.splitlines(keepends=True) if not line.startswith("utils:")
    )
    assert without_utils != full
    source.write_text(without_utils)
    root = world["tmp"] / "root"
    assert scipipe("deploy", root, "--repos", source).code == 0
    source.write_text(full)  # the published repos.yaml gains utils
    build = ("build", "run", "utils", "--root", root, "--no-env", "-p")
    r = scipipe(*build)
    assert r.code == 3 and "utils" in r.err  # ROOT/repos.yaml does not know it yet
    r = scipipe(*build, "-u")
    assert r.code == 0, r.err
    assert f"repos.yaml: {root}/repos.yaml updated from {source}" in r.err
    assert (root / "repos.yaml").read_text() == full
    assert (root / "sources" / "utils" / ".git").is_dir()
    r = scipipe(*build, "-u")
    assert r.code == 0 and "is up to date with" in r.err, r.err


def test_build_u_without_a_deploy_record_says_so(tmp_path: Path, scipipe: Invoke) -> None:
    r = scipipe("build", "run", "utils", "--root", tmp_path, "--no-env", "-p", "-u")
    assert r.code == 2 and "no recorded source for repos.yaml" in r.err
    assert f"{tmp_path}/etc/deploy.json" in r.err


def test_build_help_documents_the_exit_codes_for_ci(scipipe: Invoke) -> None:
    r = scipipe("build", "run", "--help")
    assert r.code == 0
    assert "8  one or more products failed to build" in r.out
    assert "other  the tool could not do its work" in r.out
