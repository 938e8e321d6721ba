from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scipipe_tools.errors import IntegrityError
from scipipe_tools.infra.archive import (
    Limits,
    make_tarball,
    safe_extract,
    sha256_file,
    verify_sha256,
)


def tar_with(path: Path, *members: tarfile.TarInfo, data: bytes = b"x") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for m in members:
            if m.isfile():
                m.size = len(data)
                tar.addfile(m, io.BytesIO(data))
            else:
                tar.addfile(m)
    return path


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    m = tarfile.TarInfo(name)
    m.type = kind
    m.linkname = link
    return m


def test_round_trip(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "ups").mkdir(parents=True)
    (src / "ups" / "a.table").write_text("setupRequired(b)\n")
    (src / "bin").mkdir()
    (src / "bin" / "link").symlink_to("../ups/a.table")
    tb = tmp_path / "a.tar.gz"
    make_tarball(src, tb)
    out = tmp_path / "out"
    safe_extract(tb, out)
    assert (out / "ups" / "a.table").read_text() == "setupRequired(b)\n"
    assert (out / "bin" / "link").resolve() == (out / "ups" / "a.table").resolve()


@pytest.mark.parametrize(
    ("bad", "msg"),
    [
        (member("/etc/passwd"), "leaves the target"),
        (member("../../evil"), "leaves the target"),
        (member("a/../../evil"), "leaves the target"),
        (member("ln", tarfile.SYMTYPE, "/etc/passwd"), "refusing link"),
        (member("d/ln", tarfile.SYMTYPE, "../../x"), "leaves the target"),
        (member("hard", tarfile.LNKTYPE, "../x"), "leaves the target"),
        (member("dev", tarfile.CHRTYPE), "special file"),
    ],
)
def test_refuses_escapes(tmp_path: Path, bad: tarfile.TarInfo, msg: str) -> None:
    tb = tar_with(tmp_path / "bad.tar.gz", member("ok.txt"), bad)
    out = tmp_path / "out"
    with pytest.raises(IntegrityError, match=msg):
        safe_extract(tb, out)
    assert not (out / "ok.txt").exists()  # checked before anything is written


def test_checksums(tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"hello")
    digest = sha256_file(f)
    verify_sha256(f, digest + "\n", "f")
    with pytest.raises(IntegrityError, match="checksum mismatch"):
        verify_sha256(f, "0" * 64, "f")


# --- hostile archives: the real path, not the link text, decides ---------------------


def hostile(path: Path, *members: tuple[str, bytes, str | bytes]) -> Path:
    """A tarball of (name, type, link text or file data) in this order."""
    with tarfile.open(path, "w:gz") as tar:
        for name, kind, extra in members:
            m = tarfile.TarInfo(name)
            m.type = kind
            if kind == tarfile.REGTYPE:
                assert isinstance(extra, bytes)
                m.size = len(extra)
                tar.addfile(m, io.BytesIO(extra))
            else:
                assert isinstance(extra, str)
                m.linkname = extra
                tar.addfile(m)
    return path


SYM, HARD, REG, DIR = tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.REGTYPE, tarfile.DIRTYPE
#: `d` is the top itself, so `e` -> `d/..` is the folder above it; both texts stay
#: inside when read lexically.
CHAIN = (("d", SYM, "."), ("e", SYM, "d/.."))


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    v = tmp_path / "victim.txt"
    v.write_text("original\n")
    return v


