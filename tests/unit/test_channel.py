"""Local conda channels: real packages, real repodata, and a real rattler solve and install.

py-rattler runs only in child processes here, as it does in the library: it can crash at
interpreter exit (see the peer survey), which must not take pytest down with it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scipipe_tools.demo.channel import (
    DEFAULT_SUBDIRS,
    PackageSpec,
    channel_url,
    check_channel,
    generated_packages,
    make_channel,
    read_repodata,
    repodata_records,
    rubin_like_packages,
)
from scipipe_tools.errors import CommandError, InputError, ScipipeError
from scipipe_tools.infra import proc

ALL_SUBDIRS = (*DEFAULT_SUBDIRS, "noarch")
LINUX_VIRTUAL = [["__glibc", "2.28"], ["__unix", "0"]]
OSX_VIRTUAL = [["__osx", "14.0"], ["__unix", "0"]]

# Runs in a child: solve each job, optionally install the first one's result.
SOLVE = r"""
import asyncio, json, os, sys
from pathlib import Path

import rattler
from rattler import BuildString, GenericVirtualPackage, PackageName, Subdir, Version
from rattler.exceptions import SolverError

spec = json.loads(Path(sys.argv[1]).read_text())
results = []
for job in spec["jobs"]:
    virtual = [
        GenericVirtualPackage(PackageName(n), Version(v), BuildString("0"))
        for n, v in job["virtual"]
    ]
    try:
        records = asyncio.run(rattler.solve(
            sources=[spec["channel"]], specs=job["specs"], platforms=[job["platform"], "noarch"],
            virtual_packages=virtual, strategy=job.get("strategy", "highest"),
        ))
    except SolverError as exc:
        results.append({"error": str(exc)})
        continue
    results.append({"records": {
        r.name.normalized: {"version": str(r.version), "build": str(r.build), "subdir": str(r.subdir),
                            "url": r.url, "file_name": r.file_name}
        for r in records
    }})
    if job.get("prefix"):
        asyncio.run(rattler.install(
            records, target_prefix=Path(job["prefix"]), cache_dir=Path(job["prefix"] + ".cache"),
            platform=Subdir(job["platform"]), show_progress=False,
        ))
Path(spec["result"]).write_text(json.dumps(results))
sys.stdout.flush()
os._exit(0)
"""


def solve(tmp_path: Path, channel: Path, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run the jobs with rattler in a child; a crash at its exit is tolerated."""
    job_file, result = tmp_path / "jobs.json", tmp_path / "result.json"
    job_file.write_text(
        json.dumps({"channel": channel_url(channel), "jobs": jobs, "result": str(result)})
    )
    r = proc.run([sys.executable, "-c", SOLVE, str(job_file)], check=False, timeout=120)
    crashed = r.returncode in (-signal.SIGSEGV, -signal.SIGABRT)
    assert r.returncode == 0 or (crashed and result.exists()), r.stderr
    results: list[dict[str, Any]] = json.loads(result.read_text())
    return results


@pytest.fixture(scope="module")
def rubin_packages() -> list[PackageSpec]:
    return rubin_like_packages()


@pytest.fixture(scope="module")
def rubin_channel(
    tmp_path_factory: pytest.TempPathFactory, rubin_packages: list[PackageSpec]
) -> Path:
    """The rubin-like channel, built once for this module: read it, never change it."""
    return make_channel(tmp_path_factory.mktemp("rubin") / "channel", rubin_packages)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- repodata


def test_repodata_lists_every_package_with_hashes_and_depends(
    rubin_channel: Path, rubin_packages: list[PackageSpec]
) -> None:
    for subdir in ALL_SUBDIRS:
        repodata = read_repodata(rubin_channel, subdir)
        assert repodata["info"]["subdir"] == subdir
        records = repodata_records(repodata)
        expected = {p.filename(): p for p in rubin_packages if p.subdir == subdir}
        assert records.keys() == expected.keys(), subdir
        for filename, package in expected.items():
            record, archive = records[filename], rubin_channel / subdir / filename
            assert record["sha256"] == sha256(archive)
            assert record["md5"] == hashlib.md5(archive.read_bytes()).hexdigest()
            assert record["size"] == archive.stat().st_size
            assert record["depends"] == list(package.depends)
            assert record.get("constrains", []) == list(package.constrains)
            assert (record["name"], record["version"]) == (package.name, package.version)
            assert (record["build"], record["build_number"]) == (
                package.build_string,
                package.build_number,
            )
            assert record["subdir"] == subdir
            assert record.get("noarch") == ("generic" if subdir == "noarch" else None)


