"""The GitHub backend of the forge protocol: the REST API through PyGithub.

Every method makes the fewest calls it can, because a weekly tags ~300 repositories
against a rate limit of 5,000 calls an hour:

- :meth:`GitHubForge.teams` lists the organisation's teams once, then each named team's
  repositories (100 a page), so the team gate costs nothing per repository.
- :meth:`GitHubForge.repo` makes no call: a missing repository shows at its first call.
- :meth:`GitHubForge.get_tag` is one ``git/matching-refs/tags/<name>`` (200 and an empty
  list for a missing tag, 404 only for a missing repository), plus ``git/tags/<sha>`` when
  the ref points at a tag object: an absent tag costs 1 call, a tag in sync 2.
- :meth:`GitHubForge.create_tag` is ``POST git/tags`` then ``POST git/refs`` (or a forced
  ``PATCH``): a new tag costs 3 calls with the lookup before it.

PyGithub is imported where it is used (it takes a sixth of a second), so that the
modules that name this one load fast.  One ``github.Github`` per thread (its connections
are not shared), PyGithub's own
throttling and retries off: this module retries, once, in one place (:meth:`_call`).
Transient failures (HTTP 5xx, a dropped connection) are retried with a short backoff
when repeating the call is safe; a ``POST git/refs`` whose answer was lost is never
repeated blindly, the ref is read back first.  An exhausted rate limit is waited out
(through the injected ``sleep``) when the reset is at most ``max_wait`` away, else it is a
:class:`RateLimitError`.  The token never appears in a message, a log or a repr.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import stat
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import InputError, did_you_mean
from ..redaction import register
from .base import (
    AuthError,
    ForgeError,
    ForgeStats,
    NotFoundError,
    RateLimitError,
    RepoId,
    Tagger,
    TagInfo,
)

if TYPE_CHECKING:
    import github
    from github.GitRef import GitRef
    from github.GitTag import GitTag

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.github.com"
#: where codekit keeps the token (``--token-path``'s default)
DEFAULT_TOKEN_FILE = ".sq_github_token_delete"
SCOPES_HINT = "the token needs the scopes repo and read:org"

#: transient failures retried per call, and the pause before each retry (seconds)
RETRIES = 3
BACKOFF = (0.5, 1.0, 2.0)
#: rate-limit waits allowed within one call before giving up
MAX_RATE_WAITS = 5
PER_PAGE = 100
MAX_PAGES = 1000
#: a chain of tag objects longer than this is refused
MAX_TAG_DEPTH = 8

T = TypeVar("T")


def load_token(token_path: Path | None, env: Mapping[str, str]) -> str:
    """The GitHub token: ``GITHUB_TOKEN`` if set, else the file (``~/.sq_github_token_delete``).

    A missing, unreadable or empty file is an :class:`InputError` naming the file.  A file
    others can read is accepted with a warning in the log.
    """
    token = env.get("GITHUB_TOKEN", "").strip()
    if token:
        register(token)
        return token
    if token_path is None:
        home = env.get("HOME")
        token_path = (Path(home) if home else Path.home()) / DEFAULT_TOKEN_FILE
    path = token_path.expanduser()
    hint = f"set GITHUB_TOKEN or write the token to {path} ({SCOPES_HINT})"
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(
            f"{path}: no GitHub token: the file does not exist and GITHUB_TOKEN is not set",
            hint=hint,
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError(f"{path}: cannot read the GitHub token: {reason}", hint=hint) from None
    token = text.strip()
    if not token:
        raise InputError(f"{path}: the GitHub token file is empty", hint=hint)
    if any(c.isspace() for c in token):
        raise InputError(f"{path}: the GitHub token file must hold the token and nothing else")
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning("%s: the GitHub token file is readable by others (chmod 600 it)", path)
    register(token)
    return token


class _Unknown(ForgeError):
    """A call failed in a way that leaves its outcome unknown (HTTP 5xx, lost connection)."""


@dataclass(frozen=True)
class _Team:
    name: str
    slug: str
    url: str


@dataclass(frozen=True)
class _TagObject:
    sha: str
    message: str
    tagger_name: str | None
    tagger_email: str | None
    object_sha: str
    object_type: str

    @classmethod
    def of(cls, tag: GitTag) -> _TagObject:
        tagger = tag.tagger
        return cls(
            tag.sha,
            tag.message or "",
            tagger.name if tagger else None,
            tagger.email if tagger else None,
            tag.object.sha,
            tag.object.type,
        )


def _clean(message: str | None) -> str:
    """A tag message without its trailing newlines (git adds one, the API does not)."""
    return (message or "").rstrip("\n")


def _lower(headers: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (headers or {}).items()}


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _next_link(link: str | None) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header."""
    for part in (link or "").split(","):
        url, _, params = part.strip().partition(";")
        if 'rel="next"' in params.replace(" ", ""):
            return url.strip().strip("<>")
    return None


