"""A strict local stand-in for the GitHub REST API, backed by real bare git repositories.

``with GitHubServer(repos, org=..., teams=..., token=...) as srv:`` serves, on an
ephemeral port of 127.0.0.1, the subset of the REST API that release tagging calls
through PyGithub (``Github(base_url=srv.url, ...)``): the organisation and its teams,
repositories, git refs and tag objects, branches, commits, minimal releases and the
merged pull requests a test declares (:meth:`GitHubServer.add_pull`).  Reads
come from the bare repositories (refs cached from one ``git for-each-ref``, objects from
``git cat-file --batch``, both kept up to date by our own writes); writes go to them
(``git mktag``, ``git update-ref`` with the old-value check).

It is strict where GitHub is: every request needs ``Authorization: token <token>`` (or
``Bearer``), unknown routes and objects are 404, malformed bodies 400/422, creating an
existing ref 422, a non-fast-forward update 422, all with GitHub's JSON error shape.  Every
response carries the ``x-ratelimit-*`` headers of a real window of ``rate_limit`` requests
per ``rate_window`` seconds; an exhausted window answers 403 until it resets.

Faults for tests and benchmarks: ``latency`` (slept in each handler thread, so concurrent
requests overlap), ``fail_rate`` (502 before doing anything, from a seeded RNG),
``fail_after_write_rate`` (a write is done, then its response is lost as a 502),
:meth:`GitHubServer.fail_next` and :meth:`GitHubServer.exhaust_rate_limit`.  Counters:
``calls`` (by ``"METHOD route-template"``) and ``total_calls``.

``bind``, ``ssl_context`` and ``public_url`` serve it elsewhere: e.g. HTTPS on
127.0.0.1:443 as ``https://api.github.com`` for a client that cannot be pointed at
another URL (tools/codekit_side_by_side.py).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import os
import random
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from scipipe_tools.demo.gitrepo import git
from scipipe_tools.errors import CommandError

DOCS = "https://docs.github.com/rest"
RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
API_VERSION = "2022-11-28"

_SHA = re.compile(r"^[0-9a-f]{40}$")
_ISO_UTC = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
_ID_LINE = re.compile(
    r"^(?P<name>.*?) <(?P<email>[^>]*)> (?P<epoch>-?[0-9]+) (?P<tz>[+-][0-9]{4})$"
)
_DEFAULT_MESSAGES = {
    400: "Problems parsing JSON",
    401: "Bad credentials",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    422: "Validation Failed",
    429: "Too Many Requests",
    500: "Server Error",
    502: "Server Error",
    503: "Service Unavailable",
    504: "We couldn't respond to your request in time. Sorry about that.",
}

Json = dict[str, Any]


class ApiError(Exception):
    """An answer in GitHub's error shape: ``{"message", "documentation_url", "status"}``."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        doc: str = DOCS,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Json | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message or _DEFAULT_MESSAGES.get(status, "Error")
        self.doc = doc
        self.headers = dict(headers or {})
        self.extra = extra or {}

    def body(self) -> Json:
        return {
            "message": self.message,
            **self.extra,
            "documentation_url": self.doc,
            "status": str(self.status),
        }


@dataclass
class _Rule:
    """One :meth:`GitHubServer.fail_next` instruction."""

    remaining: int
    status: int
    method: str | None
    path_re: re.Pattern[str] | None
    after_write: bool
    message: str | None
    headers: dict[str, str]

    def matches(self, method: str, path: str, *, after: bool) -> bool:
        return (
            self.remaining > 0
            and self.after_write == after
            and (self.method is None or self.method == method)
            and (self.path_re is None or self.path_re.search(path) is not None)
        )


@dataclass
class _Team:
    id: int
    name: str
    slug: str
    repos: list[str]
    #: the organisation the team belongs to
    org: str = ""
    #: repository -> the team's permission on it (pull, triage, push, maintain, admin)
    perms: dict[str, str] = field(default_factory=dict)
    privacy: str = "closed"
    description: str = ""


@dataclass
class _Obj:
    type: str
    body: str


@dataclass
class _Repo:
    full_name: str
    path: Path
    id: int
    lock: threading.RLock = field(default_factory=threading.RLock)
    #: refname -> (sha, type); None until first read
    refs: dict[str, tuple[str, str]] | None = None
    head: str | None = None
    objects: dict[str, _Obj] = field(default_factory=dict)
    releases: list[Json] = field(default_factory=list)
    #: pull requests declared by :meth:`GitHubServer.add_pull`, by number
    pulls: dict[int, Json] = field(default_factory=dict)
    #: the ``owner/name`` this repository was forked from (None: not a fork)
    fork_of: str | None = None

    @property
    def owner(self) -> str:
        return self.full_name.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/", 1)[1]


@dataclass
class _Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    groups: tuple[str, ...] = ()


@dataclass
class _Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["_Request"], _Answer]


@dataclass(frozen=True)
class _Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    name: str
    write: bool
    scope: str


def _route(method: str, template: str, name: str, *, scope: str | None = None) -> _Route:
    """A route; ``scope`` is the OAuth scope it needs (default: ``repo`` for writes)."""
    regex = ""
    for part in re.split(r"(\{[a-z_]+\})", template):
        if part in ("{ref}", "{path}"):  # may hold slashes; matching-refs: empty too
            regex += "(.*)" if "matching-refs" in template else "(.+)"
        elif part.startswith("{"):
            regex += "([^/]+)"
        else:
            regex += re.escape(part)
    if scope is None:
        scope = "" if method == "GET" else "repo"
    return _Route(method, template, re.compile(f"^{regex}$"), name, method != "GET", scope)


_ROUTES: tuple[_Route, ...] = (
    _route("GET", "/rate_limit", "rate_limit"),
    _route("GET", "/orgs/{org}", "org"),
    _route("GET", "/orgs/{org}/teams", "org_teams", scope="read:org"),
    _route("POST", "/orgs/{org}/teams", "create_team", scope="admin:org"),
    _route("DELETE", "/orgs/{org}/teams/{slug}", "delete_team", scope="admin:org"),
    _route("GET", "/orgs/{org}/teams/{slug}", "team_by_slug", scope="read:org"),
    _route("GET", "/orgs/{org}/teams/{slug}/repos", "team_repos_by_slug", scope="read:org"),
    _route("GET", "/organizations/{org_id}/team/{team_id}", "team_by_id", scope="read:org"),
    _route(
        "GET", "/organizations/{org_id}/team/{team_id}/repos", "team_repos_by_id", scope="read:org"
    ),
    _route("GET", "/orgs/{org}/repos", "org_repos"),
    _route("GET", "/repos/{o}/{n}", "repo"),
    _route("GET", "/repos/{o}/{n}/teams", "repo_teams"),
    _route("GET", "/repos/{o}/{n}/pulls", "pulls"),
    _route("GET", "/repos/{o}/{n}/git/ref/{ref}", "get_ref"),
    _route("GET", "/repos/{o}/{n}/git/refs/{ref}", "get_refs_legacy"),
    _route("GET", "/repos/{o}/{n}/git/matching-refs/{ref}", "matching_refs"),
    _route("GET", "/repos/{o}/{n}/git/tags/{sha}", "get_tag"),
    _route("POST", "/repos/{o}/{n}/git/tags", "create_tag"),
    _route("POST", "/repos/{o}/{n}/git/refs", "create_ref"),
    _route("PATCH", "/repos/{o}/{n}/git/refs/{ref}", "update_ref"),
    _route("DELETE", "/repos/{o}/{n}/git/refs/{ref}", "delete_ref"),
    _route("GET", "/repos/{o}/{n}/git/commits/{sha}", "git_commit"),
    _route("GET", "/repos/{o}/{n}/branches/{branch}", "branch"),
    _route("GET", "/repos/{o}/{n}/commits/{ref}", "commit"),
    _route("GET", "/repos/{o}/{n}/releases", "releases"),
    _route("POST", "/repos/{o}/{n}/releases", "create_release"),
    _route("GET", "/repos/{o}/{n}/releases/tags/{tag}", "release_by_tag"),
    _route("GET", "/repos/{o}/{n}/releases/{release_id}", "release_by_id"),
    _route("GET", "/repos/{o}/{n}/contents", "contents_root"),
    _route("GET", "/repos/{o}/{n}/contents/{path}", "contents"),
    _route("POST", "/repos/{o}/{n}/forks", "fork"),
    _route("DELETE", "/repos/{o}/{n}", "delete_repo", scope="delete_repo"),
    _route("PUT", "/orgs/{org}/teams/{slug}/repos/{o}/{n}", "team_add_repo", scope="admin:org"),
    _route(
        "DELETE", "/orgs/{org}/teams/{slug}/repos/{o}/{n}", "team_remove_repo", scope="admin:org"
    ),
)