@pytest.mark.parametrize(
    "members",
    [
        pytest.param((*CHAIN, ("e/victim.txt", REG, b"pwned\n")), id="file-through-link-chain"),
        pytest.param(
            (*CHAIN, ("h", HARD, "e/victim.txt"), ("h", REG, b"pwned\n")),
            id="hardlink-through-chain-then-overwrite",
        ),
        pytest.param(
            (("e", SYM, "d/.."), ("d", SYM, "."), ("ok", REG, b"x")),
            id="link-escapes-only-once-the-tree-is-complete",
        ),
        pytest.param((("a", SYM, "b"), ("b", SYM, "a"), ("ok", REG, b"x")), id="link-loop"),
        pytest.param((("sub", DIR, ""), ("sub/up", SYM, "../../x")), id="lexical-escape"),
        pytest.param((("l", SYM, "sub"), ("l/f", REG, b"x"), ("sub", DIR, "")), id="via-link"),
        pytest.param((("f", REG, b"a"), ("f", SYM, "..")), id="duplicate-name"),
        pytest.param((("h", HARD, "missing"),), id="hardlink-to-nothing"),
    ],
)
def test_refuses_hostile_archives(
    tmp_path: Path, victim: Path, members: tuple[tuple[str, bytes, str | bytes], ...]
) -> None:
    tb = hostile(tmp_path / "bad.tar.gz", *members)
    out = tmp_path / "out"
    with pytest.raises(IntegrityError, match=r"^bad\.tar\.gz: refusing"):
        safe_extract(tb, out)
    assert victim.read_text() == "original\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tar.gz", "victim.txt"]


def test_never_unpacks_into_a_tree_that_holds_links(tmp_path: Path, victim: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "victim.txt").symlink_to(victim)
    tb = hostile(tmp_path / "a.tar.gz", ("victim.txt", REG, b"pwned\n"))
    with pytest.raises(IntegrityError, match="not empty"):
        safe_extract(tb, out)
    assert victim.read_text() == "original\n"


