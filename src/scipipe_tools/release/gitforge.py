"""The plain-git forge: tags pushed to any git server, teams from a policy file.

Each repository gets a bare cache at ``cache_dir/<owner>/<name>.git``.  The first use of
a repository in a :class:`GitForge` fetches every branch and tag into it (one network
round trip); every later read -- :meth:`~GitForge.get_tag`, :meth:`~GitForge.resolve`
-- is local.  Writes push single refs to the repository's URL and then update the cache,
so the cache keeps agreeing with the server for the refs this process wrote.

A tag is made with ``git mktag`` from an explicit header (``tagger <name> <<email>>
<epoch> +0000``), so its bytes do not depend on the local git configuration, the
message is kept exactly as given (``git tag -m`` would strip ``#`` lines), and the
cache's ref is not touched until the server accepted the push.  Without ``force`` the
push has no ``+``: git never moves an existing remote tag then, whatever the cache
says.

The "API calls" of this backend are network round trips, counted by kind: ``fetch``,
``push`` and ``ls-remote``.  Git runs through the gateway (:func:`..infra.git.call`, on
the bare cache, with untranslated messages); a failing command becomes a one-line
:class:`ForgeError` naming the repository, with credentials in URLs replaced by ``***``.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError, did_you_mean
from ..forge.base import Forge, ForgeError, ForgeStats, NotFoundError, RepoId, Tagger, TagInfo
from ..infra import git
from ..infra.git import check_ref
from ..redaction import redact
from .policy import TeamPolicy

#: call kinds counted by :meth:`GitForge.stats`
CALL_KINDS = ("fetch", "push", "ls-remote")

_FULL_NAME = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_SHA = re.compile(r"^[0-9a-f]{40}$")
#: ``git`` options for every command: no automatic gc or maintenance while we work
_CONFIG = ("-c", "gc.auto=0", "-c", "maintenance.auto=false", "-c", "core.logAllRefUpdates=false")
#: git's messages untranslated: :data:`_NOT_FOUND` and :data:`_REJECTED` read them
_LOCALE = {"LANGUAGE": "C", "LC_ALL": "C"}
#: stderr of a repository that is not there
_NOT_FOUND = re.compile(
    r"does not appear to be a git repository|repository not found|not exported"
    r"|repository '[^']*' does not exist|no such repository",
    re.IGNORECASE,
)
#: stderr/porcelain output of a push refused because the ref exists
_REJECTED = re.compile(r"\[rejected\]|already exists|non-fast-forward|fetch first", re.I)
#: lines of git's stderr that say nothing about the cause
_BOILERPLATE = (
    "please make sure you have the correct access rights",
    "and the repository exists.",
    "could not read from remote repository.",
)
_FOR_EACH_REF = "%00".join(
    [
        "%(refname)",
        "%(objecttype)",
        "%(objectname)",
        "%(*objecttype)",
        "%(*objectname)",
        "%(taggername)",
        "%(taggeremail)",
        "%(contents:signature)",
        "%(contents)",
    ]
)


def _reason(stderr: str) -> str:
    """The last informative line of git's stderr (``fatal:`` prefixes dropped)."""
    if stderr.startswith("Timeout:"):
        return "timed out"
    lines = []
    for raw in stderr.splitlines():
        line = raw.strip()
        for prefix in ("fatal: ", "error: ", "remote: "):
            line = line.removeprefix(prefix)
        if line and not line.lower().startswith(_BOILERPLATE):
            lines.append(line)
    text = lines[-1] if lines else "no error output"
    return redact(text if len(text) <= 300 else text[:297] + "...")


def _chomp(text: str) -> str:
    return text[:-1] if text.endswith("\n") else text


def _strip_message(text: str | None) -> str:
    return (text or "").rstrip()


@dataclass
class _Cache:
    """One repository's bare cache and what this process knows about it."""

    full_name: str
    url: str
    path: Path
    lock: threading.Lock = field(default_factory=threading.Lock)
    initialized: bool = False
    synced: bool = False
    head_branch: str | None = None


