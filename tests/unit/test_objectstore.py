"""The S3 gateway and s3:// roots against moto's standalone server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scipipe_tools.distrib.upload import ARTIFACT, METADATA, TAGLIST, phase_of
from scipipe_tools.errors import InputError, IntegrityError, ResolutionError
from scipipe_tools.infra.objectstore import (
    ObjectInfo,
    ObjectStore,
    S3Url,
    digest_bytes,
    parse_s3_url,
)
from scipipe_tools.infra.roots import LocalRoot, S3Root, open_root
from tests.support.s3server import S3Server, use_test_credentials


@pytest.fixture
def s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    use_test_credentials(monkeypatch, tmp_path)
    with S3Server() as server:
        server.create_bucket("pkgs")
        yield server


def test_parse_s3_url() -> None:
    assert parse_s3_url("s3://pkgs") == S3Url("pkgs", "")
    assert parse_s3_url(" s3://pkgs/stack/src/ ") == S3Url("pkgs", "stack/src")
    assert str(parse_s3_url("s3://pkgs/stack").child("tags/w_2025_01.list")) == (
        "s3://pkgs/stack/tags/w_2025_01.list"
    )
    assert S3Url("pkgs").child("a.list").key == "a.list"
    for bad in ("s3://", "s3://ab", "s3://UPPER/x", "s3://a..b/x", "s3://pkgs/a//b",
                "s3://pkgs/./a", "s3://pkgs/x?versionId=1", "s3://u:p@pkgs/x", "http://x/y"):  # fmt: skip
        with pytest.raises(InputError):
            parse_s3_url(bad)


@given(st.text(max_size=200))
def test_parse_s3_url_takes_anything(text: str) -> None:
    try:
        url = parse_s3_url("s3://" + text)
    except InputError:
        return
    assert parse_s3_url(str(url)) == url


def test_matches() -> None:
    d = digest_bytes(b"hello")
    assert ObjectInfo("k", 5, d.md5).matches(d) is True
    assert ObjectInfo("k", 5, "0" * 32).matches(d) is False
    assert ObjectInfo("k", 4, d.md5).matches(d) is False
    assert ObjectInfo("k", 5, "abc-2").matches(d) is None  # a multipart ETag: ask for more
    assert ObjectInfo("k", 5, "abc-2", d.sha256).matches(d) is True


def test_phases() -> None:
    assert phase_of("afw-1@Linux64.tar.gz") == phase_of("afw-1@Linux64.tar.gz.sha256") == ARTIFACT
    assert phase_of("src/products/afw-1.eupspkg.sha256") == ARTIFACT
    assert phase_of("manifests/afw-1.manifest") == phase_of("config.txt") == METADATA
    assert phase_of("src/tags/w_2025_01.list") == phase_of("w_2025_01.list") == TAGLIST


def test_verbs(s3: S3Server, tmp_path: Path) -> None:
    store = ObjectStore(s3.endpoint)
    base = parse_s3_url("s3://pkgs/root")
    info = store.put(base.child("a/b@x+1.txt"), b"hello")
    assert (info.size, info.sha256) == (5, hashlib.sha256(b"hello").hexdigest())
    src = tmp_path / "big.bin"
    src.write_bytes(bytes(range(256)) * 5000)
    store.put(base.child("big.bin"), src)
    head = store.head(base.child("big.bin"))
    assert head is not None and head.size == src.stat().st_size
    assert head.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert store.head(base.child("nothing")) is None
    assert store.get(base.child("a/b@x+1.txt")) == b"hello"
    store.download(base.child("big.bin"), tmp_path / "out" / "big.bin")
    assert (tmp_path / "out" / "big.bin").read_bytes() == src.read_bytes()
    assert sorted(base.rel(o.key) for o in store.list(base)) == ["a/b@x+1.txt", "big.bin"]
    assert [base.rel(o.key) for o in store.list(base, recursive=False)] == ["big.bin"]
    store.delete(base.child("big.bin"))
    store.delete(base.child("big.bin"))  # already gone: fine
    assert store.head(base.child("big.bin")) is None
    with pytest.raises(ResolutionError, match=re.escape("s3://pkgs/root/nothing: not found")):
        store.get(base.child("nothing"))


def test_a_stored_sha256_that_does_not_match_is_refused(s3: S3Server, tmp_path: Path) -> None:
    s3.put("pkgs", "r/x.tar.gz", b"payload", Metadata={"sha256": "0" * 64})
    store = ObjectStore(s3.endpoint)
    with pytest.raises(IntegrityError, match=re.escape("s3://pkgs/r/x.tar.gz")):
        store.get(parse_s3_url("s3://pkgs/r/x.tar.gz"))
    with pytest.raises(IntegrityError):
        store.download(parse_s3_url("s3://pkgs/r/x.tar.gz"), tmp_path / "x")
    assert not (tmp_path / "x").exists() and list(tmp_path.iterdir()) == []


def test_s3_root(s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3.endpoint)  # what open_root's boto3 reads
    s3.put("pkgs", "stack/src/tags/w_2025_01.list", b"EUPS distribution w_2025_01 version list.")
    s3.put("pkgs", "stack/src/d_2025_01_02.list", b"x")
    s3.put("pkgs", "stack/src/manifests/a-1.manifest", b"m")
    s3.put("pkgs", "stack/src/deeper/tags/w_1999_01.list", b"x")
    root = open_root("s3://pkgs/stack/src/")
    assert isinstance(root, S3Root) and str(root) == "s3://pkgs/stack/src"
    assert root.url("manifests/a-1.manifest") == "s3://pkgs/stack/src/manifests/a-1.manifest"
    assert root.exists("manifests/a-1.manifest") and not root.exists("manifests/b-1.manifest")
    assert root.read_text("manifests/a-1.manifest") == "m"
    root.fetch("manifests/a-1.manifest", tmp_path / "m")
    assert (tmp_path / "m").read_text() == "m"
    assert root.list_tags() == ["d_2025_01_02", "w_2025_01"]
    with pytest.raises(
        ResolutionError, match=re.escape("s3://pkgs/stack/src/manifests/b-1.manifest")
    ):
        root.read_bytes("manifests/b-1.manifest")
    with pytest.raises(InputError):
        root.read_bytes("../escape")
    # the other roots are what they were
    assert isinstance(open_root(str(tmp_path)), LocalRoot)
    with pytest.raises(InputError, match="use a directory, http"):
        open_root("ftp://example.org/x")
