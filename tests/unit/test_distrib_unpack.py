"""EUPS tarballs (``<p>/<v>/``) and eupspkg packages (``<p>-<v>/``) unpacked to the
product's own tree; our older unprefixed ones still accepted; anything else refused."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scipipe_tools.distrib.pkginfo import format_pkginfo, parse_pkginfo
from scipipe_tools.errors import InputError, IntegrityError
from scipipe_tools.stack.unpack import unpack_binary, unpack_source


def tarball(path: Path, *members: tuple[str, str]) -> Path:
    """``(name, kind)`` with kind ``f`` (a file), ``d`` (a folder) or ``l:<target>``."""
    with tarfile.open(path, "w:gz") as tar:
        for name, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "d":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind.startswith("l:"):
                info.type, info.linkname = tarfile.SYMTYPE, kind[2:]
                tar.addfile(info)
            else:
                data = f"{name}\n".encode()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


def leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.parent.iterdir() if p.name != "t.tar.gz")


def test_eups_tarball_lands_in_its_own_folder(tmp_path: Path) -> None:
    tb = tarball(tmp_path / "t.tar.gz", ("afw/1.0", "d"), ("afw/1.0/ups/afw.table", "f"),
                 ("afw/1.0/.pwd", "f"), ("afw/1.0/lib/libafw.so", "f"),
                 ("afw/1.0/lib/libafw.so.1", "l:libafw.so"))  # fmt: skip
    dest = tmp_path / "stage" / "afw"
    dest.parent.mkdir()
    assert unpack_binary(tb, dest, "afw", "1.0", "t.tar.gz") is True
    assert (dest / "ups" / "afw.table").read_text() == "afw/1.0/ups/afw.table\n"
    assert (dest / "lib" / "libafw.so.1").resolve() == (dest / "lib" / "libafw.so").resolve()
    assert not (dest / "afw").exists() and leftovers(dest) == ["afw"]


def test_older_unprefixed_tarball_is_accepted(tmp_path: Path) -> None:
    tb = tarball(tmp_path / "t.tar.gz", ("ups/afw.table", "f"), ("afw/data", "f"))
    dest = tmp_path / "stage" / "afw"
    dest.parent.mkdir()
    assert unpack_binary(tb, dest, "afw", "1.0", "t.tar.gz") is False
    assert (dest / "ups" / "afw.table").is_file() and (dest / "afw" / "data").is_file()


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([("afw/2.0/ups/afw.table", "f")], "expected only afw/1.0/ in it .* found afw/2.0/"),
        ([("afw/1.0/ups/afw.table", "f"), ("stray.txt", "f")], "and 1 other entries"),
        ([("afw/1.0/ups/afw.table", "f"), ("afw/0.9/ups/afw.table", "f")], "found afw/0.9/"),
        ([("afw", "f")], r"found afw \(not a folder\)"),
        # inside the archive's top, but out of the product's own folder once stripped
        ([("afw/1.0/ups/afw.table", "f"), ("afw/1.0/up", "l:../../afw")], "leaves its folder"),
    ],
)
def test_anything_else_is_refused(
    tmp_path: Path, members: list[tuple[str, str]], message: str
) -> None:
    tb = tarball(tmp_path / "t.tar.gz", *members)
    dest = tmp_path / "stage" / "afw"
    dest.parent.mkdir()
    with pytest.raises(IntegrityError, match=message):
        unpack_binary(tb, dest, "afw", "1.0", "t.tar.gz")
    assert leftovers(dest) == []


def test_archive_guarantees_are_kept(tmp_path: Path) -> None:
    tb = tarball(tmp_path / "t.tar.gz", ("afw/1.0/x", "l:/etc/passwd"))
    dest = tmp_path / "stage" / "afw"
    dest.parent.mkdir()
    with pytest.raises(IntegrityError, match="refusing link"):
        unpack_binary(tb, dest, "afw", "1.0", "t.tar.gz")
    assert leftovers(dest) == []


def test_eupspkg_package_is_entered(tmp_path: Path) -> None:
    tb = tarball(tmp_path / "t.tar.gz", ("afw-1.0", "d"), ("afw-1.0/ups/pkginfo", "f"),
                 ("afw-1.0/python/afw.py", "f"))  # fmt: skip
    dest = tmp_path / "src" / "afw"
    dest.parent.mkdir()
    assert unpack_source(tb, dest, "t.tar.gz") is True
    assert sorted(p.name for p in dest.iterdir()) == ["python", "ups"]
    old = tarball(tmp_path / "t.tar.gz", ("ups/pkginfo", "f"), ("python/afw.py", "f"))
    dest2 = tmp_path / "src" / "afw2"
    assert unpack_source(old, dest2, "t.tar.gz") is False
    assert (dest2 / "ups" / "pkginfo").is_file()


@pytest.mark.parametrize(
    "members",
    [
        [("a-1/ups/pkginfo", "f"), ("b-1/ups/pkginfo", "f")],
        [("README", "f")],
        [("link", "l:.")],
    ],
)
def test_not_an_eupspkg_package(tmp_path: Path, members: list[tuple[str, str]]) -> None:
    tb = tarball(tmp_path / "t.tar.gz", *members)
    dest = tmp_path / "src" / "a"
    dest.parent.mkdir()
    with pytest.raises(IntegrityError, match="expected one top directory"):
        unpack_source(tb, dest, "t.tar.gz")
    assert leftovers(dest) == []


# --- pkginfo ---------------------------------------------------------------------------

EUPSPKG_WRITTEN = """\
PRODUCT='afw'
VERSION='gc47cc826f1+c91e26b771'
FLAVOR='generic'
SOURCE='git'
SHA1='c47cc826f1fd37d576bbd6579060e69aa6631de6'
REPOSITORY='https://github.com/lsst/afw.git'
REPOVERSION='c47cc826f1fd37d576bbd6579060e69aa6631de6'
"""


def test_pkginfo_as_eupspkg_writes_it() -> None:
    info = parse_pkginfo(EUPSPKG_WRITTEN)
    assert info["VERSION"] == "gc47cc826f1+c91e26b771" and info["SOURCE"] == "git"
    assert format_pkginfo(info.items()) == EUPSPKG_WRITTEN
    assert parse_pkginfo("SHA1=abc\n") == {"SHA1": "abc"}  # what scipipe build writes
    assert parse_pkginfo("""X='it'\\''s'\nY="two words"\n""") == {"X": "it's", "Y": "two words"}


@pytest.mark.parametrize(
    "line",
    ["SHA1=$(rm -rf ~)", "SHA1=`id`", "rm -rf /", "X=a; rm -rf /", 'X="$HOME"', "X=a b", "1X=a"],
)
def test_pkginfo_is_never_run(line: str) -> None:
    with pytest.raises(InputError, match="plain assignment") as info:
        parse_pkginfo(f"PRODUCT='a'\n{line}\n", "p/ups/pkginfo")
    assert str(info.value.location) == "p/ups/pkginfo:2"


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True),
                       st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30),
                       max_size=6))  # fmt: skip
def test_pkginfo_round_trip(values: dict[str, str]) -> None:
    assert parse_pkginfo(format_pkginfo(values.items())) == values