def test_links_inside_are_kept(tmp_path: Path) -> None:
    tb = hostile(
        tmp_path / "ok.tar.gz",
        ("lib", DIR, ""),
        ("lib/libx.so.1", REG, b"elf"),
        ("lib/libx.so", SYM, "libx.so.1"),
        ("lib/hard", HARD, "lib/libx.so.1"),
        ("top", SYM, "lib/../lib/libx.so"),
        ("self", SYM, "."),
        ("dangling", SYM, "nowhere/.."),
    )
    out = tmp_path / "out"
    names = safe_extract(tb, out)
    assert names[0] == "lib" and len(names) == 7
    assert (out / "top").read_bytes() == b"elf"
    assert (out / "lib" / "hard").stat().st_ino == (out / "lib" / "libx.so.1").stat().st_ino
    assert (out / "self").resolve() == out.resolve()


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"<html>not found</html>\n", "not a readable tar archive"),
        (b"", "not a readable tar archive"),
        ("truncated", "not a readable tar archive"),
    ],
)
def test_damaged_archives(tmp_path: Path, content: bytes | str, why: str) -> None:
    tb = tmp_path / "x.tar.gz"
    if content == "truncated":
        hostile(tb, ("f", REG, bytes(range(256)) * 4000))
        tb.write_bytes(tb.read_bytes()[: tb.stat().st_size // 2])
    else:
        tb.write_bytes(content)  # type: ignore[arg-type]
    out = tmp_path / "out"
    with pytest.raises(IntegrityError, match=f"^x.tar.gz: {why}"):
        safe_extract(tb, out)
    assert not out.exists()


def test_limits(tmp_path: Path) -> None:

    tb = hostile(tmp_path / "x.tar.gz", ("a", REG, b"1234"), ("b", REG, b"5678"))
    with pytest.raises(IntegrityError, match="more than 1 members"):
        safe_extract(tb, tmp_path / "o1", limits=Limits(members=1))
    with pytest.raises(IntegrityError, match="more than 6 bytes"):
        safe_extract(tb, tmp_path / "o2", limits=Limits(total_bytes=6))
    assert safe_extract(tb, tmp_path / "o3", limits=Limits(members=2, total_bytes=8)) == ["a", "b"]
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o2").exists()


def test_make_tarball_never_writes_through_a_planted_link(tmp_path: Path, victim: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("data\n")
    out = tmp_path / "pub"
    out.mkdir()
    # the name the old code used for its temporary file, planted as a link
    (out / ".a.tar.gz.tmp").symlink_to(victim)
    make_tarball(src, out / "a.tar.gz")
    assert victim.read_text() == "original\n"
    with tarfile.open(out / "a.tar.gz") as tar:
        assert tar.getnames() == ["f"]


# --- fuzz: whatever the archive, nothing outside changes and no link leads out --------

_NAMES = st.lists(st.sampled_from(["a", "b", "d", ".", ".."]), min_size=1, max_size=3).map("/".join)
_MEMBER = st.tuples(
    _NAMES,
    st.sampled_from([SYM, HARD, REG, DIR]),
    st.one_of(_NAMES, st.sampled_from(["/", "/etc", "outside.txt", "../outside.txt"])),
)


@settings(
    max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(members=st.lists(_MEMBER, max_size=8))
def test_fuzz_extraction_stays_inside(
    tmp_path_factory: pytest.TempPathFactory, members: list[tuple[str, bytes, str]]
) -> None:
    base = tmp_path_factory.mktemp("fz")
    outside = base / "outside.txt"
    outside.write_text("original\n")
    tb = hostile(base / "t.tar", *[(n, k, b"new\n" if k == REG else x) for n, k, x in members])
    out = base / "sub" / "out"
    out.parent.mkdir()
    try:
        safe_extract(tb, out)
    except IntegrityError:
        assert not out.exists()
    else:
        top = out.resolve()
        for path in out.rglob("*"):
            if path.is_symlink():
                real = Path(os.path.realpath(path))
                assert real == top or top in real.parents, (path, os.readlink(path))
    assert outside.read_text() == "original\n"
    assert sorted(p.name for p in base.iterdir()) == ["outside.txt", "sub", "t.tar"]
    assert sorted(p.name for p in (base / "sub").iterdir()) in ([], ["out"])


def test_check_links(tmp_path: Path) -> None:
    from scipipe_tools.infra.archive import check_links

    tree = tmp_path / "p" / "1.0"
    (tree / "lib").mkdir(parents=True)
    (tree / "lib" / "a.so").symlink_to("../lib/./b.so")
    (tree / "self").symlink_to(".")
    check_links(tree, "p 1.0")
    (tree / "lib" / "up").symlink_to("../self/..")  # the text stays inside; the path does not
    with pytest.raises(IntegrityError, match=r"^p 1.0: refusing it: lib/up -> \.\./self/\.\."):
        check_links(tree, "p 1.0")


# --- the compressed stream's own check: all the integrity an unsigned archive has -----


def _compressed(path: Path, mode: str) -> Path:
    with tarfile.open(path, mode) as tar:
        data = bytes(range(256)) * 64
        info = tarfile.TarInfo("p/1.0/lib/data.bin")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize(
    ("mode", "offset"),
    [
        ("w:gz", -6),  # gzip's CRC-32 of the data
        ("w:gz", -2),  # gzip's length of the data
        ("w:bz2", -3),  # bzip2's combined CRC
        ("w:xz", -10),  # xz's index / stream footer check
    ],
)
def test_damaged_compressed_stream_is_refused(tmp_path: Path, mode: str, offset: int) -> None:
    """A flipped byte in a trailer that tarfile's stream reader never looks at: the
    members unpack fine, but the archive is not what was published."""
    tb = _compressed(tmp_path / "x.tar", mode)
    assert safe_extract(tb, tmp_path / "good") == ["p/1.0/lib/data.bin"]
    data = bytearray(tb.read_bytes())
    data[offset] ^= 0xFF
    tb.write_bytes(bytes(data))
    out = tmp_path / "out"
    with pytest.raises(IntegrityError, match=r"^x\.tar: not a readable tar archive: "):
        safe_extract(tb, out)
    assert not out.exists()


def test_padding_after_the_end_counts_towards_the_size_limit(tmp_path: Path) -> None:
    import gzip

    tb = tmp_path / "x.tar.gz"
    plain = io.BytesIO()
    with tarfile.open(fileobj=plain, mode="w") as tar:
        info = tarfile.TarInfo("a")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"1234"))
    tb.write_bytes(gzip.compress(plain.getvalue() + bytes(1 << 20)))  # 1 MiB of zeros after
    assert safe_extract(tb, tmp_path / "ok") == ["a"]
    with pytest.raises(IntegrityError, match="more than 65536 bytes"):
        safe_extract(tb, tmp_path / "no", limits=Limits(total_bytes=1 << 16))
