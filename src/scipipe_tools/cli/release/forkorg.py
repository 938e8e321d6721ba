"""``scipipe release github-fork-org``: fork every repo of an organisation into another."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from ...release.orgadmin import fork_org
from ..options import (
    codekit_options,
    dry_run_option,
    github_url_option,
    json_option,
    takes,
    token_path_option,
)
from .forge import apply_debug, github_forge, report_admin


@dataclass(frozen=True)
class ForkOrgArgs:
    src_org: str
    dst_org: str
    teams: tuple[str, ...]
    dry_run: bool
    limit: int | None
    fail_fast: bool
    copy_teams: bool
    github_url: str
    token_path: Path | None
    debug_level: int


@click.command("github-fork-org")
@click.option("--src-org", required=True, help="The organisation whose repos are forked.")
@click.option("--dst-org", required=True, help="The organisation the forks go to.")
@click.option(
    "--team",
    "teams",
    multiple=True,
    metavar="TEAM",
    help="Only the repos of this team of --src-org (repeatable) [default: every repo "
    "that is not itself a fork].",
)
@dry_run_option("List the forks to make; make none.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N repos.")
@click.option("--fail-fast/--no-fail-fast", default=False, show_default=True)
@click.option(
    "--copy-teams",
    is_flag=True,
    help="Then make, in --dst-org, every team of --src-org that holds a forked repo "
    "(whether --team named it or not), with the forks at the source team's permission.",
)
@github_url_option
@token_path_option
@codekit_options
@json_option
@takes(ForkOrgArgs)
def fork_org_cmd(a: ForkOrgArgs) -> int:
    """Fork every repo of an organisation into another (codekit github-fork-org).

    Every repo of --src-org (or of its --team teams) is forked into --dst-org.  A repo
    whose name --dst-org already has is skipped; the exit code is the number of failed
    forks.
    """
    apply_debug(a.debug_level)
    forge = github_forge(a.src_org, a.github_url, a.token_path)
    try:
        result = fork_org(
            forge,
            a.dst_org,
            teams=a.teams,
            dry_run=a.dry_run,
            limit=a.limit,
            fail_fast=a.fail_fast,
            copy_teams=a.copy_teams,
        )
        return report_admin(result, forge)
    finally:
        forge.close()
