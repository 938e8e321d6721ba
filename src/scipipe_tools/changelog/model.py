"""The changelog model: what changed between release points, as plain data.

Collection (:mod:`.collect`, :mod:`.walk`) fills it from git; :mod:`.series` arranges the
release points and applies the series rules; :mod:`.render` turns it into Markdown, RST,
JSON or an HTML site.  Nothing here touches git, HTTP or files.

Dates are ISO 8601 strings in UTC (``2025-04-10T07:00:00Z``) so the model serializes to
JSON as it is, deterministically.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

#: towncrier fragment types, in the order release notes list them
FRAGMENT_TYPES = ("feature", "api", "bugfix", "perf", "removal", "misc")

#: the pseudo-release of changes since the last weekly (``~main``)
UNRELEASED = "~main"


class ReleaseKind(StrEnum):
    WEEKLY = "weekly"
    RC = "rc"
    FINAL = "final"
    OTHER = "other"
    UNRELEASED = "unreleased"


class Fragment(NamedTuple):
    """A towncrier news fragment ``doc/changes/DM-N.<type>.{rst,md}`` of a product (a
    named tuple, as :class:`Change` is)."""

    ticket: str
    type: str
    product: str
    path: str
    text: str


class Change(NamedTuple):
    """One first-parent commit of a product between two release points.

    A merge of a pull request or a ticket branch, or a direct push.  ``tickets`` are the
    ticket keys found (``DM-12345``, upper case); none means "other changes".

    A named tuple rather than a dataclass: a series holds some 10^5 changes, and making
    one from a row of git's output or of the cache is then a single C call
    (``tuple.__new__``), a fifth of the cost of a frozen dataclass even built through
    its ``__dict__``.  Change it with ``_replace``.
    """

    product: str
    sha: str
    subject: str
    date: str
    author: str
    tickets: tuple[str, ...] = ()
    merge: bool = False
    pr: int | None = None
    pr_url: str | None = None
    branch: str | None = None


@dataclass
class Ticket:
    key: str
    summary: str | None = None
    products: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    fragments: list[Fragment] = field(default_factory=list)
    #: date of the newest change
    last_merge: str = ""
    #: ``main`` or the release branch (``v29.1.x``) the changes landed on
    branch: str = "main"

    @property
    def url(self) -> str:
        return f"https://ls.st/{self.key}"


@dataclass(frozen=True)
class PackageChange:
    """A third-party conda package that changed between the releases' environments."""

    name: str
    old: str | None
    new: str | None


@dataclass
class Release:
    """One release point and what changed since the previous one."""

    name: str
    eups: str
    kind: ReleaseKind
    date: str | None = None
    previous: str | None = None
    tickets: list[Ticket] = field(default_factory=list)
    other: list[Change] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    #: product -> EUPS version (or SHA when no version is known)
    products: dict[str, str] = field(default_factory=dict)
    #: products whose commits could not be walked, with the reason
    missing: dict[str, str] = field(default_factory=dict)
    conda: list[PackageChange] | None = None
    #: RCs folded into this final release
    folded: list[str] = field(default_factory=list)
    #: a note shown under the title (``Updated at ...`` for ``~main``)
    note: str | None = None

    @property
    def slug(self) -> str:
        """A file name for the release's page (``w_2025_15``, ``v29_1_0``, ``main``)."""
        return "main" if self.kind is ReleaseKind.UNRELEASED else self.eups


@dataclass
class ChangelogModel:
    """Releases newest first, with the product repositories' web URLs."""

    title: str
    releases: list[Release]
    #: product -> repository web URL (``https://github.com/lsst/afw``), when known
    repo_urls: dict[str, str] = field(default_factory=dict)
    generated: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for release in data["releases"]:  # asdict keeps named tuples as they are
            release["other"] = [c._asdict() for c in release["other"]]
            for ticket in release["tickets"]:
                ticket["changes"] = [c._asdict() for c in ticket["changes"]]
                ticket["fragments"] = [f._asdict() for f in ticket["fragments"]]
        return data

    def release(self, name: str) -> Release:
        for r in self.releases:
            if name in (r.name, r.eups):
                return r
        raise KeyError(name)
