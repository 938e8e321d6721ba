from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.errors import InputError, ResolutionError
from scipipe_tools.eups.repos import lint, parse_repos, split_patterns
from scipipe_tools.stack.readers import read_repos

GOOD = """\
# header comment
afw: https://github.com/lsst/afw.git
afwdata:
  url: https://github.com/lsst/afwdata.git
  lfs: true
legacy_thing: {url: https://github.com/lsst-dm/legacy-thing.git, ref: v1.0}
local: file:///srv/git/local.git
"""


def test_both_value_forms() -> None:
    r = parse_repos(GOOD, "repos.yaml")
    assert list(r) == ["afw", "afwdata", "legacy_thing", "local"]
    afw = r.get("afw")
    assert afw is not None and afw.url.endswith("afw.git") and afw.ref is None
    assert afw.default_ref == "main" and not afw.lfs and afw.line == 2
    data = r.get("afwdata")
    assert data is not None and data.lfs and data.line == 4
    legacy = r.get("legacy_thing")
    assert legacy is not None and legacy.ref == "v1.0" and legacy.default_ref == "v1.0"


def test_lint_rejects_non_https() -> None:
    r = parse_repos(GOOD, "repos.yaml")
    problems = lint(r)
    assert [str(p) for p in problems] == [
        "repos.yaml:7: local: URL scheme 'file' is not allowed (https)"
    ]
    assert lint(r, allowed_schemes=("https", "file")) == []


@pytest.mark.parametrize(
    ("text", "where", "msg"),
    [
        (
            "afw:\n  url: https://x/afw.git\n",
            "repos.yaml:2:3",
            "needs 'ref' or 'lfs' besides 'url'",
        ),
        ("afw:\n  url: https://x/a.git\n  rev: main\n", "repos.yaml:3:3", "unknown key 'rev'"),
        ("afw:\n  url: https://x/a.git\n  lfs: True\n", "repos.yaml:3:8", "'lfs' must be true"),
        ("afw:\n  url: https://x/a.git\n  lfs: yes\n", "repos.yaml:3:8", "'lfs' must be true"),
        ("afw:\n  ref: main\n", "repos.yaml:2:3", "missing 'url'"),
        ("afw: [https://x]\n", "repos.yaml:1:6", "must be a URL string"),
        ("afw: 12\n", "repos.yaml:1:6", "'url' must be a non-empty string"),
        ("a-b: https://x/a.git\n", "repos.yaml:1:1", "invalid product name 'a-b'"),
        ("afw: https://x/a.git\nafw: https://x/b.git\n", "repos.yaml:2:1", "duplicate entry"),
        ("afw: not a url\n", "repos.yaml:1:6", "invalid URL"),
        ("afw: https://x/a.git\n  bad: [\n", "repos.yaml:2:6", "invalid YAML"),
        ("- a\n- b\n", "repos.yaml:1:1", "expected a mapping"),
        ("", "repos.yaml", "empty file"),
    ],
)
def test_errors_name_file_line(text: str, where: str, msg: str) -> None:
    with pytest.raises(InputError) as info:
        parse_repos(text, "repos.yaml")
    assert str(info.value.location) == where
    assert msg in info.value.message


def test_unknown_key_hint() -> None:
    with pytest.raises(InputError) as info:
        parse_repos("afw:\n  url: https://x/a.git\n  reff: main\n", "repos.yaml")
    assert info.value.hint == "did you mean 'ref'?"


def test_patterns_are_fallbacks() -> None:
    r = parse_repos(GOOD).with_patterns(
        split_patterns("file:///m/%(product)s.git|https://h/%(product)s")
    )
    assert r.candidates("afw") == [
        "https://github.com/lsst/afw.git",
        "file:///m/afw.git",
        "https://h/afw",
    ]
    assert r.candidates("newprod") == ["file:///m/newprod.git", "https://h/newprod"]
    with pytest.raises(ResolutionError, match="unknown product 'afx'") as info:
        parse_repos(GOOD).candidates("afx")
    assert info.value.hint == "did you mean 'afw'?"
    with pytest.raises(InputError, match="lacks"):
        split_patterns("https://h/x.git")


def test_read_missing(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read repos file"):
        read_repos(tmp_path / "repos.yaml")
