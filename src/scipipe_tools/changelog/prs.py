"""Merged pull requests from GitHub: tickets for merges whose message names none.

A squash-merged pull request's commit (``Fix the thing (#12)``) or a merge of a branch
without a ticket in its name carries no ticket in its message; its pull request may:
the head branch (``tickets/DM-12345``) or, failing that, the title (``DM-12345: x``),
as the reference changelog takes them.  With a GitHub backend configured, every change
whose SHA is the ``merge_commit_sha`` of a merged pull request of its product's
repository gets the pull request's number, URL and branch, and a change without a
ticket moves from "other changes" to the ticket(s) the pull request names.

One listing per repository and run: ``GET /repos/{o}/{n}/pulls?state=closed&sort=updated
&direction=desc`` (100 a page), repositories in parallel, one PyGithub client per thread,
PyGithub's own retries and throttling off.  Each repository's merged pull requests are
cached on disk (``<cache>/v1/<owner>/<name>.json``); a run with a cache reads only the
pages of pull requests updated since the newest cached one (the listing is newest
first, so it stops at the first older one), and a first run reads them all.

A refused token is an :class:`~scipipe_tools.forge.base.AuthError` (exit 2), GitHub
out of reach or failing (after two retries) a :class:`~scipipe_tools.errors.NetworkError`
(exit 5), an exhausted rate limit a
:class:`~scipipe_tools.forge.base.RateLimitError` (exit 5); a repository GitHub does
not know (404) is logged and skipped.  The token never appears in a message, a log or a
repr.  PyGithub is imported only when a listing is made.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import InputError, NetworkError, ScipipeError
from ..eups.repos import Repos
from ..forge.base import AuthError, RateLimitError, repo_id
from ..forge.github import new_client
from ..infra.files import write_atomic
from .model import Change, Release, Ticket
from .tickets import find

if TYPE_CHECKING:
    import github

log = logging.getLogger(__name__)

SCHEMA = 1
PER_PAGE = 100
#: transient failures (HTTP 5xx, no answer) retried per repository, after these pauses
BACKOFF = (0.5, 1.0)
TIMEOUT = 30.0
_SAFE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
_SCP_HOST = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):[^/]")


@dataclass(frozen=True)
class PullRequest:
    """A merged pull request: what the changelog needs of it."""

    number: int
    title: str
    head_ref: str
    base_ref: str
    merge_commit_sha: str
    merged_at: str
    updated_at: str
    html_url: str

    @property
    def tickets(self) -> tuple[str, ...]:
        """The ticket keys of the head branch's name, or else of the title."""
        return find(self.head_ref) or find(self.title)


