"""Every bad input file is one line naming ``file:line``, exit 2, no traceback.

A byte that is not UTF-8 in any YAML input (and in the line-based inputs beside them);
a manifest that is read as an input but is not what lsst_build writes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import Invoke, Outcome

SHA = "a" * 40

#: (name, file name, content: a non-UTF-8 byte on the line given, that line,
#:  the command line reading the file (given the file and the test's directory))
Case = tuple[str, str, bytes, int, Callable[[Path, Path], list[str]]]


def _repos(tmp: Path) -> Path:
    path = tmp / "repos.yaml"
    path.write_text("afw: https://example.org/afw.git\n")
    return path


def _workflows(f: Path, tmp: Path) -> list[str]:
    return ["ci", "validate", "--root", str(tmp / "repo"), "--check", "pins"]


CASES: list[Case] = [
    (
        "repos.yaml",
        "repos.yaml",
        b"afw: https://x/afw.git\nbase: https://x/base.git\nutils: https://x/\xff.git\n",
        3,
        lambda f, tmp: ["eups", "lint-repos", str(f)],
    ),
    (
        "flow config",
        "release.yaml",
        b"products: [lsst_distrib]\nrepos: repos.yaml\nroot: w\xe9rk\n",
        3,
        lambda f, tmp: ["release", "weekly", "--config", str(f), "--dry-run"],
    ),
    (
        "teams",
        "teams.yaml",
        b"org: lsst\nteams:\n  Data Management: [afw, b\xc3se]\n",
        3,
        lambda f, tmp: ["release", "list-repos", "--teams-file", str(f), "--org", "lsst"],
    ),
    (
        "env spec",
        "rubin-env.yaml",
        b"name: rubin-env\nversion: 1.0.0\n# caf\xe9 (a comment is read too)\nchannels: [c]\n",
        3,
        lambda f, tmp: ["env", "lock", str(f)],
    ),
    (
        "conda-lock.yml",
        "conda-lock.yml",
        b"version: 1\nmetadata:\n  platforms: [linux-64]\n  sources: [\x80]\n",
        4,
        lambda f, tmp: ["env", "diff", str(f), str(f)],
    ),
    (
        "explicit env file",
        "w_2025_15.env",
        b"# platform: linux-64\n@EXPLICIT\nhttps://x/linux-64/a-1-0.conda#\xff\n",
        3,
        lambda f, tmp: ["env", "diff", str(f), str(f)],
    ),
    (
        "changelog overrides",
        "overrides.yaml",
        b"first_tag: w.2020.01\ndiscard_tag: [w.2021.\xfe]\n",
        2,
        lambda f, tmp: [
            "changelog",
            "--repos",
            str(_repos(tmp)),
            "--overrides",
            str(f),
            "w.2025.01",
            "w.2025.02",
        ],
    ),
    (
        "build matrix",
        "build-matrix.yaml",
        b"rubin_env: 13.0.1\nplatforms:\n  - name: linux-64\n    runner: ubu\xf0ntu\n",
        4,
        lambda f, tmp: ["ci", "matrix", "--matrix", str(f)],
    ),
    (
        "workflow",
        "repo/.github/workflows/ci.yaml",
        b"on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo \xff\n",
        6,
        _workflows,
    ),
    (
        "tag list",
        "root/tags/w_2025_15.list",
        b"EUPS distribution w_2025_15 version list. Version 1.0\n#BUILD=b1\nafw generic g\xff\n",
        3,
        lambda f, tmp: ["distrib", "list", str(tmp / "root"), "-t", "w_2025_15"],
    ),
    (
        "manifest (shown)",
        "manifest.txt",
        b"# product SHA1 Version\nBUILD=b1\nafw " + SHA.encode() + b" g1\xff\n",
        3,
        lambda f, tmp: ["manifest", "show", str(f)],
    ),
    (
        "manifest (recorded)",
        "manifest.txt",
        b"# product SHA1 Version\nBUILD=b\xff1\n",
        2,
        lambda f, tmp: [
            "release",
            "versiondb-publish",
            "--versiondb",
            str(tmp / "vdb"),
            "--manifest",
            str(f),
        ],
    ),
]


def _one_error_line(r: Outcome) -> str:
    assert r.code == 2, r.err
    assert "Traceback" not in r.err
    lines = r.err.splitlines()
    assert len(lines) == 1, r.err
    return lines[0]


@pytest.mark.parametrize(
    ("name", "rel", "content", "line", "argv"), CASES, ids=[c[0] for c in CASES]
)
def test_a_byte_that_is_not_utf8_is_one_line_naming_file_and_line(
    scipipe: Invoke,
    tmp_path: Path,
    name: str,
    rel: str,
    content: bytes,
    line: int,
    argv: Callable[[Path, Path], list[str]],
) -> None:
    f = tmp_path / rel
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_bytes(content)
    bad = content.split(b"\n")[line - 1]
    column = len(bad[: next(i for i, b in enumerate(bad) if b >= 0x80)].decode()) + 1
    error = _one_error_line(scipipe(*argv(f, tmp_path)))
    assert error.startswith(f"error: {f}:{line}:{column}: not UTF-8: byte 0x"), error


def _manifest(*lines: str) -> str:
    return "".join(f"{line}\n" for line in lines)


ROW = f"afw                       {SHA}  g1"
STRICT = [
    ("empty", "", 1, "empty manifest"),
    ("blank", "\n\n", 1, "empty manifest"),
    ("no header", _manifest("BUILD=b1", ROW), 1, "expected the header comment first"),
    ("no BUILD=", _manifest("# product SHA1 Version", ROW), 2, "no BUILD= line"),
    ("bad build id", _manifest("# h", "BUILD=w.2025.15", ROW), 2, "malformed build id"),
    ("empty build id", _manifest("# h", "BUILD=", ROW), 2, "malformed build id"),
    ("BUILD= twice", _manifest("# h", "BUILD=b1", "BUILD=b2", ROW), 3, "BUILD= given twice"),
    ("no products", _manifest("# h", "BUILD=b1"), 2, "no products"),
    ("short row", _manifest("# h", "BUILD=b1", f"afw {SHA}"), 3, "got 2 fields"),
    ("bad SHA1", _manifest("# h", "BUILD=b1", "afw 1234 g1"), 3, "not a 40-digit hex SHA1"),
]


@pytest.mark.parametrize(
    ("text", "line", "message"), [c[1:] for c in STRICT], ids=[c[0] for c in STRICT]
)
def test_a_manifest_read_as_input_is_strict(
    scipipe: Invoke, tmp_path: Path, text: str, line: int, message: str
) -> None:
    f = tmp_path / "manifest-b1.txt"
    f.write_text(text)
    argv = ["release", "versiondb-publish", "--versiondb", str(tmp_path / "vdb")]
    error = _one_error_line(scipipe(*argv, "--manifest", str(f)))
    assert error.startswith(f"error: {f}:{line}: ") and message in error, error


def test_release_tag_reads_its_versiondb_manifest_strictly(scipipe: Invoke, tmp_path: Path) -> None:
    (tmp_path / "vdb").mkdir()
    f = tmp_path / "vdb" / "b7.txt"
    f.write_text(_manifest("BUILD=b7", ROW))
    r = scipipe("release", "tag", "w.2025.15", "--manifest", "b7", "--manifest-only",
                "--allow-team", "DM", "--repos", str(_repos(tmp_path)), "--org", "lsst",
                "--versiondb-base-url", str(tmp_path / "vdb"))  # fmt: skip
    assert _one_error_line(r).startswith(f"error: {f}:1: expected the header comment first")


def test_listing_a_manifest_stays_as_tolerant_as_lsst_build(
    scipipe: Invoke, tmp_path: Path
) -> None:
    f = tmp_path / "manifest.txt"
    f.write_text(_manifest("", ROW))  # no header, no BUILD=: lsst_build reads it
    r = scipipe("manifest", "show", str(f))
    assert r.code == 0, r.err
    assert r.out.startswith("BUILD=-  products=1")
