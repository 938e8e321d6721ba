"""``scipipe release tag``: tag every product repo of a release (codekit github-tag-release).

Read everything, then write.  The read phase (the manifest, the EUPS tag, repos.yaml, the
teams, each repo's current tag) runs concurrently and collects every problem; if there
is any, nothing is written and the exit code is their number.  The write phase then runs
``jobs`` repos at a time; each write is recorded in the ledger, so that a rerun after a
partial failure skips what is done and finishes the rest.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from ..errors import InputError, ScipipeError, at
from ..eups.manifest import Manifest
from ..eups.repos import Repos
from ..eups.taglist import TagList
from ..forge.base import Forge, ForgeStats, RateLimitError, Tagger
from ..infra.progress import NULL, Progress
from ..names import tags as tagnames
from . import plan
from .ledger import Ledger

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

DEFAULT_JOBS = 8
MAX_EXIT = 255


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    IN_SYNC = "in-sync"
    DONE_EARLIER = "done-earlier"
    WOULD_CREATE = "would-create"
    WOULD_UPDATE = "would-update"
    ERROR = "error"
    FAILED = "failed"
    NOT_RUN = "not-run"


@dataclass(frozen=True)
class TagRequest:
    git_tag: str
    manifest: Manifest
    repos: Repos
    tagger: Tagger
    allow_teams: Sequence[str]
    taglist: TagList | None = None
    deny_teams: Sequence[str] = ()
    external_teams: Sequence[str] = ()
    dry_run: bool = False
    verify: bool = False
    force_tag: bool = False
    ignore_manifest_versions: bool = False
    ignore_git_message: bool = False
    ignore_git_tagger: bool = False
    limit: int | None = None
    fail_fast: bool = False
    jobs: int = DEFAULT_JOBS
    ledger: Path | None = None
    forge_key: str = ""

    @property
    def eups_tag(self) -> str | None:
        return self.taglist.tag if self.taglist is not None else None


@dataclass
class RepoResult:
    product: str
    repo: str
    tag: str
    sha: str
    outcome: Outcome
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "product": self.product,
            "repo": self.repo,
            "tag": self.tag,
            "sha": self.sha,
            "outcome": self.outcome.value,
            "detail": self.detail,
        }


def outcome_counts(outcomes: Iterable[StrEnum]) -> dict[str, int]:
    """How many results had each outcome, by outcome name (sorted)."""
    return dict(sorted(Counter(o.value for o in outcomes).items()))


@dataclass
class TagResult:
    git_tag: str
    build_id: str
    eups_tag: str | None
    mode: str
    results: list[RepoResult] = field(default_factory=list)
    problems: list[plan.Problem] = field(default_factory=list)
    stats: ForgeStats | None = None
    aborted: str | None = None

    @property
    def errors(self) -> int:
        return len(self.problems) + sum(r.outcome is Outcome.FAILED for r in self.results)

    @property
    def exit_code(self) -> int:
        return min(self.errors, MAX_EXIT)

    def counts(self) -> dict[str, int]:
        return outcome_counts(r.outcome for r in self.results)

    def to_json(self) -> dict[str, Any]:
        stats = self.stats
        return {
            "git_tag": self.git_tag,
            "manifest": self.build_id,
            "eups_tag": self.eups_tag,
            "mode": self.mode,
            "errors": self.errors,
            "problems": [{"product": p.product, "message": p.message} for p in self.problems],
            "counts": self.counts(),
            "repos": [r.to_json() for r in self.results],
            "aborted": self.aborted,
            "api": None if stats is None else stats.to_json(),
        }


def run_parallel(
    items: Sequence[T],
    fn: Callable[[T], R],
    jobs: int,
    progress: Progress,
    label: str,
    name: Callable[[T], str],
    stop: threading.Event | None = None,
) -> list[tuple[T, R | None, BaseException | None]]:
    """``fn`` over ``items``, ``jobs`` at a time; stops submitting once ``stop`` is set.

    Items never started come back with neither a result nor an error.
    """
    out: dict[int, tuple[T, R | None, BaseException | None]] = {}
    progress.start(len(items), label)
    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            pending: dict[Future[R], int] = {}
            queue = list(enumerate(items))
            queue.reverse()
            while queue or pending:
                while queue and len(pending) < max(1, jobs) and not (stop and stop.is_set()):
                    i, item = queue.pop()
                    pending[pool.submit(fn, item)] = i
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    i = pending.pop(fut)
                    exc = fut.exception()
                    out[i] = (items[i], None if exc else fut.result(), exc)
                    progress.advance(name(items[i]))
            for i, item in queue:
                out[i] = (item, None, None)
    finally:
        progress.finish()
    return [out[i] for i in range(len(items))]


def tag_release(request: TagRequest, forge: Forge, progress: Progress = NULL) -> TagResult:
    """Plan, check and (unless dry-run or verify) write the release tags."""
    req = request
    _check_request(req)
    build_id = req.manifest.build_id or "?"
    mode = "verify" if req.verify else "dry-run" if req.dry_run else "write"
    result = TagResult(req.git_tag, build_id, req.eups_tag, mode)
    targets, problems = _targets(req, forge, build_id)
    run = _Tagging(
        req,
        forge,
        progress,
        ledger=Ledger(req.ledger, req.forge_key) if req.ledger is not None else None,
        compare=plan.Compare(message=not req.ignore_git_message, tagger=not req.ignore_git_tagger),
        problems=problems,
    )
    to_read = _skip_done_earlier(run, targets)
    try:
        _read_tags(run, to_read)
        _write_tags(run, _writes(run, to_read))
    except RateLimitError as exc:
        result.aborted = exc.message
        raise
    finally:
        if run.ledger is not None:
            run.ledger.close()
        order = {t.product: i for i, t in enumerate(targets)}
        result.results = sorted(run.results.values(), key=lambda r: order.get(r.product, 0))
        result.problems = run.problems
        result.stats = forge.stats()
    return result


@dataclass
class _Tagging:
    """What the steps of one :func:`tag_release` share."""

    req: TagRequest
    forge: Forge
    progress: Progress
    ledger: Ledger | None
    compare: plan.Compare
    problems: list[plan.Problem]
    #: product -> its outcome so far
    results: dict[str, RepoResult] = field(default_factory=dict)
    #: product -> what reading its tag decided
    decisions: dict[str, plan.Decision] = field(default_factory=dict)
    #: set by a failed write under --fail-fast: no further write starts
    stop: threading.Event = field(default_factory=threading.Event)


def _check_request(req: TagRequest) -> None:
    tagnames.check_git_tag(req.git_tag)
    if req.dry_run and req.verify:
        raise InputError("--dry-run and --verify cannot be combined")
    if not req.allow_teams:
        raise InputError("give at least one --allow-team")


def _targets(
    req: TagRequest, forge: Forge, build_id: str
) -> tuple[list[plan.Target], list[plan.Problem]]:
    """The repos to tag (the manifest's products, their repos, through the team gate)
    and every problem found on the way."""
    products, problems = plan.select(
        req.manifest,
        req.taglist,
        ignore_versions=req.ignore_manifest_versions,
        limit=req.limit,
    )
    targets, more = plan.resolve_repos(products, req.repos)
    problems += more
    wanted = list(dict.fromkeys([*req.allow_teams, *req.deny_teams, *req.external_teams]))
    members = forge.teams(wanted)
    targets, more = plan.gate(
        targets,
        members,
        allow=req.allow_teams,
        deny=req.deny_teams,
        external=req.external_teams,
        git_tag=req.git_tag,
        build_id=build_id,
        eups_tag=req.eups_tag,
        exists=forge.exists,
    )
    problems += more
    return targets, problems


def _skip_done_earlier(run: _Tagging, targets: Sequence[plan.Target]) -> list[plan.Target]:
    """The targets whose tag must be read: those the ledger does not record as done."""
    req, ledger = run.req, run.ledger
    to_read: list[plan.Target] = []
    for t in targets:
        if (
            ledger is not None
            and not req.verify
            and ledger.done(t.repo.full_name, t.tag, t.sha, t.message, req.tagger)
        ):
            run.results[t.product] = RepoResult(
                t.product, t.repo.full_name, t.tag, t.sha, Outcome.DONE_EARLIER, str(req.ledger)
            )
        else:
            to_read.append(t)
    return to_read


def _read_tags(run: _Tagging, to_read: Sequence[plan.Target]) -> None:
    """Read each target's tag, in parallel, and decide what it needs."""
    req, forge, ledger = run.req, run.forge, run.ledger

    def read(t: plan.Target) -> plan.Decision:
        rid = forge.repo(t.repo.full_name)
        return plan.decide(
            t, forge.get_tag(rid, t.tag), req.tagger, compare=run.compare, force=req.force_tag
        )

    for t, decision, exc in run_parallel(
        to_read, read, req.jobs, run.progress, "checking tags", lambda t: t.product
    ):
        if isinstance(exc, RateLimitError):
            raise exc
        if exc is not None:
            if not isinstance(exc, ScipipeError):
                raise exc
            run.problems.append(plan.Problem(t.product, at(str(t.repo), exc.message)))
            run.results[t.product] = _result(t, Outcome.ERROR, exc.message)
            continue
        assert decision is not None
        run.decisions[t.product] = decision
        if decision.action is plan.Action.CONFLICT:
            run.problems.append(
                plan.Problem(
                    t.product,
                    f"{t.repo}: tag {t.tag} exists and differs: {decision.reason} "
                    "(--force-tag moves it)",
                )
            )
            run.results[t.product] = _result(t, Outcome.ERROR, decision.reason)
        elif decision.action is plan.Action.IN_SYNC:
            log.info("%s: %s already in sync", t.repo, t.tag)
            run.results[t.product] = _result(t, Outcome.IN_SYNC)
            if ledger is not None and not (req.dry_run or req.verify):
                ledger.record(t.repo.full_name, t.tag, t.sha, t.message, req.tagger, "in-sync")


def _writes(run: _Tagging, to_read: Sequence[plan.Target]) -> list[plan.Target]:
    """The tags to write: none with --verify (each is a problem then), none once there
    is a problem, none with --dry-run (each is logged); the others' outcomes say why."""
    req, results, decisions = run.req, run.results, run.decisions
    writes = [t for t in to_read if decisions.get(t.product) and t.product not in results]
    if req.verify:
        for t in writes:
            verb = decisions[t.product].action.value
            run.problems.append(plan.Problem(t.product, f"{t.repo}: tag {t.tag} needs {verb}"))
            results[t.product] = _result(t, Outcome.ERROR, f"needs {verb}")
        writes = []
    if run.problems:
        for t in writes:
            results[t.product] = _result(t, Outcome.NOT_RUN, "errors found while checking")
        writes = []
    if req.dry_run:
        for t in writes:
            update = decisions[t.product].action is plan.Action.UPDATE
            log.info(
                "(noop) %s: %s %s -> %s",
                t.repo,
                "update" if update else "create",
                t.tag,
                t.sha[:12],
            )
            results[t.product] = _result(
                t,
                Outcome.WOULD_UPDATE if update else Outcome.WOULD_CREATE,
                decisions[t.product].reason,
            )
        writes = []
    return writes


def _write_one(run: _Tagging, t: plan.Target) -> Outcome:
    """Create or move one tag and record it in the ledger; a failure under --fail-fast
    stops the writes not yet started."""
    try:
        update = run.decisions[t.product].action is plan.Action.UPDATE
        rid = run.forge.repo(t.repo.full_name)
        run.forge.create_tag(rid, t.tag, t.sha, t.message, run.req.tagger, force=update)
        if run.ledger is not None:
            run.ledger.record(
                t.repo.full_name,
                t.tag,
                t.sha,
                t.message,
                run.req.tagger,
                "updated" if update else "created",
            )
        return Outcome.UPDATED if update else Outcome.CREATED
    except BaseException:
        if run.req.fail_fast:
            run.stop.set()
        raise


def _write_tags(run: _Tagging, writes: Sequence[plan.Target]) -> None:
    """Write the tags, ``jobs`` at a time; each outcome goes to the results."""
    req, results = run.req, run.results
    for t, outcome, exc in run_parallel(
        writes,
        lambda t: _write_one(run, t),
        req.jobs,
        run.progress,
        "writing tags",
        lambda t: t.product,
        run.stop,
    ):
        if isinstance(exc, RateLimitError):
            raise exc
        if exc is not None:
            if not isinstance(exc, ScipipeError):
                raise exc
            results[t.product] = _result(t, Outcome.FAILED, exc.message)
        elif outcome is None:
            results[t.product] = _result(t, Outcome.NOT_RUN, "stopped by --fail-fast")
        else:
            results[t.product] = _result(t, outcome, run.decisions[t.product].reason)


def _result(t: plan.Target, outcome: Outcome, detail: str = "") -> RepoResult:
    return RepoResult(t.product, t.repo.full_name, t.tag, t.sha, outcome, detail)
