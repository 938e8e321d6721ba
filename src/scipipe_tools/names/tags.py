"""Release tag names: git <-> EUPS, and weekly/daily names from a date (spec section 10).

git -> EUPS: prefix ``v`` when the tag starts with a digit, then ``.`` and ``-`` become
``_`` (``26.0.0`` -> ``v26_0_0``, ``v29.0.0.rc2`` -> ``v29_0_0_rc2``, ``w.2024.10`` ->
``w_2024_10``).  Weeks are numbered as Java's ``YYYY``/``ww`` with US rules in
America/Los_Angeles: weeks start on Sunday and week 1 is the one containing 1 January,
so the build of Thursday 2020-12-31 is ``w.2021.01``.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from ..errors import InputError

PACIFIC = ZoneInfo("America/Los_Angeles")

_GIT_TAG = re.compile(r"^[a-z0-9][a-z0-9.]*$")
_FINAL_GIT = re.compile(r"^v?([0-9]+)\.([0-9]+)\.([0-9]+)$")
_RC_GIT = re.compile(r"^v?([0-9]+)\.([0-9]+)\.([0-9]+)\.rc([0-9]+)$")
_WEEKLY_GIT = re.compile(r"^w\.([0-9]{4})\.([0-9]{2})$")
_DAILY_GIT = re.compile(r"^d\.([0-9]{4})\.([0-9]{2})\.([0-9]{2})$")
_FINAL_EUPS = re.compile(r"^v([0-9]+)_([0-9]+)_([0-9]+)$")
_RC_EUPS = re.compile(r"^v([0-9]+)_([0-9]+)_([0-9]+)_rc([0-9]+)$")
_WEEKLY_EUPS = re.compile(r"^w_([0-9]{4})_([0-9]{2})$")
_DAILY_EUPS = re.compile(r"^d_([0-9]{4})_([0-9]{2})_([0-9]{2})$")
_BUILD = re.compile(r"^b[0-9]+$")


class TagKind(StrEnum):
    WEEKLY = "weekly"
    DAILY = "daily"
    RELEASE_CANDIDATE = "rc"
    FINAL = "final"
    BUILD = "build"
    OTHER = "other"


def git_to_eups(tag: str) -> str:
    """The EUPS tag for a git tag."""
    if not tag:
        raise InputError("empty tag name")
    out = "v" + tag if "0" <= tag[0] <= "9" else tag
    return out.replace(".", "_").replace("-", "_")


def eups_to_git(tag: str) -> str:
    """The git tag for an EUPS tag (final releases lose the ``v``: DM repos' form)."""
    if m := _FINAL_EUPS.match(tag):
        return ".".join(m.groups())
    if m := _RC_EUPS.match(tag):
        return "v{}.{}.{}.rc{}".format(*m.groups())
    if m := _WEEKLY_EUPS.match(tag):
        return "w.{}.{}".format(*m.groups())
    if m := _DAILY_EUPS.match(tag):
        return "d.{}.{}.{}".format(*m.groups())
    return tag.replace("_", ".")


def kind_of(tag: str) -> TagKind:
    """Classify a git or EUPS tag name."""
    if _WEEKLY_GIT.match(tag) or _WEEKLY_EUPS.match(tag):
        return TagKind.WEEKLY
    if _DAILY_GIT.match(tag) or _DAILY_EUPS.match(tag):
        return TagKind.DAILY
    if _RC_GIT.match(tag) or _RC_EUPS.match(tag):
        return TagKind.RELEASE_CANDIDATE
    if _FINAL_GIT.match(tag) or _FINAL_EUPS.match(tag):
        return TagKind.FINAL
    if _BUILD.match(tag):
        return TagKind.BUILD
    return TagKind.OTHER


def check_git_tag(tag: str) -> str:
    """The git tag policy: lowercase ``[a-z0-9.]`` only, starting with a letter or digit."""
    if not _GIT_TAG.match(tag) or ".." in tag or tag.endswith("."):
        raise InputError(f"invalid git tag {tag!r}: use lowercase letters, digits and '.' only")
    return tag


def _pacific_date(when: dt.date | dt.datetime) -> dt.date:
    if isinstance(when, dt.datetime):
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return when.astimezone(PACIFIC).date()
    return when


def us_week(when: dt.date | dt.datetime) -> tuple[int, int]:
    """(week-based year, week) with Sunday-first weeks and week 1 holding 1 January."""
    day = _pacific_date(when)
    sunday = day - dt.timedelta(days=(day.weekday() + 1) % 7)
    year = (sunday + dt.timedelta(days=6)).year
    jan1 = dt.date(year, 1, 1)
    week1 = jan1 - dt.timedelta(days=(jan1.weekday() + 1) % 7)
    return year, (sunday - week1).days // 7 + 1


@dataclass(frozen=True)
class TagName:
    git: str
    eups: str
    kind: TagKind


def weekly(when: dt.date | dt.datetime) -> TagName:
    year, week = us_week(when)
    git = f"w.{year}.{week:02d}"
    return TagName(git, git_to_eups(git), TagKind.WEEKLY)


def daily(when: dt.date | dt.datetime) -> TagName:
    day = _pacific_date(when)
    git = f"d.{day:%Y.%m.%d}"
    return TagName(git, git_to_eups(git), TagKind.DAILY)


def parse_when(text: str | None) -> dt.date | dt.datetime:
    """``YYYY-MM-DD`` (a Pacific date), an ISO date-time (converted to Pacific), or now."""
    if text is None or text == "now":
        return dt.datetime.now(dt.UTC)
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"invalid date {text!r}: expected YYYY-MM-DD or an ISO date-time") from exc
