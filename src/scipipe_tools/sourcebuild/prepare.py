"""``lsst-build prepare``: clone or fetch every product's repository, check out the refs.

Starting from the top-level products, a pool of ``jobs`` threads clones (or fetches) each
product's repository into ``sources/<product>``, checks out the first ref of the
fallback list that exists there, reads ``ups/<product>.table`` and queues the
dependencies it names -- required and optional ones, skipping what resolution skips
(optional deps in the exclusion map, ``--external`` deps, ``eups``, ``implicitProducts``).
When the queue is empty, :func:`~scipipe_tools.sourcebuild.plan.make_plan` resolves the
checkouts into the build plan, with versions.

Differences from lsst_build, on purpose:

- Every error is reported, not just the first: one :class:`PrepareError` lists each
  failed product on a line of its own.
- Retries wipe a directory only when wiping can help: a partial clone, or an existing
  repository that failed for a non-network reason (a corrupt or locked repository).
  An existing repository whose fetch hit the network is fetched again, not re-cloned.
  Deterministic failures (no ref exists, a table does not parse) are not retried.
- A branch is checked out with ``checkout -B <branch> <remote sha>``: lsst_build's
  ``checkout`` + ``reset --hard`` in one step.  Tags and SHAs are checked out by SHA
  (detached), so a tag that shares its name with a file or branch is no problem.
- A freshly cloned repository is not fetched again (the clone just did that).
- ``--no-fetch`` uses existing checkouts exactly as they are -- HEAD, local commits and
  uncommitted changes alike -- and only clones what is missing (lsst_build still checks
  out a ref in each, discarding local work).  An existing checkout's ref is reported as
  the first ref of the fallback list that names its HEAD commit (a user ``--ref``
  matches when it does), else ``HEAD``.  Its origin is not checked either: nothing is
  deleted under ``--no-fetch``.
- An optional dependency that is not in repos.yaml is skipped when no
  ``--repository-pattern`` is given; with patterns, it is tried once and skipped (with a
  warning) when no pattern URL clones.  A required one is an error naming the table's
  ``file:line``.
- LFS repositories are cloned and checked out without smudging; after every product is
  fetched, ``git lfs pull`` runs for them in parallel, with retries (in a checkout whose
  git config lacks git-lfs's filters, ``git lfs install --local`` first: without them the
  pull would download the files and leave the pointers in place).  When git-lfs is
  not installed a warning is logged and their work trees keep the LFS pointer files
  (the build of a product that needs the data fails or skips those tests).

Progress: as dependencies are discovered the number of repositories grows, which the
:class:`~scipipe_tools.infra.progress.Progress` protocol cannot express; so each time the
known set grows, a new ``fetching`` phase starts whose total is the number of
repositories not done yet.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import (
    EXIT_FAILURE,
    CommandError,
    InputError,
    Location,
    NetworkError,
    ResolutionError,
    ScipipeError,
    did_you_mean,
)
from ..eups.exclusions import DEFAULT as DEFAULT_EXCLUSIONS
from ..eups.exclusions import Exclusions
from ..eups.graph import NEVER_FOLLOWED
from ..eups.repos import DEFAULT_REF, Repos
from ..eups.table import TableContext
from ..infra import git
from ..infra.progress import NULL, Progress
from ..stack.readers import read_table
from .plan import Plan, make_plan

log = logging.getLogger(__name__)

#: Seam for the tests: how prepare waits between attempts.
_sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class PrepareOptions:
    repos: Repos
    sources: Path
    #: user refs (``--ref``), tried in order before the repos.yaml ref and ``main``
    refs: Sequence[str] = ()
    #: refs of ``refs`` that no product needs to use (a final release's ``v<tag>``, which
    #: only external repos carry); any other unused ref is an error, as in lsst_build
    optional_refs: Sequence[str] = ()
    exclusions: Exclusions = DEFAULT_EXCLUSIONS
    ctx: TableContext = field(default_factory=TableContext)
    #: False: ``--no-fetch``
    fetch: bool = True
    jobs: int = 8
    tries: int = 3
    retry_delay: float = 3.0


@dataclass(frozen=True)
class Checkout:
    product: str
    path: Path
    url: str
    sha: str
    #: the ref checked out: a branch or tag name, a SHA as given, or ``HEAD``
    ref: str
    ref_kind: str  # branch | tag | sha
    #: cloned or fetched by this run
    fetched: bool


@dataclass(frozen=True)
class Prepared:
    plan: Plan
    checkouts: Mapping[str, Checkout]


class PrepareError(ScipipeError):
    """One or more products could not be prepared; :attr:`errors` has each one's errors.

    The exit code is that of a network error when any error was one (so that a caller
    may retry later), else of the first kind found among resolution, input and command
    errors, in that order.
    """

    def __init__(self, errors: Mapping[str, Sequence[ScipipeError]]) -> None:
        self.errors = {p: tuple(errs) for p, errs in sorted(errors.items()) if errs}
        n = len(self.errors)
        lines = [f"{n} product{'s' if n != 1 else ''} could not be prepared:"]
        for product, errs in self.errors.items():
            lines.extend(f"  {product}: {_one_line(e)}" for e in errs)
        flat = [e for errs in self.errors.values() for e in errs]
        hints = list(dict.fromkeys(e.hint for e in flat if e.hint))
        super().__init__("\n".join(lines), hint=hints[0] if len(hints) == 1 else None)
        self.exit_code = _exit_code(flat)


def _one_line(exc: ScipipeError) -> str:
    return " ".join(str(exc).split())


def _exit_code(errors: Iterable[ScipipeError]) -> int:
    errs = list(errors)
    for cls in (NetworkError, ResolutionError, InputError, CommandError):
        for e in errs:
            if isinstance(e, cls):
                return e.exit_code
    return errs[0].exit_code if errs else EXIT_FAILURE


# --- one product ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Dep:
    name: str
    optional: bool
    where: Location


@dataclass(frozen=True)
class _Outcome:
    checkout: Checkout | None  # None: a speculative optional dep that does not exist
    deps: tuple[_Dep, ...] = ()
    #: problems that do not stop this product (a required dep that is nowhere)
    problems: tuple[ScipipeError, ...] = ()
    skipped_reason: str | None = None


class _Preparer:
    def __init__(self, options: PrepareOptions) -> None:
        self.o = options
        self.repos = options.repos

    def ref_candidates(self, product: str) -> list[str]:
        """User refs, then the repos.yaml ref (default ``main``), then ``main``."""
        spec = self.repos.get(product)
        refs = [*self.o.refs, spec.default_ref if spec else DEFAULT_REF, DEFAULT_REF]
        return list(dict.fromkeys(refs))

    def run(self, product: str, speculative: bool) -> _Outcome:
        """Prepare one product with retries (a speculative one: once, failures skip it)."""
        candidates = self.repos.candidates(product)
        tries = 1 if speculative else max(1, self.o.tries)
        path = self.o.sources / product
        for attempt in range(1, tries + 1):
            existed = path.exists()
            try:
                checkout = self.attempt(product, path, candidates)
                break
            except (NetworkError, CommandError) as exc:
                if speculative:
                    wipe(path)
                    return _Outcome(None, skipped_reason=_one_line(exc))
                if attempt == tries:
                    raise  # the directory is kept, for a look at what went wrong
                log.warning(
                    "%s: attempt %d of %d failed, retrying: %s", product, attempt, tries, exc
                )
                if not existed or not isinstance(exc, NetworkError):
                    wipe(path)
                _sleep(self.o.retry_delay)
        deps, problems = self.dependencies(product, path)
        return _Outcome(checkout, deps, problems)

    def attempt(self, product: str, path: Path, candidates: list[str]) -> Checkout:
        spec = self.repos.get(product)
        lfs = spec.lfs if spec else False
        url: str | None = None
        if path.exists():
            url = git.origin_url_fast(path) if not self.o.fetch else git.remote_url(path)
            if url not in candidates:
                origin = git.redact(url or "unset")
                wanted = ", ".join(git.redact(c) for c in candidates)
                then = "; used as is (--no-fetch)" if not self.o.fetch else ": cloning again"
                log.warning("%s: origin of %s is %s, not one of %s%s",
                            product, path, origin, wanted, then)  # fmt: skip
                if not self.o.fetch:
                    return self.as_is(product, path, url or "")
                wipe(path)
        if not path.exists():
            url = self.clone(product, path, candidates, lfs)
        elif self.o.fetch:
            git.fetch_mirror(path)
            git.set_head_auto(path)
        else:
            return self.as_is(product, path, url or "")
        assert url is not None
        resolved = self.select_ref(product, path)
        if resolved.kind == "branch":
            git.checkout(path, resolved.name, branch_at=resolved.sha, lfs_smudge=not lfs)
        else:
            git.checkout(path, resolved.sha, lfs_smudge=not lfs)
        git.clean(path)
        log.info("%s: at %s %s (%s)", product, resolved.kind, resolved.name, resolved.sha[:10])
        return Checkout(product, path, url, resolved.sha, resolved.name, resolved.kind, True)

    def as_is(self, product: str, path: Path, url: str) -> Checkout:
        """An existing checkout under ``--no-fetch``: HEAD, named by the first ref naming it."""
        sha = git.head_sha(path)
        candidates = self.ref_candidates(product)
        for ref in candidates:  # the usual case, without a subprocess: a branch
            if git.read_ref(path, f"refs/remotes/origin/{ref}") == sha:
                return Checkout(product, path, url, sha, ref, "branch", False)
        for ref in candidates:
            resolved = git.resolve_ref(path, ref)
            if resolved is not None and resolved.sha == sha:
                return Checkout(product, path, url, sha, ref, resolved.kind, False)
        return Checkout(product, path, url, sha, "HEAD", "sha", False)

    def clone(self, product: str, path: Path, candidates: list[str], lfs: bool) -> str:
        """Clone from the first candidate URL that works; return it."""
        failures: list[ScipipeError] = []
        for url in candidates:
            try:
                git.clone(url, path, lfs_smudge=not lfs)
                return url
            except (NetworkError, CommandError) as exc:
                failures.append(exc)
                wipe(path)
        if len(failures) == 1:
            raise failures[0]
        detail = "; ".join(f"[{i}] {_one_line(e)}" for i, e in enumerate(failures, 1))
        message = f"cannot clone from any of {len(failures)} URLs: {detail}"
        if any(isinstance(e, NetworkError) for e in failures):
            raise NetworkError(message, hint=failures[0].hint)
        first = failures[0]
        assert isinstance(first, CommandError)
        raise git.GitError(message, first)

    def select_ref(self, product: str, path: Path) -> git.ResolvedRef:
        for ref in self.ref_candidates(product):
            resolved = git.resolve_ref(path, ref)
            if resolved is not None:
                return resolved
        raise ResolutionError(
            f"None of the specified refs exist in product {product!r}: "
            + ", ".join(self.ref_candidates(product))
        )

    def dependencies(
        self, product: str, path: Path
    ) -> tuple[tuple[_Dep, ...], tuple[ScipipeError, ...]]:
        """The deps of ``product``'s table to fetch, and the required ones that are nowhere."""
        tfile = path / "ups" / f"{product}.table"
        if not tfile.is_file():
            log.info("%s: no %s; no dependencies", product, tfile)
            return (), ()
        table = read_table(tfile, strict=False)  # as EUPS (and lsst-build) read it
        deps: list[_Dep] = []
        problems: list[ScipipeError] = []
        for d in table.dependencies(self.o.ctx):
            name = d.product
            if name in NEVER_FOLLOWED or d.external or name == product:
                continue  # a self-dependency is reported by the plan
            if d.optional and self.o.exclusions.excludes(name, product):
                log.debug("%s: optional %s excluded", product, name)
                continue
            where = Location(str(tfile), d.line)
            if self.repos.get(name) is None and not self.repos.patterns:
                if d.optional:
                    log.info("%s: optional %s not in %s: skipped", product, name, self.repos.path)
                    continue
                problems.append(
                    ResolutionError(
                        f"{product} requires {name!r}, which is not in {self.repos.path}",
                        location=where,
                        hint=did_you_mean(name, self.repos),
                    )
                )
                continue
            deps.append(_Dep(name, d.optional, where))
        return tuple(deps), tuple(problems)


