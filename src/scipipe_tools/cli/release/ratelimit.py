"""``scipipe release github-get-ratelimit``: the GitHub API rate-limit window now."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import click

from ..common import echo, emit_json, get_app
from ..options import codekit_options, github_url_option, json_option, takes, token_path_option
from .forge import apply_debug, github_forge


@dataclass(frozen=True)
class RateLimitArgs:
    github_url: str
    token_path: Path | None
    debug_level: int


@click.command("github-get-ratelimit")
@github_url_option
@token_path_option
@codekit_options
@json_option
@takes(RateLimitArgs)
def ratelimit_cmd(a: RateLimitArgs) -> None:
    """The GitHub API rate limit now (codekit github-get-ratelimit).

    Calls left and used, and when the window resets; asking costs no call.
    """
    apply_debug(a.debug_level)
    forge = github_forge("", a.github_url, a.token_path)
    try:
        rate = forge.rate_limit()
    finally:
        forge.close()
    if get_app().json:
        emit_json(rate.to_json())
        return
    reset = dt.datetime.fromtimestamp(rate.reset, dt.UTC)
    minutes = max(0, round((reset - dt.datetime.now(dt.UTC)).total_seconds() / 60))
    echo(f"remaining: {rate.remaining} of {rate.limit} ({rate.used} used)")
    echo(f"reset: {reset.strftime('%Y-%m-%dT%H:%M:%SZ')} (in {minutes} min)")
