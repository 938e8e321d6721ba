from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from scipipe_tools.archive import make_tarball, safe_extract, sha256_file, verify_sha256
from scipipe_tools.errors import IntegrityError


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
