"""``lsstinstall``: real solves and installs from a local channel, a real EUPS root over HTTP,
and the load script sourced by real shells."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scipipe_tools.cli.app import run
from scipipe_tools.cli.lsstinstall import lsstinstall
from scipipe_tools.demo.channel import channel_url
from scipipe_tools.eups.taglist import TagList, TagRow
from scipipe_tools.infra.lockfile import explicit_text, read_lock
from scipipe_tools.names.serverlayout import binary_root_path
from tests.support.httpserver import StaticServer, closed_port

from .conftest import Outcome

PLATFORM = "linux-64"


@pytest.fixture
def home(tmp_path: Path, conda_channel: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty directory to run lsstinstall in, the test channel standing in for
    conda-forge, and no active conda."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(home)
    monkeypatch.setenv("LSST_CONDA_CHANNELS", channel_url(conda_channel))
    monkeypatch.setenv("SCIPIPE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CONDA_EXE", raising=False)
    return home


def lsst(capsys: pytest.CaptureFixture[str], *args: object) -> Outcome:
    code = run(lsstinstall, [str(a) for a in args], "lsstinstall")
    out = capsys.readouterr()
    return Outcome(code, out.out, out.err)


def packages(prefix: Path) -> dict[str, str]:
    return {
        (d := json.loads(p.read_text()))["name"]: d["version"]
        for p in (prefix / "conda-meta").glob("*.json")
    }


def test_latest_makes_env_stack_pkgroot_and_load_scripts(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = lsst(capsys, "-E", "https://eups.example.org/stack", "--json")
    assert r.code == 0, r.err
    result = json.loads(r.out)
    prefix = home / "conda" / "envs" / "lsst-scipipe-13.0.1"
    assert (result["rubin_env"], result["env_name"]) == ("13.0.1", "lsst-scipipe-13.0.1")
    assert packages(prefix)["rubin-env"] == "13.0.1" and "rubin-env-developer" not in packages(
        prefix
    )
    eups_path = prefix / "share" / "eups"
    assert (eups_path / "ups_db").is_dir()
    assert "lockDirectoryBase = None" in (eups_path / "site" / "startup.py").read_text()
    assert (
        "def distribInstallPostHook("
        in (eups_path / "site" / "distribInstallPostHook.py").read_text()
    )
    binary = f"https://eups.example.org/stack/{binary_root_path(PLATFORM, '13.0.1')}"
    assert (eups_path / "pkgroot").read_text() == f"{binary}|https://eups.example.org/stack/src\n"
    names = ["loadLSST.sh", "loadLSST.ash", "loadLSST.bash", "loadLSST.zsh"]
    assert sorted(p.name for p in home.iterdir()) == sorted(["conda", *names])
    assert len({(home / n).stat().st_ino for n in names}) == 1  # hard links
    assert (home / "loadLSST.sh").stat().st_mode & 0o044 == 0o044  # others can read it

    r = lsst(capsys, "-E", "https://eups.example.org/stack", "--json")
    assert r.code == 0 and json.loads(r.out)["env_noop"] is True
    assert any(a.startswith("keep ") for a in json.loads(r.out)["actions"])


@pytest.mark.parametrize("shell", ["sh", "bash"])
def test_the_load_script_activates_the_env_in_a_real_shell(
    home: Path, capsys: pytest.CaptureFixture[str], shell: str
) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    assert lsst(capsys, "-E", "http://eups.example.org/stack").code == 0
    script = (
        f'. ./loadLSST.{shell} && echo "$CONDA_PREFIX" && echo "$EUPS_PATH" && '
        'echo "$EUPS_PKGROOT" && eups && command -v python3'
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "RUBIN_EUPS_PATH": "/shared/stack"}
    out = subprocess.run([shell, "-c", script], cwd=home, env=env, capture_output=True,
                         text=True, check=True).stdout.splitlines()  # fmt: skip
    prefix = home / "conda" / "envs" / "lsst-scipipe-13.0.1"
    assert out[0] == str(prefix)
    assert out[1] == f"/shared/stack:{prefix}/share/eups"  # rubin-env's hook, then eups's
    assert out[2].endswith("|http://eups.example.org/stack/src")
    assert out[3] == "EUPS Version: 2.2.15"
    assert out[4] == f"{prefix}/bin/python3"


def test_version_developer_and_pkgroot_flags(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = lsst(capsys, "-v", "12.1.0", "-d", "-B", "-E", "http://x/stack", "--json")
    assert r.code == 0, r.err
    prefix = home / "conda" / "envs" / "lsst-scipipe-12.1.0"
    have = packages(prefix)
    assert have["rubin-env"] == have["rubin-env-developer"] == "12.1.0"
    assert have["python"].startswith("3.12.")
    assert (prefix / "share/eups/pkgroot").read_text() == "http://x/stack/src\n"
    r = lsst(capsys, "-v", "12.1.0", "-e", "mine", "-S", "-p", home / "other", "--json")
    assert r.code == 0, r.err
    other = home / "other" / "envs" / "mine"
    assert (other / "share/eups/pkgroot").read_text().startswith("https://eups.lsst.cloud/")
    assert "|" not in (other / "share/eups/pkgroot").read_text()


def test_dry_run_writes_nothing(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = lsst(capsys, "-n")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].startswith("$ scipipe env create --lock <a solve of rubin-env ==13.0.1")
    assert all(line.startswith("$ ") for line in lines)
    assert any("pkgroot: https://eups.lsst.cloud/stack/redhat/el7/" in line for line in lines)
    assert list(home.iterdir()) == []


def test_an_active_conda_wins_unless_P(
    home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    active = home / "miniforge"
    (active / "bin").mkdir(parents=True)
    (active / "bin" / "conda").write_text("#!/bin/sh\n")
    monkeypatch.setenv("CONDA_EXE", str(active / "bin" / "conda"))
    r = lsst(capsys, "-n", "--json")
    assert json.loads(r.out)["prefix"] == str(active / "envs" / "lsst-scipipe-13.0.1")
    r = lsst(capsys, "-n", "-P", "--json")
    assert json.loads(r.out)["prefix"] == str(home / "conda" / "envs" / "lsst-scipipe-13.0.1")


# --------------------------------------------------------------------------- -T and -X


@pytest.fixture
def eups_root(
    tmp_path: Path, home: Path, conda_channel: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[StaticServer]:
    """An EUPS root over HTTP: src/tags/*.list, and the binary root's exact env file."""
    from scipipe_tools.cli.app import cli

    root = tmp_path / "stack"
    tags = root / "src" / "tags"
    tags.mkdir(parents=True)
    rows = (TagRow("lsst_distrib", "generic", "g0123456789+abcdef0123"),)
    for tag, env in (("w_2025_15", "13.0.1"), ("w_2024_10", "12.1.0"),
                     ("old", "https://github.com/lsst/scipipe_conda_env.git@cb4e2dc")):  # fmt: skip
        (tags / f"{tag}.list").write_text(
            TagList(tag, rows, {"BUILD": "b7412", "CONDA_ENV": env}).to_text()
        )
    (tags / "mislabelled.list").write_text(TagList("w_2025_16", rows).to_text())
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"name: rubin-env\nversion: 13.0.1\nchannels: [{channel_url(conda_channel)}]\n"
        "dependencies: ['rubin-env ==13.0.1']\nplatforms: [linux-64]\n"
        "virtual_packages: {linux-64: {__glibc: '2.28', __unix: '0'}}\n"
    )
    assert run(cli, ["-q", "env", "lock", str(spec), "--strategy", "lowest"], "scipipe") == 0
    capsys.readouterr()  # the lock's report is not the test's output
    lock = read_lock(tmp_path / "spec.conda-lock.yml")
    binary = root / binary_root_path(PLATFORM, "13.0.1") / "env"
    binary.mkdir(parents=True)
    (binary / "w_2025_15.env").write_text(explicit_text(lock.for_platform(PLATFORM)))
    with StaticServer(root) as server:
        yield server


def test_T_takes_the_tags_rubin_env(home: Path, capsys: pytest.CaptureFixture[str],
                                    eups_root: StaticServer) -> None:  # fmt: skip
    r = lsst(capsys, "-T", "w_2024_10", "-E", eups_root.url, "--json")
    assert r.code == 0, r.err
    result = json.loads(r.out)
    assert (result["rubin_env"], result["tag"], result["exact"]) == ("12.1.0", "w_2024_10", False)
    assert packages(Path(result["prefix"]))["rubin-env"] == "12.1.0"


def test_X_installs_the_exact_env_file(home: Path, capsys: pytest.CaptureFixture[str],
                                       eups_root: StaticServer, tmp_path: Path) -> None:  # fmt: skip
    r = lsst(capsys, "-X", "w_2025_15", "-E", eups_root.url, "--json")
    assert r.code == 0, r.err
    result = json.loads(r.out)
    assert result["env_name"] == "lsst-scipipe-13.0.1-exact" and result["exact"]
    lock = read_lock(tmp_path / "spec.conda-lock.yml")
    assert packages(Path(result["prefix"])) == {
        p.name: p.version for p in lock.for_platform(PLATFORM)
    }
    assert packages(Path(result["prefix"]))["numpy"] == "2.3.4"  # the file's, not the newest
    exact = f"/{binary_root_path(PLATFORM, '13.0.1')}/env/w_2025_15.env"
    assert ("GET", exact) in eups_root.requests


def test_X_with_a_tampered_env_file_installs_nothing(
    home: Path, capsys: pytest.CaptureFixture[str], eups_root: StaticServer
) -> None:
    env_file = Path(eups_root.directory, binary_root_path(PLATFORM, "13.0.1"), "env",
                    "w_2025_15.env")  # fmt: skip
    lines = env_file.read_text().splitlines()
    lines[-1] = lines[-1][:-32] + "0" * 32  # another md5 for the last package
    env_file.write_text("\n".join(lines) + "\n")
    r = lsst(capsys, "-X", "w_2025_15", "-E", eups_root.url)
    assert r.code == 6 and "md5 mismatch" in r.err
    assert list(home.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["-T", "w_2025_15", "-v", "13.0.1"], 2, "-T and -v cannot be combined"),
        (["-v", "cb4e2dc"], 2, "legacy scipipe_conda_env lock file"),
        (["-X", "w_2025_15", "-u"], 2, "-u cannot update an exact environment"),
        (["-T", "old"], 2, "#CONDA_ENV: 'cb4e2dc' names a legacy scipipe_conda_env"),
        (["-T", "mislabelled"], 2, "mislabelled.list:1: header names tag 'w_2025_16'"),
        (["-T", "w_2099_01"], 3, "unknown tag 'w_2099_01'"),
        (["-X", "w_2024_10"], 3, "no exact environment for w_2024_10 on linux-64"),
        (["-v", "99.0.0"], 3, "cannot solve rubin-env ==99.0.0"),
        (["--install", "lsst_distrib"], 2, "--install needs the tag"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    home: Path, capsys: pytest.CaptureFixture[str], eups_root: StaticServer,
    args: list[str], code: int, message: str,
) -> None:  # fmt: skip
    r = lsst(capsys, *args, "-E", eups_root.url)
    assert r.code == code, r.err
    assert r.err.startswith("error: ") and message in r.err.splitlines()[0]
    assert "Traceback" not in r.err
    assert list(home.iterdir()) == []


def test_unreachable_root_and_a_non_conda_directory(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    r = lsst(capsys, "-T", "w_2025_15", "-E", f"http://127.0.0.1:{closed_port()}/stack")
    assert r.code == 5, r.err
    (home / "stuff").mkdir()
    (home / "stuff" / "notes.txt").write_text("mine")
    r = lsst(capsys, "-p", home / "stuff")
    assert r.code == 2 and "is not a conda installation" in r.err
    assert sorted(os.listdir(home)) == ["stuff"]


# --------------------------------------------------------------------------- the whole story


@pytest.fixture(scope="module")
def published(
    tmp_path_factory: pytest.TempPathFactory, examples_dir: Path, conda_channel: Path
) -> Iterator[tuple[str, Path]]:
    """The sample stack built, its rubin-env locked from the test channel, both published
    as an EUPS tree (source root and this platform's binary root) and served over HTTP."""
    from scipipe_tools.cli.app import cli
    from scipipe_tools.demo.samplestack import materialize
    from scipipe_tools.eups.flavor import current_flavor
    from scipipe_tools.names.platforms import current_platform

    base = tmp_path_factory.mktemp("published")
    sample = materialize(examples_dir / "sample-stack", base / "remotes", history=False)
    work = base / "work"
    scipipe = str(Path(sys.executable).parent / "scipipe")
    build = [scipipe, "-q", "build", "lsst_demo", "--repos", str(sample.repos_yaml), "--root",
             str(work), "--no-tests", "-j", "2", "--exclusion-map", str(sample.exclusions)]  # fmt: skip
    r = subprocess.run(build, capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    spec = base / "rubin-env.yaml"
    spec.write_text(
        f"name: rubin-env\nversion: 13.0.1\nchannels: [{channel_url(conda_channel)}]\n"
        f"dependencies: ['rubin-env ==13.0.1']\nplatforms: [{current_platform()}]\n"
        "virtual_packages: {linux-64: {__glibc: '2.28', __unix: '0'}, "
        "linux-aarch64: {__glibc: '2.28', __unix: '0'}}\n"
    )
    lock = base / "rubin-env.conda-lock.yml"
    assert run(cli, ["-q", "env", "lock", str(spec), "-o", str(lock)], "scipipe") == 0
    publish = ["-q", "distrib", "publish", "-b", "b1", "-t", "w_2025_15", "--stack",
               str(work / "stack"), "--sources", str(work / "sources"), "--env-file", str(lock),
               "--eups-root", str(base / "srv" / "stack"), "--flavor", current_flavor(),
               "lsst_demo"]  # fmt: skip
    assert run(cli, publish, "scipipe") == 0
    with StaticServer(base / "srv") as server:
        yield f"{server.url}/stack", lock


def test_exact_env_and_binary_install_in_one_command(
    home: Path, capsys: pytest.CaptureFixture[str], published: tuple[str, Path]
) -> None:
    from scipipe_tools.eups.flavor import current_flavor
    from scipipe_tools.names.platforms import current_platform
    from scipipe_tools.stack.stack import Stack

    capsys.readouterr()
    url, lock = published
    r = lsst(capsys, "-X", "w_2025_15", "-E", url, "--install", "lsst_demo", "--json")
    assert r.code == 0, r.err
    result = json.loads(r.out)
    prefix = home / "conda" / "envs" / "lsst-scipipe-13.0.1-exact"
    assert packages(prefix) == {
        p.name: p.version for p in read_lock(lock).for_platform(current_platform())
    }
    stack = Stack(prefix / "share" / "eups", current_flavor())
    tagged = stack.tagged("w_2025_15")
    assert sorted(tagged) == sorted(row["product"] for row in result["installed"])
    assert {"lsst_demo", "afw", "utils", "base"} <= tagged.keys()
    # The installed stack works: set lsst_demo up at the tag, in a shell made by loadLSST.sh.
    script = ('. ./loadLSST.sh && eval "$(scipipe setup lsst_demo -t w_2025_15)" && '
              'echo "$AFW_DIR" && echo "$EUPS_PKGROOT"')  # fmt: skip
    bindir = str(Path(sys.executable).parent)
    env = {"PATH": f"/usr/bin:/bin:{bindir}", "HOME": str(home)}
    out = subprocess.run(["sh", "-c", script], cwd=home, env=env, capture_output=True, text=True,
                         check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr
    afw_dir, pkgroot = out.stdout.splitlines()
    assert afw_dir == str(stack.product_dir("afw", tagged["afw"]))
    assert pkgroot == f"{url}/{binary_root_path(current_platform(), '13.0.1')}|{url}/src"
    # Again: the environment and the stack are already there; nothing is installed.
    r = lsst(capsys, "-X", "w_2025_15", "-E", url, "--install", "lsst_demo", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["env_noop"] is True and json.loads(r.out)["installed"] == []


def test_u_updates_an_existing_env_and_C_puts_a_channel_first(
    home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from scipipe_tools.demo.channel import PackageSpec, make_channel

    assert lsst(capsys, "-v", "13.0.1").code == 0
    prefix = home / "conda" / "envs" / "lsst-scipipe-13.0.1"
    eups = next((prefix / "conda-meta").glob("eups-*.json"))
    eups.unlink()  # the environment drifts from rubin-env
    r = lsst(capsys, "-v", "13.0.1", "--json")
    assert json.loads(r.out)["env_noop"] is True  # reused as it is: no solve
    assert "eups" not in packages(prefix)
    mirror = make_channel(tmp_path / "mirror", [PackageSpec(
        "eups", "2.2.14", depends=("python >=3.9", "__unix"), build="mirror_0")],
        subdirs=["linux-64"])  # fmt: skip
    r = lsst(capsys, "-v", "13.0.1", "-u", "-C", channel_url(mirror), "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["env_noop"] is False
    record = json.loads(next((prefix / "conda-meta").glob("eups-*.json")).read_text())
    assert (record["version"], record["build"]) == ("2.2.14", "mirror_0")
    assert record["url"].startswith(channel_url(mirror))


@pytest.mark.parametrize(
    ("variant", "specs"),
    [
        ("nosysroot", "rubin-env-nosysroot ==13.0.1"),
        ("extras", "rubin-env ==13.0.1 rubin-env-extras ==13.0.1"),
        ("developer", "rubin-env ==13.0.1 rubin-env-developer ==13.0.1"),
    ],
)
def test_variants_as_the_feedstock_builds_them(
    home: Path, capsys: pytest.CaptureFixture[str], variant: str, specs: str
) -> None:
    r = lsst(capsys, "-n", "-v", "13.0.1", "--variant", variant)
    assert r.code == 0, r.err
    assert r.out.splitlines()[0].startswith(f"$ scipipe env create --lock <a solve of {specs} ")
    r = lsst(capsys, "-X", "w_2025_15", "--variant", variant)
    assert r.code == 2 and "--variant cannot change an exact environment" in r.err


# --------------------------------------------------------------------------- --prefix


@pytest.mark.parametrize("shell", ["sh", "bash", "zsh"])
def test_prefix_makes_the_env_at_a_path_and_the_load_script_activates_it(
    home: Path, capsys: pytest.CaptureFixture[str], shell: str
) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    target = home / "my envs" / "lsst it"  # a space: the path is quoted in the script
    r = lsst(capsys, "--prefix", target, "-E", "http://eups.example.org/stack", "--json")
    assert r.code == 0, r.err
    result = json.loads(r.out)
    assert result["prefix"] == str(target) and result["env_name"] == str(target)
    assert packages(target)["rubin-env"] == "13.0.1"
    assert (target / "share" / "eups" / "ups_db").is_dir()
    assert not (home / "conda").exists()  # no conda root is made for a path environment
    script = (
        f'. ./loadLSST.{shell} && echo "$CONDA_PREFIX" && echo "$CONDA_DEFAULT_ENV" && '
        'echo "$EUPS_PATH" && command -v python3'
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    out = subprocess.run([shell, "-c", script], cwd=home, env=env, capture_output=True,
                         text=True, check=True).stdout.splitlines()  # fmt: skip
    assert out == [str(target), str(target), f"{target}/share/eups", f"{target}/bin/python3"]

    r = lsst(capsys, "--prefix", target, "-E", "http://eups.example.org/stack", "--json")
    assert r.code == 0 and json.loads(r.out)["env_noop"] is True  # reused, as with -e


def test_prefix_and_e_cannot_be_combined(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r = lsst(capsys, "--prefix", home / "env", "-e", "mine")
    assert r.code == 2 and "-e and --prefix cannot be combined" in r.err
    assert list(home.iterdir()) == []
