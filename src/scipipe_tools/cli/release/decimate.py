"""``scipipe release github-decimate-org``: delete the repos (and teams) of a test
organisation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from ...release.orgadmin import decimate_org, decimate_state_path
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
class DecimateArgs:
    org: str
    confirm: str | None
    dry_run: bool
    delete_repos: bool
    limit: int | None
    delete_teams: bool
    teams_limit: int | None
    fail_fast: bool
    github_url: str
    token_path: Path | None
    debug_level: int


@click.command("github-decimate-org")
@click.option("--org", required=True, help="The (test) organisation whose repos go.")
@click.option("--confirm", default=None, metavar="ORG", help="The organisation's name again.")
@dry_run_option("List the repos that would go and record them; the real run needs this.")
@click.option(
    "--delete-repos/--no-delete-repos",
    default=True,
    show_default=True,
    help="Delete the repos (codekit's --delete-repos; on here unless --no-delete-repos).",
)
@click.option(
    "--delete-repos-limit",
    "limit",
    type=click.IntRange(min=1),
    default=None,
    help="Only the first N repos (by name), as codekit's option.",
)
@click.option("--delete-teams", is_flag=True, help="Delete the teams too (after the repos).")
@click.option(
    "--delete-teams-limit",
    "teams_limit",
    type=click.IntRange(min=1),
    default=None,
    help="Only the first N teams (by name), as codekit's option.",
)
@click.option("--fail-fast/--no-fail-fast", default=False, show_default=True)
@github_url_option
@token_path_option
@codekit_options
@json_option
@takes(DecimateArgs)
def decimate_cmd(a: DecimateArgs) -> int:
    """Delete the repos of a test organisation, after a dry run (codekit).

    codekit's github-decimate-org.

    \b
      scipipe release github-decimate-org --org lsst-sqre-test --dry-run
      scipipe release github-decimate-org --org lsst-sqre-test --confirm lsst-sqre-test

    Refused unless the name is given twice and a --dry-run of the same organisation
    ran in the last 24 hours; only the repos (and, with --delete-teams, the teams) that
    dry run listed are deleted.  The token needs the delete_repo scope (admin:org for
    teams).
    """
    apply_debug(a.debug_level)
    forge = github_forge(a.org, a.github_url, a.token_path)
    try:
        result = decimate_org(
            forge,
            confirm=a.confirm,
            dry_run=a.dry_run,
            state=decimate_state_path(forge.base_url, a.org),
            limit=a.limit,
            fail_fast=a.fail_fast,
            delete_repos=a.delete_repos,
            delete_teams=a.delete_teams,
            teams_limit=a.teams_limit,
        )
        return report_admin(result, forge)
    finally:
        forge.close()
