"""``scipipe release``: release tags (tag-name, tag, tag-teams, list-repos), codekit's
organisation commands (github-*), the versiondb, and the weekly, nightly and official
flows; one module per command."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import click

from ..lazy import Lazy, LazyGroup


class Release(LazyGroup):
    lazy: ClassVar[Mapping[str, Lazy]] = {
        "tag-name": Lazy(
            "scipipe_tools.cli.release.names",
            "tag_name_cmd",
            "Convert TAG between git and EUPS forms, or name the weekly/daily tag for a date.",
        ),
        "tag": Lazy(
            "scipipe_tools.cli.release.tag",
            "tag_cmd",
            "Tag every product repo of a release at the commit its manifest names.",
        ),
        "tag-teams": Lazy(
            "scipipe_tools.cli.release.teams",
            "tag_teams_cmd",
            "Tag every repo of the allow teams (codekit github-tag-teams).",
        ),
        "list-repos": Lazy(
            "scipipe_tools.cli.release.repos",
            "list_repos_cmd",
            "Every repo of the organisation with its teams (codekit github-list-repos).",
        ),
        "github-get-ratelimit": Lazy(
            "scipipe_tools.cli.release.ratelimit",
            "ratelimit_cmd",
            "The GitHub API rate limit now (codekit github-get-ratelimit).",
        ),
        "github-fork-org": Lazy(
            "scipipe_tools.cli.release.forkorg",
            "fork_org_cmd",
            "Fork every repo of an organisation into another (codekit github-fork-org).",
        ),
        "github-mv-repos-to-team": Lazy(
            "scipipe_tools.cli.release.mvrepos",
            "mv_repos_cmd",
            "Move repos from one team to another (codekit github-mv-repos-to-team).",
        ),
        "github-decimate-org": Lazy(
            "scipipe_tools.cli.release.decimate",
            "decimate_cmd",
            "Delete the repos of a test organisation, after a dry run (codekit).",
        ),
        "versiondb-publish": Lazy(
            "scipipe_tools.cli.release.versiondb",
            "versiondb_publish_cmd",
            "Push the versiondb's branch and build tag to its remote (only what it lacks).",
        ),
        "pypi": Lazy(
            "scipipe_tools.cli.release.pypi",
            "pypi_cmd",
            "Build, check and upload the products that have a pyproject.toml to a PyPI index.",
        ),
        "weekly": Lazy(
            "scipipe_tools.cli.release.flows",
            "weekly_cmd",
            "The weekly release: build, publish w_YYYY_WW and w_latest, tag w.YYYY.WW.",
        ),
        "nightly": Lazy(
            "scipipe_tools.cli.release.flows",
            "nightly_cmd",
            "The nightly release: build, publish d_YYYY_MM_DD and d_latest; tags as a dry run.",
        ),
        "official": Lazy(
            "scipipe_tools.cli.release.flows",
            "official_cmd",
            "An official release (RC or final): tag at the source refs, then build from the tag.",
        ),
    }


@click.group("release", cls=Release)
def release_group() -> None:
    """Release tags: names, tagging every repo, weekly/nightly/official flows."""