def wipe(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


# --- all products --------------------------------------------------------------------


def prepare(
    products: Sequence[str], options: PrepareOptions, progress: Progress = NULL
) -> Prepared:
    """Clone or fetch ``products`` and everything they need; check out the refs; plan."""
    if not products:
        raise InputError("no products given")
    if options.jobs < 1 or options.tries < 1:
        raise InputError("jobs and tries must be at least 1")
    for ref in options.refs:
        git.check_ref(ref)
    sources = options.sources
    if sources.exists() and not sources.is_dir():
        raise InputError(f"sources directory {sources} is not a directory")
    sources.mkdir(parents=True, exist_ok=True)

    checkouts, errors = _fetch_all(products, options, progress)
    if errors:
        raise PrepareError(errors)
    _check_refs(options, checkouts)
    if options.fetch:
        pull_lfs(options, checkouts, progress)
    plan = make_plan(
        products,
        sources,
        repos=options.repos,
        exclusions=options.exclusions,
        ctx=options.ctx,
        warn=False,  # the tables were read, and warned about, while fetching
        shas={name: c.sha for name, c in checkouts.items()},
    )
    stray = [p.name for p in plan.products if p.name not in checkouts]
    if stray:
        log.warning(
            "the plan uses %s from %s, which this run did not check out (left by an earlier run?)",
            ", ".join(stray),
            sources,
        )
    return Prepared(plan, dict(sorted(checkouts.items())))


def _fetch_all(
    products: Sequence[str], options: PrepareOptions, progress: Progress
) -> tuple[dict[str, Checkout], dict[str, list[ScipipeError]]]:
    preparer = _Preparer(options)
    checkouts: dict[str, Checkout] = {}
    errors: dict[str, list[ScipipeError]] = {}
    speculative: dict[str, bool] = {}  # product -> queued as an unlisted optional dep
    required_by: dict[str, list[_Dep]] = {}
    skipped: dict[str, str] = {}
    pending: dict[Future[_Outcome], str] = {}
    done = 0
    phase_total = -1

    with ThreadPoolExecutor(max_workers=options.jobs, thread_name_prefix="prepare") as pool:

        def enqueue(name: str, spec: bool) -> None:
            if name in speculative:
                return
            speculative[name] = spec
            if options.fetch or not (options.sources / name).is_dir():
                pending[pool.submit(preparer.run, name, spec)] = name
            else:  # a few files to read: quicker here than in a thread (a no-op rebuild)
                pending[_run_here(preparer, name, spec)] = name

        for p in dict.fromkeys(products):
            enqueue(p, False)
        while pending:
            if len(speculative) - done != phase_total:
                if phase_total >= 0:
                    progress.finish()
                phase_total = len(speculative) - done
                progress.start(phase_total, "fetching")
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                name = pending.pop(fut)
                done += 1
                progress.advance(name)
                try:
                    outcome = fut.result()
                except ScipipeError as exc:
                    errors.setdefault(name, []).append(exc)
                    continue
                except OSError as exc:  # the sources directory: permissions, disk full
                    errors.setdefault(name, []).append(ScipipeError(str(exc)))
                    continue
                if outcome.checkout is None:
                    skipped[name] = outcome.skipped_reason or ""
                    continue
                checkouts[name] = outcome.checkout
                if outcome.problems:
                    errors.setdefault(name, []).extend(outcome.problems)
                for dep in outcome.deps:
                    if not dep.optional:
                        required_by.setdefault(dep.name, []).append(dep)
                    listed = options.repos.get(dep.name) is not None
                    enqueue(dep.name, dep.optional and not listed)
            phase_total -= len(finished)
    if phase_total >= 0:
        progress.finish()
    for name, reason in skipped.items():
        if name in required_by:
            # queued as optional first, but something requires it after all
            where = required_by[name][0].where
            errors.setdefault(name, []).append(
                ResolutionError(f"required by {where}, but cannot be cloned: {reason}")
            )
        else:
            log.warning(
                "optional dependency %s skipped: not in %s and no --repository-pattern URL "
                "clones (%s)",
                name,
                options.repos.path,
                reason,
            )
    return checkouts, errors


def _run_here(preparer: _Preparer, name: str, speculative: bool) -> Future[_Outcome]:
    """``preparer.run`` in this thread, as the finished future a worker would leave."""
    future: Future[_Outcome] = Future()
    try:
        future.set_result(preparer.run(name, speculative))
    except Exception as exc:
        future.set_exception(exc)
    return future


def _check_refs(options: PrepareOptions, checkouts: Mapping[str, Checkout]) -> None:
    used = {c.ref for c in checkouts.values()}
    missed = [
        r for r in dict.fromkeys(options.refs) if r not in used and r not in options.optional_refs
    ]
    if missed:
        hint = None
        if not options.fetch:
            hint = "with --no-fetch, existing checkouts are used as they are: check one out"
        raise InputError(
            f"Did not checkout any products with the following refs: {', '.join(missed)}",
            hint=hint,
        )


def pull_lfs(
    options: PrepareOptions, checkouts: Mapping[str, Checkout], progress: Progress
) -> None:
    lfs = []
    for name in sorted(checkouts):
        spec = options.repos.get(name)
        if spec is not None and spec.lfs:
            lfs.append(name)
    if not lfs:
        return
    if not git.lfs_available():
        log.warning(
            "git-lfs is not installed: %s checked out with LFS pointer files instead of "
            "their content (install git-lfs and prepare again to get the data)",
            ", ".join(lfs),
        )
        return

    def pull(name: str) -> None:
        path = checkouts[name].path
        if git.lfs_configure(path):
            log.info("%s: git-lfs's filters configured for this checkout", name)
        for attempt in range(1, options.tries + 1):
            try:
                git.lfs_pull(path)
                return
            except (NetworkError, CommandError) as exc:
                if attempt == options.tries:
                    raise
                log.warning(
                    "%s: git lfs pull attempt %d of %d failed, retrying: %s",
                    name,
                    attempt,
                    options.tries,
                    exc,
                )
                _sleep(options.retry_delay)

    errors: dict[str, list[ScipipeError]] = {}
    progress.start(len(lfs), "git lfs pull")
    with ThreadPoolExecutor(max_workers=options.jobs, thread_name_prefix="lfs") as pool:
        futures = {pool.submit(pull, name): name for name in lfs}
        for fut in futures:
            name = futures[fut]
            try:
                fut.result()
            except ScipipeError as exc:
                errors[name] = [exc]
            progress.advance(name)
    progress.finish()
    if errors:
        raise PrepareError(errors)
