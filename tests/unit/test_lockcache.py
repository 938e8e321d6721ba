"""infra.lockcache: a parsed lock is remembered by its bytes' sha256, read back as the
same lock, and any doubt (other bytes, a damaged entry) is a parse, never an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.errors import InputError
from scipipe_tools.infra.lockcache import entry_path, read_cached, remember_written
from scipipe_tools.infra.lockfile import Lock, LockedPackage

URL = "https://c/linux-64/foo-1.0-h0_0.conda"
FOO = LockedPackage("linux-64", "foo", "1.0", "h0_0", URL, sha256="ab" * 32, depends=("bar",))
LOCK = Lock(
    (FOO,),
    ("linux-64",),
    ("https://c",),
    {"linux-64": "123"},
    ("env.yaml",),
    {"spec": "env 1"},
)


class Parser:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, text: str, path: Path) -> Lock:
        self.calls.append(text)
        return LOCK


def test_the_same_bytes_are_parsed_once(tmp_path: Path) -> None:
    lock, cache, parse = tmp_path / "a.yml", tmp_path / "cache", Parser()
    lock.write_bytes(b"bytes \xff")  # read as read_text reads: surrogates kept
    first = read_cached(lock, cache, parse)
    second = read_cached(lock, cache, parse)
    assert first == second and second.lock == LOCK and second.written_by is None
    assert parse.calls == ["bytes \udcff"]
    read_cached(lock, cache, parse, suffix="-osx-64")  # another reading of the same bytes
    lock.write_bytes(b"other bytes")
    read_cached(lock, cache, parse)
    assert parse.calls == ["bytes \udcff", "bytes \udcff", "other bytes"]


def test_a_damaged_entry_is_parsed_again(tmp_path: Path) -> None:
    lock, cache, parse = tmp_path / "a.yml", tmp_path / "cache", Parser()
    lock.write_text("x")
    cached = read_cached(lock, cache, parse)
    entry_path(cache, cached.digest).write_text('{"lock": {"packages": [[1]]}}')
    assert read_cached(lock, cache, parse).lock == LOCK and len(parse.calls) == 2


def test_what_scipipe_wrote_is_known_as_such(tmp_path: Path) -> None:
    lock, cache, parse = tmp_path / "a.yml", tmp_path / "cache", Parser()
    lock.write_bytes(b"as written")
    remember_written(cache, b"as written", LOCK, "scipipe env lock")
    cached = read_cached(lock, cache, parse)
    assert cached.written_by == "scipipe env lock" and cached.lock == LOCK and not parse.calls


def test_an_unreadable_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read environment lock") as info:
        read_cached(tmp_path / "none.yml", tmp_path / "cache", Parser(), what="environment lock")
    assert str(tmp_path / "none.yml") in str(info.value.location)
