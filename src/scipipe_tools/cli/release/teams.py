"""``scipipe release tag-teams``: tag every repo of some teams (codekit github-tag-teams)."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import click

from ...release.connect import open_forge
from ...release.teamtags import TeamTagRequest, TeamTagResult, tag_teams
from ...stack.readers import load_repos
from ..common import get_app
from ..console import progress_for
from ..options import (
    ForgeArgs,
    dry_run_option,
    forge_options,
    json_option,
    repos_option,
    tagger_options,
    takes,
)
from .forge import forge_config, report_result, tagger_for

#: seconds to think again before ``tag-teams --delete`` (only when a person watches)
DELETE_COUNTDOWN = 5


@dataclass(frozen=True)
class TagTeamsArgs(ForgeArgs):
    tags: tuple[str, ...]
    allow_teams: tuple[str, ...]
    deny_teams: tuple[str, ...]
    refs: tuple[str, ...]
    dry_run: bool
    delete: bool
    ignore_existing_tag: bool
    repos: str | None
    user: str | None
    email: str | None


@click.command("tag-teams")
@click.option("--tag", "tags", multiple=True, required=True, help="Git tag to make (repeatable).")
@click.option(
    "--allow-team",
    "allow_teams",
    multiple=True,
    required=True,
    help="Tag the repos of these teams (repeatable).",
)
@click.option(
    "--deny-team",
    "deny_teams",
    multiple=True,
    help="A repo in one of these teams is an error (repeatable).",
)
@click.option(
    "-r",
    "--ref",
    "refs",
    multiple=True,
    help="Tag this branch or tag's commit, tried in order [default: the default branch].",
)
@dry_run_option("Every read and check; write nothing.")
@click.option("--delete", is_flag=True, help="Delete the tags (the refs only).")
@click.option("--ignore-existing-tag", is_flag=True, help="Skip repos that have the tag already.")
@repos_option("repos.yaml (path or URL): where the git forge fetches repos from", url=True)
@tagger_options
@forge_options
@json_option
@takes(TagTeamsArgs)
def tag_teams_cmd(a: TagTeamsArgs) -> int:
    """Tag every repo of the allow teams (codekit github-tag-teams).

    \b
      scipipe release tag-teams --org lsst --allow-team 'DM Auxilliaries' \\
          --deny-team 'DM Externals' --tag w.2025.15 --ignore-existing-tag
      scipipe release tag-teams ... --tag v29.0.0.rc1 -r v29.0.x -r w.2025.10

    New tags are annotated ("Version TAG").  Every repo is checked before the first
    write; the exit code is the number of errors (at most 255).
    """
    config = forge_config(a)
    repos = load_repos(a.repos) if a.repos else None
    request = TeamTagRequest(
        tags=a.tags,
        tagger=tagger_for(a.user, a.email),
        allow_teams=a.allow_teams,
        deny_teams=a.deny_teams,
        refs=a.refs,
        dry_run=a.dry_run,
        delete=a.delete,
        ignore_existing_tag=a.ignore_existing_tag,
        jobs=a.jobs,
    )
    forge = open_forge(config, repos)
    try:
        with progress_for(get_app()) as progress:
            result = tag_teams(request, forge, progress, before_write=_countdown)
    finally:
        forge.close()
    _report_teams(result)
    return result.exit_code


def _countdown(planned: TeamTagResult) -> None:
    """A last chance (Ctrl-C) before deleting, when a person watches stderr."""
    if planned.mode != "delete" or not sys.stderr.isatty():
        return
    n = planned.pending_writes
    for left in range(DELETE_COUNTDOWN, 0, -1):
        click.echo(f"\rdeleting {n} tag(s) in {left} s (Ctrl-C to stop) ", nl=False, err=True)
        time.sleep(1)
    click.echo("", err=True)


def _report_teams(result: TeamTagResult) -> None:
    verbose = get_app().verbosity > 0
    rows = [
        [r.repo, r.tag, r.sha[:12], r.ref, r.outcome.value, r.detail]
        for r in result.results
        if verbose or r.outcome.value != "exists" or r.detail != "matches"
    ]
    report_result(
        result,
        ["repo", "tag", "sha", "ref", "outcome", "detail"],
        rows,
        f"{', '.join(result.tags)} ({result.mode})",
        "no repos",
    )