def _same(existing: TagInfo, sha: str, message: str, tagger: Tagger) -> bool:
    return (
        existing.annotated
        and existing.sha == sha
        and _clean(existing.message) == _clean(message)
        and existing.tagger_name == tagger.name
        and existing.tagger_email == tagger.email
    )


def _differences(existing: TagInfo | None, sha: str, message: str, tagger: Tagger) -> str:
    if existing is None:
        return "it vanished while being compared"
    if not existing.annotated:
        return f"it is a lightweight tag on {existing.sha[:12]}"
    out = []
    if existing.sha != sha:
        out.append(f"it points at {existing.sha[:12]}, not {sha[:12]}")
    if _clean(existing.message) != _clean(message):
        out.append(f"its message is {_clean(existing.message)!r}, not {_clean(message)!r}")
    if (existing.tagger_name, existing.tagger_email) != (tagger.name, tagger.email):
        out.append(
            f"its tagger is {existing.tagger_name} <{existing.tagger_email}>, "
            f"not {tagger.name} <{tagger.email}>"
        )
    return "; ".join(out) or "it differs"


@dataclass(frozen=True)
class RateLimit:
    """The core rate-limit window: calls allowed, left and used; when it resets (epoch)."""

    limit: int
    remaining: int
    reset: float
    used: int

    def to_json(self) -> dict[str, object]:
        return {
            "limit": self.limit,
            "remaining": self.remaining,
            "used": self.used,
            "reset": _iso(self.reset),
        }


@dataclass(frozen=True)
class OrgRepo:
    """A repository of an organisation, as its listing shows it."""

    full_name: str
    fork: bool


@dataclass(frozen=True)
class OrgTeam:
    """A team of an organisation, as its listing shows it."""

    name: str
    slug: str


#: a team's permissions on a repository, weakest first (the PUT's ``permission`` values)
PERMISSIONS = ("pull", "triage", "push", "maintain", "admin")
_ROLES = {"read": "pull", "write": "push"}


def _permission(item: Mapping[str, Any]) -> str:
    """A team's permission on a repository from its team-repos listing entry: the highest
    level ``permissions`` grants, else its ``role_name``, else pull."""
    granted = item.get("permissions")
    if isinstance(granted, Mapping):
        for level in reversed(PERMISSIONS):
            if granted.get(level):
                return level
    role = str(item.get("role_name") or "pull")
    role = _ROLES.get(role, role)
    return role if role in PERMISSIONS else "pull"


def _request(
    method: str, path: str, body: dict[str, Any] | None = None
) -> Callable[[github.Github], tuple[dict[str, Any], Any]]:
    """One raw REST call for :meth:`GitHubForge._call`: (headers, decoded body)."""

    def send(gh: github.Github) -> tuple[dict[str, Any], Any]:
        return gh.requester.requestJsonAndCheck(method, path, input=body)

    return send


def new_client(
    token: str, base_url: str, *, timeout: float, pool_size: int | None = None
) -> github.Github:
    """A PyGithub client as scipipe uses them: no PyGithub throttling or retries (the
    callers pace and retry themselves), 100 items a page, lazy objects."""
    import github  # deferred: heavy

    return github.Github(
        auth=github.Auth.Token(token),
        base_url=base_url,
        timeout=max(1, math.ceil(timeout)),
        user_agent="scipipe-tools",
        per_page=PER_PAGE,
        retry=None,
        pool_size=pool_size,
        seconds_between_requests=None,
        seconds_between_writes=None,
        lazy=True,
    )


