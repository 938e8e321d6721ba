"""The forge protocol: what release tagging needs from wherever the repositories live.

Two implementations sit behind it: :mod:`.gitforge` (plain git: any server git can push
to, teams from a local policy file) and :mod:`.github` (the GitHub REST API through
PyGithub, teams from the organisation).  Release code sees only :class:`Forge`.

Every method may be called from several threads at once.  Methods raise
:class:`ForgeError` for a failure that concerns one repository (the caller records it
against that repository and goes on) and :class:`RateLimitError` only when waiting for
the rate-limit window is not allowed or would take too long.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from ..errors import EXIT_FAILURE, EXIT_INPUT, EXIT_NETWORK, InputError, ScipipeError


class ForgeError(ScipipeError):
    """One repository's read or write failed (a git error, an HTTP error)."""

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.status = status


class NotFoundError(ForgeError):
    """The repository (or the object asked for) does not exist on the forge."""


class AuthError(ForgeError):
    """The credentials were refused (HTTP 401) or lack a scope (HTTP 403)."""

    exit_code = EXIT_INPUT


class RateLimitError(ForgeError):
    """The API's rate limit is exhausted and the run may not wait for the reset."""

    exit_code = EXIT_NETWORK

    def __init__(self, message: str, *, reset_at: float | None = None):
        super().__init__(message, status=403)
        self.reset_at = reset_at


@dataclass(frozen=True, order=True)
class RepoId:
    """A repository: ``owner/name`` (the key everywhere) and the URL it is fetched from."""

    full_name: str
    url: str = field(default="", compare=False)

    @property
    def owner(self) -> str:
        return self.full_name.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/", 1)[1]

    def __str__(self) -> str:
        return self.full_name


_SCP = re.compile(r"^(?:[^@/]+@)?[^:/]+:(?P<path>[^/].*)$")


def repo_id(url: str) -> RepoId:
    """``owner/name`` from a repos.yaml URL: https, ssh, scp-like, ``git://`` or a path.

    ``https://github.com/lsst/afw.git`` -> ``lsst/afw``; ``/srv/git/lsst/afw.git`` ->
    ``lsst/afw``.  The last two path components, without ``.git``.
    """
    text = url.strip()
    m = _SCP.match(text) if "://" not in text else None
    path = m.group("path") if m else urlsplit(text).path if "://" in text else text
    parts = [p for p in path.rstrip("/").split("/") if p]
    if len(parts) < 2:
        raise InputError(f"cannot tell owner/name from repository URL {url!r}")
    owner, name = parts[-2], parts[-1]
    name = name.removesuffix(".git")
    if not owner or not name:
        raise InputError(f"cannot tell owner/name from repository URL {url!r}")
    return RepoId(f"{owner}/{name}", url)


@dataclass(frozen=True)
class Tagger:
    """Who makes a tag and when (always UTC; shown with a ``Z``)."""

    name: str
    email: str
    date: dt.datetime

    @property
    def iso(self) -> str:
        return self.date.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class TagInfo:
    """A tag as it exists on a forge.

    ``sha`` is the object the ref finally points at (the commit, after peeling the tag
    object); ``target_type`` is the type of the object the *tag object* points at
    (``commit`` normally; ``tag`` for a tag of a tag).  A lightweight tag has
    ``annotated`` false and no message or tagger.
    """

    name: str
    sha: str
    annotated: bool
    target_type: str = "commit"
    tag_sha: str | None = None
    message: str | None = None
    tagger_name: str | None = None
    tagger_email: str | None = None


@dataclass(frozen=True)
class ForgeStats:
    """Counters a forge keeps: calls made (by kind) and the last rate-limit state."""

    calls: Mapping[str, int]
    rate_limit: int | None = None
    rate_remaining: int | None = None
    rate_reset: float | None = None
    waited: float = 0.0

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def to_json(self) -> dict[str, object]:
        return {
            "calls": self.total_calls,
            "by_kind": dict(sorted(self.calls.items())),
            "rate_limit": self.rate_limit,
            "rate_remaining": self.rate_remaining,
            "rate_reset": self.rate_reset,
            "waited_seconds": round(self.waited, 3),
        }


class Forge(Protocol):
    """Where the product repositories live."""

    #: "git" or "github", for logs and results.json
    kind: str

    def teams(self, names: Sequence[str]) -> dict[str, frozenset[str]]:
        """Team display name -> the ``owner/name`` of its repositories, for each named team.

        An unknown team name is an :class:`InputError` (naming the near miss).
        """
        ...

    def all_teams(self) -> dict[str, frozenset[str]]:
        """Every team of the organisation, as :meth:`teams`."""
        ...

    def repo(self, full_name: str) -> RepoId:
        """The repository ``owner/name`` as the forge knows it (:class:`NotFoundError`)."""
        ...

    def exists(self, full_name: str) -> bool:
        """Whether the repository ``owner/name`` exists on the forge."""
        ...

    def all_repos(self) -> frozenset[str]:
        """Every repository the forge knows of, in a team or not (``owner/name``)."""
        ...

    def get_tag(self, repo: RepoId, name: str) -> TagInfo | None:
        """The tag ``name`` of ``repo``, or None when there is no such tag."""
        ...

    def resolve(self, repo: RepoId, ref: str) -> str | None:
        """``ref`` as a branch, else as a tag (peeled to its commit); None if neither."""
        ...

    def default_head(self, repo: RepoId) -> str:
        """The commit at the head of the repository's default branch."""
        ...

    def create_tag(
        self,
        repo: RepoId,
        name: str,
        sha: str,
        message: str,
        tagger: Tagger,
        *,
        force: bool = False,
    ) -> TagInfo:
        """Make an annotated tag ``name`` on commit ``sha`` and point ``refs/tags/name`` at it.

        Without ``force`` an existing ref is never moved: it is a :class:`ForgeError`
        unless it already points at an equal tag (then that tag is returned).
        """
        ...

    def delete_tag(self, repo: RepoId, name: str) -> None:
        """Remove ``refs/tags/name`` (only the ref)."""
        ...

    def stats(self) -> ForgeStats:
        """Calls made so far and the last known rate-limit state."""
        ...

    def close(self) -> None:
        """Release connections and caches."""
        ...
