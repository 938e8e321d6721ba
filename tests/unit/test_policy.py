"""teams.yaml, the plain-git forge's policy: parsing, and errors that name file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.errors import InputError
from scipipe_tools.release.policy import parse_policy, read_policy

EXAMPLE = """\
# teams.yaml: tagging policy for the plain-git forge
org: lsst
teams:
  Data Management: [afw, base, daf_butler]      # bare name = <org>/<name>
  DM Externals: [eigen, lsst-dm/legacy-foo]     # or owner/name
  DM Auxilliaries: [lsst/versiondb]
urls:                                            # optional: repos not in repos.yaml
  lsst/versiondb: git://127.0.0.1:9418/lsst/versiondb.git
url_pattern: "git://127.0.0.1:9418/{owner}/{name}.git"   # optional fallback
"""


def test_the_example_parses_to_full_names() -> None:
    policy = parse_policy(EXAMPLE, "teams.yaml")
    assert policy.org == "lsst"
    assert policy.teams == {
        "Data Management": frozenset({"lsst/afw", "lsst/base", "lsst/daf_butler"}),
        "DM Externals": frozenset({"lsst/eigen", "lsst-dm/legacy-foo"}),
        "DM Auxilliaries": frozenset({"lsst/versiondb"}),
    }
    assert policy.urls == {"lsst/versiondb": "git://127.0.0.1:9418/lsst/versiondb.git"}
    assert policy.url_pattern == "git://127.0.0.1:9418/{owner}/{name}.git"
    assert policy.path == "teams.yaml"


def test_url_for_prefers_urls_then_the_pattern() -> None:
    policy = parse_policy(EXAMPLE, "teams.yaml")
    assert policy.url_for("lsst/versiondb") == "git://127.0.0.1:9418/lsst/versiondb.git"
    assert policy.url_for("lsst-dm/legacy-foo") == "git://127.0.0.1:9418/lsst-dm/legacy-foo.git"
    bare = parse_policy("org: lsst\nteams: {}\n", "t.yaml")
    assert bare.url_for("lsst/afw") is None


def test_teams_of_and_empty_teams() -> None:
    policy = parse_policy("org: o\nteams:\n  A: [x, y]\n  B: [o/x]\n  C: []\n", "t.yaml")
    assert policy.teams_of("o/x") == ["A", "B"]
    assert policy.teams_of("o/z") == []
    assert policy.teams["C"] == frozenset()


def test_read_policy_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "teams.yaml"
    path.write_text(EXAMPLE)
    assert read_policy(path).path == str(path)
    with pytest.raises(InputError, match="cannot read team policy") as err:
        read_policy(tmp_path / "missing.yaml")
    assert "missing.yaml" in str(err.value)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("org: o\nteams: {}\nteam: {}\n", "t.yaml:3", "unknown key 'team'"),
        ("org: o\nteams:\n  A: x\n", "t.yaml:3", "team 'A': expected a list"),
        ("org: o\nteams:\n  A:\n    k: v\n", "t.yaml:4", "team 'A': expected a list"),
        (
            "org: o\nteams:\n  A:\n    - x\n    - y\n    - o/x\n",
            "t.yaml:6",
            r"team 'A': o/x listed twice \(first at line 4\)",
        ),
        ("org: o\nteams:\n  A: [a/b/c]\n", "t.yaml:3", "invalid repository 'a/b/c'"),
        ("org: o\nteams:\n  A:\n    - x\n    - bad name\n", "t.yaml:5", "invalid repository"),
        ("org: o\nteams:\n  A: [x, 3]\n", "t.yaml:3", "must be a non-empty string"),
        ("org: o\nteams:\n  A: []\n  A: []\n", "t.yaml:4", "duplicate key 'A'"),
        ("teams: {}\n", "t.yaml:1", "missing 'org'"),
        ("org: o\n", "t.yaml:1", "missing 'teams'"),
        ("org: o\nteams: [a, b]\n", "t.yaml:2", "'teams' must be a mapping"),
        ("org: o\nteams: {}\nurls:\n  x: 3\n", "t.yaml:4", "'urls': o/x must be"),
        ("org: o\nteams: {}\nurl_pattern: 'u/{repo}'\n", "t.yaml:3", "may use only"),
        ("org: o\nteams: {}\nurl_pattern: 'u/{owner}'\n", "t.yaml:3", "lacks"),
        ("- a\n- b\n", "t.yaml:1", "policy must be a mapping"),
        ("org: o\nteams:\n  A: [x\n", "t.yaml:4", "invalid YAML"),
    ],
)
def test_errors_name_file_and_line(text: str, where: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as err:
        parse_policy(text, "t.yaml")
    assert str(err.value).startswith(where + ":") or str(err.value).startswith(where + " "), str(
        err.value
    )
    assert "\n" not in str(err.value)


def test_unknown_key_suggests_the_near_miss() -> None:
    with pytest.raises(InputError) as err:
        parse_policy("org: o\nteams: {}\nurl_patern: x/{name}\n", "t.yaml")
    assert err.value.hint == "did you mean 'url_pattern'?"


def test_an_empty_file_is_an_error() -> None:
    with pytest.raises(InputError, match="empty file"):
        parse_policy("# nothing\n", "t.yaml")