def test_empty_platforms_are_indexed_and_nothing_else_is_left(rubin_channel: Path) -> None:
    assert sorted(os.listdir(rubin_channel)) == sorted(ALL_SUBDIRS)
    for subdir in ("linux-aarch64", "osx-64"):
        assert repodata_records(read_repodata(rubin_channel, subdir)) == {}
    assert os.listdir(rubin_channel.parent) == ["channel"]  # no staging left behind


def test_rubin_like_metapackages_pin_like_the_recipe(rubin_packages: list[PackageSpec]) -> None:
    by_id = {(p.name, p.version, p.subdir): p for p in rubin_packages}
    nosysroot = by_id["rubin-env-nosysroot", "13.0.1", "linux-64"]
    assert "python >=3.13,<3.14" in nosysroot.depends
    assert "eups >=2.2.14" in nosysroot.depends and "numpy 2.3.*" in nosysroot.depends
    assert "libcxx 20.*" in by_id["rubin-env-nosysroot", "13.0.1", "osx-arm64"].depends
    assert nosysroot.build_number == 6
    rubin_env = by_id["rubin-env", "13.0.1", "linux-64"]
    assert f"rubin-env-nosysroot ==13.0.1 {nosysroot.build_string}" in rubin_env.depends
    assert "sysroot_linux-64 2.17.*" in rubin_env.depends
    developer = by_id["rubin-env-developer", "13.0.1", "noarch"]
    assert "rubin-env ==13.0.1" in developer.depends


@pytest.mark.parametrize("platform", DEFAULT_SUBDIRS)
def test_rubin_like_dependencies_exist_on_each_platform(platform: str) -> None:
    packages = rubin_like_packages(DEFAULT_SUBDIRS)
    assert len({(p.subdir, p.filename()) for p in packages}) == len(packages)
    visible = [p for p in packages if p.subdir in (platform, "noarch")]
    names = {p.name for p in visible}
    wanted = {d.split()[0] for p in visible for d in p.depends if not d.startswith("__")}
    assert wanted - names == set()
    native = {d.split()[0] for p in visible if p.subdir == platform for d in p.depends}
    assert {n for n in native if n.startswith("__")} == (
        {"__glibc"} if platform.startswith("linux") else {"__osx"}
    )


# --------------------------------------------------------------------------- solve, install


