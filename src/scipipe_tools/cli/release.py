"""``scipipe release``: release tagging across repos."""

from __future__ import annotations

import click

from ..errors import InputError
from ..release import tagnames
from .common import echo, emit_json, get_app, json_option


@click.group("release")
def release_group() -> None:
    """Release tags: names, tagging every repo, weekly/nightly/official flows."""


@release_group.command("tag-name")
@click.argument("tag", required=False)
@click.option(
    "--weekly",
    "weekly_date",
    is_flag=False,
    flag_value="now",
    default=None,
    metavar="[DATE]",
    help="The weekly tag for DATE (YYYY-MM-DD, Pacific; default now).",
)
@click.option(
    "--daily",
    "daily_date",
    is_flag=False,
    flag_value="now",
    default=None,
    metavar="[DATE]",
    help="The daily tag for DATE (default now).",
)
@json_option
def tag_name_cmd(tag: str | None, weekly_date: str | None, daily_date: str | None) -> None:
    """Convert TAG between git and EUPS forms, or name the weekly/daily tag for a date.

    \b
      scipipe release tag-name 26.0.0          -> v26_0_0
      scipipe release tag-name v29_0_0_rc2     -> v29.0.0.rc2
      scipipe release tag-name --weekly 2020-12-31   -> w.2021.01 w_2021_01
    """
    given = [x is not None for x in (tag, weekly_date, daily_date)]
    if sum(given) != 1:
        raise InputError("give exactly one of TAG, --weekly or --daily")
    if weekly_date is not None:
        name = tagnames.weekly(tagnames.parse_when(weekly_date))
    elif daily_date is not None:
        name = tagnames.daily(tagnames.parse_when(daily_date))
    else:
        assert tag is not None
        if "_" in tag:
            name = tagnames.TagName(tagnames.eups_to_git(tag), tag, tagnames.kind_of(tag))
        else:
            name = tagnames.TagName(tag, tagnames.git_to_eups(tag), tagnames.kind_of(tag))
    if get_app().json:
        emit_json({"git": name.git, "eups": name.eups, "kind": name.kind.value})
    else:
        echo(f"{name.git} {name.eups}")
