"""Ticket keys from commit messages: examples of every form, and properties (hypothesis)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scipipe_tools.changelog.tickets import Parsed, find, normalize, parse

# --- examples ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "body", "expected"),
    [
        (
            "Merge pull request #123 from lsst/tickets/DM-12345",
            "DM-12345: Fix the frobnicator",
            Parsed(("DM-12345",), 123, "tickets/DM-12345", True),
        ),
        (
            "Merge branch 'tickets/DM-12345'",
            "",
            Parsed(("DM-12345",), None, "tickets/DM-12345", True),
        ),
        (
            "Merge branch 'tickets/DM-12345' into main",
            "",
            Parsed(("DM-12345",), None, "tickets/DM-12345", True),
        ),
        (
            "Merge branch 'tickets/DM-12345' of https://github.com/lsst/afw into main",
            "",
            Parsed(("DM-12345",), None, "tickets/DM-12345", True),
        ),
        (
            "Merge remote-tracking branch 'origin/tickets/DM-777'",
            "",
            Parsed(("DM-777",), None, "tickets/DM-777", True),
        ),
        (
            "Merge pull request #9 from lsst/tickets/DM-40000-hotfix",
            "",
            Parsed(("DM-40000",), 9, "tickets/DM-40000-hotfix", True),
        ),
        (
            "Merge pull request #10 from lsst/tickets/DM-40000-revert",
            "",
            Parsed(("DM-40000",), 10, "tickets/DM-40000-revert", True),
        ),
        (
            "Merge pull request #11 from lsst-dm/tickets/DM-40000-v23",
            "",
            Parsed(("DM-40000",), 11, "tickets/DM-40000-v23", True),
        ),
        (
            "Merge pull request #12 from lsst/tickets/sp-1234",
            "",
            Parsed(("SP-1234",), 12, "tickets/sp-1234", True),
        ),
        # the branch names no ticket: the pull request's title (the body) does
        (
            "Merge pull request #13 from jdoe/u/jdoe/cleanup",
            "DM-555: Clean up",
            Parsed(("DM-555",), 13, "u/jdoe/cleanup", True),
        ),
        # the branch's ticket wins over others in the title, as in the reference tool
        (
            "Merge pull request #14 from lsst/tickets/DM-1",
            "DM-2: also mentions another",
            Parsed(("DM-1",), 14, "tickets/DM-1", True),
        ),
        ("Merge branch 'main' into v29.1.x", "", Parsed((), None, "main", True)),
        ("DM-12345: fix x", "", Parsed(("DM-12345",), None, None, False)),
        ("dm-012345: fix x", "", Parsed(("DM-12345",), None, None, False)),
        (
            "Fix x",
            "See DM-1 and SP-2, also DM-1 again.",
            Parsed(("DM-1", "SP-2"), None, None, False),
        ),
        ("Fix typo in README", "", Parsed((), None, None, False)),
        ("Add a thing (#45)", "", Parsed((), 45, None, False)),
        ("DM-9: Add a thing (#46)", "", Parsed(("DM-9",), 46, None, False)),
        ("Use XDM-1 and ADM-2 and DM-3x", "", Parsed(("DM-3",), None, None, False)),
        ("", "", Parsed((), None, None, False)),
    ],
)
def test_parse_examples(subject: str, body: str, expected: Parsed) -> None:
    assert parse(subject, body) == expected


def test_normalize() -> None:
    assert normalize("dm-00123") == "DM-123"
    assert normalize(" Sp-7 ") == "SP-7"
    with pytest.raises(ValueError, match="not a ticket key"):
        normalize("DM123")
    with pytest.raises(ValueError):
        normalize("XDM-1")


# --- properties ----------------------------------------------------------------------

projects = st.sampled_from(["DM", "SP"])
numbers = st.integers(min_value=0, max_value=10**7)
variants = st.sampled_from(["", "-hotfix", "-revert", "-v23", "-v29.1", "-fix-2"])
orgs = st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True)
#: free text with no ticket-like key in it
plain = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="-\x00"),
    max_size=40,
)
_REFERENCE = re.compile(r"(?<![A-Za-z0-9])(DM|SP)-(\d+)", re.IGNORECASE)
_KEY = re.compile(r"^(DM|SP)-(0|[1-9]\d*)$")


def spell(project: str, number: int, data: st.DataObject) -> str:
    """The key in a random case, maybe with leading zeros."""
    case = data.draw(st.sampled_from([str.upper, str.lower, str.title]))
    zeros = "0" * data.draw(st.integers(0, 2))
    return f"{case(project)}-{zeros}{number}"


@given(projects, numbers, variants, orgs, st.integers(1, 10**6), st.data())
def test_pull_request_merges(
    project: str, number: int, variant: str, org: str, pr: int, data: st.DataObject
) -> None:
    key = spell(project, number, data)
    branch = f"tickets/{key}{variant}"
    title = data.draw(plain)
    got = parse(f"Merge pull request #{pr} from {org}/{branch}", title)
    assert got == Parsed((f"{project}-{number}",), pr, branch, True)


@given(projects, numbers, variants, st.booleans(), st.data())
def test_branch_merges(
    project: str, number: int, variant: str, into: bool, data: st.DataObject
) -> None:
    branch = f"tickets/{spell(project, number, data)}{variant}"
    subject = f"Merge branch '{branch}'" + (" into main" if into else "")
    assert parse(subject) == Parsed((f"{project}-{number}",), None, branch, True)


@given(projects, numbers, plain, plain, st.data())
def test_direct_commits(
    project: str, number: int, text: str, body: str, data: st.DataObject
) -> None:
    subject = f"{spell(project, number, data)}: {text}"
    if subject.startswith("Merge "):
        return
    got = parse(subject, body)
    assert got.tickets == (f"{project}-{number}",)
    assert got.branch is None and not got.is_merge_form


@given(st.text(max_size=200), st.text(max_size=200))
def test_any_message_parses_to_normalized_keys(subject: str, body: str) -> None:
    got = parse(subject, body)
    assert all(_KEY.match(t) for t in got.tickets)
    assert len(set(got.tickets)) == len(got.tickets)
    mentioned = {f"{m.group(1).upper()}-{int(m.group(2))}" for m in
                 _REFERENCE.finditer(subject + "\n" + body)}  # fmt: skip
    assert set(got.tickets) <= mentioned
    assert got.is_merge_form == (got.branch is not None)
    if not got.is_merge_form:
        assert set(got.tickets) == mentioned


@given(st.lists(st.one_of(plain, st.builds(lambda p, n: f" {p}-{n} ", projects, numbers))))
def test_find_keeps_first_mention_order(parts: list[str]) -> None:
    text = "".join(parts)
    keys = [f"{m.group(1).upper()}-{int(m.group(2))}" for m in _REFERENCE.finditer(text)]
    assert find(text) == tuple(dict.fromkeys(keys))


@given(projects, numbers, st.data())
def test_normalize_is_idempotent(project: str, number: int, data: st.DataObject) -> None:
    key = normalize(spell(project, number, data))
    assert key == f"{project}-{number}"
    assert normalize(key) == key
