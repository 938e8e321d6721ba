"""``scipipe build --cache``: a binary cache shared by agents (issue 17, part 3).

Two work roots ("agents") build the same stack at the same time, as two real processes,
against one cache directory; a third builds nothing; a fourth reads the cache over real
HTTP.  Real git remotes, real builds, a real EUPS stack on disk.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scipipe_tools.demo.samplestack import Materialized, materialize
from scipipe_tools.sourcebuild.cache import BinaryCache, env_key
from scipipe_tools.stack.readers import read_manifest
from scipipe_tools.stack.stack import Stack
from tests.support.httpserver import StaticServer
from tests.support.s3server import SECRET_KEY, S3Server, use_test_credentials

from .conftest import Invoke
from .test_build_run import FLAVOR, build_args

SCIPIPE = str(Path(sys.executable).parent / "scipipe")


def records(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.json"))


@pytest.fixture(scope="module")
def two_agents(
    tmp_path_factory: pytest.TempPathFactory, examples_dir: Path
) -> tuple[Materialized, Path, Path]:
    """Agents A and B build the sample stack at once against one (empty) cache."""
    base = tmp_path_factory.mktemp("agents")
    stack = materialize(examples_dir / "sample-stack", base / "remotes", history=False)
    cache = base / "cache"
    cached = ("--cache", str(cache))
    procs = [
        subprocess.Popen(
            [SCIPIPE, *build_args(stack, base / name, "lsst_demo"), *cached],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    for p in procs:
        _, err = p.communicate(timeout=900)
        assert p.returncode == 0, err
    return stack, base, cache


def test_two_agents_at_once_leave_one_complete_copy_each(
    two_agents: tuple[Materialized, Path, Path],
) -> None:
    _, base, cache = two_agents
    manifest = read_manifest(base / "a" / "build" / "manifest.txt")
    recs = records(cache)
    assert len(recs) == len(manifest) == 11
    for rec in recs:
        data = json.loads(rec.read_text())
        tarball = rec.with_name(data["tarball"])
        assert tarball.is_file() and tarball.stat().st_size == data["size"]
        assert manifest[data["product"]].version == data["version"]
    # the loser of each race removed its tarball; nothing half-written is left
    assert len(list(cache.rglob("*.tar.gz"))) == 11
    assert [p for p in cache.rglob(".*")] == []
    for name in ("a", "b"):
        built = Stack(base / name / "stack", FLAVOR)
        assert all(built.is_declared(e.name, e.version) for e in manifest.entries)


def test_a_third_agent_builds_nothing(
    scipipe: Invoke, two_agents: tuple[Materialized, Path, Path]
) -> None:
    stack, base, cache = two_agents
    r = scipipe(*build_args(stack, base / "c", "lsst_demo"), "--cache", str(cache), "--json")
    assert r.code == 0, r.err
    statuses = {p["name"]: p["status"] for p in json.loads(r.out)["products"]}
    assert set(statuses.values()) == {"from-cache"}, statuses
    log = (base / "c" / "build" / "logs" / "utils.log").read_text()
    assert "from the cache" in log
    manifest = read_manifest(base / "c" / "build" / "manifest.txt")
    built = Stack(base / "c" / "stack", FLAVOR)
    for e in manifest.entries:
        assert built.is_declared(e.name, e.version)
        assert (built.product_dir(e.name, e.version) / "ups").is_dir()


def test_the_cache_read_over_http(
    scipipe: Invoke, two_agents: tuple[Materialized, Path, Path]
) -> None:
    stack, base, cache = two_agents
    with StaticServer(cache) as server:
        r = scipipe(*build_args(stack, base / "d", "lsst_demo"), "--cache", server.url, "--json")
    assert r.code == 0, r.err
    statuses = {p["status"] for p in json.loads(r.out)["products"]}
    assert statuses == {"from-cache"}


def test_a_corrupt_copy_is_refused_and_built(
    scipipe: Invoke, tmp_path: Path, two_agents: tuple[Materialized, Path, Path]
) -> None:
    stack, _, cache = two_agents
    rec = next(r for r in records(cache) if r.parent.name == "utils")
    tarball = rec.with_name(json.loads(rec.read_text())["tarball"])
    good = tarball.read_bytes()
    try:
        tarball.write_bytes(good[:-10] + b"0123456789")
        r = scipipe(
            *build_args(stack, tmp_path / "e", "lsst_demo"), "--cache", str(cache), "--json"
        )
    finally:
        tarball.write_bytes(good)
    assert r.code == 0, r.err
    statuses = {p["name"]: p["status"] for p in json.loads(r.out)["products"]}
    assert statuses["utils"] == "built"
    assert "utils: the cache's copy cannot be used" in r.err
    assert statuses["base"] == "from-cache"


def test_store_race_first_record_wins(tmp_path: Path) -> None:
    tree = tmp_path / "installed"
    (tree / "ups").mkdir(parents=True)
    (tree / "ups" / "p.table").write_text("")
    first, second = BinaryCache(str(tmp_path / "c")), BinaryCache(str(tmp_path / "c"))
    won = first.store("p", "1.0", FLAVOR, "e1", tree)
    lost = second.store("p", "1.0", FLAVOR, "e1", tree)
    assert won is not None and lost is None
    left = sorted(p.name for p in (tmp_path / "c" / "e1" / FLAVOR / "p").iterdir())
    assert left == sorted(["1.0.json", won.tarball])


def test_the_environment_is_part_of_the_key() -> None:
    py = {"python": {"version": "3.11.9"}, "kind": "none"}
    a = env_key({**py, "lock_sha256": "aa", "lock_matches": True})
    b = env_key({**py, "lock_sha256": "bb", "lock_matches": True})
    c = env_key({**py, "explicit_sha256": "cc"})
    assert len({a, b, c, env_key(py)}) == 4
    assert a == env_key({**py, "lock_sha256": "aa", "lock_matches": True})


def test_a_cache_in_a_bucket(
    scipipe: Invoke, tmp_path: Path, examples_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same over the S3 API (moto's server on 127.0.0.1, the real boto3): agent A
    fills s3://cache/builds, agent B installs every product from it and builds none."""
    use_test_credentials(monkeypatch, tmp_path)
    stack = materialize(examples_dir / "sample-stack", tmp_path / "remotes", history=False)
    with S3Server() as server:
        server.create_bucket("cache")
        monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint)
        url = "s3://cache/builds"
        r = scipipe(*build_args(stack, tmp_path / "a", "lsst_demo"), "--cache", url, "--json")
        assert r.code == 0, r.err
        assert {p["status"] for p in json.loads(r.out)["products"]} == {"built"}
        records = [k for m, k in server.requests if m == "PUT" and k.endswith(".json")]
        assert len(records) == 11
        r = scipipe(*build_args(stack, tmp_path / "b", "lsst_demo"), "--cache", url, "--json")
    assert r.code == 0, r.err
    assert {p["status"] for p in json.loads(r.out)["products"]} == {"from-cache"}
    assert SECRET_KEY not in r.out + r.err