def test_solve_rubin_env_13_on_linux_and_install(rubin_channel: Path, tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    job = {
        "specs": ["rubin-env ==13.0.1"],
        "platform": "linux-64",
        "virtual": LINUX_VIRTUAL,
        "prefix": str(prefix),
    }
    [result] = solve(tmp_path, rubin_channel, [job])
    records = result["records"]
    versions = {name: r["version"] for name, r in records.items()}
    assert versions["python"] == "3.13.7"  # the newest python the pins allow
    assert versions["numpy"] == "2.3.5" and records["numpy"]["build"].startswith("py313")
    assert versions["rubin-env-nosysroot"] == "13.0.1" and versions["eups"] == "2.2.15"
    assert versions["cmake"] == "4.1.2" and versions["sysroot_linux-64"] == "2.17"
    assert "libcxx" not in versions  # macOS only
    assert {r["subdir"] for r in records.values()} == {"linux-64", "noarch"}
    assert all(r["url"].startswith(channel_url(rubin_channel) + "/") for r in records.values())

    for record in records.values():
        name = record["file_name"].removesuffix(".conda")
        assert (prefix / "conda-meta" / f"{name}.json").is_file()
    eups = prefix / "bin" / "eups"
    assert eups.read_text() == '#!/bin/sh\necho "EUPS Version: 2.2.15"\n'
    assert os.access(eups, os.X_OK)
    assert (prefix / "share" / "eups" / "VERSION").read_text() == "2.2.15\n"
    marker = (prefix / "share" / "scipipe-test-channel" / "numpy.txt").read_text()
    assert marker.startswith("numpy 2.3.5 py313")
    assert (prefix / "etc/conda/activate.d/rubin-env-13.0.1.sh").is_file()


def test_solves_depend_on_platform_and_virtual_packages(
    rubin_channel: Path, tmp_path: Path
) -> None:
    def job(spec: str, platform: str, virtual: list[list[str]], **kw: str) -> dict[str, Any]:
        return {"specs": [spec], "platform": platform, "virtual": virtual, **kw}

    glibc_217 = [["__glibc", "2.17"], ["__unix", "0"]]
    results = solve(
        tmp_path,
        rubin_channel,
        [
            job("rubin-env ==13.0.1", "linux-64", []),
            job("rubin-env ==13.0.1", "linux-64", glibc_217),
            job("rubin-env ==12.1.0", "linux-64", glibc_217),
            job("rubin-env ==13.0.1", "osx-arm64", OSX_VIRTUAL),
            job("rubin-env ==13.0.1", "osx-64", [["__osx", "14.0"], ["__unix", "0"]]),
            job("rubin-env-developer", "linux-64", LINUX_VIRTUAL),
            job("rubin-env ==12.1.0", "linux-64", LINUX_VIRTUAL, strategy="lowest"),
        ],
    )
    no_virtual, old_glibc, v12, osx, osx64, developer, lowest = results
    assert "__glibc" in no_virtual["error"]
    # cmake 4.1.2, the only one rubin-env 13 allows, needs glibc 2.28 on Linux.
    assert "cmake" in old_glibc["error"] and "__glibc >=2.28" in old_glibc["error"]
    v12_versions = {n: r["version"] for n, r in v12["records"].items()}
    assert v12_versions["python"] == "3.12.11" and v12_versions["numpy"] == "2.3.5"
    assert v12_versions["cmake"] == "3.31.8" and v12_versions["pytest"] == "8.4.2"
    osx_versions = {n: r["version"] for n, r in osx["records"].items()}
    assert osx_versions["libcxx"] == "20.1.8" and osx_versions["python"] == "3.13.7"
    assert osx_versions["macosx_deployment_target_osx-arm64"] == "11.0"
    assert "libgcc" not in osx_versions
    assert "error" in osx64  # an indexed but empty platform
    dev_versions = {n: r["version"] for n, r in developer["records"].items()}
    assert dev_versions["rubin-env-developer"] == "13.0.1" == dev_versions["rubin-env"]
    assert {"isort", "pyflakes", "ruff"} <= dev_versions.keys()
    low_versions = {n: r["version"] for n, r in lowest["records"].items()}
    assert low_versions["numpy"] == "1.26.4" and low_versions["cfitsio"] == "4.5.0"


# --------------------------------------------------------------------------- make_channel

SMALL = [
    PackageSpec("libfoo", "1.0", subdir="linux-64", depends=("__glibc >=2.17",)),
    PackageSpec("foo", "1.0", depends=("libfoo >=1",), files={"bin/foo": "#!/bin/sh\n"}),
]


def test_archives_are_reproducible(tmp_path: Path) -> None:
    one = make_channel(tmp_path / "one", SMALL, subdirs=["linux-64"])
    two = make_channel(tmp_path / "two", SMALL, subdirs=["linux-64"])
    for package in SMALL:
        rel = Path(package.subdir, package.filename())
        assert sha256(one / rel) == sha256(two / rel)


def test_tar_bz2_archives(tmp_path: Path) -> None:
    root = make_channel(tmp_path / "ch", SMALL, subdirs=["linux-64"], archive="tar.bz2")
    records = read_repodata(root, "noarch")["packages"]
    assert list(records) == [SMALL[1].filename("tar.bz2")]
    assert check_channel(root, SMALL, subdirs=["linux-64"], archive="tar.bz2") == []


def test_an_existing_empty_directory_is_used(tmp_path: Path) -> None:
    (tmp_path / "ch").mkdir()
    root = make_channel(tmp_path / "ch", SMALL, subdirs=["linux-64"])
    assert sorted(os.listdir(root)) == ["linux-64", "noarch"]


@pytest.mark.parametrize(
    ("packages", "message"),
    [
        ([PackageSpec("Foo", "1")], r"packages\[0\]: 'Foo' is not a conda package name"),
        ([PackageSpec("foo", "1-2")], r"packages\[0\]: foo: '1-2' is not a conda version"),
        ([PackageSpec("foo", "1", build="a-b")], "'a-b' is not a build string"),
        ([PackageSpec("foo", "1", subdir="win-64")], "subdir 'win-64' is not one of"),
        ([PackageSpec("foo", "1", depends=(" x",))], "bad match spec"),
        ([PackageSpec("foo", "1", files={"../x": ""})], "must be relative"),
        ([PackageSpec("foo", "1", files={"/etc/x": ""})], "must be relative"),
        (
            [PackageSpec("foo", "1"), PackageSpec("bar", "1"), PackageSpec("foo", "1")],
            r"packages\[2\]: foo: noarch/foo-1-h\w+_0.conda is also packages\[0\]",
        ),
    ],
)
def test_bad_specs_are_refused_before_building(
    tmp_path: Path, packages: list[PackageSpec], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        make_channel(tmp_path / "ch", packages)
    assert not (tmp_path / "ch").exists()


def test_unknown_subdir_suggests_the_near_miss(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        make_channel(tmp_path / "ch", SMALL, subdirs=["linux64"])
    assert info.value.hint == "did you mean 'linux-64'?"


def test_a_non_empty_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ch").mkdir()
    (tmp_path / "ch" / "x").write_text("")
    with pytest.raises(InputError, match="needs an empty directory"):
        make_channel(tmp_path / "ch", SMALL)


def crash_after(
    monkeypatch: pytest.MonkeyPatch, code: int, damage: str | None = None
) -> list[list[str]]:
    """Make the builder child 'crash' with ``code`` after it has run; optionally delete
    ``damage`` (a path inside the channel) first, as a crash mid-write would."""
    real_run, calls = proc.run, []

    def run(argv: list[str], **kw: Any) -> proc.Result:
        result = real_run(argv, **kw)
        calls.append(argv)
        if damage:
            (Path(argv[-1]) / damage).unlink()
        return proc.Result(result.argv, code, result.stdout, "Fatal Python error: Segfault\n")

    monkeypatch.setattr(proc, "run", run)
    return calls


def test_a_crash_after_the_channel_is_written_is_tolerated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls = crash_after(monkeypatch, -signal.SIGSEGV)
    with caplog.at_level(logging.WARNING, logger="scipipe_tools.demo.channel"):
        root = make_channel(tmp_path / "ch", SMALL, subdirs=["linux-64"])
    assert len(calls) == 1
    assert check_channel(root, SMALL, subdirs=["linux-64"]) == []
    assert "signal SIGSEGV after writing the whole channel" in caplog.text


def test_a_crash_before_the_channel_is_complete_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crash_after(monkeypatch, -signal.SIGABRT, damage="linux-64/repodata.json")
    with pytest.raises(CommandError, match="exit code -6") as info:
        make_channel(tmp_path / "ch", SMALL, subdirs=["linux-64"])
    assert "Segfault" in info.value.stderr_tail
    assert os.listdir(tmp_path) == []  # neither the channel nor its staging


def test_success_with_a_missing_archive_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    crash_after(monkeypatch, 0, damage=f"noarch/{SMALL[1].filename()}")
    with pytest.raises(ScipipeError, match=r"incomplete: .*foo-1.0-h\w+_0.conda"):
        make_channel(tmp_path / "ch", SMALL, subdirs=["linux-64"])


@pytest.mark.parametrize(
    ("package", "message"),
    [
        (PackageSpec("foo", "1..0"), "malformed version string '1..0'"),
        (PackageSpec("foo", "1", depends=("bar >>=1",)), "bad match spec 'bar >>=1'"),
    ],
)
def test_what_only_rattler_refuses_fails_with_its_message(
    tmp_path: Path, package: PackageSpec, message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        make_channel(tmp_path / "ch", [package])
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- generated


def test_generated_channel_has_exactly_n_records_in_a_dag() -> None:
    packages = generated_packages(5000, seed=7)
    assert len(packages) == 5000
    assert packages == generated_packages(5000, seed=7)
    assert packages != generated_packages(5000, seed=8)
    counts = Counter(p.subdir for p in packages)
    assert counts["linux-64"] == counts["osx-arm64"] == counts["osx-64"] > 500
    assert counts["noarch"] > 500
    versions = Counter(p.name for p in packages if p.subdir in ("linux-64", "noarch"))
    assert max(versions.values()) >= 20  # names with many versions
    assert len({(p.subdir, p.filename()) for p in packages}) == 5000


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 400), seed=st.integers(0, 2**32))
def test_generated_constraints_name_existing_versions(n: int, seed: int) -> None:
    packages = generated_packages(n, seed, max_versions=12)
    assert len(packages) == n
    order = {name: i for i, name in enumerate(dict.fromkeys(p.name for p in packages))}
    versions: dict[str, set[str]] = {}
    for p in packages:
        versions.setdefault(p.name, set()).add(p.version)
    for p in packages:
        for dep in p.depends:
            name, _, constraint = dep.partition(" ")
            if name.startswith("__"):
                assert p.subdir != "noarch"
                continue
            assert order[name] < order[p.name]
            if constraint.endswith(".*"):
                assert any(v.startswith(constraint[:-1]) for v in versions[name])
            elif constraint:
                floor = re.match(r">=([\d.]+)", constraint)
                assert floor and floor.group(1) in versions[name]


def test_a_generated_channel_solves(tmp_path: Path) -> None:
    packages = generated_packages(300, seed=3, platforms=["linux-64", "osx-arm64"])
    root = make_channel(tmp_path / "gen", packages, subdirs=["linux-64", "osx-arm64"])
    tops = sorted({p.name for p in packages})[-3:]
    jobs = [{"specs": [t], "platform": "linux-64", "virtual": LINUX_VIRTUAL} for t in tops]
    for top, result in zip(tops, solve(tmp_path, root, jobs), strict=True):
        assert top in result.get("records", {}), result.get("error")
