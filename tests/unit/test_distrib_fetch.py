"""Parallel downloads over a real HTTP server: every published checksum verified, failures
stop all; artifacts without one are reported (or refused with require_checksums)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from scipipe_tools.errors import IntegrityError, ResolutionError
from scipipe_tools.infra.fetch import Download, download_all
from scipipe_tools.infra.roots import HttpRoot
from tests.support.httpserver import StaticServer


class Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []

    def start(self, total: int, label: str) -> None:
        self.events.append(f"start {total} {label}")

    def advance(self, item: str = "") -> None:
        self.events.append(f"advance {item}")

    def finish(self) -> None:
        self.events.append("finish")


def publish(root: Path, name: str, data: bytes, *, sha: str | None = None) -> None:
    (root / name).write_bytes(data)
    digest = sha if sha is not None else hashlib.sha256(data).hexdigest()
    (root / f"{name}.sha256").write_text(f"{digest}  {name}\n")


def test_downloads_and_verifies(tmp_path: Path) -> None:
    srv = tmp_path / "srv"
    srv.mkdir()
    for i in range(12):
        publish(srv, f"p{i}.tar.gz", bytes([i]) * 5000)
    (srv / "t.table").write_text("setupRequired(x)\n")  # metadata: no checksum
    out = tmp_path / "out"
    rec = Recorder()
    with StaticServer(srv) as server:
        root = HttpRoot(server.url)
        items = [Download(root, f"p{i}.tar.gz", out / f"p{i}.tar.gz") for i in range(12)]
        items.append(Download(root, "t.table", out / "t.table", verify=False))
        assert download_all(items, jobs=4, progress=rec) == []
    assert all((out / f"p{i}.tar.gz").read_bytes() == bytes([i]) * 5000 for i in range(12))
    assert rec.events[0] == "start 13 downloading" and rec.events[-1] == "finish"
    assert len([e for e in rec.events if e.startswith("advance")]) == 13


@pytest.mark.parametrize("fault", ["tampered", "no-sha-required", "bad-sha-file"])
def test_refuses_unverifiable(tmp_path: Path, fault: str) -> None:
    srv = tmp_path / "srv"
    srv.mkdir()
    publish(srv, "good.tar.gz", b"good")
    publish(srv, "bad.tar.gz", b"original")
    if fault == "tampered":
        (srv / "bad.tar.gz").write_bytes(b"tampered")
    elif fault == "no-sha-required":
        (srv / "bad.tar.gz.sha256").unlink()
    else:
        (srv / "bad.tar.gz.sha256").write_text("not-a-checksum\n")
    out = tmp_path / "out"
    with StaticServer(srv) as server:
        root = HttpRoot(server.url)
        items = [Download(root, n, out / n) for n in ("good.tar.gz", "bad.tar.gz")]
        with pytest.raises(IntegrityError, match=r"bad\.tar\.gz"):
            download_all(items, jobs=2, require_checksums=True)
        if fault != "no-sha-required":  # a published checksum is checked whatever the policy
            with pytest.raises(IntegrityError, match=r"bad\.tar\.gz"):
                download_all(items, jobs=2)
    assert not (out / "bad.tar.gz").exists()


def test_unsigned_artifacts_are_reported_not_refused(tmp_path: Path) -> None:
    """The real EUPS server publishes no checksums: by default those artifacts download
    (their size still checked against the server's) and are named to the caller."""
    srv = tmp_path / "srv"
    srv.mkdir()
    publish(srv, "signed.tar.gz", b"signed")
    (srv / "plain.tar.gz").write_bytes(b"plain")
    out = tmp_path / "out"
    with StaticServer(srv) as server:
        root = HttpRoot(server.url)
        items = [Download(root, n, out / n) for n in ("signed.tar.gz", "plain.tar.gz")]
        unverified = download_all(items, jobs=2)
    assert [d.rel for d in unverified] == ["plain.tar.gz"]
    assert (out / "plain.tar.gz").read_bytes() == b"plain"


def test_missing_artifact(tmp_path: Path) -> None:
    srv = tmp_path / "srv"
    srv.mkdir()
    publish(srv, "gone.tar.gz", b"x")
    (srv / "gone.tar.gz").unlink()
    with StaticServer(srv) as server, pytest.raises(ResolutionError, match="not found"):
        download_all([Download(HttpRoot(server.url), "gone.tar.gz", tmp_path / "g")], jobs=1)