def _iso(when: dt.datetime | None) -> str:
    if when is None:
        return ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PullRequests:
    """The merged pull requests of repositories on the GitHub at ``base_url``: those of
    ``org`` and of every other owner whose repositories repos.yaml names on that GitHub
    (see :meth:`full_name`).

    ``cache_dir`` None lists every repository in full each run.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        org: str,
        cache_dir: Path | None = None,
        jobs: int = 8,
        timeout: float = TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not token:
            raise InputError("no GitHub token")
        self.base_url = base_url.rstrip("/")
        self.org = org
        self.cache_dir = cache_dir
        self.jobs = max(1, jobs)
        self.timeout = timeout
        self._sleep = sleep
        self.__token = token
        self._local = threading.local()
        self._clients: list[github.Github] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PullRequests({self.base_url!r}, org={self.org!r})"

    def owns(self, full_name: str) -> bool:
        return full_name.split("/", 1)[0].lower() == self.org.lower()

    def full_name(self, url: str) -> str | None:
        """``owner/name`` to ask this GitHub about for a repos.yaml URL, or None.

        The owner is the URL's own (``https://github.com/lsst-dm/foo`` -> ``lsst-dm/foo``),
        whichever organisation it is.  A URL on another host than GitHub's (github.com, or
        the API's own host) is not asked about, unless its owner is ``org``; a local path
        or ``file://`` URL (a mirror) is, by the last two parts of its path.
        """
        try:
            name = repo_id(url).full_name
        except InputError:
            return None
        host = _host(url)
        if host is None or self.owns(name) or host in self._hosts():
            return name
        return None

    def _hosts(self) -> frozenset[str]:
        api = (urlsplit(self.base_url).hostname or "").lower()
        return frozenset({"github.com", "www.github.com", api, api.removeprefix("api.")})

    def merged(self, full_names: Iterable[str]) -> dict[str, dict[str, PullRequest]]:
        """``owner/name`` -> merge commit SHA -> pull request, for every repository given
        (an unknown repository maps to nothing)."""
        names = sorted(set(full_names))
        if not names:
            return {}
        out: dict[str, dict[str, PullRequest]] = {}
        pool = ThreadPoolExecutor(max_workers=min(self.jobs, len(names)))
        try:
            for name, pulls in zip(names, pool.map(self._pulls, names), strict=True):
                out[name] = {p.merge_commit_sha: p for p in pulls if p.merge_commit_sha}
        finally:
            pool.shutdown(cancel_futures=True)
            self._close()
        return out

    # -- one repository ------------------------------------------------------------------

    def _pulls(self, full_name: str) -> list[PullRequest]:
        cached = self._read_cache(full_name)
        since = max((p.updated_at for p in cached.values()), default=None)
        for attempt in range(len(BACKOFF) + 1):
            try:
                fresh = self._list(full_name, since)
                break
            except _Transient as exc:
                if attempt == len(BACKOFF):
                    raise NetworkError(str(exc)) from None
                log.debug("%s; retry %d", exc, attempt + 1)
                self._sleep(BACKOFF[attempt])
            except _Missing:
                log.warning(
                    "%s: no such repository on %s; its pull requests are left out",
                    full_name,
                    self.base_url,
                )
                return list(cached.values())
        merged = {**cached, **{p.number: p for p in fresh}}
        if self.cache_dir is not None and (fresh or not cached):
            self._write_cache(full_name, merged)
        log.debug("%s: %d merged pull requests (%d new)", full_name, len(merged), len(fresh))
        return sorted(merged.values(), key=lambda p: p.number)

    def _list(self, full_name: str, since: str | None) -> list[PullRequest]:
        """Merged pull requests updated at or after ``since`` (all, for None)."""
        import github  # deferred: heavy
        import requests  # deferred: heavy

        what = f"{full_name}: listing pull requests"
        out: list[PullRequest] = []
        try:
            repo = self._client().get_repo(full_name)  # no call: the client is lazy
            listing = repo.get_pulls(state="closed", sort="updated", direction="desc")
            # newest first, page by page (Link rel="next"): stop at the first older one
            for pull in listing:
                updated = _iso(pull.updated_at)
                if since is not None and updated < since:
                    break
                if pull.merged_at is None:
                    continue  # closed without merging
                out.append(
                    PullRequest(
                        number=pull.number,
                        title=pull.title or "",
                        head_ref=pull.head.ref or "",
                        base_ref=pull.base.ref or "",
                        merge_commit_sha=pull.merge_commit_sha or "",
                        merged_at=_iso(pull.merged_at),
                        updated_at=updated,
                        html_url=pull.html_url or "",
                    )
                )
        except github.GithubException as exc:
            raise self._error(what, exc) from None
        except requests.RequestException as exc:
            raise _Transient(
                f"{what}: no answer from {self.base_url} ({type(exc).__name__})"
            ) from None
        return out

    def _error(self, what: str, exc: github.GithubException) -> ScipipeError:
        status = exc.status
        data = exc.data if isinstance(exc.data, dict) else {}
        message = " ".join(str(data.get("message") or "").split())
        headers = {str(k).lower(): str(v) for k, v in (exc.headers or {}).items()}
        if status == 401:
            return AuthError(
                f"{what}: GitHub refused the token (401 {message or 'Bad credentials'})",
                status=401,
                hint="check GITHUB_TOKEN or the token file (--token-path)",
            )
        if status in (403, 429) and (
            headers.get("x-ratelimit-remaining") == "0" or "retry-after" in headers
        ):
            reset = headers.get("x-ratelimit-reset", "")
            when = ""
            if reset.isascii() and reset.isdigit():
                when = " until " + _iso(dt.datetime.fromtimestamp(int(reset), dt.UTC))
            return RateLimitError(f"{what}: the GitHub API rate limit is exhausted{when}")
        if status == 403:
            return AuthError(f"{what}: GitHub refused (403 {message})", status=403)
        if status == 404:
            return _Missing(what)
        if status >= 500:
            return _Transient(f"{what}: GitHub failed ({status}{' ' + message if message else ''})")
        return NetworkError(f"{what}: {message or 'refused'} ({status})")

    def _client(self) -> github.Github:
        client: github.Github | None = getattr(self._local, "client", None)
        if client is None:
            client = new_client(self.__token, self.base_url, timeout=self.timeout)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def _close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()
        self._local = threading.local()

    # -- the cache -----------------------------------------------------------------------

    def _cache_path(self, full_name: str) -> Path | None:
        if self.cache_dir is None:
            return None
        owner, _, name = full_name.partition("/")
        parts = [p if _SAFE.match(p) else hashlib.sha256(p.encode()).hexdigest()[:40]
                 for p in (owner, name)]  # fmt: skip
        return self.cache_dir / f"v{SCHEMA}" / parts[0] / f"{parts[1]}.json"

    def _read_cache(self, full_name: str) -> dict[int, PullRequest]:
        """The cached pull requests by number; empty when absent, unreadable or of
        another server, repository or schema (the cache can only cost a listing)."""
        path = self._cache_path(full_name)
        if path is None:
            return {}
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            if (doc["schema"], doc["api"], doc["repo"]) != (SCHEMA, self.base_url, full_name):
                return {}
            pulls = [PullRequest(**row) for row in doc["pulls"]]
        except (OSError, ValueError, KeyError, TypeError):
            return {}
        return {p.number: p for p in pulls}

    def _write_cache(self, full_name: str, pulls: Mapping[int, PullRequest]) -> None:
        path = self._cache_path(full_name)
        if path is None:
            return
        doc: dict[str, Any] = {
            "schema": SCHEMA,
            "api": self.base_url,
            "repo": full_name,
            "pulls": [asdict(pulls[n]) for n in sorted(pulls)],
        }
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps(doc, indent=1, sort_keys=True) + "\n")
        except OSError as exc:
            log.warning("%s: cannot write the pull request cache (%s)", path, exc.strerror)


def _host(url: str) -> str | None:
    """The host a repository URL names (lower case); None for a path or ``file://``."""
    text = url.strip()
    if "://" in text:
        parts = urlsplit(text)
        return None if parts.scheme == "file" else (parts.hostname or "").lower()
    m = _SCP_HOST.match(text)
    return m.group("host").lower() if m else None


