from __future__ import annotations

import datetime as dt

import pytest

from scipipe_tools.errors import InputError
from scipipe_tools.eups.taglist import TagList, TagRow, parse_taglist
from scipipe_tools.names.tags import (
    TagKind,
    check_git_tag,
    daily,
    eups_to_git,
    git_to_eups,
    kind_of,
    parse_when,
    us_week,
    weekly,
)


@pytest.mark.parametrize(
    ("git", "eups", "kind"),
    [
        ("26.0.0", "v26_0_0", TagKind.FINAL),
        ("v29.0.0.rc2", "v29_0_0_rc2", TagKind.RELEASE_CANDIDATE),
        ("w.2024.10", "w_2024_10", TagKind.WEEKLY),
        ("d.2024.03.05", "d_2024_03_05", TagKind.DAILY),
    ],
)
def test_git_eups_round_trip(git: str, eups: str, kind: TagKind) -> None:
    assert git_to_eups(git) == eups
    assert eups_to_git(eups) == git
    assert kind_of(git) == kind_of(eups) == kind


def test_other_conversions() -> None:
    assert git_to_eups("16.0.0") == "v16_0_0"
    assert git_to_eups("a-b") == "a_b"
    assert git_to_eups("v29.1.0") == "v29_1_0"  # external repos' final tag
    assert kind_of("b8466") == TagKind.BUILD
    assert kind_of("current") == TagKind.OTHER
    with pytest.raises(InputError):
        git_to_eups("")


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (dt.date(2020, 12, 31), "w.2021.01"),  # the spec's proof: Thursday 2020-12-31
        (dt.date(2021, 1, 2), "w.2021.01"),
        (dt.date(2021, 1, 3), "w.2021.02"),  # Sunday starts week 2
        (dt.date(2020, 12, 26), "w.2020.52"),
        (dt.date(2025, 4, 10), "w.2025.15"),
        (dt.date(2022, 1, 1), "w.2022.01"),  # a Saturday: its week holds 1 January
        (dt.date(2024, 3, 5), "w.2024.10"),
    ],
)
def test_weekly_uses_us_weeks(day: dt.date, name: str) -> None:
    assert weekly(day).git == name
    assert weekly(day).eups == name.replace(".", "_")


def test_times_are_taken_in_los_angeles() -> None:
    # 2021-01-03 06:00 UTC is still Saturday 2 January in Los Angeles
    t = dt.datetime(2021, 1, 3, 6, 0, tzinfo=dt.UTC)
    assert weekly(t).git == "w.2021.01"
    assert daily(t).git == "d.2021.01.02" and daily(t).eups == "d_2021_01_02"
    assert weekly(parse_when("2021-01-03T06:00:00Z")).git == "w.2021.01"
    assert us_week(dt.date(2021, 1, 3)) == (2021, 2)
    with pytest.raises(InputError, match="invalid date"):
        parse_when("yesterday")


def test_git_tag_policy() -> None:
    assert check_git_tag("w.2025.15") == "w.2025.15"
    for bad in ["W.2025.15", "w_2025_15", "v1..2", "v1.", "-x"]:
        with pytest.raises(InputError):
            check_git_tag(bad)


LIST = """\
EUPS distribution w_2024_10 version list. Version 1.0
#BUILD=b7412
#CONDA_ENV=8.0.0
#product             flavor     version
#--------------------------------------
afw                  generic    g3f2a9c1d7e+8b1e0c44aa
base                 generic    g1111111111+2222222222
"""


def test_taglist_round_trip() -> None:
    t = parse_taglist(LIST, "w_2024_10.list")
    assert t.tag == "w_2024_10" and t.build_id == "b7412" and t.conda_env == "8.0.0"
    assert t.version_of("afw", "Linux64") == "g3f2a9c1d7e+8b1e0c44aa"
    assert t.to_text() == LIST
    r = t.renamed("w_latest")
    assert r.to_text().startswith("EUPS distribution w_latest version list. Version 1.0\n")


def test_taglist_sorts_rows_and_keeps_extras() -> None:
    t = TagList("x", (TagRow("zz", "generic", "1"), TagRow("aa", "Linux64", "2", ("e1",))), {})
    lines = t.to_text().splitlines()
    assert lines[3] == "aa                   Linux64    2  e1" and lines[4].startswith("zz")


@pytest.mark.parametrize(
    ("text", "where", "msg"),
    [
        ("", "w_1.list", "empty tag list"),
        ("hello\n", "w_1.list:1", "line 1 must read"),
        (LIST, "w_1.list:1", "header names tag 'w_2024_10', expected 'w_1'"),
    ],
)
def test_bad_taglists(text: str, where: str, msg: str) -> None:
    with pytest.raises(InputError) as info:
        parse_taglist(text, "w_1.list")
    assert str(info.value.location) == where and msg in info.value.message


def test_bad_rows() -> None:
    with pytest.raises(InputError, match="expected 'product flavor version'"):
        parse_taglist(LIST + "short row\n", "w_2024_10.list")
    with pytest.raises(InputError, match="listed twice"):
        parse_taglist(LIST + "afw generic g1\n", "w_2024_10.list")
