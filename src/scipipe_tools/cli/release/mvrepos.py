"""``scipipe release github-mv-repos-to-team``: move repos from one team to another."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from ...release.orgadmin import mv_repos_to_team
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
class MvReposArgs:
    repos: tuple[str, ...]
    org: str
    old_team: str | None
    new_team: str
    permission: str
    dry_run: bool
    fail_fast: bool
    github_url: str
    token_path: Path | None
    debug_level: int


@click.command("github-mv-repos-to-team")
@click.argument("repos", nargs=-1, required=True)
@click.option("--org", required=True, help="The organisation of the repos and teams.")
@click.option("--old-team", default=None, help="Take the repos out of this team.")
@click.option("--new-team", required=True, help="Add the repos to this team.")
@click.option(
    "--permission",
    type=click.Choice(["pull", "triage", "push", "maintain", "admin"]),
    default="push",
    show_default=True,
    help="The new team's permission on each repo.",
)
@dry_run_option("List the moves; make none.")
@click.option("--fail-fast/--no-fail-fast", default=False, show_default=True)
@github_url_option
@token_path_option
@codekit_options
@json_option
@takes(MvReposArgs)
def mv_repos_cmd(a: MvReposArgs) -> int:
    """Move repos from one team to another (codekit github-mv-repos-to-team).

    REPOS (names or owner/name) are added to --new-team and taken out of --old-team.
    The exit code is the number of failures.
    """
    apply_debug(a.debug_level)
    forge = github_forge(a.org, a.github_url, a.token_path)
    try:
        result = mv_repos_to_team(
            forge,
            a.repos,
            new_team=a.new_team,
            old_team=a.old_team,
            permission=a.permission,
            dry_run=a.dry_run,
            fail_fast=a.fail_fast,
        )
        return report_admin(result, forge)
    finally:
        forge.close()
