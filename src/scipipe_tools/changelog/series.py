"""Release-series rules (pure): which ranges make up each page of a series.

- **Weekly**: consecutive weeklies, oldest to newest; each page is ``previous..this``;
  the newest weekly is followed by ``~main``, the changes since it ("since the last
  weekly").
- **Releases**: release candidates fold into their final (``29.1.0.rc1``, ``rc2`` and
  ``29.1.0`` make one page ``29.1.0``; without a final yet, the page is named after the
  newest RC).  A release's first range runs from the previous release's first point (its
  branch point on ``main``) to its own first point, and is labelled ``main``; the later
  ranges (``rc1..rc2``, ``rc2..final``) are backports on the ``vX.Y.x`` branch.
  The folding can be turned off (``fold="none"``: every RC and final a page of its own,
  lsst_git_changelog's ``-u``) or kept for the backports only (``fold="after-first"``:
  the first RC a page of its own with the changes on ``main``, the later RCs folded into
  the final; its ``-f``).  The ranges are the same whichever the folding.
- The overrides file drops ``discard_tag`` tags and everything before ``first_tag``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal, get_args

from ..errors import InputError
from .overrides import Overrides

_REGULAR = re.compile(r"^v?([0-9]+)[._]([0-9]+)(?:[._]([0-9]+))?(?:[._]rc([0-9]+))?$")
_WEEKLY = re.compile(r"^w[._]([0-9]{4})[._]([0-9]{2})$")

#: how release candidates fold into their final's page (see the module's docstring)
RcFolding = Literal["all", "after-first", "none"]
RC_FOLDINGS: tuple[str, ...] = get_args(RcFolding)


@dataclass(frozen=True)
class Span:
    """One range of a page: ``old..new`` (old None: the first point, nothing before)."""

    old: str | None
    new: str
    branch: str


@dataclass(frozen=True)
class Page:
    """One page of the series: its name, the points folded into it, its ranges."""

    name: str
    members: tuple[str, ...]
    spans: tuple[Span, ...]

    @property
    def last(self) -> str:
        return self.members[-1]


def release_key(tag: str) -> tuple[int, int, int, int] | None:
    """``(major, minor, patch, rc)`` of a regular release (a final counts as rc 99)."""
    m = _REGULAR.match(tag)
    if m is None or not 9 <= int(m.group(1)) <= 1000:
        return None
    rc = int(m.group(4)) if m.group(4) is not None else 99
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0), rc


def weekly_key(tag: str) -> int | None:
    m = _WEEKLY.match(tag)
    return int(m.group(1)) * 100 + int(m.group(2)) if m else None


def apply_overrides(
    names: Sequence[str], overrides: Overrides, key: Callable[[str], object | None]
) -> list[str]:
    """``names`` (sorted oldest first) without discarded tags and those before first_tag."""
    discard = set(overrides.discard_tag)
    kept = [n for n in names if n not in discard]
    if overrides.first_tag is not None:
        first = key(overrides.first_tag)
        if first is None:
            raise InputError(f"first_tag {overrides.first_tag!r} is not a tag of this series")
        kept = [n for n in kept if (k := key(n)) is not None and k >= first]  # type: ignore[operator]
    return kept


def weekly_pages(names: Sequence[str]) -> list[Page]:
    """Weeklies oldest first -> one page per weekly, ``previous..this`` on main."""
    pages: list[Page] = []
    previous: str | None = None
    for name in names:
        pages.append(Page(name, (name,), (Span(previous, name, "main"),)))
        previous = name
    return pages


def release_pages(names: Sequence[str], fold: RcFolding = "all") -> list[Page]:
    """Regular releases oldest first -> one page per X.Y.Z with its RCs folded in
    (``fold="all"``), the first RC apart (``"after-first"``) or none (``"none"``)."""
    if fold not in RC_FOLDINGS:
        raise InputError(f"unknown RC folding {fold!r} (one of: {', '.join(RC_FOLDINGS)})")
    groups: dict[tuple[int, int, int], list[str]] = {}
    for name in names:
        k = release_key(name)
        if k is None:
            raise InputError(f"{name!r} is not a release tag (X.Y.Z or X.Y.Z.rcN)")
        groups.setdefault(k[:3], []).append(name)
    pages: list[Page] = []
    base: str | None = None
    for version in sorted(groups):
        members = sorted(groups[version], key=lambda n: release_key(n) or (0, 0, 0, 0))
        branch = f"v{version[0]}.{version[1]}.x"
        spans = [Span(base, members[0], "main")]
        spans += [Span(a, b, branch) for a, b in pairwise(members)]
        pages += _fold(members, spans, fold)
        base = members[0]
    return pages


def _fold(members: list[str], spans: list[Span], fold: RcFolding) -> list[Page]:
    """One release's pages: ``spans[i]`` ends at ``members[i]``."""
    if fold == "none":
        return [Page(m, (m,), (s,)) for m, s in zip(members, spans, strict=True)]
    if fold == "after-first" and len(members) > 1 and _is_rc(members[0]):
        first = Page(members[0], (members[0],), (spans[0],))
        return [first, *_fold(members[1:], spans[1:], "all")]
    final = next((m for m in members if not _is_rc(m)), None)
    return [Page(final or members[-1], tuple(members), tuple(spans))]


def _is_rc(name: str) -> bool:
    return (release_key(name) or (0, 0, 0, 99))[3] != 99
