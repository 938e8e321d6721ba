"""``scipipe release tag-teams``: tag every repo of some teams (codekit github-tag-teams).

The repos that are snapshot-tagged without being EUPS products (``DM Auxilliaries``)
get the release tag too, after the product repos (spec section 6: an aux repo wrongly
pulled into the build then fails product tagging first).

- Candidates are the repos of the allow teams; each is re-checked against the deny
  teams, and a repo in a deny team is an error.
- Target, per repo: for each ``-r REF`` in order, the branch, else the tag peeled to its
  commit (never a tag of a tag, which codekit makes); else the default branch's head.
- New tags are annotated, message ``Version <tag>``, tagger date in UTC.
- Existence is checked by name: an existing tag is an error unless
  ``ignore_existing_tag`` (then it is skipped, and the result says whether it matches).
- ``delete`` removes the refs ``refs/tags/<tag>`` only.

Every read comes first and every problem is reported before anything is written; the
writes then run ``jobs`` at a time and, unlike codekit, their errors are collected, not
fatal.  The exit code is the number of errors (at most 255).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..errors import InputError, ScipipeError, at
from ..forge.base import Forge, ForgeStats, RateLimitError, RepoId, Tagger, TagInfo
from ..infra.progress import NULL, Progress
from ..names import tags as tagnames
from .plan import Problem
from .tagging import DEFAULT_JOBS, MAX_EXIT, outcome_counts, run_parallel

log = logging.getLogger(__name__)

#: where a target came from when no ``-r`` ref exists in the repo
DEFAULT_BRANCH = "(default branch)"


class TeamOutcome(StrEnum):
    CREATED = "created"
    DELETED = "deleted"
    EXISTS = "exists"
    ABSENT = "absent"
    WOULD_CREATE = "would-create"
    WOULD_DELETE = "would-delete"
    ERROR = "error"
    FAILED = "failed"
    NOT_RUN = "not-run"


@dataclass(frozen=True)
class TeamTagRequest:
    tags: Sequence[str]
    tagger: Tagger
    allow_teams: Sequence[str]
    deny_teams: Sequence[str] = ()
    #: refs tried in order (branch, then tag) before the default branch's head
    refs: Sequence[str] = ()
    dry_run: bool = False
    delete: bool = False
    ignore_existing_tag: bool = False
    jobs: int = DEFAULT_JOBS


@dataclass
class TeamRepoResult:
    repo: str
    tag: str
    sha: str
    outcome: TeamOutcome
    #: the ``-r`` ref the commit was found by, or :data:`DEFAULT_BRANCH`
    ref: str = ""
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "repo": self.repo,
            "tag": self.tag,
            "sha": self.sha,
            "ref": self.ref,
            "outcome": self.outcome.value,
            "detail": self.detail,
        }


@dataclass
class TeamTagResult:
    tags: tuple[str, ...]
    mode: str
    results: list[TeamRepoResult] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    stats: ForgeStats | None = None
    aborted: str | None = None

    @property
    def errors(self) -> int:
        return len(self.problems) + sum(r.outcome is TeamOutcome.FAILED for r in self.results)

    @property
    def exit_code(self) -> int:
        return min(self.errors, MAX_EXIT)

    @property
    def pending_writes(self) -> int:
        """Writes planned but not made yet (what a confirmation asks about)."""
        return sum(
            r.outcome in (TeamOutcome.WOULD_CREATE, TeamOutcome.WOULD_DELETE) for r in self.results
        )

    def counts(self) -> dict[str, int]:
        return outcome_counts(r.outcome for r in self.results)

    def to_json(self) -> dict[str, Any]:
        stats = self.stats
        return {
            "tags": list(self.tags),
            "mode": self.mode,
            "errors": self.errors,
            "problems": [{"repo": p.product, "message": p.message} for p in self.problems],
            "counts": self.counts(),
            "repos": [r.to_json() for r in self.results],
            "aborted": self.aborted,
            "api": None if stats is None else stats.to_json(),
        }


def message_for(tag: str) -> str:
    """The annotated message of a team tag (codekit's)."""
    return f"Version {tag}"


@dataclass(frozen=True)
class _Read:
    """What the read phase found in one repo."""

    repo: RepoId
    sha: str
    ref: str
    existing: dict[str, TagInfo | None]


@dataclass(frozen=True)
class _Write:
    """One tag to create (or delete) in one repo."""

    repo: RepoId
    tag: str
    sha: str
    delete: bool = False

    def __str__(self) -> str:
        return f"{self.repo} {self.tag}"


def _differences(existing: TagInfo, sha: str) -> list[str]:
    diffs: list[str] = []
    if not existing.annotated:
        diffs.append("it is a lightweight tag")
    elif existing.target_type != "commit":
        diffs.append(f"it is a tag of a {existing.target_type}")
    if sha and existing.sha != sha:
        diffs.append(f"it points at {existing.sha[:12]}, not {sha[:12]}")
    return diffs


def candidates(
    members: dict[str, frozenset[str]], allow: Sequence[str], deny: Sequence[str]
) -> tuple[list[str], list[Problem]]:
    """The repos of the allow teams, sorted; those also in a deny team are problems."""
    repos = sorted({r for team in allow for r in members.get(team, frozenset())})
    kept: list[str] = []
    problems: list[Problem] = []
    for name in repos:
        denied = [team for team in deny if name in members.get(team, frozenset())]
        if denied:
            problems.append(Problem(name, f"{name} is in denied team {denied[0]!r}"))
        else:
            kept.append(name)
    return kept, problems


def _check(req: TeamTagRequest) -> None:
    if not req.tags:
        raise InputError("give at least one --tag")
    for tag in req.tags:
        tagnames.check_git_tag(tag)
    if not req.allow_teams:
        raise InputError("give at least one --allow-team")
    if req.delete and req.ignore_existing_tag:
        raise InputError("--delete and --ignore-existing-tag cannot be combined")
    if req.delete and req.refs:
        raise InputError("--delete takes no -r/--ref: it removes the tag wherever it points")


def tag_teams(
    request: TeamTagRequest,
    forge: Forge,
    progress: Progress = NULL,
    *,
    before_write: Callable[[TeamTagResult], None] | None = None,
) -> TeamTagResult:
    """Plan, check and (unless dry-run) write or delete the team tags.

    ``before_write`` is called with the planned result (outcomes ``would-*``) once
    everything is checked and before the first write; it may raise to cancel (the CLI's
    countdown before ``--delete``).
    """
    req = request
    _check(req)
    tags = tuple(dict.fromkeys(req.tags))
    mode = "dry-run" if req.dry_run else "delete" if req.delete else "write"
    result = TeamTagResult(tags, mode)
    members = forge.teams(list(dict.fromkeys([*req.allow_teams, *req.deny_teams])))
    repos, problems = candidates(members, req.allow_teams, req.deny_teams)
    result.problems = problems
    run = _TeamTagging(req, forge, progress, tags, problems)
    try:
        writes = _plan_writes(run, _read_repos(run, repos))
        result.results = run.results
        if req.dry_run:
            for w in writes:
                log.info("(noop) %s: %s %s at %s", w.repo, "delete" if w.delete else "create",
                         w.tag, w.sha[:12])  # fmt: skip
            writes = []
        if writes and before_write is not None:
            before_write(result)
        _write_team_tags(run, writes)
    except RateLimitError as exc:
        result.aborted = exc.message
        raise
    finally:
        result.results = run.results
        result.problems = problems
        result.stats = forge.stats()
    return result


@dataclass
class _TeamTagging:
    """What the steps of one :func:`tag_teams` share."""

    req: TeamTagRequest
    forge: Forge
    progress: Progress
    tags: tuple[str, ...]
    problems: list[Problem]
    #: one per repo and tag, in the order of the repos
    results: list[TeamRepoResult] = field(default_factory=list)


def _read_repos(run: _TeamTagging, repos: Sequence[str]) -> list[_Write]:
    """Read each repo's target and existing tags, in parallel; the writes they need
    (each repo's results and problems recorded)."""
    req, forge = run.req, run.forge

    def read(name: str) -> _Read:
        rid = forge.repo(name)
        existing = {tag: forge.get_tag(rid, tag) for tag in run.tags}
        if req.delete:
            return _Read(rid, "", "", existing)
        for ref in req.refs:
            sha = forge.resolve(rid, ref)
            if sha is not None:
                return _Read(rid, sha, ref, existing)
        return _Read(rid, forge.default_head(rid), DEFAULT_BRANCH, existing)

    writes: list[_Write] = []
    found = run_parallel(repos, read, req.jobs, run.progress, "checking repos", lambda n: n)
    for name, got, exc in found:
        if isinstance(exc, RateLimitError):
            raise exc
        if exc is not None:
            if not isinstance(exc, ScipipeError):
                raise exc
            run.problems.append(Problem(name, at(name, exc.message)))
            for tag in run.tags:
                run.results.append(
                    TeamRepoResult(name, tag, "", TeamOutcome.ERROR, "", exc.message)
                )
            continue
        assert got is not None
        writes += _repo_writes(run, name, got)
    return writes


def _repo_writes(run: _TeamTagging, name: str, got: _Read) -> list[_Write]:
    """What repo ``name`` needs for each tag, given what reading it found."""
    req = run.req
    writes: list[_Write] = []
    for tag in run.tags:
        existing = got.existing[tag]
        r = TeamRepoResult(name, tag, got.sha, TeamOutcome.NOT_RUN, got.ref)
        run.results.append(r)
        if req.delete:
            if existing is None:
                r.outcome = TeamOutcome.ABSENT
            else:
                r.sha = existing.sha
                writes.append(_Write(got.repo, tag, existing.sha, delete=True))
        elif existing is None:
            writes.append(_Write(got.repo, tag, got.sha))
        else:
            diffs = _differences(existing, got.sha)
            detail = "matches" if not diffs else "differs: " + "; ".join(diffs)
            if req.ignore_existing_tag:
                r.outcome, r.detail = TeamOutcome.EXISTS, detail
                log.info("%s: tag %s exists (%s): skipped", name, tag, detail)
            else:
                r.outcome, r.detail = TeamOutcome.ERROR, f"tag exists ({detail})"
                run.problems.append(
                    Problem(
                        name,
                        f"{name}: tag {tag} exists ({detail}) (--ignore-existing-tag skips it)",
                    )
                )
    return writes


def _plan_writes(run: _TeamTagging, writes: list[_Write]) -> list[_Write]:
    """No write once there is a problem; the others' outcomes become ``would-*``."""
    by_key = {(r.repo, r.tag): r for r in run.results}
    if run.problems:
        for w in writes:
            by_key[(w.repo.full_name, w.tag)].detail = "errors found while checking"
        writes = []
    for w in writes:
        by_key[(w.repo.full_name, w.tag)].outcome = (
            TeamOutcome.WOULD_DELETE if w.delete else TeamOutcome.WOULD_CREATE
        )
    return writes


def _write_team_tags(run: _TeamTagging, writes: Sequence[_Write]) -> None:
    """Create or delete the tags, ``jobs`` at a time; each outcome goes to its result."""
    req, forge = run.req, run.forge
    by_key = {(r.repo, r.tag): r for r in run.results}

    def write(w: _Write) -> TeamOutcome:
        if w.delete:
            forge.delete_tag(w.repo, w.tag)
            return TeamOutcome.DELETED
        forge.create_tag(w.repo, w.tag, w.sha, message_for(w.tag), req.tagger)
        return TeamOutcome.CREATED

    done = run_parallel(
        writes,
        write,
        req.jobs,
        run.progress,
        "deleting tags" if req.delete else "writing tags",
        str,
    )
    for w, outcome, exc in done:
        r = by_key[(w.repo.full_name, w.tag)]
        if isinstance(exc, RateLimitError):
            raise exc
        if exc is not None:
            if not isinstance(exc, ScipipeError):
                raise exc
            r.outcome, r.detail = TeamOutcome.FAILED, exc.message
        elif outcome is not None:
            r.outcome = outcome
