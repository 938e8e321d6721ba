"""Ticket keys in commit messages: which tickets a first-parent commit belongs to.

A ticket key is ``DM-<n>`` or ``SP-<n>`` (Jira projects DM and SP), matched in any case
and normalized to upper case without leading zeros: ``dm-012345`` -> ``DM-12345``.

Merge commits name their branch, and a ticket branch names its ticket:

- ``Merge pull request #123 from lsst/tickets/DM-12345`` (GitHub; the pull request's
  title is the message body);
- ``Merge branch 'tickets/DM-12345'`` and ``Merge branch 'tickets/DM-12345' into main``
  (``git merge``), also ``Merge remote-tracking branch 'origin/tickets/DM-12345'``;
- branch variants ``tickets/DM-12345-hotfix``, ``-revert`` and ``-v23`` (backports) carry
  the same ticket.

As the reference changelog does, a merge takes its ticket from the branch when the
branch names one, and otherwise from the subject and body (the pull request's title).
Other commits, pushed directly, take every key their subject and body mention
(``DM-12345: fix x``) -- the reference tool drops those commits; here they count.
A squash-merged pull request's subject ends with ``(#123)``: that is its ``pr``.
"""

from __future__ import annotations

import re
from typing import NamedTuple

#: A ticket key: not glued to a preceding letter or digit (``XDM-1`` is not one).
TICKET = re.compile(r"(?<![A-Za-z0-9])(DM|SP)-([0-9]+)", re.IGNORECASE)
_PR_MERGE = re.compile(r"^Merge pull request #([0-9]+) from (\S+)")
_BRANCH_MERGE = re.compile(r"^Merge (?:(remote-tracking) )?branch '([^']+)'")
_SQUASH_PR = re.compile(r"\(#([0-9]+)\)\s*$")


class Parsed(NamedTuple):
    """What a commit message says: ``(tickets, pr, branch, is_merge_form)``."""

    #: ticket keys, normalized, in order of first mention, without duplicates
    tickets: tuple[str, ...]
    #: the pull request number (``Merge pull request #N`` or a squash merge's ``(#N)``)
    pr: int | None
    #: the merged branch (``tickets/DM-12345``), for the merge forms
    branch: str | None
    #: whether the subject has one of the merge-message forms
    is_merge_form: bool


def normalize(key: str) -> str:
    """``dm-0123`` -> ``DM-123``; a ValueError when ``key`` is not a ticket key."""
    m = TICKET.fullmatch(key.strip())
    if m is None:
        raise ValueError(f"not a ticket key: {key!r}")
    return f"{m.group(1).upper()}-{int(m.group(2))}"


def find(text: str) -> tuple[str, ...]:
    """Every ticket key in ``text``, normalized, in order, without duplicates."""
    if "-" not in text:
        return ()
    seen: dict[str, None] = {}
    for m in TICKET.finditer(text):
        seen.setdefault(f"{m.group(1).upper()}-{int(m.group(2))}")
    return tuple(seen)


def parse_merge(subject: str) -> tuple[int | None, str] | None:
    """``(pr, branch)`` of a merge-form subject, or None for any other subject."""
    if not subject.startswith("Merge "):
        return None
    m = _PR_MERGE.match(subject)
    if m is not None:
        # "from <owner>/<branch>": the branch may itself hold slashes
        head = m.group(2)
        _owner, slash, branch = head.partition("/")
        return int(m.group(1)), branch if slash else head
    m = _BRANCH_MERGE.match(subject)
    if m is not None:
        branch = m.group(2)
        if m.group(1) and branch.startswith("origin/"):
            branch = branch[len("origin/") :]
        return None, branch
    return None


def parse(subject: str, body: str = "") -> Parsed:
    """The tickets, pull request and branch of a commit with this subject and body."""
    merge = parse_merge(subject)
    if merge is not None:
        pr, branch = merge
        tickets = find(branch)
        if not tickets:
            tickets = find(subject + "\n" + body) if body else find(subject)
        return Parsed(tickets, pr, branch, True)
    pr = None
    if subject.endswith(")"):
        m = _SQUASH_PR.search(subject)
        if m is not None:
            pr = int(m.group(1))
    tickets = find(subject + "\n" + body) if body else find(subject)
    return Parsed(tickets, pr, None, False)