class GitHubForge:
    """The :class:`~.forge.Forge` of a GitHub organisation, through PyGithub.

    ``jobs_hint`` is the number of threads that will call at once (it sizes the
    connection pools and the rate-limit reserve); ``min_interval`` spaces the starts of
    any two calls by that many seconds (None: no throttle); ``sleep`` and ``clock`` are
    injectable for tests.
    """

    kind = "github"

    def __init__(
        self,
        org: str,
        *,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        max_wait: float = 3600.0,
        jobs_hint: int = 8,
        min_interval: float | None = None,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not token:
            raise InputError("the GitHub token is empty", hint=SCOPES_HINT)
        self.org = org
        self.base_url = base_url.rstrip("/")
        self.max_wait = max_wait
        self.jobs_hint = max(1, jobs_hint)
        self.min_interval = min_interval
        self.timeout = timeout
        self._sleep = sleep
        self._clock = clock
        self.__token = token
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clients: list[github.Github] = []
        self._calls: Counter[str] = Counter()
        self._rate_limit: int | None = None
        self._rate_remaining: int | None = None
        self._rate_reset: float | None = None
        self._waited = 0.0
        self._waited_until = 0.0
        self._next_start = 0.0
        self._cache_lock = threading.Lock()
        self._team_list: list[_Team] | None = None
        self._team_repos: dict[str, frozenset[str]] = {}
        self._default_branch: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"GitHubForge(org={self.org!r}, base_url={self.base_url!r})"

    # -- the protocol ----------------------------------------------------------------------

    def teams(self, names: Sequence[str]) -> dict[str, frozenset[str]]:
        listing = self._teams()
        by_name = {t.name: t for t in listing}
        by_slug = {t.slug: t for t in listing}
        found: dict[str, frozenset[str]] = {}
        for name in names:
            team = by_name.get(name) or by_slug.get(name)
            if team is None:
                raise InputError(
                    f"organisation {self.org} has no team {name!r}",
                    hint=did_you_mean(name, by_name),
                )
            found[name] = self._members(team)
        return found

    def all_teams(self) -> dict[str, frozenset[str]]:
        return {team.name: self._members(team) for team in self._teams()}

    def repo(self, full_name: str) -> RepoId:
        owner, _, name = full_name.partition("/")
        if not owner or not name or "/" in name:
            raise NotFoundError(f"{full_name!r}: not a repository name of the form owner/name")
        return RepoId(full_name, self._clone_url(full_name))

    def get_tag(self, repo: RepoId, name: str) -> TagInfo | None:
        found = self._refs(repo, f"tags/{name}").get(f"refs/tags/{name}")
        if found is None:
            return None
        sha, typ = found
        if typ != "tag":
            return TagInfo(name, sha, annotated=False, target_type=typ)
        tag = self._tag_object(repo, sha)
        target, target_type = tag.object_sha, tag.object_type
        for _ in range(MAX_TAG_DEPTH):
            if target_type != "tag":
                break
            inner = self._tag_object(repo, target)
            target, target_type = inner.object_sha, inner.object_type
        else:
            raise ForgeError(f"{repo}: tag {name}: more than {MAX_TAG_DEPTH} nested tag objects")
        return TagInfo(
            name,
            target,
            annotated=True,
            target_type=tag.object_type,
            tag_sha=sha,
            message=_clean(tag.message),
            tagger_name=tag.tagger_name,
            tagger_email=tag.tagger_email,
        )

    def resolve(self, repo: RepoId, ref: str) -> str | None:
        branch = self._refs(repo, f"heads/{ref}").get(f"refs/heads/{ref}")
        if branch is not None:
            return branch[0]
        tag = self._refs(repo, f"tags/{ref}").get(f"refs/tags/{ref}")
        if tag is None:
            return None
        sha, typ = tag
        for _ in range(MAX_TAG_DEPTH):
            if typ != "tag":
                return sha
            inner = self._tag_object(repo, sha)
            sha, typ = inner.object_sha, inner.object_type
        raise ForgeError(f"{repo}: tag {ref}: more than {MAX_TAG_DEPTH} nested tag objects")

    def default_head(self, repo: RepoId) -> str:
        full = repo.full_name
        branch = self._default_branch.get(full)
        if branch is None:
            try:
                branch = self._call(
                    "get_repo",
                    full,
                    "read the repository",
                    lambda gh: gh.get_repo(full).default_branch,
                )
            except NotFoundError:
                raise NotFoundError(f"{repo}: repository not found", status=404) from None
            self._default_branch[full] = branch
        head = branch

        def read(gh: github.Github) -> str:
            return gh.get_repo(full).get_git_ref(f"heads/{head}").object.sha

        try:
            return self._call("get_ref", full, f"read refs/heads/{head}", read)
        except NotFoundError:
            raise NotFoundError(
                f"{repo}: the default branch {head} has no head", status=404
            ) from None

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
        tag = self._create_tag_object(repo, name, sha, message, tagger)
        if force:
            existing = self._move_ref(repo, name, tag.sha, sha, message, tagger)
        else:
            existing = self._create_ref(repo, name, tag.sha, sha, message, tagger)
        if existing is not None:
            return existing
        return TagInfo(
            name,
            sha,
            annotated=True,
            target_type=tag.object_type,
            tag_sha=tag.sha,
            message=_clean(tag.message),
            tagger_name=tag.tagger_name,
            tagger_email=tag.tagger_email,
        )

    def delete_tag(self, repo: RepoId, name: str) -> None:
        ref = f"refs/tags/{name}"
        ref_obj = self._ref_object(repo, name)
        for attempt in range(RETRIES + 1):
            try:
                self._call(
                    "delete_ref",
                    repo.full_name,
                    f"delete {ref}",
                    lambda gh: ref_obj(gh).delete(),
                    retries=0,
                )
                return
            except _Unknown:
                if self._refs(repo, f"tags/{name}").get(ref) is None:
                    return  # it was deleted; the answer was lost
                if attempt == RETRIES:
                    raise
                self._sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
            except NotFoundError:
                raise NotFoundError(f"{repo}: repository not found", status=404) from None
            except ForgeError as exc:
                if exc.status == 422 and "does not exist" in exc.message:
                    raise NotFoundError(f"{repo}: there is no tag {name}", status=422) from None
                raise

    def exists(self, full_name: str) -> bool:
        """Whether the repository exists (one ``GET repos/{o}/{r}``)."""
        try:
            self._call(
                "get_repo", full_name, "read the repository", _request("GET", f"/repos/{full_name}")
            )
        except NotFoundError:
            return False
        return True

    def all_repos(self) -> frozenset[str]:
        return frozenset(r.full_name for r in self.org_repos())

    # -- organisation administration (codekit's other commands) --------------------------

    def rate_limit(self) -> RateLimit:
        """The core rate-limit window now (``GET /rate_limit``, which costs nothing)."""
        _, data = self._call(
            "rate_limit", "GitHub", "read the rate limit", _request("GET", "/rate_limit")
        )
        core = (data.get("resources") or {}).get("core") or data.get("rate") or {}
        try:
            limit, remaining = int(core["limit"]), int(core["remaining"])
            return RateLimit(
                limit, remaining, float(core["reset"]), int(core.get("used", limit - remaining))
            )
        except (KeyError, TypeError, ValueError):
            raise ForgeError(
                f"GitHub answered /rate_limit without a core window: {core!r}"
            ) from None

    def org_repos(self, org: str | None = None) -> list[OrgRepo]:
        """Every repository of ``org`` (default: this forge's), paged."""
        login = org or self.org
        path = f"/orgs/{urllib.parse.quote(login, safe='')}/repos"
        try:
            items = self._paged("org_repos", f"organisation {login}", "list repositories", path)
        except NotFoundError:
            raise NotFoundError(f"organisation {login} not found", status=404) from None
        return [OrgRepo(str(i["full_name"]), bool(i.get("fork"))) for i in items]

    def fork(self, full_name: str, dst_org: str) -> str:
        """Fork ``full_name`` into ``dst_org``; the fork's ``owner/name`` (forking again
        answers the existing fork, so a retry is safe)."""
        _, data = self._call(
            "fork",
            full_name,
            f"fork into {dst_org}",
            _request("POST", f"/repos/{full_name}/forks", {"organization": dst_org}),
        )
        return str(data["full_name"])

    def team_add_repo(self, team: str, full_name: str, permission: str = "push") -> None:
        """Add ``full_name`` to ``team`` (``PUT``; idempotent)."""
        slug = self._team_slug(team)
        path = f"/orgs/{urllib.parse.quote(self.org, safe='')}/teams/{slug}/repos/{full_name}"
        self._call(
            "team_repo",
            full_name,
            f"add to team {team!r}",
            _request("PUT", path, {"permission": permission}),
        )
        self._forget_members(slug)

    def team_remove_repo(self, team: str, full_name: str) -> None:
        """Remove ``full_name`` from ``team`` (``DELETE``; idempotent)."""
        slug = self._team_slug(team)
        path = f"/orgs/{urllib.parse.quote(self.org, safe='')}/teams/{slug}/repos/{full_name}"
        self._call("team_repo", full_name, f"remove from team {team!r}", _request("DELETE", path))
        self._forget_members(slug)

    def org_teams(self, org: str | None = None) -> list[OrgTeam]:
        """The teams of ``org`` (default: this forge's), read now (not cached)."""
        login = org or self.org
        path = f"/orgs/{urllib.parse.quote(login, safe='')}/teams"
        try:
            items = self._paged("teams", f"organisation {login}", "list teams", path)
        except NotFoundError:
            raise NotFoundError(f"organisation {login} not found", status=404) from None
        return [OrgTeam(str(t["name"]), str(t["slug"])) for t in items]

    def team_permissions(self, slug: str, org: str | None = None) -> dict[str, str]:
        """The repositories of team ``slug`` of ``org`` and the team's permission on
        each (one of :data:`PERMISSIONS`), read now."""
        login = org or self.org
        path = f"/orgs/{urllib.parse.quote(login, safe='')}/teams/{slug}/repos"
        items = self._paged("team_repos", f"team {login}/{slug}", "list repositories", path)
        return {str(i["full_name"]): _permission(i) for i in items}

    def create_team(self, org: str, name: str, *, privacy: str = "closed") -> str:
        """Create the team ``name`` in ``org`` (no repositories); its slug."""
        path = f"/orgs/{urllib.parse.quote(org, safe='')}/teams"
        _, data = self._call(
            "create_team",
            f"organisation {org}",
            f"create team {name!r}",
            _request("POST", path, {"name": name, "privacy": privacy}),
            retries=0,  # a lost answer may have made it: the caller reads the teams again
        )
        return str(data["slug"])

    def delete_team(self, org: str, slug: str) -> None:
        path = f"/orgs/{urllib.parse.quote(org, safe='')}/teams/{slug}"
        self._call("delete_team", f"organisation {org}", f"delete team {slug}",
                   _request("DELETE", path))  # fmt: skip

    def set_team_repo(self, org: str, slug: str, full_name: str, permission: str) -> None:
        """Give team ``slug`` of ``org`` ``permission`` on ``full_name`` (``PUT``)."""
        path = f"/orgs/{urllib.parse.quote(org, safe='')}/teams/{slug}/repos/{full_name}"
        self._call("team_repo", full_name, f"add to team {slug} ({permission})",
                   _request("PUT", path, {"permission": permission}))  # fmt: skip

    def delete_repo(self, full_name: str) -> None:
        """Delete the repository (needs the ``delete_repo`` scope).  A lost answer is
        checked by reading the repository back, never by deleting again blindly."""
        try:
            self._call(
                "delete_repo",
                full_name,
                "delete the repository",
                _request("DELETE", f"/repos/{full_name}"),
                retries=0,
            )
        except _Unknown:
            if self.exists(full_name):
                raise
        except NotFoundError:
            raise NotFoundError(f"{full_name}: repository not found", status=404) from None

    def _team_slug(self, name: str) -> str:
        listing = self._teams()
        for team in listing:
            if name in (team.name, team.slug):
                return team.slug
        raise InputError(
            f"organisation {self.org} has no team {name!r}",
            hint=did_you_mean(name, [t.name for t in listing]),
        )

    def _forget_members(self, slug: str) -> None:
        with self._cache_lock:
            self._team_repos.pop(slug, None)

    def stats(self) -> ForgeStats:
        with self._lock:
            return ForgeStats(
                calls=dict(sorted(self._calls.items())),
                rate_limit=self._rate_limit,
                rate_remaining=self._rate_remaining,
                rate_reset=self._rate_reset,
                waited=self._waited,
            )

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
            self._local = threading.local()
        for client in clients:
            client.close()
        with self._cache_lock:
            self._team_list = None
            self._team_repos.clear()
            self._default_branch.clear()

    def __enter__(self) -> GitHubForge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads -----------------------------------------------------------------------------

    def _teams(self) -> list[_Team]:
        with self._cache_lock:
            if self._team_list is None:
                path = f"/orgs/{urllib.parse.quote(self.org, safe='')}/teams"
                try:
                    items = self._paged("teams", f"organisation {self.org}", "list teams", path)
                except NotFoundError:
                    raise NotFoundError(
                        f"organisation {self.org} not found (or the token cannot see its teams)",
                        status=404,
                        hint=SCOPES_HINT,
                    ) from None
                self._team_list = [
                    _Team(str(t["name"]), str(t["slug"]), str(t["url"])) for t in items
                ]
            return self._team_list

    def _members(self, team: _Team) -> frozenset[str]:
        with self._cache_lock:
            members = self._team_repos.get(team.slug)
            if members is None:
                items = self._paged(
                    "team_repos", f"team {team.name!r}", "list repositories", team.url + "/repos"
                )
                members = frozenset(str(r["full_name"]) for r in items)
                self._team_repos[team.slug] = members
            return members

    def _refs(self, repo: RepoId, prefix: str) -> dict[str, tuple[str, str]]:
        """``refs/<prefix>...`` -> (sha, object type): 404 means no repository."""
        path = f"/repos/{repo.full_name}/git/matching-refs/{urllib.parse.quote(prefix)}"
        try:
            items = self._paged("get_ref", repo.full_name, f"read refs/{prefix}", path)
        except NotFoundError:
            raise NotFoundError(f"{repo}: repository not found", status=404) from None
        refs = {}
        for item in items:
            obj = item.get("object") or {}
            refs[str(item.get("ref"))] = (str(obj.get("sha")), str(obj.get("type")))
        return refs

    def _tag_object(self, repo: RepoId, sha: str) -> _TagObject:
        full = repo.full_name
        try:
            return self._call(
                "get_tag",
                full,
                f"read tag object {sha[:12]}",
                lambda gh: _TagObject.of(gh.get_repo(full).get_git_tag(sha)),
            )
        except NotFoundError:
            raise NotFoundError(f"{repo}: tag object {sha} not found", status=404) from None

    def _paged(self, kind: str, ctx: str, what: str, path: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        url: str | None = path
        params: dict[str, Any] | None = {"per_page": PER_PAGE}
        for _ in range(MAX_PAGES):
            if url is None:
                return items

            def get(
                gh: github.Github, url: str = url, params: dict[str, Any] | None = params
            ) -> tuple[dict[str, Any], Any]:
                return gh.requester.requestJsonAndCheck("GET", url, parameters=params)

            headers, data = self._call(kind, ctx, what, get)
            if not isinstance(data, list):
                raise ForgeError(f"{ctx}: {what}: GitHub answered with {type(data).__name__}")
            items.extend(item for item in data if isinstance(item, dict))
            url, params = _next_link(_lower(headers).get("link")), None
        raise ForgeError(f"{ctx}: {what}: more than {MAX_PAGES} pages")

    # -- writes ----------------------------------------------------------------------------

    def _create_tag_object(
        self, repo: RepoId, name: str, sha: str, message: str, tagger: Tagger
    ) -> _TagObject:
        import github  # deferred: heavy

        full = repo.full_name
        author = github.InputGitAuthor(tagger.name, tagger.email, tagger.iso)

        def create(gh: github.Github) -> _TagObject:
            return _TagObject.of(
                gh.get_repo(full).create_git_tag(name, message, sha, "commit", author)
            )

        try:
            # safe to repeat: a lost answer only leaves an unreferenced tag object behind
            return self._call("create_tag", full, f"make tag object {name} on {sha[:12]}", create)
        except NotFoundError:
            raise NotFoundError(f"{repo}: repository not found", status=404) from None

    def _create_ref(
        self, repo: RepoId, name: str, tag_sha: str, sha: str, message: str, tagger: Tagger
    ) -> TagInfo | None:
        """``POST git/refs``; None when it made the ref, the equal tag found there instead."""
        full, ref = repo.full_name, f"refs/tags/{name}"
        for attempt in range(RETRIES + 1):
            try:
                self._call(
                    "create_ref",
                    full,
                    f"create {ref}",
                    lambda gh: gh.get_repo(full).create_git_ref(ref, tag_sha),
                    retries=0,
                )
                return None
            except _Unknown:
                # the ref may have been made and the answer lost: look before trying again
                current = self._refs(repo, f"tags/{name}").get(ref)
                if current is not None and current[0] == tag_sha:
                    return None
                if current is None:
                    if attempt == RETRIES:
                        raise
                    self._sleep(BACKOFF[min(attempt, len(BACKOFF) - 1)])
                    continue
            except NotFoundError:
                raise NotFoundError(f"{repo}: repository not found", status=404) from None
            except ForgeError as exc:
                if exc.status != 422 or "already exists" not in exc.message:
                    raise
            # the ref exists: a rerun after a lost answer, or someone else's tag
            existing = self.get_tag(repo, name)
            if existing is not None and _same(existing, sha, message, tagger):
                return existing
            raise ForgeError(
                f"{repo}: tag {name} already exists and differs: "
                f"{_differences(existing, sha, message, tagger)}",
                status=422,
                hint="--force-tag moves it",
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _move_ref(
        self, repo: RepoId, name: str, tag_sha: str, sha: str, message: str, tagger: Tagger
    ) -> TagInfo | None:
        """Point ``refs/tags/name`` at ``tag_sha`` whatever it held (forced ``PATCH``)."""
        ref_obj = self._ref_object(repo, name)
        try:
            # forcing a ref to a value is idempotent: safe to repeat
            self._call(
                "update_ref",
                repo.full_name,
                f"move refs/tags/{name}",
                lambda gh: ref_obj(gh).edit(tag_sha, force=True),
            )
        except NotFoundError:
            raise NotFoundError(f"{repo}: repository not found", status=404) from None
        except ForgeError as exc:
            if exc.status == 422 and "does not exist" in exc.message:
                return self._create_ref(repo, name, tag_sha, sha, message, tagger)
            raise
        return None

    def _ref_object(self, repo: RepoId, name: str) -> Callable[[github.Github], GitRef]:
        """A GitRef for ``refs/tags/name`` with the URL that PATCH and DELETE take."""
        url = f"/repos/{repo.full_name}/git/refs/tags/{urllib.parse.quote(name)}"
        attributes = {"ref": f"refs/tags/{name}", "url": url}
        from github.GitRef import GitRef  # deferred: heavy

        return lambda gh: GitRef(gh.requester, {}, dict(attributes), completed=True)

    # -- the one place that calls GitHub -------------------------------------------------------

    def _call(
        self,
        kind: str,
        ctx: str,
        what: str,
        fn: Callable[[github.Github], T],
        *,
        retries: int = RETRIES,
    ) -> T:
        """``fn(client)``, which makes exactly one request, with the rate-limit waits and
        up to ``retries`` retries of transient failures; GitHub's errors become ours."""
        import github  # deferred: heavy
        import requests  # deferred: heavy

        failures = 0
        waits = 0
        while True:
            self._reserve_check()
            self._throttle()
            client = self._client()
            requester = client.requester
            requester.rate_limiting = (-1, -1)
            requester.rate_limiting_resettime = 0
            with self._lock:
                self._calls[kind] += 1
            try:
                result = fn(client)
            except github.GithubException as exc:
                self._note_rate(requester)
                limited = self._rate_limited(exc)
                if limited is not None:
                    waits += 1
                    self._wait_for_reset(ctx, *limited, waits)
                    continue
                error = self._error(ctx, what, exc)
                if isinstance(error, _Unknown) and failures < retries:
                    failures += 1
                    log.debug("%s: %s: %s; retry %d", ctx, what, error.message, failures)
                    self._sleep(BACKOFF[min(failures - 1, len(BACKOFF) - 1)])
                    continue
                raise error from None
            except requests.RequestException as exc:
                if failures < retries:
                    failures += 1
                    log.debug("%s: %s: %s; retry %d", ctx, what, type(exc).__name__, failures)
                    self._sleep(BACKOFF[min(failures - 1, len(BACKOFF) - 1)])
                    continue
                raise _Unknown(
                    f"{ctx}: {what}: no answer from {self.base_url} ({type(exc).__name__})"
                ) from None
            self._note_rate(requester)
            return result

    def _client(self) -> github.Github:
        client: github.Github | None = getattr(self._local, "client", None)
        if client is None:
            client = new_client(
                self.__token,
                self.base_url,
                timeout=self.timeout,
                pool_size=max(10, self.jobs_hint),
            )
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def _error(self, ctx: str, what: str, exc: github.GithubException) -> ForgeError:
        status = exc.status
        data = exc.data if isinstance(exc.data, dict) else {}
        message = " ".join(str(data.get("message") or exc.message or "").split())
        if status == 401:
            return AuthError(
                f"{ctx}: GitHub refused the token (401 {message or 'Bad credentials'})",
                status=401,
                hint=f"check GITHUB_TOKEN or the token file; {SCOPES_HINT}",
            )
        if status == 403:
            headers = _lower(exc.headers)
            accepted = [s.strip() for s in headers.get("x-accepted-oauth-scopes", "").split(",")]
            accepted = [s for s in accepted if s]
            held = {s.strip() for s in headers.get("x-oauth-scopes", "").split(",") if s.strip()}
            if accepted and not held.intersection(accepted):
                return AuthError(
                    f"{ctx}: {what}: the token lacks the {' or '.join(accepted)} scope "
                    f"(403 {message}); it has {', '.join(sorted(held)) or 'no scopes'}",
                    status=403,
                    hint=SCOPES_HINT,
                )
            return AuthError(f"{ctx}: {what}: GitHub refused (403 {message})", status=403)
        if status == 404:
            return NotFoundError(f"{ctx}: {what}: not found (404)", status=404)
        if status >= 500:
            return _Unknown(f"{ctx}: {what}: GitHub failed ({status} {message})", status=status)
        return ForgeError(f"{ctx}: {what}: {message or 'refused'} ({status})", status=status)

    # -- rate limits ---------------------------------------------------------------------------

    def _note_rate(self, requester: Any) -> None:
        remaining, limit = requester.rate_limiting
        if remaining < 0:
            return  # no answer carried the headers
        with self._lock:
            self._rate_limit, self._rate_remaining = int(limit), int(remaining)
            reset = requester.rate_limiting_resettime
            self._rate_reset = float(reset) if reset else None

    def _rate_limited(self, exc: github.GithubException) -> tuple[float, float] | None:
        """(reset time, when to retry) if ``exc`` is a rate-limit refusal, else None."""
        import github  # deferred: heavy

        headers = _lower(exc.headers)
        if not (
            isinstance(exc, github.RateLimitExceededException)
            or (
                exc.status in (403, 429)
                and (headers.get("x-ratelimit-remaining") == "0" or "retry-after" in headers)
            )
        ):
            return None
        now = self._clock()
        try:
            if "retry-after" in headers:
                reset = now + float(headers["retry-after"])
                return reset, max(reset, now + 1)
            if "x-ratelimit-reset" in headers:
                reset = float(headers["x-ratelimit-reset"])
                return reset, max(reset + 1, now + 1)
        except ValueError:
            pass
        return now + 60, now + 60

    def _wait_for_reset(self, ctx: str, reset: float, retry_at: float, waits: int) -> None:
        wait = retry_at - self._clock()
        if wait > self.max_wait:
            raise RateLimitError(
                f"{ctx}: the GitHub API rate limit is exhausted until {_iso(reset)}: "
                f"waiting {wait:.0f} s would exceed the {self.max_wait:.0f} s allowed",
                reset_at=reset,
            )
        if waits > MAX_RATE_WAITS:
            raise RateLimitError(
                f"{ctx}: the GitHub API rate limit is still exhausted after {waits - 1} waits",
                reset_at=reset,
            )
        log.info("%s: GitHub API rate limit exhausted; waiting %.0f s", ctx, wait)
        self._wait_until(retry_at)

    def _reserve_check(self) -> None:
        """Wait for the reset before a call when the last answer left fewer calls than the
        threads that may be calling at once (and the reset is near enough)."""
        with self._lock:
            remaining, reset = self._rate_remaining, self._rate_reset
        if remaining is None or reset is None or remaining >= self.jobs_hint:
            return
        now = self._clock()
        if now >= reset or reset + 1 - now > self.max_wait:
            return
        log.info(
            "GitHub API rate limit nearly exhausted (%d left); waiting for the reset", remaining
        )
        self._wait_until(reset + 1)

    def _wait_until(self, deadline: float) -> None:
        now = self._clock()
        if deadline <= now:
            return
        with self._lock:
            # threads wait at once: count the time waited, not the sum of the waits
            self._waited += max(0.0, deadline - max(now, self._waited_until))
            self._waited_until = max(self._waited_until, deadline)
        self._sleep(deadline - now)

    def _throttle(self) -> None:
        if not self.min_interval:
            return
        with self._lock:
            now = self._clock()
            start = max(now, self._next_start)
            self._next_start = start + self.min_interval
        if start > now:
            self._sleep(start - now)

    def _clone_url(self, full_name: str) -> str:
        parts = urllib.parse.urlsplit(self.base_url)
        if parts.hostname == "api.github.com":
            return f"https://github.com/{full_name}.git"
        web = self.base_url.removesuffix("/api/v3")
        return f"{web}/{full_name}.git"
