"""Server roots, local and over a real HTTP server on 127.0.0.1, with injected faults."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scipipe_tools.errors import InputError, NetworkError, ResolutionError
from scipipe_tools.eups.taglist import TagList, TagRow
from scipipe_tools.infra.roots import (
    HttpRoot,
    LocalRoot,
    Root,
    open_root,
    read_taglist,
    split_pkgroot,
)
from tests.support.httpserver import StaticServer, closed_port

LIST = TagList(
    "w_2025_10", (TagRow("afw", "generic", "g1"),), {"BUILD": "b3", "CONDA_ENV": "13.0.1"}
)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "tags").mkdir(parents=True)
    (root / "tags" / "w_2025_10.list").write_text(LIST.to_text())
    (root / "w_latest.list").write_text(LIST.renamed("w_latest").to_text())
    (root / "a b+c@Linux64.tar.gz").write_bytes(b"\x00payload" * 1000)
    (root / "tags" / "bad.list").write_text(LIST.renamed("other").to_text())
    return root


@pytest.fixture
def server(tree: Path) -> Iterator[StaticServer]:
    with StaticServer(tree) as s:
        yield s


def fast(url: str) -> Root:
    return HttpRoot(url, timeout=2, retries=2, retry_delay=0.01)


def test_split_pkgroot() -> None:
    assert split_pkgroot("/a/bin| https://x/src |") == ["/a/bin", "https://x/src"]
    assert split_pkgroot("") == []


def test_open_root_kinds(tmp_path: Path) -> None:
    assert isinstance(open_root(str(tmp_path)), LocalRoot)
    assert isinstance(open_root(f"file://{tmp_path}"), LocalRoot)
    assert open_root(f"file://{tmp_path}").exists("x") is False
    assert isinstance(open_root("https://eups.example.org/stack/src"), HttpRoot)
    with pytest.raises(InputError, match="unsupported"):
        open_root("ftp://example.org/x")


@pytest.mark.parametrize("kind", ["local", "http"])
def test_read_exists_fetch_list(
    kind: str, tree: Path, server: StaticServer, tmp_path: Path
) -> None:
    root = open_root(str(tree)) if kind == "local" else fast(server.url)
    assert root.exists("tags/w_2025_10.list") and not root.exists("tags/nope.list")
    assert read_taglist(root, "w_2025_10") == LIST  # from tags/
    assert read_taglist(root, "w_latest").tag == "w_latest"  # from the top
    dest = tmp_path / "out" / "t.tar.gz"
    root.fetch("a b+c@Linux64.tar.gz", dest)
    assert dest.read_bytes() == (tree / "a b+c@Linux64.tar.gz").read_bytes()
    assert list(dest.parent.iterdir()) == [dest]  # no temporary file left
    assert root.list_tags() == ["bad", "w_2025_10", "w_latest"]
    with pytest.raises(ResolutionError, match="not found"):
        root.read_text("manifests/x.manifest")
    with pytest.raises(ResolutionError, match="not found"):
        root.fetch("nope.tar.gz", tmp_path / "nope")
    assert not (tmp_path / "nope").exists()
    with pytest.raises(ResolutionError, match="unknown tag 'w_1999_01'"):
        read_taglist(root, "w_1999_01")
    with pytest.raises(InputError, match=r"bad\.list:1: header names tag 'other', expected 'bad'"):
        read_taglist(root, "bad")
    with pytest.raises(InputError, match="refusing path"):
        root.read_text("../secret")


def test_http_retries_transient_faults(server: StaticServer, tmp_path: Path) -> None:
    root = fast(server.url)
    server.fail("a b+c@Linux64.tar.gz", "503", times=1)
    server.fail("tags/w_2025_10.list", "drop", times=2)
    root.fetch("a b+c@Linux64.tar.gz", tmp_path / "t")
    assert read_taglist(root, "w_2025_10") == LIST
    gets = [p for m, p in server.requests if p == "/tags/w_2025_10.list"]
    assert len(gets) == 3  # two dropped, the third answered


@pytest.mark.parametrize("kind", ["500", "drop"])
def test_http_persistent_fault_is_a_network_error(server: StaticServer, kind: str) -> None:
    server.fail("tags/w_2025_10.list", kind)
    with pytest.raises(NetworkError, match="cannot reach the server") as info:
        read_taglist(fast(server.url), "w_2025_10")
    assert "tried 3 times" in (info.value.hint or "")


def test_http_other_status_is_not_retried(server: StaticServer) -> None:
    server.fail("tags/w_2025_10.list", "403")
    with pytest.raises(NetworkError, match="HTTP 403"):
        read_taglist(fast(server.url), "w_2025_10")
    assert len([r for r in server.requests if r[1] == "/tags/w_2025_10.list"]) == 1


def test_unreachable_server_fails_fast() -> None:
    root = fast(f"http://127.0.0.1:{closed_port()}/stack")
    started = time.monotonic()
    with pytest.raises(NetworkError, match="cannot reach the server"):
        root.read_text("tags/w.list")
    assert time.monotonic() - started < 10  # short timeouts, few retries


def test_http_root_without_listings(server: StaticServer) -> None:
    server.fail("", "404")
    server.fail("tags/", "404")
    assert fast(server.url).list_tags() is None
