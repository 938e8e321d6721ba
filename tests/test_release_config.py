"""The top-level ``release/``: the real stack's release configuration, read by the readers
the release commands use, and checked against the real stack (lsst/repos' repos.yaml and
lsst_distrib's manifest from ../shared/realdata) and jenkins-dm-jobs' team policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.changelog.overrides import read_overrides
from scipipe_tools.ci.buildmatrix import read_build_matrix
from scipipe_tools.flows import config as flowconfig
from scipipe_tools.flows.config import FlowConfig, read_flow_config
from scipipe_tools.release.policy import read_policy
from scipipe_tools.stack.readers import read_repos

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "release"
FLOWS = ("weekly", "nightly", "official")
REPOS_URL = "https://raw.githubusercontent.com/lsst/repos/main/etc/repos.yaml"
TEAMS = ("Data Management", "DM Externals", "DM Auxilliaries")  # GitHub's spelling


def flow(name: str) -> FlowConfig:
    return read_flow_config(RELEASE / f"{name}.yaml")


def test_release_holds_the_flows_the_policy_and_the_changelog_config() -> None:
    assert sorted(p.name for p in RELEASE.iterdir()) == [
        "changelog.yaml", "nightly.yaml", "official.yaml", "teams.yaml", "weekly.yaml",
    ]  # fmt: skip


@pytest.mark.parametrize("name", FLOWS)
def test_each_flow_builds_the_canonical_products_for_the_lsst_org(name: str) -> None:
    c = flow(name)
    assert c.products == read_build_matrix(ROOT / "ci" / "build-matrix.yaml").products
    assert (c.forge.kind, c.forge.org) == ("github", "lsst")
    assert c.forge.github_url == "https://api.github.com"
    assert c.forge.token_path is None  # GITHUB_TOKEN, as the Jenkins jobs and workflows give it
    assert (c.tagger_user, c.tagger_email) == ("sqreadmin", "sqre-admin@lists.lsst.org")
    # jenkins-dm-jobs' github-tag-release and github-tag-teams defaults
    assert (c.teams.allow, c.teams.deny, c.teams.external) == (
        ("Data Management", "DM Externals"), ("DM Auxilliaries",), ("DM Externals",))  # fmt: skip
    assert (c.aux_teams.allow, c.aux_teams.deny) == (("DM Auxilliaries",), ("DM Externals",))
    assert c.aux_teams.ignore_existing_tag
    assert c.versiondb is not None and c.versiondb.url == "git@github.com:lsst/versiondb.git"
    assert c.distrib.read_url == "https://eups.lsst.cloud/stack/src"
    assert c.distrib.to is not None and c.distrib.visible_timeout > 0
    assert c.build.run_tests and not c.build.fail_fast


@pytest.mark.parametrize("name", FLOWS)
def test_each_flow_reads_the_real_repos_yaml_by_its_url(name: str) -> None:
    """repos: is lsst/repos' raw repos.yaml, fetched by the flow itself (no network here:
    the file's content is checked from ../shared/realdata below); the work root is beside
    the checkout in the Jenkins workspace."""
    c = flow(name)
    workspace = (RELEASE / ".." / "..").resolve()
    assert c.repos == REPOS_URL
    assert c.root.resolve() == workspace / "work"
    assert c.state_root.resolve() == workspace / "work" / "release" / name
    jobs = (ROOT / "ci" / "jenkins" / "jobs" / "release.yaml").read_text()
    assert f"default: {REPOS_URL}" in jobs  # the same URL the Jenkins jobs default to


def test_the_changelog_series_per_flow() -> None:
    weekly, nightly, official = (flow(n).changelog for n in FLOWS)
    assert nightly is None  # dailies are in no series
    assert weekly is not None and official is not None
    assert weekly.output.name == "weekly" and official.output.name == "releases"
    for c in (weekly, official):
        assert c.overrides == RELEASE / "changelog.yaml"
        assert c.jira == "https://rubinobs.atlassian.net"
        assert "html" in c.formats
    overrides = read_overrides(RELEASE / "changelog.yaml")
    assert overrides.skips("testdata_decam") and not overrides.skips("afw")


def test_the_team_policy_names_jenkins_dm_jobs_teams() -> None:
    policy = read_policy(RELEASE / "teams.yaml")
    assert policy.org == "lsst"
    assert tuple(policy.teams) == TEAMS
    named = {t for n in FLOWS for c in [flow(n)] for t in (*c.teams.allow, *c.teams.deny,
             *c.teams.external, *c.aux_teams.allow, *c.aux_teams.deny)}  # fmt: skip
    assert named == set(TEAMS)
    assert not policy.teams["DM Externals"] & policy.teams["DM Auxilliaries"]
    assert not policy.teams["DM Externals"] & policy.teams["Data Management"]
    assert {"lsst/afw", "lsst/base", "lsst/lsst_distrib"} <= policy.teams["Data Management"]
    assert policy.url_for("lsst/versiondb") == "https://github.com/lsst/versiondb.git"
    owners = {r.split("/")[0] for repos in policy.teams.values() for r in repos}
    assert owners <= {"lsst", "lsst-dm", "lsst-sitcom"}


def test_the_defaults_of_the_flow_reader_are_what_release_spells_out() -> None:
    """release/ states the team policy rather than leaning on the reader's defaults; both
    are jenkins-dm-jobs'."""
    c = flow("weekly")
    assert c.teams.allow == flowconfig.DEFAULT_ALLOW and c.teams.deny == flowconfig.DEFAULT_DENY
    assert c.aux_teams.allow == flowconfig.DEFAULT_AUX_ALLOW


# --------------------------------------------------------------------------- the real stack


@pytest.mark.realdata
def test_the_products_are_in_the_real_repos_yaml(realdata: Path) -> None:
    repos = read_repos(realdata / "repos.yaml")
    for name in FLOWS:
        for product in flow(name).products:
            spec = repos.get(product)
            assert spec is not None, product
            assert spec.url.startswith("https://github.com/lsst/"), spec.url


@pytest.mark.realdata
def test_the_policy_covers_lsst_distribs_manifest(realdata: Path) -> None:
    """Every product of a real lsst_distrib build that repos.yaml lists is in exactly one of
    the product teams, by the owner/name of its repos.yaml URL: a rehearsal of the tagging
    with the git forge finds no repository outside the teams."""
    repos = read_repos(realdata / "repos.yaml")
    policy = read_policy(RELEASE / "teams.yaml")
    manifest = realdata / "lsst_distrib-b8466" / "manifest-b8466.txt"
    products = [line.split()[0] for line in manifest.read_text().splitlines()
                if line.strip() and not line.startswith(("#", "BUILD="))]  # fmt: skip
    checked = 0
    for product in products:
        spec = repos.get(product)
        if spec is None:  # gone from repos.yaml since that build
            continue
        full = "/".join(spec.url.removesuffix(".git").rstrip("/").split("/")[-2:])
        teams = policy.teams_of(full)
        assert len(teams) == 1 and teams[0] in ("Data Management", "DM Externals"), (full, teams)
        checked += 1
    assert checked > 100
    members = {r for repos_ in policy.teams.values() for r in repos_}
    urls = {
        "/".join(s.url.removesuffix(".git").rstrip("/").split("/")[-2:])
        for p in products
        if (s := repos.get(p)) is not None
    }
    assert members == urls  # and nothing else
