"""``scipipe release list-repos``: the organisation's repos and their teams."""

from __future__ import annotations

from dataclasses import dataclass

import click

from ...release.connect import open_forge, repo_urls
from ...release.listrepos import format_rows, list_repos
from ...stack.readers import load_repos
from ..common import echo, emit_json, get_app
from ..options import ForgeArgs, forge_options, json_option, repos_option, takes
from .forge import forge_config


@dataclass(frozen=True)
class ListReposArgs(ForgeArgs):
    hide: tuple[str, ...]
    mint: int
    maxt: int | None
    delimiter: str
    repos: str | None


@click.command("list-repos")
@click.option("--hide", multiple=True, metavar="TEAM", help="Leave this team out (repeatable).")
@click.option(
    "--mint", type=click.IntRange(min=0), default=0, show_default=True, help="Fewest teams."
)
@click.option("--maxt", type=click.IntRange(min=0), default=None, help="Most teams.")
@click.option("--delimiter", default=", ", show_default=True, help="Between the team names.")
@repos_option("repos.yaml: also list its repos that are in no team", url=True)
@forge_options
@json_option
@takes(ListReposArgs)
def list_repos_cmd(a: ListReposArgs) -> None:
    """Every repo of the organisation with its teams (codekit github-list-repos)."""
    config = forge_config(a)
    repos = load_repos(a.repos) if a.repos else None
    forge = open_forge(config, repos)
    try:
        rows = list_repos(forge, hide=a.hide, mint=a.mint, maxt=a.maxt, extra=repo_urls(repos))
    finally:
        forge.close()
    if get_app().json:
        emit_json([r.to_json() for r in rows])
        return
    for line in format_rows(rows, a.delimiter):
        echo(line)