_REF_DOCS = "https://docs.github.com/rest/git/refs"
_TAG_DOCS = "https://docs.github.com/rest/git/tags"


def slugify(name: str) -> str:
    """GitHub's team slug: ``"DM Auxilliaries"`` -> ``"dm-auxilliaries"``."""
    return re.sub(r"[^a-z0-9_]+", "-", name.lower()).strip("-")


def _node(kind: str, key: str) -> str:
    return kind + base64.b64encode(key.encode()).decode().rstrip("=")


def _iso(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _person(line: str) -> Json:
    m = _ID_LINE.match(line)
    if m is None:
        return {"name": line, "email": "", "date": _iso(0)}
    return {"name": m["name"], "email": m["email"], "date": _iso(int(m["epoch"]))}


def _split_object(body: str) -> tuple[list[tuple[str, str]], str]:
    """A tag or commit object's header lines (key, value) and its message."""
    head, _, message = body.partition("\n\n")
    fields: list[tuple[str, str]] = []
    for line in head.splitlines():
        if line.startswith(" ") and fields:  # continuation (gpgsig, mergetag)
            continue
        key, _, value = line.partition(" ")
        fields.append((key, value))
    return fields, message


class GitHubServer:
    """The GitHub REST API subset on 127.0.0.1, serving real bare repositories.

    ``repos`` maps ``owner/name`` to a bare repository; ``teams`` maps a team's display
    name to the ``owner/name`` of its repositories (each must be in ``repos``).  ``clock``
    times the rate-limit window (tests may share a fake clock with the client).
    """

    def __init__(
        self,
        repos: Mapping[str, Path],
        *,
        org: str,
        teams: Mapping[str, Sequence[str]],
        token: str,
        latency: float = 0.0,
        fail_rate: float = 0.0,
        seed: int = 0,
        rate_limit: int = 5000,
        rate_window: float = 3600.0,
        scopes: Sequence[str] = ("read:org", "repo"),
        clock: Callable[[], float] = time.time,
        orgs: Sequence[str] = (),
        bind: tuple[str, int] = ("127.0.0.1", 0),
        ssl_context: ssl.SSLContext | None = None,
        public_url: str | None = None,
    ) -> None:
        if not token:
            raise ValueError("the server needs a token")
        self.org = org
        self.org_id = 1000
        #: every organisation served (``orgs``: more, without teams, e.g. a fork target)
        self.orgs = {o.lower(): o for o in (org, *orgs)}
        #: bare repositories made by forks (removed at stop)
        self._fork_root: Path | None = None
        self.token = token
        self.latency = latency
        self.fail_rate = fail_rate
        #: fraction of writes answered 502 after they were done (the response is lost)
        self.fail_after_write_rate = 0.0
        #: answer a refused token with a message that repeats it
        self.echo_credentials = False
        self.scopes = tuple(scopes)
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self._clock = clock
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._repos: dict[str, _Repo] = {}
        for i, (full_name, path) in enumerate(sorted(repos.items())):
            if full_name.count("/") != 1:
                raise ValueError(f"repository key must be owner/name: {full_name!r}")
            self._repos[full_name.lower()] = _Repo(full_name, Path(path), 5000 + i)
        self._teams: list[_Team] = []
        for i, (name, members) in enumerate(sorted(teams.items())):
            canon = []
            for member in members:
                repo = self._repos.get(member.lower())
                if repo is None:
                    raise ValueError(f"team {name!r} lists {member!r}, which is not in repos")
                canon.append(repo.full_name)
            members_ = sorted(set(canon))
            perms = dict.fromkeys(members_, "pull")
            self._teams.append(_Team(100 + i, name, slugify(name), members_, org, perms))
        self._used = 0
        self._window_reset = clock() + rate_window
        self._exhausted_until: float | None = None
        self._request_number = 0
        #: requests received, by "METHOD route-template" (every one, failed or not)
        self.calls: Counter[str] = Counter()
        #: responses sent, by HTTP status
        self.statuses: Counter[int] = Counter()
        #: unexpected exceptions in handlers (a test should assert this stays empty)
        self.errors: list[str] = []
        #: the base URL clients are given (None: http://127.0.0.1:<port>)
        self.public_url = public_url
        self._httpd = _Server(bind, _Handler)
        if ssl_context is not None:  # HTTPS: each connection's handshake in its own thread
            self._httpd.socket = ssl_context.wrap_socket(
                self._httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self._httpd.owner = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="github-api", daemon=True
        )

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """The API base URL (``Github(base_url=srv.url)``)."""
        if self.public_url is not None:
            return self.public_url.rstrip("/")
        return f"http://127.0.0.1:{self.port}"

    @property
    def total_calls(self) -> int:
        with self._lock:
            return sum(self.calls.values())

    def start(self) -> GitHubServer:
        # read every repository's refs now, so that requests start from memory
        workers = min(8, os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(self._refs, self._repos.values()))
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
        if self._fork_root is not None:
            shutil.rmtree(self._fork_root, ignore_errors=True)

    def repo_names(self) -> list[str]:
        """Every repository served now (``owner/name``), sorted."""
        with self._lock:
            return sorted(r.full_name for r in self._repos.values())

    def team_repos(self, name: str, *, org: str | None = None) -> list[str]:
        """The repositories of the team ``name`` (of ``org``, default the main one) now."""
        return sorted(self.team_permissions(name, org=org))

    def team_permissions(self, name: str, *, org: str | None = None) -> dict[str, str]:
        """The team's repositories and its permission on each, now."""
        login = (org or self.org).lower()
        with self._lock:
            team = next(t for t in self._teams if t.name == name and t.org.lower() == login)
            return {r: team.perms.get(r, "pull") for r in team.repos}

    def team_names(self, org: str | None = None) -> list[str]:
        """The names of the teams of ``org`` (default: the main one) now, sorted."""
        login = (org or self.org).lower()
        with self._lock:
            return sorted(t.name for t in self._teams if t.org.lower() == login)

    def __enter__(self) -> GitHubServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- test controls -------------------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        *,
        status: int = 502,
        method: str | None = None,
        path_re: str | None = None,
        after_write: bool = False,
        message: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``n`` matching requests with ``status`` in GitHub's error shape.

        Before the request is handled (nothing happens), or with ``after_write`` after it
        was (a write is done and its answer lost).  ``path_re`` is searched in the path.
        """
        with self._lock:
            self._rules.append(
                _Rule(
                    n,
                    status,
                    method.upper() if method else None,
                    re.compile(path_re) if path_re else None,
                    after_write,
                    message,
                    dict(headers or {}),
                )
            )

    def add_pull(
        self,
        full_name: str,
        number: int,
        title: str,
        head_ref: str,
        merge_commit_sha: str,
        merged_at: str,
        base: str = "main",
        *,
        head_sha: str | None = None,
        updated_at: str | None = None,
    ) -> None:
        """Declare a merged (closed) pull request of ``full_name``.

        ``merged_at`` and ``updated_at`` (default: ``merged_at``) are ISO 8601 UTC
        (``2025-01-02T10:00:00Z``); ``head_sha`` defaults to ``merge_commit_sha``.
        Declaring a number again replaces the pull request (an edit on GitHub).
        """
        repo = self._repo_or_error(full_name)
        for stamp in (merged_at, updated_at):
            if stamp is not None and not _ISO_UTC.match(stamp):
                raise ValueError(f"not an ISO 8601 UTC time (YYYY-MM-DDTHH:MM:SSZ): {stamp!r}")
        api = self._api(repo)
        html = f"{self.url}/{repo.full_name}/pull/{number}"
        updated = updated_at or merged_at
        with repo.lock:
            pr_id = 900000 + repo.id * 1000 + number
            repo.pulls[number] = {
                "url": f"{api}/pulls/{number}",
                "id": pr_id,
                "node_id": _node("PR_", f"{repo.full_name}#{number}"),
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "issue_url": f"{api}/issues/{number}",
                "commits_url": f"{api}/pulls/{number}/commits",
                "comments_url": f"{api}/issues/{number}/comments",
                "number": number,
                "state": "closed",
                "locked": False,
                "title": title,
                "user": self._owner_json("vera-rubin"),
                "body": None,
                "labels": [],
                "milestone": None,
                "created_at": merged_at,
                "updated_at": updated,
                "closed_at": merged_at,
                "merged_at": merged_at,
                "merge_commit_sha": merge_commit_sha,
                "assignee": None,
                "assignees": [],
                "requested_reviewers": [],
                "draft": False,
                "head": self._pull_ref_json(repo, head_ref, head_sha or merge_commit_sha),
                "base": self._pull_ref_json(repo, base, merge_commit_sha),
                "author_association": "MEMBER",
                "auto_merge": None,
                "active_lock_reason": None,
            }

    def _repo_or_error(self, full_name: str) -> _Repo:
        repo = self._repos.get(full_name.lower())
        if repo is None:
            raise ValueError(f"no repository {full_name!r} on this server")
        return repo

    def _pull_ref_json(self, repo: _Repo, ref: str, sha: str) -> Json:
        return {
            "label": f"{repo.owner}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": self._owner_json(repo.owner),
            "repo": self._repo_json(repo),
        }

    def exhaust_rate_limit(self, seconds: float) -> None:
        """Make the remaining count 0 for ``seconds``; then a fresh window starts."""
        with self._lock:
            self._exhausted_until = self._clock() + seconds

    def fresh_rate_window(self) -> None:
        """Start a full rate-limit window now, as GitHub gives another token its own: a
        benchmark's variants each get one instead of sharing the first's."""
        with self._lock:
            self._used = 0
            self._window_reset = self._clock() + self.rate_window
            self._exhausted_until = None

    def reset_counters(self) -> None:
        with self._lock:
            self.calls.clear()
            self.statuses.clear()

    def invalidate(self, full_name: str | None = None) -> None:
        """Forget cached refs (after a test changed a repository behind the server's back)."""
        repos = [self._repo(full_name)] if full_name else list(self._repos.values())
        for repo in repos:
            with repo.lock:
                repo.refs = None
                repo.head = None

    def rate_state(self) -> tuple[int, int, float]:
        """(used, remaining, reset) of the current window, without consuming a request."""
        with self._lock:
            _, remaining, reset = self._rate(consume=False)
            return self._used, remaining, reset

    # -- request handling ----------------------------------------------------------------

    def handle(self, req: _Request) -> _Answer:
        if self.latency > 0:
            time.sleep(self.latency)
        route = self._match(req)
        key = f"{req.method} {route.template}" if route else f"{req.method} (no route)"
        with self._lock:
            self.calls[key] += 1
            self._request_number += 1
            number = self._request_number
            injected = self._take_rule(req, after=False)
            if injected is None and self.fail_rate > 0 and self._rng.random() < self.fail_rate:
                injected = ApiError(502, "Server Error")
        answer = self._answer(req, route, injected)
        answer.headers.setdefault("x-github-request-id", f"5C1P:{number:06X}")
        with self._lock:
            self.statuses[answer.status] += 1
        return answer

    def _answer(self, req: _Request, route: _Route | None, injected: ApiError | None) -> _Answer:
        try:
            if injected is not None:
                raise injected
            self._authenticate(req)
            free = route is not None and route.name == "rate_limit"  # as on GitHub
            rate_headers = self._rate_headers(consume=not free, enforce=not free)
            try:
                if route is None:
                    raise ApiError(404)
                self._check_scope(route)
                answer = getattr(self, f"_h_{route.name}")(req)
                assert isinstance(answer, _Answer)
            except ApiError as exc:
                exc.headers.update(rate_headers)
                raise
            answer.headers.update(rate_headers)
            if route.write:
                with self._lock:
                    lost = self._take_rule(req, after=True)
                    rate = self.fail_after_write_rate
                    if lost is None and rate > 0 and self._rng.random() < rate:
                        lost = ApiError(502, "Server Error")
                if lost is not None:
                    lost.headers.update(rate_headers)
                    raise lost
            if route.scope:
                answer.headers["x-accepted-oauth-scopes"] = route.scope
            return answer
        except ApiError as exc:
            return _Answer(exc.status, exc.body(), exc.headers)
        except Exception as exc:  # a bug here: say so loudly, in GitHub's shape
            self.errors.append(f"{req.method} {req.path}: {type(exc).__name__}: {exc}")
            return _Answer(500, ApiError(500).body())

    def _take_rule(self, req: _Request, *, after: bool) -> ApiError | None:
        for rule in self._rules:
            if rule.matches(req.method, req.path, after=after):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._rules.remove(rule)
                message = rule.message
                if message is None and rule.status == 403:
                    message = "Resource not accessible by personal access token"
                return ApiError(rule.status, message, headers=rule.headers)
        return None

    def _match(self, req: _Request) -> _Route | None:
        for route in _ROUTES:
            if route.method != req.method:
                continue
            m = route.pattern.match(req.path)
            if m:
                req.groups = tuple(urllib.parse.unquote(g) for g in m.groups())
                return route
        return None

    def _authenticate(self, req: _Request) -> None:
        value = req.headers.get("authorization")
        if not value:
            raise ApiError(401, "Requires authentication", f"{DOCS}/overview/authenticating")
        scheme, _, credential = value.partition(" ")
        if scheme.lower() not in ("token", "bearer") or credential.strip() != self.token:
            # some servers repeat what they were sent: the client must not print it
            echo = f" (got {value!r})" if self.echo_credentials else ""
            raise ApiError(401, f"Bad credentials{echo}", DOCS)

    def _check_scope(self, route: _Route) -> None:
        if route.scope and route.scope not in self.scopes:
            raise ApiError(
                403,
                "Resource not accessible by personal access token",
                headers={"x-accepted-oauth-scopes": route.scope},
            )

    def _rate(self, *, consume: bool) -> tuple[bool, int, float]:
        """(allowed, remaining, reset) under ``self._lock``."""
        now = self._clock()
        if self._exhausted_until is not None:
            if now < self._exhausted_until:
                return False, 0, self._exhausted_until
            self._used = 0
            self._window_reset = self._exhausted_until + self.rate_window
            self._exhausted_until = None
        if now >= self._window_reset:
            self._used = 0
            self._window_reset = now + self.rate_window
        if self._used >= self.rate_limit:
            return False, 0, self._window_reset
        if consume:
            self._used += 1
        return True, self.rate_limit - self._used, self._window_reset

    def _rate_headers(self, *, consume: bool, enforce: bool = True) -> dict[str, str]:
        with self._lock:
            allowed, remaining, reset = self._rate(consume=consume)
            used = self._used if allowed else self.rate_limit
        headers = {
            "x-ratelimit-limit": str(self.rate_limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(math.ceil(reset)),
            "x-ratelimit-used": str(used),
            "x-ratelimit-resource": "core",
        }
        if not allowed and enforce:
            raise ApiError(
                403,
                "API rate limit exceeded for user ID 1. If you reach out to GitHub Support "
                "for help, please include the request ID.",
                RATE_LIMIT_DOCS,
                headers=headers,
            )
        return headers

    # -- model helpers -------------------------------------------------------------------

    def _repo(self, full_name: str) -> _Repo:
        repo = self._repos.get(full_name.lower())
        if repo is None:
            raise ApiError(404, "Not Found", f"{DOCS}/repos/repos#get-a-repository")
        return repo

    def _req_repo(self, req: _Request) -> _Repo:
        return self._repo(f"{req.groups[0]}/{req.groups[1]}")

    def _refs(self, repo: _Repo) -> dict[str, tuple[str, str]]:
        with repo.lock:
            if repo.refs is None:
                out = git(
                    ["for-each-ref", "--format=%(objectname) %(objecttype) %(refname)"],
                    cwd=repo.path,
                )
                refs: dict[str, tuple[str, str]] = {}
                for line in out.splitlines():
                    sha, typ, name = line.split(" ", 2)
                    refs[name] = (sha, typ)
                    if typ != "tag":
                        repo.objects.setdefault(sha, _Obj(typ, ""))
                repo.refs = refs
            return repo.refs

    def _nonempty_refs(self, repo: _Repo) -> dict[str, tuple[str, str]]:
        """A snapshot of the refs (409 for an empty repository, as GitHub answers)."""
        with repo.lock:
            refs = dict(self._refs(repo))
        if not refs:
            raise ApiError(409, "Git Repository is empty.", _REF_DOCS)
        return refs

    def _default_branch(self, repo: _Repo) -> str:
        with repo.lock:
            if repo.head is None:
                text = (repo.path / "HEAD").read_text().strip()
                repo.head = text.removeprefix("ref: refs/heads/") if text.startswith("ref:") else ""
            return repo.head or "main"

    def _object(self, repo: _Repo, sha: str, *, body: bool = True) -> _Obj | None:
        """The object ``sha`` (type, and its text when ``body``), or None if missing."""
        if not _SHA.match(sha):
            return None
        cached = repo.objects.get(sha)
        if cached is not None and (cached.body or not body or cached.type in ("tree", "blob")):
            return cached
        result = git(["cat-file", "--batch"], cwd=repo.path, input=f"{sha}\n".encode())
        first, _, rest = result.partition("\n")
        parts = first.split()
        if len(parts) != 3 or parts[1] == "missing":
            return None
        obj = _Obj(parts[1], rest if parts[1] in ("tag", "commit") else "")
        repo.objects[sha] = obj
        return obj

    def _peel(self, repo: _Repo, sha: str, typ: str) -> tuple[str, str]:
        for _ in range(16):
            if typ != "tag":
                return sha, typ
            obj = self._object(repo, sha)
            if obj is None:
                break
            fields = dict(_split_object(obj.body)[0])
            sha, typ = fields.get("object", ""), fields.get("type", "")
        return sha, typ

    # -- JSON shapes -----------------------------------------------------------------------

    def _api(self, repo: _Repo) -> str:
        return f"{self.url}/repos/{repo.full_name}"

    def _owner_json(self, login: str) -> Json:
        is_org = login.lower() in self.orgs
        return {
            "login": login,
            "id": self.org_id + list(self.orgs).index(login.lower()) if is_org else 1,
            "node_id": _node("O_" if is_org else "U_", login),
            "url": f"{self.url}/{'orgs' if is_org else 'users'}/{login}",
            "html_url": f"{self.url}/{login}",
            "type": "Organization" if is_org else "User",
            "site_admin": False,
        }

    def _repo_json(self, repo: _Repo) -> Json:
        api = self._api(repo)
        return {
            "id": repo.id,
            "node_id": _node("R_", repo.full_name),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": False,
            "owner": self._owner_json(repo.owner),
            "html_url": f"{self.url}/{repo.full_name}",
            "description": None,
            "fork": repo.fork_of is not None,
            "url": api,
            "branches_url": api + "/branches{/branch}",
            "commits_url": api + "/commits{/sha}",
            "git_commits_url": api + "/git/commits{/sha}",
            "git_refs_url": api + "/git/refs{/sha}",
            "git_tags_url": api + "/git/tags{/sha}",
            "releases_url": api + "/releases{/id}",
            "tags_url": api + "/tags",
            "teams_url": api + "/teams",
            "clone_url": f"{self.url}/{repo.full_name}.git",
            "default_branch": self._default_branch(repo),
            "archived": False,
            "disabled": False,
            "visibility": "public",
            "permissions": {"admin": False, "maintain": False, "push": True, "pull": True},
        }

    def _org_id(self, login: str) -> int:
        return self.org_id + list(self.orgs).index(login.lower())

    def _team_json(self, team: _Team) -> Json:
        url = f"{self.url}/organizations/{self._org_id(team.org)}/team/{team.id}"
        return {
            "id": team.id,
            "node_id": _node("T_", team.slug),
            "url": url,
            "html_url": f"{self.url}/orgs/{team.org}/teams/{team.slug}",
            "name": team.name,
            "slug": team.slug,
            "description": team.description,
            "privacy": team.privacy,
            "notification_setting": "notifications_enabled",
            "permission": "pull",
            "members_url": url + "/members{/member}",
            "repositories_url": url + "/repos",
            "parent": None,
        }

    def _ref_json(self, repo: _Repo, ref: str, sha: str, typ: str) -> Json:
        api = self._api(repo)
        return {
            "ref": ref,
            "node_id": _node("REF_", f"{repo.full_name}:{ref}"),
            "url": f"{api}/git/{ref}",
            "object": {"sha": sha, "type": typ, "url": f"{api}/git/{typ}s/{sha}"},
        }

    def _tag_json(self, repo: _Repo, sha: str, obj: _Obj) -> Json:
        fields, message = _split_object(obj.body)
        head = dict(fields)
        typ = head.get("type", "commit")
        target = head.get("object", "")
        api = self._api(repo)
        return {
            "node_id": _node("TAG_", f"{repo.full_name}:{sha}"),
            "sha": sha,
            "url": f"{api}/git/tags/{sha}",
            "tag": head.get("tag", ""),
            "message": message,
            "tagger": _person(head.get("tagger", "")),
            "object": {"sha": target, "type": typ, "url": f"{api}/git/{typ}s/{target}"},
            "verification": _unsigned(),
        }

    def _git_commit_json(self, repo: _Repo, sha: str, obj: _Obj) -> Json:
        fields, message = _split_object(obj.body)
        head = dict(fields)
        api = self._api(repo)
        return {
            "sha": sha,
            "node_id": _node("C_", f"{repo.full_name}:{sha}"),
            "url": f"{api}/git/commits/{sha}",
            "html_url": f"{self.url}/{repo.full_name}/commit/{sha}",
            "author": _person(head.get("author", "")),
            "committer": _person(head.get("committer", "")),
            "message": message.removesuffix("\n"),
            "tree": {"sha": head.get("tree", ""), "url": f"{api}/git/trees/{head.get('tree', '')}"},
            "parents": [
                {
                    "sha": p,
                    "url": f"{api}/git/commits/{p}",
                    "html_url": f"{self.url}/{repo.full_name}/commit/{p}",
                }
                for k, p in fields
                if k == "parent"
            ],
            "verification": _unsigned(),
        }

    def _commit_json(self, repo: _Repo, sha: str, obj: _Obj) -> Json:
        inner = self._git_commit_json(repo, sha, obj)
        api = self._api(repo)
        return {
            "sha": sha,
            "node_id": inner["node_id"],
            "url": f"{api}/commits/{sha}",
            "html_url": inner["html_url"],
            "comments_url": f"{api}/commits/{sha}/comments",
            "commit": {
                "url": inner["url"],
                "author": inner["author"],
                "committer": inner["committer"],
                "message": inner["message"],
                "tree": inner["tree"],
                "comment_count": 0,
                "verification": inner["verification"],
            },
            "author": None,
            "committer": None,
            "parents": [
                {"sha": p["sha"], "url": f"{api}/commits/{p['sha']}", "html_url": p["html_url"]}
                for p in inner["parents"]
            ],
            "files": [],
        }

    def _page(self, req: _Request, items: list[Json]) -> _Answer:
        """One page of ``items`` with GitHub's ``Link`` header (per_page, page)."""
        per_page = _int_param(req, "per_page", 30, 1, 100)
        page = _int_param(req, "page", 1, 1, None)
        last = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []

        def link(p: int, rel: str) -> str:
            query = {k: v[-1] for k, v in req.query.items()}
            query.update(per_page=str(per_page), page=str(p))
            return f'<{self.url}{req.path}?{urllib.parse.urlencode(query)}>; rel="{rel}"'

        if page > 1:
            links += [link(min(page - 1, last), "prev")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first")]
        headers = {"link": ", ".join(links)} if links else {}
        return _Answer(200, chunk, headers)

    # -- routes: organisation and teams --------------------------------------------------

    def _org(self, login: str) -> None:
        if login.lower() not in self.orgs:
            raise ApiError(404, "Not Found", f"{DOCS}/orgs/orgs#get-an-organization")

    def _teams_of(self, login: str) -> list[_Team]:
        """The teams of organisation ``login``."""
        self._org(login)
        with self._lock:
            return [t for t in self._teams if t.org.lower() == login.lower()]

    def _h_rate_limit(self, req: _Request) -> _Answer:
        with self._lock:
            _, remaining, reset = self._rate(consume=False)
            used = self._used
        core = {
            "limit": self.rate_limit,
            "remaining": remaining,
            "reset": math.ceil(reset),
            "used": used,
            "resource": "core",
        }
        other = {"limit": 30, "remaining": 30, "reset": math.ceil(reset), "used": 0}
        return _Answer(
            200,
            {
                "resources": {
                    "core": core,
                    "search": {**other, "resource": "search"},
                    "graphql": {**other, "limit": 5000, "remaining": 5000, "resource": "graphql"},
                },
                "rate": core,
            },
        )

    def _h_org(self, req: _Request) -> _Answer:
        self._org(req.groups[0])
        login = self.orgs[req.groups[0].lower()]
        return _Answer(
            200,
            {
                **self._owner_json(login),
                "url": f"{self.url}/orgs/{login}",
                "repos_url": f"{self.url}/orgs/{login}/repos",
                "name": login,
                "public_repos": len(self._org_repos(login)),
            },
        )

    def _org_repos(self, login: str) -> list[_Repo]:
        with self._lock:
            repos = [r for r in self._repos.values() if r.owner.lower() == login.lower()]
        return sorted(repos, key=lambda r: r.id)

    def _h_org_teams(self, req: _Request) -> _Answer:
        return self._page(req, [self._team_json(t) for t in self._teams_of(req.groups[0])])

    def _team_by_slug(self, req: _Request) -> _Team:
        for team in self._teams_of(req.groups[0]):
            if team.slug == req.groups[1]:
                return team
        raise ApiError(404, "Not Found", f"{DOCS}/teams/teams#get-a-team-by-name")

    def _team_by_id(self, req: _Request) -> _Team:
        for team in self._teams:
            if str(team.id) == req.groups[1] and str(self._org_id(team.org)) == req.groups[0]:
                return team
        raise ApiError(404, "Not Found", f"{DOCS}/teams/teams")

    def _team_repos(self, req: _Request, team: _Team) -> _Answer:
        items = []
        with self._lock:
            members = list(team.repos)
        for full_name in members:
            item = self._repo_json(self._repo(full_name))
            permission = team.perms.get(full_name, "pull")
            item["role_name"] = _ROLE_NAMES[permission]
            item["permissions"] = _permissions(permission)
            items.append(item)
        return self._page(req, items)

    def _h_team_by_slug(self, req: _Request) -> _Answer:
        return _Answer(200, self._team_json(self._team_by_slug(req)))

    def _h_team_repos_by_slug(self, req: _Request) -> _Answer:
        return self._team_repos(req, self._team_by_slug(req))

    def _h_team_by_id(self, req: _Request) -> _Answer:
        return _Answer(200, self._team_json(self._team_by_id(req)))

    def _h_team_repos_by_id(self, req: _Request) -> _Answer:
        return self._team_repos(req, self._team_by_id(req))

    def _h_org_repos(self, req: _Request) -> _Answer:
        self._org(req.groups[0])
        return self._page(req, [self._repo_json(r) for r in self._org_repos(req.groups[0])])

    # -- routes: repositories ------------------------------------------------------------

    def _h_repo(self, req: _Request) -> _Answer:
        repo = self._req_repo(req)
        body = self._repo_json(repo)
        parent = self._repos.get(repo.fork_of.lower()) if repo.fork_of else None
        if parent is not None:
            body["parent"] = body["source"] = self._repo_json(parent)
        return _Answer(200, body)

    def _h_repo_teams(self, req: _Request) -> _Answer:
        repo = self._req_repo(req)
        with self._lock:
            teams = [
                {**self._team_json(t), "permission": t.perms.get(repo.full_name, "pull")}
                for t in self._teams
                if repo.full_name in t.repos
            ]
        return self._page(req, teams)

    def _h_pulls(self, req: _Request) -> _Answer:
        """``GET pulls``: ``state`` (open, closed, all), ``sort`` (created, updated,
        popularity, long-running), ``direction`` (asc, desc), paged.  Every declared pull
        request is closed (merged)."""
        repo = self._req_repo(req)
        doc = f"{DOCS}/pulls/pulls#list-pull-requests"
        state = (req.query.get("state") or ["open"])[-1]
        sort = (req.query.get("sort") or ["created"])[-1]
        if state not in ("open", "closed", "all"):
            raise _invalid_param("state", state, doc)
        if sort not in ("created", "updated", "popularity", "long-running"):
            raise _invalid_param("sort", sort, doc)
        direction = (req.query.get("direction") or ["desc" if sort == "created" else "asc"])[-1]
        if direction not in ("asc", "desc"):
            raise _invalid_param("direction", direction, doc)
        with repo.lock:
            pulls = list(repo.pulls.values()) if state != "open" else []
        field_ = "updated_at" if sort == "updated" else "created_at"
        # GitHub orders equal times by number: keep a total order so pages never overlap
        pulls.sort(key=lambda p: (_parse_date(p[field_]), p["number"]), reverse=direction == "desc")
        return self._page(req, pulls)

    def _h_get_ref(self, req: _Request) -> _Answer:
        repo = self._req_repo(req)
        refs = self._nonempty_refs(repo)
        ref = "refs/" + req.groups[2]
        if ref not in refs:
            raise ApiError(404, "Not Found", f"{_REF_DOCS}#get-a-reference")
        sha, typ = refs[ref]
        return _Answer(200, self._ref_json(repo, ref, sha, typ))

    def _h_matching_refs(self, req: _Request) -> _Answer:
        repo = self._req_repo(req)
        refs = self._nonempty_refs(repo)
        prefix = "refs/" + req.groups[2]
        found = [
            self._ref_json(repo, name, sha, typ)
            for name, (sha, typ) in sorted(refs.items())
            if name.startswith(prefix)
        ]
        return _Answer(200, found)

    def _h_get_tag(self, req: _Request) -> _Answer:
        repo = self._req_repo(req)
        sha = req.groups[2]
        obj = self._object(repo, sha)
        if obj is None or obj.type != "tag":
            raise ApiError(404, "Not Found", f"{_TAG_DOCS}#get-a-tag")
        return _Answer(200, self._tag_json(repo, sha, obj))

    def _h_create_tag(self, req: _Request) -> _Answer:
        repo = self._req_repo(req)
        body = _json_body(req)
        tag = _field(body, "tag", str)
        message = _field(body, "message", str)
        target = _field(body, "object", str)
        typ = _field(body, "type", str)
        if typ not in ("commit", "tree", "blob", "tag"):
            raise _invalid(
                f"For 'properties/type', \"{typ}\" is not one of commit, tree, blob, tag."
            )
        tagger = body.get("tagger")
        if tagger is None:
            who, stamp = "scipipe-bot <scipipe-bot@users.noreply.github.com>", int(time.time())
            tz = "+0000"
        else:
            if not isinstance(tagger, dict):
                raise _invalid(f"For 'properties/tagger', {json.dumps(tagger)} is not an object.")
            name = _field(tagger, "name", str, "tagger/")
            email = _field(tagger, "email", str, "tagger/")
            date = tagger.get("date")
            if date is not None and not isinstance(date, str):
                raise _invalid(f"For 'properties/tagger/date', {json.dumps(date)} is not a string.")
            when = _parse_date(date) if date else dt.datetime.now(dt.UTC)
            who, stamp = f"{name} <{email}>", int(when.timestamp())
            offset = when.utcoffset() or dt.timedelta(0)
            minutes = int(offset.total_seconds()) // 60
            tz = f"{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
        if not _SHA.match(target):
            raise ApiError(422, "Object does not exist", f"{_TAG_DOCS}#create-a-tag-object")
        text = f"object {target}\ntype {typ}\ntag {tag}\ntagger {who} {stamp} {tz}\n\n{message}"
        try:
            sha = git(["mktag"], cwd=repo.path, input=text.encode())
        except CommandError as exc:
            tail = exc.stderr_tail
            if "could not read tagged object" in tail or "but is a" in tail:
                raise ApiError(
                    422, "Object does not exist", f"{_TAG_DOCS}#create-a-tag-object"
                ) from None
            raise _invalid(
                f"tag object rejected: {tail.splitlines()[-1] if tail else '?'}"
            ) from None
        obj = _Obj("tag", text)
        repo.objects[sha] = obj
        return _Answer(201, self._tag_json(repo, sha, obj))

    def _write_ref(self, repo: _Repo, ref: str, argv: list[str], doc: str) -> None:
        try:
            git(["update-ref", *argv], cwd=repo.path)
        except CommandError as exc:
            tail = exc.stderr_tail
            if "reference already exists" in tail:
                raise ApiError(422, "Reference already exists", doc) from None
            if "nonexistent object" in tail:
                raise ApiError(422, "Object does not exist", doc) from None
            if "bad name" in tail or "refusing" in tail:
                raise ApiError(422, f"{ref} is not a valid ref name.", doc) from None
            if "but expected" in tail or "is at" in tail or "cannot lock ref" in tail:
                raise ApiError(422, "Reference cannot be updated", doc) from None
            raise

    def _h_create_ref(self, req: _Request) -> _Answer:
        repo = self._req_repo(req)
        doc = f"{_REF_DOCS}#create-a-reference"
        body = _json_body(req)
        ref = _field(body, "ref", str)
        sha = _field(body, "sha", str)
        if not ref.startswith("refs/") or ref.count("/") < 2:
            raise ApiError(
                422, "Reference name must start with 'refs/' and have at least two slashes.", doc
            )
        with repo.lock:
            obj = self._object(repo, sha, body=False)
            if obj is None:
                raise ApiError(422, "Object does not exist", doc)
            self._write_ref(repo, ref, [ref, sha, ""], doc)
            if repo.refs is not None:
                repo.refs[ref] = (sha, obj.type)
        return _Answer(201, self._ref_json(repo, ref, sha, obj.type))

    def _h_update_ref(self, req: _Request) -> _Answer:
        repo = self._req_repo(req)
        doc = f"{_REF_DOCS}#update-a-reference"
        body = _json_body(req)
        sha = _field(body, "sha", str)
        force = body.get("force", False)
        if not isinstance(force, bool):
            raise _invalid(f"For 'properties/force', {json.dumps(force)} is not a boolean.")
        ref = "refs/" + req.groups[2]
        with repo.lock:
            refs = self._refs(repo)
            if ref not in refs:
                raise ApiError(422, "Reference does not exist", doc)
            old, old_type = refs[ref]
            obj = self._object(repo, sha, body=False)
            if obj is None:
                raise ApiError(422, "Object does not exist", doc)
            if not force and old != sha:
                base, _ = self._peel(repo, old, old_type)
                tip, _ = self._peel(repo, sha, obj.type)
                if base != tip and not self._is_ancestor(repo, base, tip):
                    raise ApiError(422, "Update is not a fast forward", doc)
            self._write_ref(repo, ref, [ref, sha, old], doc)
            refs[ref] = (sha, obj.type)
        return _Answer(200, self._ref_json(repo, ref, sha, obj.type))

    def _is_ancestor(self, repo: _Repo, old: str, new: str) -> bool:
        try:
            git(["merge-base", "--is-ancestor", old, new], cwd=repo.path)
        except CommandError:
            return False
        return True

    def _h_delete_ref(self, req: _Request) -> _Answer:
        repo = self._req_repo(req)
        doc = f"{_REF_DOCS}#delete-a-reference"
        ref = "refs/" + req.groups[2]
        with repo.lock:
            refs = self._refs(repo)
            if ref not in refs:
                raise ApiError(422, "Reference does not exist", doc)
            self._write_ref(repo, ref, ["-d", ref, refs[ref][0]], doc)
            del refs[ref]
        return _Answer(204)

    def _commit_obj(self, repo: _Repo, sha: str) -> _Obj | None:
        obj = self._object(repo, sha)
        return obj if obj is not None and obj.type == "commit" else None

    def _h_git_commit(self, req: _Request) -> _Answer:
        repo = self._req_repo(req)
        sha = req.groups[2]
        obj = self._commit_obj(repo, sha)
        if obj is None:
            raise ApiError(404, "Not Found", f"{DOCS}/git/commits#get-a-commit-object")
        return _Answer(200, self._git_commit_json(repo, sha, obj))

    def _h_branch(self, req: _Request) -> _Answer:
        repo = self._req_repo(req)
        refs = self._nonempty_refs(repo)
        name = req.groups[2]
        entry = refs.get(f"refs/heads/{name}")
        obj = self._commit_obj(repo, entry[0]) if entry else None
        if entry is None or obj is None:
            raise ApiError(404, "Branch not found", f"{DOCS}/branches/branches#get-a-branch")
        api = self._api(repo)
        return _Answer(
            200,
            {
                "name": name,
                "commit": self._commit_json(repo, entry[0], obj),
                "_links": {
                    "self": f"{api}/branches/{name}",
                    "html": f"{self.url}/{repo.full_name}/tree/{name}",
                },
                "protected": False,
                "protection": {"enabled": False, "required_status_checks": None},
                "protection_url": f"{api}/branches/{name}/protection",
            },
        )

    def _h_commit(self, req: _Request) -> _Answer:
        repo = self._req_repo(req)
        refs = self._nonempty_refs(repo)
        ref = req.groups[2]
        sha: str | None = None
        if _SHA.match(ref):
            sha = ref
        else:
            name = self._default_branch(repo) if ref == "HEAD" else ref
            for candidate in (f"refs/heads/{name}", f"refs/tags/{name}"):
                if candidate in refs:
                    sha, _ = self._peel(repo, *refs[candidate])
                    break
        obj = self._commit_obj(repo, sha) if sha else None
        if sha is None or obj is None:
            raise ApiError(
                422, f"No commit found for SHA: {ref}", f"{DOCS}/commits/commits#get-a-commit"
            )
        return _Answer(200, self._commit_json(repo, sha, obj))

    def _h_get_refs_legacy(self, req: _Request) -> _Answer:
        """``GET git/refs/{ref}``, the older form of :meth:`_h_get_ref` (older PyGithub):
        the ref itself, else (as GitHub still answers) every ref it is a prefix of, else
        404."""
        repo = self._req_repo(req)
        refs = self._nonempty_refs(repo)
        ref = "refs/" + req.groups[2]
        if ref in refs:
            return _Answer(200, self._ref_json(repo, ref, *refs[ref]))
        found = [
            self._ref_json(repo, name, sha, typ)
            for name, (sha, typ) in sorted(refs.items())
            if name.startswith(ref.rstrip("/") + "/")
        ]
        if not found:
            raise ApiError(404, "Not Found", f"{_REF_DOCS}#get-a-reference")
        return _Answer(200, found)

    # -- routes: contents ------------------------------------------------------------------

    def _h_contents_root(self, req: _Request) -> _Answer:
        return self._contents(req, "")

    def _h_contents(self, req: _Request) -> _Answer:
        return self._contents(req, req.groups[2].strip("/"))

    def _contents(self, req: _Request, path: str) -> _Answer:
        """``GET contents/{path}?ref=``: a file, text or binary, byte for byte (base64, as
        GitHub wraps it), or a directory listing, at a branch, tag or commit (default: the
        default branch)."""
        repo = self._req_repo(req)
        doc = f"{DOCS}/repos/contents#get-repository-content"
        refs = self._nonempty_refs(repo)
        ref = (req.query.get("ref") or [self._default_branch(repo)])[-1]
        sha = ref if _SHA.match(ref) else None
        for candidate in (f"refs/heads/{ref}", f"refs/tags/{ref}"):
            if sha is None and candidate in refs:
                sha, _ = self._peel(repo, *refs[candidate])
        if sha is None or self._commit_obj(repo, sha) is None:
            raise ApiError(404, f"No commit found for the ref {ref}", doc)
        if ".." in path.split("/"):
            raise ApiError(404, "Not Found", doc)
        try:
            kind = git(["cat-file", "-t", f"{sha}:{path}"], cwd=repo.path)
        except CommandError:
            raise ApiError(404, "Not Found", doc) from None
        if kind == "tree":
            return _Answer(200, self._tree_listing(repo, sha, path, ref))
        if kind != "blob":  # a submodule
            raise ApiError(404, "Not Found", doc)
        blob = git(["rev-parse", f"{sha}:{path}"], cwd=repo.path)
        # the blob's bytes as they are (binary, or text without a final newline)
        raw = subprocess.run(
            ["git", "cat-file", "blob", blob], cwd=repo.path, capture_output=True, check=True
        ).stdout
        encoded = base64.encodebytes(raw).decode()
        return _Answer(
            200,
            {
                **self._content_json(repo, path, blob, "file", len(raw), ref),
                "content": encoded,
                "encoding": "base64",
            },
        )

    def _tree_listing(self, repo: _Repo, sha: str, path: str, ref: str) -> list[Json]:
        out = git(["ls-tree", "-l", f"{sha}:{path}" if path else sha], cwd=repo.path)
        items = []
        for line in out.splitlines():
            meta, _, name = line.partition("\t")
            _mode, typ, obj, size = meta.split()
            kind = {"blob": "file", "tree": "dir", "commit": "submodule"}.get(typ, typ)
            full = f"{path}/{name}" if path else name
            items.append(
                self._content_json(repo, full, obj, kind, int(size) if size != "-" else 0, ref)
            )
        return items

    def _content_json(
        self, repo: _Repo, path: str, sha: str, kind: str, size: int, ref: str
    ) -> Json:
        api = self._api(repo)
        quoted = urllib.parse.quote(path)
        return {
            "type": kind,
            "size": size,
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "url": f"{api}/contents/{quoted}?ref={urllib.parse.quote(ref)}",
            "git_url": f"{api}/git/{'trees' if kind == 'dir' else 'blobs'}/{sha}",
            "html_url": f"{self.url}/{repo.full_name}/blob/{ref}/{quoted}",
            "download_url": f"{self.url}/raw/{repo.full_name}/{ref}/{quoted}",
        }

    # -- routes: forks, deletion, team repositories ------------------------------------

    def _h_fork(self, req: _Request) -> _Answer:
        """``POST forks`` (``organization``, ``name``): a bare copy of the branches and tags,
        202 as GitHub answers (at once here).  Forking again returns the existing fork."""
        src = self._req_repo(req)
        body = _json_body(req) if req.body else {}
        dst_org = body.get("organization") or "scipipe-bot"
        name = body.get("name") or src.name
        if not isinstance(dst_org, str) or not isinstance(name, str):
            raise _invalid("For 'properties/organization', it is not a string.")
        if dst_org != "scipipe-bot":
            self._org(dst_org)
            dst_org = self.orgs[dst_org.lower()]
        full = f"{dst_org}/{name}"
        with self._lock:
            existing = self._repos.get(full.lower())
            if existing is None:
                if self._fork_root is None:
                    self._fork_root = Path(tempfile.mkdtemp(prefix="githubserver-forks-"))
                path = self._fork_root / dst_org / f"{name}.git"
                git(["clone", "--bare", "--quiet", str(src.path), str(path)])
                ids = [r.id for r in self._repos.values()]
                existing = _Repo(full, path, max(ids, default=5000) + 1, fork_of=src.full_name)
                self._repos[full.lower()] = existing
            elif existing.fork_of != src.full_name:
                raise ApiError(
                    422,
                    "Validation Failed",
                    f"{DOCS}/repos/forks#create-a-fork",
                    extra={
                        "errors": [
                            {
                                "resource": "Repository",
                                "code": "custom",
                                "field": "name",
                                "message": "name already exists on this account",
                            }
                        ]
                    },
                )
        return _Answer(202, self._repo_json(existing))

    def _h_delete_repo(self, req: _Request) -> _Answer:
        repo = self._req_repo(req)
        with self._lock:
            del self._repos[repo.full_name.lower()]
            for team in self._teams:
                if repo.full_name in team.repos:
                    team.repos.remove(repo.full_name)
                team.perms.pop(repo.full_name, None)
        return _Answer(204)

    def _team_and_repo(self, req: _Request) -> tuple[_Team, _Repo]:
        team = self._team_by_slug(req)
        repo = self._repo(f"{req.groups[2]}/{req.groups[3]}")
        if repo.owner.lower() != team.org.lower():
            raise ApiError(
                422,
                "Validation Failed",
                f"{DOCS}/teams/teams#add-or-update-team-repository-permissions",
                extra={
                    "errors": [
                        {
                            "resource": "TeamRepository",
                            "code": "custom",
                            "message": "repository must be owned by the organization",
                        }
                    ]
                },
            )
        return team, repo

    def _h_team_add_repo(self, req: _Request) -> _Answer:
        team, repo = self._team_and_repo(req)
        body = _json_body(req) if req.body else {}
        permission = body.get("permission", "push")
        if permission not in ("pull", "triage", "push", "maintain", "admin"):
            raise _invalid(
                f"For 'properties/permission', {json.dumps(permission)} is not one of "
                "pull, triage, push, maintain, admin."
            )
        with self._lock:
            if repo.full_name not in team.repos:
                team.repos.append(repo.full_name)
                team.repos.sort()
            team.perms[repo.full_name] = permission
        return _Answer(204)

    def _h_team_remove_repo(self, req: _Request) -> _Answer:
        team, repo = self._team_and_repo(req)
        with self._lock:
            if repo.full_name in team.repos:
                team.repos.remove(repo.full_name)
            team.perms.pop(repo.full_name, None)
        return _Answer(204)

    # -- routes: teams (create, delete) --------------------------------------------------

    def _h_create_team(self, req: _Request) -> _Answer:
        """``POST /orgs/{org}/teams``: ``name`` (required), ``description``, ``privacy``
        (secret, closed), ``repo_names`` (``owner/name`` of the organisation's repos, added
        at ``permission``, default pull), 201 with the full team."""
        self._org(req.groups[0])
        login = self.orgs[req.groups[0].lower()]
        doc = f"{DOCS}/teams/teams#create-a-team"
        body = _json_body(req)
        name, privacy = body.get("name"), body.get("privacy", "secret")
        if not isinstance(name, str) or not name.strip():
            raise _invalid("For 'properties/name', nil is not a string.")
        if privacy not in ("secret", "closed"):
            raise _invalid(f"For 'properties/privacy', {json.dumps(privacy)} is not one of "
                           "secret, closed.")  # fmt: skip
        permission = body.get("permission", "pull")
        if permission not in ("pull", "push"):  # the deprecated create-time permission
            raise _invalid(f"For 'properties/permission', {json.dumps(permission)} is not "
                           "one of pull, push.")  # fmt: skip
        repo_names = body.get("repo_names", [])
        if not isinstance(repo_names, list) or not all(isinstance(r, str) for r in repo_names):
            raise _invalid("For 'properties/repo_names', it is not an array of strings.")
        repos = [self._repo(r) for r in repo_names]
        if any(r.owner.lower() != login.lower() for r in repos):
            raise _validation("Team", "repo_names", "repository must be owned by the organization", doc)  # fmt: skip
        with self._lock:
            taken = {t.slug for t in self._teams if t.org.lower() == login.lower()}
            if slugify(name) in taken:
                raise _validation("Team", "name", "Name must be unique for this org", doc)
            members = sorted({r.full_name for r in repos})
            team = _Team(max((t.id for t in self._teams), default=99) + 1, name, slugify(name),
                         members, login, dict.fromkeys(members, permission), privacy,
                         str(body.get("description") or ""))  # fmt: skip
            self._teams.append(team)
        return _Answer(201, {**self._team_json(team), "organization": self._owner_json(login)})

    def _h_delete_team(self, req: _Request) -> _Answer:
        team = self._team_by_slug(req)
        with self._lock:
            self._teams.remove(team)
        return _Answer(204)

    # -- routes: releases (minimal) ------------------------------------------------------

    def _release_json(self, repo: _Repo, rel: Json) -> Json:
        api = self._api(repo)
        rid = rel["id"]
        return {
            "url": f"{api}/releases/{rid}",
            "html_url": f"{self.url}/{repo.full_name}/releases/tag/{rel['tag_name']}",
            "assets_url": f"{api}/releases/{rid}/assets",
            "upload_url": f"{api}/releases/{rid}/assets{{?name,label}}",
            "tarball_url": f"{api}/tarball/{rel['tag_name']}",
            "zipball_url": f"{api}/zipball/{rel['tag_name']}",
            "id": rid,
            "node_id": _node("RE_", f"{repo.full_name}:{rid}"),
            "author": self._owner_json("scipipe-bot"),
            "assets": [],
            **rel,
        }

    def _h_releases(self, req: _Request) -> _Answer:
        repo = self._req_repo(req)
        with repo.lock:
            items = [self._release_json(repo, r) for r in reversed(repo.releases)]
        return self._page(req, items)

    def _h_create_release(self, req: _Request) -> _Answer:
        repo = self._req_repo(req)
        doc = f"{DOCS}/releases/releases#create-a-release"
        body = _json_body(req)
        tag = _field(body, "tag_name", str)
        for key in ("target_commitish", "name", "body"):
            if key in body and not isinstance(body[key], str):
                raise _invalid(f"For 'properties/{key}', {json.dumps(body[key])} is not a string.")
        for key in ("draft", "prerelease"):
            if key in body and not isinstance(body[key], bool):
                raise _invalid(f"For 'properties/{key}', {json.dumps(body[key])} is not a boolean.")
        target = body.get("target_commitish") or self._default_branch(repo)
        with repo.lock:
            if any(r["tag_name"] == tag for r in repo.releases):
                raise ApiError(
                    422,
                    "Validation Failed",
                    doc,
                    extra={
                        "errors": [
                            {"resource": "Release", "code": "already_exists", "field": "tag_name"}
                        ]
                    },
                )
            refs = self._nonempty_refs(repo)
            if f"refs/tags/{tag}" not in refs and not body.get("draft", False):
                entry = refs.get(f"refs/heads/{target}")
                sha = entry[0] if entry else target
                obj = self._commit_obj(repo, sha)
                if obj is None:
                    raise ApiError(
                        422,
                        "Validation Failed",
                        doc,
                        extra={
                            "errors": [
                                {
                                    "resource": "Release",
                                    "code": "invalid",
                                    "field": "target_commitish",
                                }
                            ]
                        },
                    )
                self._write_ref(repo, f"refs/tags/{tag}", [f"refs/tags/{tag}", sha, ""], doc)
                refs[f"refs/tags/{tag}"] = (sha, "commit")
            now = _iso(int(time.time()))
            rel: Json = {
                "id": 70000 + sum(len(r.releases) for r in self._repos.values()) + 1,
                "tag_name": tag,
                "target_commitish": target,
                "name": body.get("name") or tag,
                "body": body.get("body") or "",
                "draft": bool(body.get("draft", False)),
                "prerelease": bool(body.get("prerelease", False)),
                "created_at": now,
                "published_at": None if body.get("draft") else now,
            }
            repo.releases.append(rel)
        return _Answer(201, self._release_json(repo, rel))

    def _h_release_by_tag(self, req: _Request) -> _Answer:
        repo = self._req_repo(req)
        with repo.lock:
            for rel in repo.releases:
                if rel["tag_name"] == req.groups[2]:
                    return _Answer(200, self._release_json(repo, rel))
        raise ApiError(404, "Not Found", f"{DOCS}/releases/releases#get-a-release-by-tag-name")

    def _h_release_by_id(self, req: _Request) -> _Answer:
        repo = self._req_repo(req)
        with repo.lock:
            for rel in repo.releases:
                if str(rel["id"]) == req.groups[2]:
                    return _Answer(200, self._release_json(repo, rel))
        raise ApiError(404, "Not Found", f"{DOCS}/releases/releases#get-a-release")


def _unsigned() -> Json:
    return {
        "verified": False,
        "reason": "unsigned",
        "signature": None,
        "payload": None,
        "verified_at": None,
    }


def _invalid_param(name: str, value: str, doc: str) -> ApiError:
    return ApiError(
        422,
        "Validation Failed",
        doc,
        extra={
            "errors": [{"resource": "Search", "field": name, "code": "invalid", "value": value}]
        },
    )


def _invalid(detail: str) -> ApiError:
    return ApiError(422, f"Invalid request.\n\n{detail}")


def _validation(resource: str, field_: str, message: str, doc: str) -> ApiError:
    """422 "Validation Failed" with one custom error, GitHub's shape for a refused write."""
    error = {"resource": resource, "code": "custom", "field": field_, "message": message}
    return ApiError(422, "Validation Failed", doc, extra={"errors": [error]})


#: a team's permission on a repository -> the role GitHub names it by
_ROLE_NAMES = {"pull": "read", "triage": "triage", "push": "write", "maintain": "maintain",
               "admin": "admin"}  # fmt: skip
_LEVELS = ("pull", "triage", "push", "maintain", "admin")


def _permissions(permission: str) -> dict[str, bool]:
    """GitHub's ``permissions`` object: every level up to ``permission`` is true."""
    rank = _LEVELS.index(permission)
    return {level: _LEVELS.index(level) <= rank for level in reversed(_LEVELS)}


def _json_body(req: _Request) -> Json:
    try:
        body = json.loads(req.body or b"null")
    except ValueError:
        raise ApiError(400, "Problems parsing JSON") from None
    if not isinstance(body, dict):
        raise _invalid(f"For 'links/0/schema', {json.dumps(body)} is not an object.")
    return body


def _field(body: Json, name: str, kind: type, prefix: str = "") -> Any:
    if name not in body or body[name] is None:
        raise _invalid(f'"{name}" wasn\'t supplied.')
    value = body[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        label = {str: "a string", int: "an integer", bool: "a boolean"}.get(kind, kind.__name__)
        raise _invalid(f"For 'properties/{prefix}{name}', {json.dumps(value)} is not {label}.")
    return value


def _parse_date(text: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _invalid(f"For 'properties/tagger/date', \"{text}\" is not a date-time.") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _int_param(req: _Request, name: str, default: int, low: int, high: int | None) -> int:
    values = req.query.get(name)
    if not values:
        return default
    try:
        value = int(values[-1])
    except ValueError:
        return default
    value = max(low, value)
    return min(high, value) if high is not None else value


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive: PyGithub reuses its connections
    server_version = "github.com"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 60

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read stderr
        pass

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()

    def _serve(self) -> None:
        split = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        req = _Request(
            self.command,
            split.path,
            urllib.parse.parse_qs(split.query),
            {k.lower(): v for k, v in self.headers.items()},
            body,
        )
        answer = self.server.owner.handle(req)
        payload = b"" if answer.body is None else json.dumps(answer.body).encode()
        self.send_response(answer.status)
        if answer.status != 204:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("x-github-media-type", "github.v3; format=json")
        self.send_header("x-github-api-version-selected", API_VERSION)
        self.send_header("x-oauth-scopes", ", ".join(self.server.owner.scopes))
        for key, value in answer.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    owner: GitHubServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError)):
            return  # the client went away mid-answer (a killed run), or spoke plain HTTP
        super().handle_error(request, client_address)
