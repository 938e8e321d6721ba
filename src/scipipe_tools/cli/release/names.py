"""``scipipe release tag-name``: a tag's git and EUPS forms."""

from __future__ import annotations

from dataclasses import dataclass

import click

from ...errors import InputError
from ...names import tags as tagnames
from ..common import echo, emit_json, get_app
from ..options import json_option, takes


@dataclass(frozen=True)
class TagNameArgs:
    tag: str | None
    weekly_date: str | None
    daily_date: str | None


@click.command("tag-name")
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
@takes(TagNameArgs)
def tag_name_cmd(a: TagNameArgs) -> None:
    """Convert TAG between git and EUPS forms, or name the weekly/daily tag for a date.

    \b
      scipipe release tag-name 26.0.0          -> v26_0_0
      scipipe release tag-name v29_0_0_rc2     -> v29.0.0.rc2
      scipipe release tag-name --weekly 2020-12-31   -> w.2021.01 w_2021_01
    """
    given = [x is not None for x in (a.tag, a.weekly_date, a.daily_date)]
    if sum(given) != 1:
        raise InputError("give exactly one of TAG, --weekly or --daily")
    if a.weekly_date is not None:
        name = tagnames.weekly(tagnames.parse_when(a.weekly_date))
    elif a.daily_date is not None:
        name = tagnames.daily(tagnames.parse_when(a.daily_date))
    else:
        assert a.tag is not None
        if "_" in a.tag:
            name = tagnames.TagName(tagnames.eups_to_git(a.tag), a.tag, tagnames.kind_of(a.tag))
        else:
            name = tagnames.TagName(a.tag, tagnames.git_to_eups(a.tag), tagnames.kind_of(a.tag))
    if get_app().json:
        emit_json({"git": name.git, "eups": name.eups, "kind": name.kind.value})
    else:
        echo(f"{name.git} {name.eups}")
