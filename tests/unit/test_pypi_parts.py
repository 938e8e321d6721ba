"""The pure parts of ``release pypi``: the simple index's two forms, the file comparison,
pyproject.toml, the upload target and its credentials, reproducible sdists."""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scipipe_tools import redaction
from scipipe_tools.errors import InputError
from scipipe_tools.infra.archive import sha256_file as sha256_of
from scipipe_tools.release.pypi.auth import PYPI_SIMPLE, PYPI_UPLOAD, resolve_target
from scipipe_tools.release.pypi.dists import normalize_sdist
from scipipe_tools.release.pypi.index import IndexFile, parse_html, parse_json, version_of
from scipipe_tools.release.pypi.project import is_public_version, normalize, parse_pyproject
from scipipe_tools.release.pypi.publish import compare

PAGE = """<!DOCTYPE html><html><body><h1>Links for lsst-utils</h1>
<a href="/packages/lsst_utils-29.2025.1101.tar.gz#sha256=ABCDEF">lsst_utils-29.2025.1101.tar.gz</a>
<a href="../../packages/lsst_utils-29.2025.1101-py3-none-any.whl#md5=00">lsst_utils-29.2025.1101-py3-none-any.whl</a>
<a href="https://x/lsst_utils-1.0.tar.gz#sha256=11"></a>
</body></html>"""


def test_html_links_carry_name_and_sha256() -> None:
    assert parse_html(PAGE) == [
        IndexFile("lsst_utils-29.2025.1101.tar.gz", "abcdef"),
        IndexFile("lsst_utils-29.2025.1101-py3-none-any.whl", None),
        IndexFile("lsst_utils-1.0.tar.gz", "11"),
    ]


def test_json_files() -> None:
    data = {"files": [{"filename": "a-1.tar.gz", "hashes": {"sha256": "AA"}},
                      {"filename": "a-1-py3-none-any.whl", "hashes": {}}, {"x": 1}]}  # fmt: skip
    assert parse_json(data) == [
        IndexFile("a-1.tar.gz", "aa"),
        IndexFile("a-1-py3-none-any.whl", None),
    ]


@given(st.text(alphabet='<a href="#sha256>/x.tar.gz-1 ', max_size=400))
def test_html_parser_takes_anything(text: str) -> None:
    for f in parse_html(text):
        assert isinstance(f.filename, str)


def test_versions_and_names() -> None:
    assert version_of("lsst_utils-29.2025.1101-py3-none-any.whl") == "29.2025.1101"
    assert version_of("lsst_utils-29.0.0rc2.tar.gz") == "29.0.0rc2"
    assert version_of("README") is None
    assert normalize("lsst_Pex.config") == "lsst-pex-config"
    assert is_public_version("29.2025.1101") and not is_public_version("0+unknown")
    assert not is_public_version("g1234abcd")


def test_compare_per_file(tmp_path: Path) -> None:
    sdist, wheel = tmp_path / "p-1.tar.gz", tmp_path / "p-1-py3-none-any.whl"
    sdist.write_bytes(b"sdist")
    wheel.write_bytes(b"wheel")
    same = IndexFile(sdist.name, sha256_of(sdist))
    assert [f.action for f in compare([sdist, wheel], [same])] == ["present", "upload"]
    other = IndexFile(wheel.name, "0" * 64)
    assert [f.action for f in compare([sdist, wheel], [same, other])] == ["present", "conflict"]
    # PyPI keeps one sdist per version: another sdist file name is a conflict too
    renamed = IndexFile("P-1.tar.gz", "1" * 64)
    assert [f.action for f in compare([sdist], [renamed])] == ["conflict"]


def test_pyproject() -> None:
    p = parse_pyproject('[project]\nname = "lsst_utils"\ndynamic = ["version"]\n', "x")
    assert p is not None and p.normalized == "lsst-utils" and p.dynamic_version
    assert parse_pyproject("[tool.ruff]\nline-length = 110\n", "x") is None
    with pytest.raises(InputError, match=r"^x: \[project\] has no 'name'"):
        parse_pyproject("[project]\nversion = '1'\n", "x")
    with pytest.raises(InputError, match=r"^x: not valid TOML"):
        parse_pyproject("[project\n", "x")


def test_target_from_environment_and_pypirc(tmp_path: Path) -> None:
    redaction.forget_all()
    t = resolve_target(repository_url=None, repository=None, index_url=None, pypirc=None,
                       environ={"TWINE_USERNAME": "__token__", "TWINE_PASSWORD": "pypi-SECRET1"})  # fmt: skip
    assert (t.repository_url, t.index_url) == (PYPI_UPLOAD, PYPI_SIMPLE)
    assert redaction.redact("pypi-SECRET1") == "***" and "SECRET1" not in repr(t)
    rc = tmp_path / "pypirc"
    rc.write_text(
        "[local]\nrepository = http://127.0.0.1:8080\nusername = u\npassword = rcpass99\n"
    )
    t = resolve_target(repository_url=None, repository="local", index_url=None, pypirc=rc,
                       environ={})  # fmt: skip
    assert t.index_url == "http://127.0.0.1:8080/simple/"
    assert t.upload_env() == {"TWINE_USERNAME": "u", "TWINE_PASSWORD": "rcpass99"}
    assert redaction.redact("x rcpass99 y") == "x *** y"
    with pytest.raises(InputError, match=r"pypirc: no \[other\] section \(sections: local\)"):
        resolve_target(repository_url=None, repository="other", index_url=None, pypirc=rc,
                       environ={})  # fmt: skip
    bare = resolve_target(repository_url="http://h/", repository=None, index_url=None,
                          pypirc=None, environ={})  # fmt: skip
    with pytest.raises(InputError, match="no credentials"):
        bare.upload_env()
    redaction.forget_all()


def _sdist(path: Path, mtime: float) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in (("p-1/b.py", b"b"), ("p-1/PKG-INFO", b"Version: 1\n")):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.uid, info.uname = len(data), mtime, 1234, "someone"
            tar.addfile(info, io.BytesIO(data))


def test_sdists_of_one_commit_are_identical(tmp_path: Path) -> None:
    a, b = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    _sdist(a, time.time())
    time.sleep(1.1)  # another gzip header time, other entry times
    _sdist(b, time.time() + 50)
    assert sha256_of(a) != sha256_of(b)
    for p in (a, b):
        normalize_sdist(p, 1_700_000_000)
    assert sha256_of(a) == sha256_of(b)
    with tarfile.open(a) as tar:
        assert [(m.name, m.mtime, m.uid) for m in tar.getmembers()] == [
            ("p-1/PKG-INFO", 1_700_000_000, 0), ("p-1/b.py", 1_700_000_000, 0)]  # fmt: skip