class _Transient(ScipipeError):
    """GitHub failed or did not answer: worth another try."""


class _Missing(ScipipeError):
    """The repository does not exist (404)."""


# -- attaching pull requests to a changelog's changes -----------------------------------------


def _changes(release: Release) -> Iterable[Change]:
    yield from release.other
    for ticket in release.tickets:
        yield from ticket.changes


def repo_names(
    products: Iterable[str], repos: Repos, full_name: Callable[[str], str | None]
) -> dict[str, str]:
    """product -> ``owner/name`` of its repository, for the products whose repos.yaml URL
    ``full_name`` names a repository of (each with its own owner)."""
    out: dict[str, str] = {}
    for product in products:
        spec = repos.get(product)
        name = full_name(spec.url) if spec is not None else None
        if name is not None:
            out[product] = name
    return out


def attach_pulls(releases: Sequence[Release], github: PullRequests, repos: Repos) -> int:
    """Give the changes of ``releases`` that are merge commits of pull requests their
    ``pr``, ``pr_url`` and ``branch``, and file the ticketless ones under the tickets
    their pull requests name.  Returns how many changes matched a pull request."""
    products = sorted({c.product for r in releases for c in _changes(r)})
    names = repo_names(products, repos, github.full_name)
    skipped = len(products) - len(names)
    if skipped:
        log.info("%d product(s) not on GitHub at %s: no pull requests", skipped,
                 github.base_url)  # fmt: skip
    others = sorted({n.split("/", 1)[0] for n in names.values() if not github.owns(n)})
    if others:
        log.info("pull requests also of repositories of %s", ", ".join(others))
    listing = github.merged(names.values())
    by_product = {p: listing.get(n, {}) for p, n in names.items()}
    return sum(_attach(release, by_product) for release in releases)


def _with_pull(change: Change, pull: PullRequest, tickets: tuple[str, ...]) -> Change:
    return change._replace(tickets=tickets, pr=pull.number,
                           pr_url=pull.html_url or change.pr_url,
                           branch=pull.head_ref or change.branch)  # fmt: skip


def _attach(release: Release, by_product: Mapping[str, Mapping[str, PullRequest]]) -> int:
    def pull_of(change: Change) -> PullRequest | None:
        return by_product.get(change.product, {}).get(change.sha)

    matched = 0
    for ticket in release.tickets:
        changes = []
        for change in ticket.changes:
            pull = pull_of(change)
            if pull is not None:
                matched += 1
                change = _with_pull(change, pull, change.tickets)
            changes.append(change)
        ticket.changes = changes
    other: list[Change] = []
    moved: list[tuple[Change, PullRequest]] = []
    for change in release.other:
        pull = pull_of(change)
        if pull is None:
            other.append(change)
            continue
        matched += 1
        keys = pull.tickets
        change = _with_pull(change, pull, keys)
        if keys:
            moved.append((change, pull))
        else:
            other.append(change)
    release.other = other
    if not moved:
        return matched
    tickets = {t.key: t for t in release.tickets}
    for change, pull in moved:
        for key in change.tickets:
            have = tickets.get(key)
            if have is None:
                have = tickets[key] = Ticket(key, branch=pull.base_ref or "main")
                release.tickets.append(have)
            have.changes = sorted([*have.changes, change], key=lambda c: c.date, reverse=True)
            have.products = sorted({*have.products, change.product})
            if change.date > have.last_merge:
                have.last_merge = change.date
    release.tickets.sort(key=lambda t: t.key)
    return matched
