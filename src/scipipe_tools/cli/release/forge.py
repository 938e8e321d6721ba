"""What ``release tag``, ``tag-teams`` and ``list-repos`` share: the forge and the tagger
from their options, and the report of a tagging result."""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

import click

from ...errors import InputError
from ...forge.base import Tagger
from ...forge.github import GitHubForge, load_token
from ...infra import git
from ...infra.http import trace_requests
from ...release.connect import ForgeConfig
from ...release.orgadmin import AdminResult
from ...release.tagging import TagResult
from ...release.teamtags import TeamTagResult
from ..common import columns, echo, emit_json, get_app, info
from ..options import ForgeArgs


def forge_config(a: ForgeArgs) -> ForgeConfig:
    """The forge that ``--forge``, ``--teams-file``, ``--org`` ... name."""
    return ForgeConfig(
        kind=a.forge_kind or ("git" if a.teams_file else "github"),
        org=a.org,
        teams_file=a.teams_file,
        github_url=a.github_url,
        token_path=a.token_path,
        jobs=a.jobs,
        max_wait=a.max_wait,
    )


def tagger_for(user: str | None, email: str | None) -> Tagger:
    """``--user`` and ``--email``, else git's configured user; the time is now."""
    name = user or git.config_get("user.name")
    mail = email or git.config_get("user.email")
    if not name or not mail:
        raise InputError(
            "no tagger: pass --user and --email",
            hint="or set them with `git config --global user.name/user.email`",
        )
    return Tagger(name, mail, dt.datetime.now(dt.UTC).replace(microsecond=0))


def report_result(
    result: TagResult | TeamTagResult,
    headers: list[str],
    rows: list[list[str]],
    what: str,
    empty: str,
) -> None:
    """A tagging result: JSON, or its problems (stderr), a table of ``rows`` and a
    summary line ``what: counts; errors; API calls``."""
    if get_app().json:
        emit_json(result.to_json())
        return
    for p in result.problems:
        click.echo(f"error: {p}", err=True)
    if rows:
        echo(columns(headers, rows))
    counts = ", ".join(f"{n} {k}" for k, n in result.counts().items()) or empty
    api = ""
    if result.stats is not None:
        api = f"; {result.stats.total_calls} API calls"
        if result.stats.rate_remaining is not None:
            api += f", rate limit {result.stats.rate_remaining}/{result.stats.rate_limit} left"
    info(f"{what}: {counts}; {result.errors} error(s){api}")


def apply_debug(level: int) -> None:
    """codekit's ``-d``: debug logging; twice, every HTTP request traced too."""
    if level >= 1:
        logging.getLogger("scipipe_tools").setLevel(logging.DEBUG)
    if level >= 2:
        trace_requests()


def github_forge(org: str, github_url: str, token_path: Path | None) -> GitHubForge:
    """The GitHub forge of ``org`` (empty: no organisation) for codekit's organisation
    commands; the token from ``$GITHUB_TOKEN`` or ``token_path``."""
    return GitHubForge(org, token=load_token(token_path, os.environ), base_url=github_url)


def report_admin(result: AdminResult, forge: GitHubForge) -> int:
    """An organisation command's rows (a table, or JSON) and its summary; the exit code."""
    if get_app().json:
        emit_json({**result.to_json(), "api": forge.stats().to_json()})
        return result.exit_code
    rows = [[r.repo, r.action, r.outcome, r.detail] for r in result.rows]
    if rows:
        echo(columns(["repo", "action", "outcome", "detail"], rows))
    for r in result.rows:
        if r.outcome == "error":
            click.echo(f"error: {r.repo}: {r.action}: {r.detail}", err=True)
    counts = ", ".join(f"{n} {k}" for k, n in result.counts().items()) or "nothing to do"
    mode = " (dry run)" if result.dry_run else ""
    info(
        f"{result.command}{mode}: {counts}; {result.errors} error(s); "
        f"{forge.stats().total_calls} API calls"
    )
    return result.exit_code