class GitForge:
    """:class:`~.forge.Forge` over plain git (file paths, ``git://``, ssh, https)."""

    kind = "git"

    def __init__(
        self,
        policy: TeamPolicy,
        *,
        urls: Mapping[str, str] | None = None,
        cache_dir: Path,
        timeout: float = 120.0,
    ) -> None:
        self.policy = policy
        self.urls = dict(urls or {})
        self.cache_dir = Path(cache_dir)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._caches: dict[str, _Cache] = {}
        self._calls: dict[str, int] = dict.fromkeys(CALL_KINDS, 0)

    def __repr__(self) -> str:
        return f"GitForge({self.policy.path!r}, cache_dir={str(self.cache_dir)!r})"

    # --- teams and repositories ---------------------------------------------------------

    def teams(self, names: Sequence[str]) -> dict[str, frozenset[str]]:
        out: dict[str, frozenset[str]] = {}
        for name in names:
            if name not in self.policy.teams:
                known = ", ".join(sorted(self.policy.teams)) or "none"
                raise InputError(
                    f"unknown team {name!r} in {self.policy.path} (teams: {known})",
                    hint=did_you_mean(name, self.policy.teams),
                )
            out[name] = self.policy.teams[name]
        return out

    def all_teams(self) -> dict[str, frozenset[str]]:
        return dict(self.policy.teams)

    def repo(self, full_name: str) -> RepoId:
        if not _FULL_NAME.match(full_name):
            raise InputError(f"invalid repository name {full_name!r}: expected 'owner/name'")
        url = self.urls.get(full_name) or self.policy.url_for(full_name)
        if not url:
            raise NotFoundError(
                f"{full_name}: no URL known (not in repos.yaml, nor in {self.policy.path})",
                hint="add it to 'urls' in the policy file, or set 'url_pattern'",
            )
        return RepoId(full_name, url)

    def exists(self, full_name: str) -> bool:
        try:
            cache = self._cache(self.repo(full_name))
            with cache.lock:
                self._sync(cache)
        except NotFoundError:
            return False
        return True

    def all_repos(self) -> frozenset[str]:
        teams = self.policy.teams.values()
        return frozenset(self.urls).union(*teams)

    # --- reads --------------------------------------------------------------------------

    def get_tag(self, repo: RepoId, name: str) -> TagInfo | None:
        cache = self._cache(repo)
        with cache.lock:
            self._sync(cache)
            return self._read_tag(cache, name)

    def resolve(self, repo: RepoId, ref: str) -> str | None:
        cache = self._cache(repo)
        with cache.lock:
            self._sync(cache)
            return self._verify(cache, f"refs/heads/{ref}^{{commit}}") or self._verify(
                cache, f"refs/tags/{ref}^{{commit}}"
            )

    def default_head(self, repo: RepoId) -> str:
        cache = self._cache(repo)
        with cache.lock:
            self._sync(cache)
            if cache.head_branch is None:
                cache.head_branch = self._head_branch(cache)
            sha = self._verify(cache, f"refs/heads/{cache.head_branch}^{{commit}}")
            if sha is None:
                raise ForgeError(f"{cache.full_name}: branch {cache.head_branch} vanished")
            return sha

    # --- writes -------------------------------------------------------------------------

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
        check_ref(name)
        for part in (tagger.name, tagger.email):
            if not part.strip() or any(c in part for c in "<>\n"):
                raise InputError(f"invalid tagger {tagger.name} <{tagger.email}>")
        cache = self._cache(repo)
        with cache.lock:
            self._sync(cache)
            commit = self._commit(cache, sha)
            existing = self._read_tag(cache, name)
            if existing is not None and _equal(existing, commit, message, tagger):
                return existing  # already in sync: nothing to write
            tag_sha = self._mktag(cache, name, commit, message, tagger)
            refspec = f"{'+' if force else ''}{tag_sha}:refs/tags/{name}"
            status, out, err = self._network(
                cache, "push", ["push", "--porcelain", cache.url, refspec]
            )
            if status != 0:
                if force or not _REJECTED.search(out + "\n" + err):
                    raise self._error(cache, f"cannot push tag {name}", err or out)
                # the server has another tag by that name: is it ours after all?
                self._fetch(cache, [f"+refs/tags/{name}:refs/tags/{name}"], prune=False)
                existing = self._read_tag(cache, name)
                if existing is not None and _equal(existing, commit, message, tagger):
                    return existing
                raise ForgeError(
                    f"{cache.full_name}: tag {name} exists and points elsewhere",
                    hint=_difference(existing, commit, message, tagger),
                )
            self._local(cache, ["update-ref", f"refs/tags/{name}", tag_sha])
            made = self._read_tag(cache, name)
            if made is None:  # pragma: no cover - update-ref succeeded
                raise ForgeError(f"{cache.full_name}: tag {name} missing after update-ref")
            return made

    def delete_tag(self, repo: RepoId, name: str) -> None:
        check_ref(name)
        cache = self._cache(repo)
        with cache.lock:
            self._init(cache)
            status, out, err = self._network(
                cache, "push", ["push", "--porcelain", cache.url, f":refs/tags/{name}"]
            )
            text = out + "\n" + err
            # git accepts the deletion of a missing ref with a warning (older ones refused it)
            if "non-existent ref" in text or "remote ref does not exist" in text:
                self._run(cache, ["update-ref", "-d", f"refs/tags/{name}"])
                raise NotFoundError(f"{cache.full_name}: no tag {name} to delete", status=404)
            if status != 0:
                raise self._error(cache, f"cannot delete tag {name}", err or out)
            self._run(cache, ["update-ref", "-d", f"refs/tags/{name}"])

    # --- bookkeeping --------------------------------------------------------------------

    def stats(self) -> ForgeStats:
        with self._lock:
            return ForgeStats(calls=dict(self._calls))

    def close(self) -> None:
        """Forget what this process knows; the caches on disk stay for the next run."""
        with self._lock:
            self._caches.clear()

    # --- internals ----------------------------------------------------------------------

    def _cache(self, repo: RepoId) -> _Cache:
        with self._lock:
            cache = self._caches.get(repo.full_name)
            if cache is None:
                url = repo.url or self.repo(repo.full_name).url
                owner, name = repo.owner, repo.name
                path = self.cache_dir / owner / f"{name}.git"
                cache = _Cache(repo.full_name, url, path)
                self._caches[repo.full_name] = cache
            return cache

    def _run(
        self,
        cache: _Cache,
        args: Sequence[str],
        *,
        stdin: bytes | None = None,
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
    ) -> tuple[int, str, str]:
        """``git args`` on the cache: (status, stdout, stderr), never raising for status
        (a timeout is a status too: its stderr starts with ``Timeout:``).  One trailing
        newline is dropped from stdout and stderr."""
        try:
            result = git.call(
                cache.path,
                [*_CONFIG, *args],
                input=stdin or b"",
                extra_env={**_LOCALE, **(env or {})},
                timeout=timeout,
                url=cache.url,
            )
        except git.GitTimeout as exc:
            return -1, "", f"Timeout: {exc.message}"
        return result.returncode, _chomp(result.stdout), _chomp(result.stderr)

    def _local(self, cache: _Cache, args: Sequence[str], *, stdin: bytes | None = None) -> str:
        """A local command that must succeed; its stdout."""
        status, out, err = self._run(cache, args, stdin=stdin)
        if status != 0:
            raise self._error(cache, f"git {args[0]} failed", err or out, with_url=False)
        return out

    def _network(self, cache: _Cache, kind: str, args: Sequence[str]) -> tuple[int, str, str]:
        with self._lock:
            self._calls[kind] = self._calls.get(kind, 0) + 1
        return self._run(cache, args, timeout=self.timeout)

    def _error(self, cache: _Cache, what: str, stderr: str, *, with_url: bool = True) -> ForgeError:
        where = f" ({redact(cache.url)})" if with_url else ""
        message = f"{cache.full_name}: {what}{where}: {_reason(stderr)}"
        if stderr.startswith("Timeout:"):
            message = f"{cache.full_name}: {what}{where}: timed out after {self.timeout:g} s"
        if _NOT_FOUND.search(stderr):
            return NotFoundError(message, status=404)
        return ForgeError(message)

    def _init(self, cache: _Cache) -> None:
        if cache.initialized:
            return
        if not (cache.path / "HEAD").is_file():
            cache.path.mkdir(parents=True, exist_ok=True)
            self._local(cache, ["init", "--quiet", "--bare"])
        cache.initialized = True

    def _sync(self, cache: _Cache) -> None:
        """The first use of a repository: fetch all its branches and tags."""
        if cache.synced:
            return
        self._init(cache)
        self._fetch(cache, ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"], prune=True)
        cache.synced = True

    def _fetch(self, cache: _Cache, refspecs: Sequence[str], *, prune: bool) -> None:
        args = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head"]
        args += ["--prune"] if prune else []
        status, out, err = self._network(cache, "fetch", [*args, cache.url, *refspecs])
        if status != 0:
            raise self._error(cache, "cannot fetch", err or out)

    def _verify(self, cache: _Cache, rev: str) -> str | None:
        status, out, _ = self._run(cache, ["rev-parse", "--verify", "--quiet", rev])
        sha = out.strip()
        return sha if status == 0 and _SHA.match(sha) else None

    def _commit(self, cache: _Cache, sha: str) -> str:
        """The full SHA of commit ``sha``, fetched from the server if the cache lacks it."""
        rev = f"{sha}^{{commit}}"
        hint: str | None = None
        found = self._verify(cache, rev) if re.fullmatch(r"[0-9a-fA-F]{4,40}", sha) else None
        if found is None and _SHA.match(sha.lower()):
            args = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", cache.url, sha]
            status, out, err = self._network(cache, "fetch", args)
            found = self._verify(cache, rev)
            if found is None and status != 0:
                hint = f"the server said: {_reason(err or out)}"
        if found is None:
            raise ForgeError(f"{cache.full_name}: commit {sha} not found", hint=hint)
        return found

    def _head_branch(self, cache: _Cache) -> str:
        """The remote's default branch: its HEAD, else main, master or the only branch."""
        status, out, err = self._network(
            cache, "ls-remote", ["ls-remote", "--symref", cache.url, "HEAD"]
        )
        if status != 0:
            raise self._error(cache, "cannot list the remote's HEAD", err or out)
        branches = self._local(cache, ["for-each-ref", "--format=%(refname:strip=2)", "refs/heads"])
        names = branches.split()
        for line in out.splitlines():
            if line.startswith("ref: refs/heads/") and line.endswith("\tHEAD"):
                branch = line[len("ref: refs/heads/") : -len("\tHEAD")]
                if branch in names:
                    return branch
        for branch in ("main", "master"):
            if branch in names:
                return branch
        if len(names) == 1:
            return names[0]
        if not names:
            raise ForgeError(f"{cache.full_name}: the repository has no branches")
        raise ForgeError(
            f"{cache.full_name}: cannot tell the default branch (HEAD names no branch; "
            f"branches: {', '.join(names[:5])}{', ...' if len(names) > 5 else ''})"
        )

    def _read_tag(self, cache: _Cache, name: str) -> TagInfo | None:
        ref = f"refs/tags/{name}"
        out = self._local(cache, ["for-each-ref", f"--format={_FOR_EACH_REF}", ref])
        fields = out.split("\0")
        if len(fields) < 9 or fields[0] != ref:
            return None
        _, objtype, objsha, target_type, target_sha, tagger_name, tagger_email = fields[:7]
        if objtype != "tag":
            return TagInfo(name, objsha, annotated=False, target_type=objtype)
        signature, contents = fields[7], "\0".join(fields[8:])
        if signature and contents.endswith(signature):  # a signed tag: the message only
            contents = contents[: -len(signature)]
        message = contents[:-1] if contents.endswith("\n") else contents
        sha = target_sha
        if target_type == "tag":  # a tag of a tag: peel to the end
            sha = self._verify(cache, f"{objsha}^{{}}") or target_sha
        return TagInfo(
            name,
            sha,
            annotated=True,
            target_type=target_type,
            tag_sha=objsha,
            message=message,
            tagger_name=tagger_name or None,
            tagger_email=tagger_email.strip().removeprefix("<").removesuffix(">") or None,
        )

    def _mktag(self, cache: _Cache, name: str, commit: str, message: str, tagger: Tagger) -> str:
        """Write the tag object (no ref) and return its SHA."""
        date = tagger.date if tagger.date.tzinfo else tagger.date.replace(tzinfo=dt.UTC)
        epoch = int(date.timestamp())
        body = message if message.endswith("\n") else message + "\n"
        text = (
            f"object {commit}\ntype commit\ntag {name}\n"
            f"tagger {tagger.name} <{tagger.email}> {epoch} +0000\n\n{body}"
        )
        return self._local(cache, ["mktag"], stdin=text.encode()).strip()


def _equal(tag: TagInfo, commit: str, message: str, tagger: Tagger) -> bool:
    """The idempotency rule: same commit, message and tagger name/email (never the date)."""
    return (
        tag.annotated
        and tag.sha == commit
        and _strip_message(tag.message) == _strip_message(message)
        and tag.tagger_name == tagger.name
        and tag.tagger_email == tagger.email
    )


def _difference(tag: TagInfo | None, commit: str, message: str, tagger: Tagger) -> str | None:
    if tag is None:
        return None
    if not tag.annotated:
        return f"it is a lightweight tag on {tag.sha[:12]}; --force-tag replaces it"
    if tag.sha != commit:
        return f"it points at {tag.sha[:12]}, not {commit[:12]}; --force-tag moves it"
    if _strip_message(tag.message) != _strip_message(message):
        return f"its message is {_strip_message(tag.message)!r}"
    return f"its tagger is {tag.tagger_name} <{tag.tagger_email}>"


if TYPE_CHECKING:

    def _implements_forge(forge: GitForge) -> Forge:  # mypy checks the protocol here
        return forge
