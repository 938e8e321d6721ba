"""The benchmark scripts run (at a small size) and print their figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> str:
    r = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_bench_resolve_prints_its_ratio() -> None:
    out = run("benchmarks.bench_resolve", "--products", "200", "--rounds", "1")
    assert "stack: 201 products" in out
    assert "ratio resolve/read:" in out and "target <= 3x" in out


def test_bench_realdata_reports_or_skips() -> None:
    out = run("benchmarks.bench_realdata", "--rounds", "1")
    realdata = ROOT.parent / "shared" / "realdata"
    if realdata.is_dir():
        assert "127 products resolved" in out
        assert "byte-identical: True" in out
    else:
        assert out == ""


def test_bench_scheduler_prints_its_ratio() -> None:
    out = run("benchmarks.bench_scheduler", "--products", "30", "--jobs", "4", "--scale", "0.05")
    assert "stack: 31 products" in out
    assert "ideal makespan:" in out and "speed-up over the serial build:" in out
    assert "ratio wall/ideal:" in out and "target <= 1.1x" in out


def test_bench_noop_rebuild_prints_its_ratio() -> None:
    out = run("benchmarks.bench_noop_rebuild", "--products", "12", "--rounds", "1")
    assert "stack: 12 products, already built" in out
    assert "ratio no-op/rev-parse:" in out and "target <= 3x" in out


def test_bench_distrib_install_prints_its_speed_up() -> None:
    out = run("benchmarks.bench_distrib_install", "--rounds", "1", "--baseline", "no-tests")
    assert "stack: 11 products (the sample stack), published as w_bench" in out
    assert "scipipe build --no-tests (from source):" in out
    assert "scipipe distrib install -t TAG (HTTP):" in out
    assert "speed-up distrib install over source build:" in out


def test_bench_env_lock_prints_per_platform_solves() -> None:
    out = run("benchmarks.bench_env_lock", "--records", "300", "--rounds", "1")
    assert "channel: 300 records" in out
    for platform in ("linux-64", "linux-aarch64", "osx-64", "osx-arm64"):
        assert f"  {platform}" in out and "solve" in out
    assert "scipipe env lock, 4 platforms:" in out and "ratio lock/parse-repodata:" in out
    assert "fixed start-up (whole - solves):" in out
    assert out.splitlines()[-1].startswith("RESULT env lock start-up against its 0.2 s budget:")


def test_bench_env_create_prints_its_ratio() -> None:
    out = run("benchmarks.bench_env_create", "--packages", "6,8", "--files", "3", "--kb", "8",
              "--rounds", "1")  # fmt: skip
    assert "environment: 7 packages" in out and "environment: 9 packages" in out
    assert "scipipe env create, already matching:" in out
    assert "ratio create/copy, empty cache:" in out and "target <= 3x" in out
    assert "ratio create/py-rattler, warm cache:" in out and "target <= 1.3x" in out
    results = [line for line in out.splitlines() if line.startswith("RESULT env create")]
    assert len(results) == 4 and out.splitlines()[-1] == results[-1]


def test_bench_cli_start_prints_both_commands_against_the_floor() -> None:
    out = run("benchmarks.bench_cli_start", "--rounds", "2")
    assert "python -c 'import click' (floor)" in out and "lsstinstall --help" in out
    last, before = out.splitlines()[-1], out.splitlines()[-2]
    assert {last.split(":")[1], before.split(":")[1]} == {" scipipe --help", " scipipe --version"}
    assert "target <= 2x" in last


def test_bench_release_tag_prints_speed_up_and_calls_per_repo() -> None:
    out = run(
        "benchmarks.bench_release_tag", "--products", "12", "--latency", "0.01", "--jobs", "4"
    )
    assert "repos: 12 (bare git remotes) behind the local GitHub server, 10 ms per call" in out
    assert "codekit-shaped serial:" in out and "5.00 API calls/repo" in out
    assert "scipipe -j 4:" in out and "in-sync rerun:" in out
    assert "speed-up -j 4 over scipipe -j 1:" in out and "target >= 8x" in out


def test_bench_changelog_prints_both_ratios() -> None:
    out = run("benchmarks.bench_changelog", "--repos", "8", "--commits", "200", "--rounds", "1")
    assert "ratio changelog/git log:" in out and "target <= 1.5x" in out
    assert "rerun/cold:" in out and "target <= 10%" in out


def test_bench_table_parse_prints_its_ratio() -> None:
    out = run("benchmarks.bench_table_parse", "--mb", "0.3", "--rounds", "1")
    assert "table: 0.3 MB" in out
    assert "read + parse (fast path):" in out and "general parser" in out
    assert out.splitlines()[-1].startswith("ratio parse/read:") and "target <= 2x" in out


def test_bench_distrib_real_prints_both_times_or_skips() -> None:
    out = run("benchmarks.bench_distrib_real", "--rounds", "1")
    if (ROOT.parent / "shared" / "tools" / "eups-2.2.15.tar.gz").is_file():
        assert "stack: 11 products (the sample stack)" in out
        assert "real eups distrib install (EUPS 2.2.15):" in out
        assert "scipipe distrib install:" in out
        assert out.splitlines()[-1].startswith("ratio scipipe/eups:")
    else:
        assert out == ""


@pytest.mark.slow
def test_bench_real_products_reports_or_skips() -> None:
    # the smallest closed set, without the test step: about a minute (the environment
    # is tests/realenv.py's cached one; the first run makes it)
    out = run("benchmarks.bench_real_products", "--products", "sconsUtils,utils", "--no-tests")
    if (ROOT.parent / "shared" / "realdata" / "repos").is_dir():
        assert "stack: 2 real products at w.2025.07, core budget 2, no tests" in out
        assert "outside product build steps:" in out
        assert out.splitlines()[-1].startswith("ratio scipipe/serial:")
    else:
        assert out == ""


def test_bench_s3_publish_prints_objects_and_ratio() -> None:
    out = run("benchmarks.bench_s3_publish", "--products", "12", "--changed", "2", "--kb", "4",
              "--rounds", "1")  # fmt: skip
    assert "root: 12 products (11 + top), 4 kB of payload each; 2 changed" in out
    # the changed products (and top): tarball, .sha256, manifest, table; and the tag list
    assert "sent   13 objects" in out and "skipped 37" in out
    assert "objects sent incremental/full: 13/50 = 0.260" in out
    assert out.splitlines()[-1].startswith("ratio incremental/full (time):")


def test_bench_build_cache_prints_its_ratio() -> None:
    out = run("benchmarks.bench_build_cache", "--products", "8")
    assert "stack: 8 products" in out
    assert "{'from-cache': 8}" in out and "ratio cached/cold:" in out
