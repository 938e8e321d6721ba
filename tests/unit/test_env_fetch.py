"""Package archives fetched and verified: file:// and real HTTP, faults, tampering."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from scipipe_tools.demo.channel import read_repodata, repodata_records
from scipipe_tools.env.fetch import cache_path, fetch_all, fetch_one
from scipipe_tools.errors import IntegrityError, NetworkError, ResolutionError
from scipipe_tools.infra.lockfile import LockedPackage
from tests.recorder import Recorder
from tests.support.httpserver import StaticServer, closed_port


def packages_of(channel: Path, base_url: str, subdir: str = "noarch") -> list[LockedPackage]:
    records = repodata_records(read_repodata(channel, subdir))
    return [
        LockedPackage(
            "linux-64",
            r["name"],
            r["version"],
            r["build"],
            f"{base_url}/{subdir}/{fn}",
            r["md5"],
            r["sha256"],
        )
        for fn, r in sorted(records.items())
    ]


@pytest.fixture
def channel_copy(conda_channel: Path, tmp_path: Path) -> Path:
    """A copy of the test channel this test may damage."""
    return Path(shutil.copytree(conda_channel / "noarch", tmp_path / "ch" / "noarch")).parent


def test_file_urls_are_copied_verified_and_cached(channel_copy: Path, tmp_path: Path) -> None:
    packages = packages_of(channel_copy, channel_copy.as_uri())
    recorder = Recorder()
    fetched = fetch_all(packages, tmp_path / "cache", jobs=4, progress=recorder)
    assert [f.package for f in fetched] == packages  # in the order asked
    for f in fetched:
        assert f.downloaded
        assert f.archive == cache_path(tmp_path / "cache", f.package)
        assert hashlib.sha256(f.archive.read_bytes()).hexdigest() == f.package.sha256
    assert recorder.events[0] == ("start", (len(packages), "fetching"))
    assert recorder.events[-1] == ("finish", None)
    assert sorted(e[1] for e in recorder.events if e[0] == "advance") == sorted(
        p.name for p in packages
    )
    again = fetch_all(packages, tmp_path / "cache")
    assert not any(f.downloaded for f in again)


def test_a_tampered_archive_is_refused_and_not_cached(channel_copy: Path, tmp_path: Path) -> None:
    packages = packages_of(channel_copy, channel_copy.as_uri())
    victim, donor = packages[0], packages[1]
    shutil.copy(channel_copy / "noarch" / donor.url.rsplit("/", 1)[1],
                channel_copy / "noarch" / victim.url.rsplit("/", 1)[1])  # fmt: skip
    with pytest.raises(IntegrityError, match=f"{victim.name} {victim.version}: sha256 mismatch"):
        fetch_all(packages, tmp_path / "cache", jobs=2)
    assert not cache_path(tmp_path / "cache", victim).exists()
    assert not list((tmp_path / "cache").rglob("*.part"))


def test_md5_alone_is_checked_and_no_hash_is_refused(channel_copy: Path, tmp_path: Path) -> None:
    package = packages_of(channel_copy, channel_copy.as_uri())[0]
    md5_only = LockedPackage(package.platform, package.name, package.version, package.build,
                             package.url, md5="0" * 32)  # fmt: skip
    with pytest.raises(IntegrityError, match="md5 mismatch"):
        fetch_one(md5_only, tmp_path / "cache")
    unverifiable = LockedPackage(package.platform, package.name, package.version, package.build,
                                 package.url)  # fmt: skip
    with pytest.raises(IntegrityError, match="no sha256 or md5"):
        fetch_all([unverifiable], tmp_path / "cache")


def test_http_with_a_dropped_connection_is_retried(channel_copy: Path, tmp_path: Path) -> None:
    with StaticServer(channel_copy) as server:
        packages = packages_of(channel_copy, server.url)
        first = "/noarch/" + packages[0].url.rsplit("/", 1)[1]
        server.fail(first, "drop", times=1)
        fetched = fetch_all(packages, tmp_path / "cache", jobs=3)
        assert all(f.downloaded for f in fetched)
        assert [p for m, p in server.requests if p == first] == [first, first]


def test_http_errors(channel_copy: Path, tmp_path: Path) -> None:
    with StaticServer(channel_copy) as server:
        package = packages_of(channel_copy, server.url)[0]
        server.fail("/noarch/" + package.url.rsplit("/", 1)[1], "503")
        with pytest.raises(NetworkError, match="HTTP 503"):
            fetch_one(package, tmp_path / "cache", timeout=5)
        missing = LockedPackage("linux-64", "gone", "1", "0", f"{server.url}/noarch/gone-1-0.conda",
                                sha256="0" * 64)  # fmt: skip
        with pytest.raises(ResolutionError, match="HTTP 404"):
            fetch_one(missing, tmp_path / "cache", timeout=5)
    unreachable = LockedPackage("linux-64", "x", "1", "0",
                                f"http://127.0.0.1:{closed_port()}/noarch/x-1-0.conda",
                                sha256="0" * 64)  # fmt: skip
    with pytest.raises(NetworkError, match="cannot reach"):
        fetch_one(unreachable, tmp_path / "cache", timeout=5)


def test_only_abandoned_partial_downloads_are_cleared(tmp_path: Path) -> None:
    """The cache is shared: another process's download in flight must survive."""
    import os
    import time

    from scipipe_tools.env.fetch import STALE_PART_SECONDS, clear_partials

    folder = tmp_path / "cache" / "archives" / ("0" * 64)
    folder.mkdir(parents=True)
    running, abandoned = folder / ".x.conda.abc.part", folder / ".x.conda.def.part"
    running.write_bytes(b"in flight")
    abandoned.write_bytes(b"killed")
    old = time.time() - STALE_PART_SECONDS - 60
    os.utime(abandoned, (old, old))
    clear_partials(tmp_path / "cache")
    assert running.exists() and not abandoned.exists()
