"""Changelog side inputs: the overrides file, JIRA summaries (cached), environment changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.changelog.envchanges import package_changes, read_tag_env
from scipipe_tools.changelog.jira import Jira
from scipipe_tools.changelog.model import PackageChange
from scipipe_tools.changelog.overrides import parse_overrides
from scipipe_tools.errors import InputError
from scipipe_tools.infra.roots import open_root
from tests.support.httpserver import StaticServer, closed_port

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_overrides_parse_every_key() -> None:
    o = parse_overrides(
        "first_tag: w.2020.01\n"
        "discard_tag: [w.2021.07, w.2021.08]\n"
        "skip_products: ['*_data']\n"
        "patch_merges:\n"
        "  - url: https://github.com/lsst/afw/pull/123\n"
        "    product: afw\n"
        "    ticket: dm-12345\n"
        f"    oid: {SHA}\n"
        "    date: 2021-03-04T05:06:07Z\n"
    )
    assert o.first_tag == "w.2020.01"
    assert o.discard_tag == ("w.2021.07", "w.2021.08")
    assert o.skips("afw_data") and not o.skips("testdata_ci")
    assert o.patch_merges[0].ticket == "DM-12345" and o.patch_merges[0].oid == SHA


def test_overrides_default_skips_testdata() -> None:
    o = parse_overrides("")
    assert o.skips("testdata_hsc") and o.skips("ci_testdata") and not o.skips("afw")


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("first_tag: w.2020.01\ndiscard_tags: []\n", ":2", "unknown key 'discard_tags'"),
        ("discard_tag: w.2021.07\n", ":1", "discard_tag must be a list"),
        ("patch_merges:\n  - url: x\n    product: afw\n", ":2", "lacks ticket, oid, date"),
        (
            f"patch_merges:\n  - {{url: u, product: p, ticket: DM-1, oid: {SHA[:12]}, date: 2021-01-01}}\n",
            ":2",
            "40-digit SHA1",
        ),
        ("first_tag: [1\n", ":2:1", "invalid YAML"),
    ],
)
def test_overrides_errors_name_the_line(text: str, where: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_overrides(text, "ovr.yaml")
    assert str(info.value.location).startswith(f"ovr.yaml{where}")


def test_jira_fetches_caches_and_survives_absence(tmp_path: Path) -> None:
    api = tmp_path / "srv" / "rest" / "api" / "2" / "issue"
    api.mkdir(parents=True)
    (api / "DM-1").write_text('{"key": "DM-1", "fields": {"summary": "Fix the *thing*"}}')
    with StaticServer(tmp_path / "srv") as server:
        jira = Jira(server.url, tmp_path / "cache", env={"JIRA_TOKEN": "secret-token"})
        assert jira.summaries(["DM-1", "DM-2"]) == {"DM-1": "Fix the *thing*"}
        assert jira.fetched == 1
        asked = [r for r in server.requests if "/issue/" in r[1]]
        assert len(asked) == 2
        again = Jira(server.url, tmp_path / "cache", env={})
        assert again.summaries(["DM-1", "DM-2"]) == {"DM-1": "Fix the *thing*"}
        assert len([r for r in server.requests if "/issue/" in r[1]]) == 2  # all cached
    down = Jira(f"http://127.0.0.1:{closed_port()}", tmp_path / "cache2", env={})
    assert down.summaries(["DM-1", "DM-3"]) == {}
    assert "secret-token" not in repr(jira)


def _explicit(*pkgs: str) -> str:
    lines = [f"https://conda.anaconda.org/conda-forge/linux-64/{p}.conda#{'0' * 32}" for p in pkgs]
    return "# platform: linux-64\n@EXPLICIT\n" + "\n".join(lines) + "\n"


def test_environment_changes_between_two_tags(tmp_path: Path) -> None:
    env = tmp_path / "root" / "env"
    env.mkdir(parents=True)
    (env / "w_2025_14.env").write_text(
        _explicit("numpy-2.2.0-py312_0", "astropy-6.0-py312_0", "eigen-3.4-h0_0")
    )
    (env / "w_2025_15.env").write_text(
        _explicit("numpy-2.3.1-py312_0", "astropy-6.0-py312_1", "scipy-1.15-py312_0")
    )
    root = open_root(str(tmp_path / "root"))
    old, new = read_tag_env(root, "w_2025_14"), read_tag_env(root, "w_2025_15")
    assert package_changes(old, new) == [
        PackageChange("eigen", "3.4", None),
        PackageChange("numpy", "2.2.0", "2.3.1"),
        PackageChange("scipy", None, "1.15"),
    ]
    assert read_tag_env(root, "w_2025_16") is None
    assert package_changes(old, None) is None
