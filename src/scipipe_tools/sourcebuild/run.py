"""Build a plan into an EUPS stack: what ``lsst-build build`` does, done better.

- Products build in parallel as soon as their dependencies are installed, within one
  core budget (``-j``) shared between the products at once and the jobs within each
  (their ``NJOBS``): see :mod:`.budget`.
- A product whose exact version is already declared is skipped, so a no-op rebuild costs
  little more than reading the stack's database.
- A prebuilt ``<p>-<v>@<flavor>.tar.gz`` is fetched from a distrib root when one exists
  and its checksum verifies (``binary_root``; ``-B`` turns this off).
- Keep going: a failure skips only its dependents (``fail_fast`` stops starting more).
- Timeouts: a product whose build steps run longer than ``timeout`` seconds is stopped
  (its steps' whole process groups: SIGTERM, a grace period, SIGKILL) and fails with
  ``timed out after N s``, its log kept; past ``total_timeout`` the running products are
  stopped so and nothing new starts (``not-run``).  The status files are written then,
  and also when the build is interrupted (a signal): :class:`BuildInterrupted`.
- Installs are atomic: a product builds into a staging directory that is renamed into
  place, and it is declared only once its files are complete.  The declaration is the
  commit point, so a rerun after a failure or a kill rebuilds only what is missing.
- One build per stack at a time (:class:`StackLock`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BuildError, IntegrityError, ScipipeError
from ..eups.expandtable import expand_table
from ..eups.graph import transitive_deps
from ..eupspkg import recipe, setupenv
from ..eupspkg.recipe import Deadline, TimedOut
from ..eupspkg.setupenv import build_env
from ..infra import archive, git
from ..infra.fetch import Download, download
from ..infra.files import write_atomic
from ..infra.lock import StackLock
from ..infra.proc import seconds
from ..infra.progress import NULL, Progress
from ..infra.roots import open_root  # HTTP machinery: only when asked for
from ..names import outputs
from ..names import serverlayout as layout
from ..stack.stack import Stack
from ..stack.unpack import unpack_binary
from . import report
from .budget import available_cores, describe
from .buildenv import EnvChoice, EnvRecord, describe_environment, record_path
from .cache import env_key, open_cache
from .plan import Plan, PlannedProduct
from .scheduler import Interrupted, NodeResult, Status, estimates, run_dag, schedule

if TYPE_CHECKING:
    from ..infra.roots import Root

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildOptions:
    stack: Path
    #: logs, status.yaml/json, junit.xml and the timeline go here
    build_dir: Path
    sources: Path
    flavor: str
    #: the core budget: products at once times the jobs (NJOBS) of each never exceed it
    jobs: int = field(default_factory=available_cores)
    fail_fast: bool = False
    run_tests: bool = True
    #: distrib root (directory or http(s) URL) to fetch prebuilt tarballs from
    binary_root: str | None = None
    #: extra EUPS tags to clone from the build id (``-t TAG``)
    tags: Sequence[str] = ()
    #: environment the build starts from (default: ours)
    base_env: Mapping[str, str] | None = None
    #: the environment activated for every step (see :mod:`.buildenv`); None: none
    env: EnvChoice | None = None
    #: a binary cache shared by agents (directory or http(s) root): see :mod:`.cache`
    cache: str | None = None
    #: seconds each product's build steps may take (``--timeout``); None: no limit
    timeout: float | None = None
    #: seconds the whole build may take (``--total-timeout``), counted from ``started``
    #: (a ``time.monotonic()``; None: when :func:`build` starts); None: no limit
    total_timeout: float | None = None
    started: float | None = None


@dataclass
class BuildResult:
    build_id: str
    reports: list[report.ProductReport] = field(default_factory=list)
    status_yaml: Path | None = None
    status_json: Path | None = None
    junit: Path | None = None
    timeline: Path | None = None

    @property
    def failed(self) -> list[report.ProductReport]:
        return [r for r in self.reports if r.status == "failed"]

    @property
    def ok(self) -> bool:
        return all(r.status in report.OK_STATUSES for r in self.reports)


class _Builder:
    def __init__(self, plan: Plan, build_id: str, options: BuildOptions, stack: Stack) -> None:
        self.plan = plan
        self.build_id = build_id
        self.opt = options
        self.stack = stack
        self.by_name: dict[str, PlannedProduct] = {p.name: p for p in plan.products}
        self.graph = {p.name: p.deps for p in plan.products}
        self.logs = options.build_dir / outputs.LOGS_DIR
        self.base_env = dict(os.environ if options.base_env is None else options.base_env)
        #: the distrib root prebuilt tarballs come from (``--binary-root``), if any
        self.binary_root: Root | None = None
        if options.binary_root:
            self.binary_root = open_root(options.binary_root)
        self.cache = open_cache(options.cache)
        #: made once, when the first product is built from source
        self._env: setupenv.BuildEnvironment | None = None
        self._env_record: EnvRecord | None = None
        self._env_id = ""
        self._env_lock = threading.Lock()
        #: the whole build's deadline (``total_timeout``), and whether it stopped the run
        self.total: Deadline | None = None
        if options.total_timeout is not None:
            at = (options.started or time.monotonic()) + options.total_timeout
            self.total = Deadline(at, "timed out: the build's total timeout "
                                      f"({seconds(options.total_timeout)} s) ran out")  # fmt: skip
        self.out_of_time = False

    # -- one product ---------------------------------------------------------------

    def work(self, name: str, cores: int = 1) -> str:
        """Install ``name``; a source build runs with ``cores`` jobs (NJOBS)."""
        p = self.by_name[name]
        if self.stack.is_declared(p.name, p.version):
            self.stack.assign_tag(p.name, p.version, self.build_id)
            return "already-installed"
        logfile = self.logs / outputs.log_name(p.name)
        logfile.parent.mkdir(parents=True, exist_ok=True)
        logfile.write_text("")
        final = self.stack.product_dir(p.name, p.version)
        staging = final.with_name(f".{p.version}.staging-{os.getpid()}")
        # We hold the stack lock: staging dirs left by killed builds are debris.
        for stale in final.parent.glob(".*.staging-*"):
            shutil.rmtree(stale, ignore_errors=True)
        deadline = self._deadline()
        try:
            how = self._fetch_binary(p, staging, logfile) or self._from_cache(p, staging, logfile)
            if how is None:
                self._build_source(p, staging, logfile, cores, deadline)
                how = "built"
            self._finish_install(p, staging, final, logfile)
            if how == "built":
                self._to_cache(p, final, logfile)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if how == "built" and self._env_record is not None:
            self._env_record.built(p.name)
        return how

    def _deadline(self) -> Deadline | None:
        """A product's deadline, from its start: ``timeout``'s or the build's, the earlier."""
        own = None
        if self.opt.timeout is not None:
            own = Deadline(time.monotonic() + self.opt.timeout,
                           f"timed out after {seconds(self.opt.timeout)} s")  # fmt: skip
        if self.total is None or (own is not None and own.at <= self.total.at):
            return own
        return self.total

    def _stop(self) -> bool:
        """Past the total timeout nothing new starts (the scheduler's ``should_stop``)."""
        if self.total is not None and self.total.left() <= 0:
            self.out_of_time = True
        return self.out_of_time

    def _explain(self, r: NodeResult) -> NodeResult:
        """A product the total timeout left unstarted says so."""
        if r.status is Status.NOT_RUN and self.out_of_time and self.opt.total_timeout:
            why = f"not started: the build's total timeout ({seconds(self.opt.total_timeout)} s)"
            return dataclasses.replace(r, detail=f"{why} ran out")
        return r

    def environment(self) -> setupenv.BuildEnvironment:
        """The environment every product starts from: activated once, recorded once."""
        with self._env_lock:
            if self._env is None:
                choice = self.opt.env or EnvChoice(None, "none chosen")
                benv = setupenv.prepare(choice.prefix, self.base_env, self.stack.root)
                entry = describe_environment(choice, benv)
                self._env_record = EnvRecord(self.opt.build_dir, self.build_id, entry)
                self._env_id = env_key(entry)
                self._env = benv
            return self._env

    def _fetch_binary(self, p: PlannedProduct, staging: Path, logfile: Path) -> str | None:
        if self.binary_root is None:
            return None

        name = layout.tarball(p.name, p.version, self.opt.flavor)
        if not self.binary_root.exists(name):
            return None
        tarball = self.opt.build_dir / "downloads" / name
        try:
            # a build only takes a prebuilt product it can verify against a .sha256
            download(Download(self.binary_root, name, tarball), require_checksums=True)
            unpack_binary(tarball, staging, p.name, p.version, name)
        except IntegrityError as exc:
            log.warning("%s: %s; building from source", p.name, exc)
            with open(logfile, "a") as fh:
                fh.write(f"binary refused: {exc}\n")
            shutil.rmtree(staging, ignore_errors=True)
            return None
        finally:
            tarball.unlink(missing_ok=True)
        with open(logfile, "a") as fh:
            fh.write(f"installed prebuilt {name} from {self.binary_root}\n")
        return "installed-binary"

    def _env_key(self) -> str:
        """The cache's name for the build environment (activated, if not yet)."""
        self.environment()
        return self._env_id

    def _from_cache(self, p: PlannedProduct, staging: Path, logfile: Path) -> str | None:
        if self.cache is None:
            return None
        scratch = self.opt.build_dir / "downloads"
        got = self.cache.fetch(
            p.name, p.version, self.opt.flavor, self._env_key(), staging, scratch
        )
        if got is None:
            shutil.rmtree(staging, ignore_errors=True)
            return None
        with open(logfile, "a") as fh:
            fh.write(
                f"installed {got.tarball} from the cache {self.cache} (built by {got.built_by})\n"
            )
        return report.FROM_CACHE

    def _to_cache(self, p: PlannedProduct, final: Path, logfile: Path) -> None:
        if self.cache is None:
            return
        try:
            stored = self.cache.store(p.name, p.version, self.opt.flavor, self._env_key(), final)
        except (OSError, ScipipeError) as exc:  # the product is installed: the cache can wait
            log.warning("%s: not stored in the cache %s: %s", p.name, self.cache, exc)
            return
        with open(logfile, "a") as fh:
            fh.write(f"stored in the cache {self.cache} as {stored.tarball}\n" if stored
                     else f"the cache {self.cache} has it already\n")  # fmt: skip

    def _build_source(
        self, p: PlannedProduct, staging: Path, logfile: Path, jobs: int, deadline: Deadline | None
    ) -> None:
        src = self.opt.sources / p.name
        git.reset_hard(src, p.sha1)
        git.clean(src)
        deps = self._dep_versions(p.name)
        direct = [(d, self.by_name[d].version) for d in dict.fromkeys(p.deps)]
        benv = self.environment()
        env = build_env(self.stack, p.name, p.version, src, deps, self.build_id, benv.env)
        with open(logfile, "a") as fh:
            fh.writelines(f"{line}\n" for line in benv.header())
        ctx = recipe.BuildContext(
            p.name, p.version, self.opt.flavor, src, staging, env, logfile,
            jobs=jobs, run_tests=self.opt.run_tests, python=benv.python, deadline=deadline,
        )  # fmt: skip
        recipe.build(ctx)
        table = src / "ups" / f"{p.name}.table"
        if table.is_file():
            exact = [(d, v, False) for d, v in deps]
            write_atomic(staging / "ups" / f"{p.name}.table",
                         expand_table(table.read_text(), exact, dict(direct)))  # fmt: skip
        pkginfo = staging / "ups" / "pkginfo"
        pkginfo.parent.mkdir(parents=True, exist_ok=True)
        with open(pkginfo, "a") as fh:
            fh.write(f"SHA1={p.sha1}\n")

    def _dep_versions(self, name: str) -> list[tuple[str, str]]:
        """Transitive dependencies in build order with their versions."""
        closure = transitive_deps(self.graph, name)
        return [(d, self.by_name[d].version) for d in self.plan_order if d in closure]

    @property
    def plan_order(self) -> list[str]:
        return [p.name for p in self.plan.products]

    def _finish_install(self, p: PlannedProduct, staging: Path, final: Path, logfile: Path) -> None:
        # an installed product never holds a link out of its own folder (a repository's,
        # or one its build made); its folder is what a tarball of it will carry
        archive.check_links(staging, f"{p.name} {p.version}")
        if (staging / "ups").is_dir():
            shutil.copyfile(logfile, staging / "ups" / outputs.BUILD_LOG)
        if final.exists():  # left by a build that died before declaring it
            shutil.rmtree(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staging, final)
        self.stack.declare(p.name, p.version, final, tags=[self.build_id])

    # -- the whole plan -------------------------------------------------------------

    def run(self, progress: Progress) -> BuildResult:
        self.stack.register_global_tag(self.build_id)
        installed = all(self.stack.is_declared(p.name, p.version) for p in self.plan.products)
        if not installed:
            self.environment()  # a bad environment stops the build before it starts
        progress.start(len(self.plan.products), "building")
        durations = self._load_durations()
        weights = estimates(self.graph, durations)
        budget = max(1, self.opt.jobs)
        expected = schedule(self.graph, weights, budget)
        progress.note(describe(budget, expected))
        try:
            results = run_dag(
                self.graph,
                self.work,
                budget=budget,
                fail_fast=self.opt.fail_fast,
                weights=weights,
                on_start=lambda name, cores: progress.begin(name, _jobs(cores)),
                on_finish=lambda r: self._advance(progress, r),
                should_stop=self._stop,
                inline=installed,  # a no-op: tags to assign, nothing to run
            )
        except Interrupted as exc:  # a signal: what is known so far is reported
            progress.finish()
            raise BuildInterrupted(self._report(exc.results)) from None
        progress.finish()
        self._save_durations(durations, results)
        for tag in self.opt.tags:
            self.stack.clone_tag(self.build_id, tag)
        return self._report(results)

    def _advance(self, progress: Progress, r: NodeResult) -> None:
        r = self._explain(r)
        detail = (r.detail or r.status.value).strip().partition("\n")[0]
        if r.status in (Status.SKIPPED, Status.NOT_RUN):
            detail = f"{r.status.value} ({detail})"
        logfile = self.logs / outputs.log_name(r.name)
        fresh = r.started is not None and r.detail != report.ALREADY_INSTALLED
        if fresh and logfile.exists():  # not an earlier build's
            detail += f"; log: {logfile}"
        progress.advance(r.name, detail, failed=r.status is Status.FAILED)

    # Build times of earlier runs weigh the scheduler's priorities: the longest chain of
    # work starts first, which is what brings a build close to its ideal makespan.
    @property
    def _durations_file(self) -> Path:
        return self.opt.build_dir / outputs.DURATIONS

    def _load_durations(self) -> dict[str, float]:
        try:
            data = json.loads(self._durations_file.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: float(v) for k, v in data.items() if isinstance(v, int | float)}

    def _save_durations(
        self, durations: dict[str, float], results: Mapping[str, NodeResult]
    ) -> None:
        for name, r in results.items():
            if r.status is Status.OK and r.detail == report.BUILT and r.seconds is not None:
                durations[name] = round(r.seconds, 3)
        write_atomic(self._durations_file, json.dumps(durations, indent=1, sort_keys=True) + "\n")

    def _report(self, results: Mapping[str, NodeResult]) -> BuildResult:
        reports = []
        for p in self.plan.products:
            r = self._explain(results[p.name])
            logfile = self.logs / outputs.log_name(p.name)
            status = r.detail if r.status is Status.OK else r.status.value
            tail: list[str] = []
            if r.status is Status.FAILED and logfile.exists():
                tail = report.read_tail(logfile)
            detail = r.detail if r.status is not Status.FAILED else _message(r.error)
            reports.append(report.ProductReport(
                name=p.name, version=p.version, status=status, started=r.started,
                ended=r.ended, log=logfile if logfile.exists() else None, tail=tail,
                detail=detail, sha1=p.sha1, timed_out=isinstance(r.error, TimedOut),
                eups=self._eups_of(status),
            ))  # fmt: skip
        out = BuildResult(self.build_id, reports)
        out.status_yaml, out.status_json = report.write_status(
            self.opt.build_dir, self.build_id, reports, environment=self._env_summary()
        )
        out.junit = self.opt.build_dir / outputs.JUNIT
        report.write_junit(out.junit, reports)
        out.timeline = self.opt.build_dir / outputs.TIMELINE
        report.write_timeline(out.timeline, reports, f"build {self.build_id}")
        return out

    def _eups_of(self, status: str) -> str | None:
        """The EUPS integration a product built with (those that ran a build step)."""
        built = status in (report.BUILT, report.FAILED)
        return str(self._env.eups) if self._env is not None and built else None

    def _env_summary(self) -> dict[str, object]:
        choice = self.opt.env or EnvChoice(None, "none chosen")
        out: dict[str, object] = {**choice.to_json(), "record": None}
        if self._env_record is not None:
            out["record"] = str(record_path(self.opt.build_dir, self.build_id))
        return out


def _jobs(cores: int) -> str:
    return f"{cores} job{'s' if cores > 1 else ''}"


def _message(error: BaseException | None) -> str:
    if error is None:
        return ""
    if isinstance(error, KeyboardInterrupt):
        return "interrupted: the build was stopped (a signal) while this product was building"
    if isinstance(error, ScipipeError):
        return str(error)
    return f"{type(error).__name__}: {error}"


def build(
    plan: Plan, build_id: str, options: BuildOptions, progress: Progress = NULL
) -> BuildResult:
    """Build ``plan`` into ``options.stack`` under the global tag ``build_id``."""
    options = dataclasses.replace(
        options,
        stack=options.stack.resolve(),
        build_dir=options.build_dir.resolve(),
        sources=options.sources.resolve(),
    )
    if options.total_timeout is not None and options.started is None:
        options = dataclasses.replace(options, started=time.monotonic())
    with StackLock(options.stack):
        stack = Stack.create(options.stack, options.flavor)
        started = time.time()
        result = _Builder(plan, build_id, options, stack).run(progress)
        log.info("build %s finished in %.0f s", build_id, time.time() - started)
    if not result.ok:
        raise BuildFailed(result, _failure_message(result))
    return result


def _failure_message(result: BuildResult) -> str:
    """``2 product(s) failed: a, b; 3 not built (...)``."""
    parts = []
    if result.failed:
        names = ", ".join(r.name for r in result.failed)
        parts.append(f"{len(result.failed)} product(s) failed: {names}")
    unstarted = [r for r in result.reports if r.status == report.NOT_RUN]
    if unstarted:
        parts.append(f"{len(unstarted)} not built ({unstarted[0].detail})")
    return "; ".join(parts) or "the build did not finish"


class BuildInterrupted(KeyboardInterrupt):
    """The build was interrupted (a signal): the running products' process groups were
    taken down and the status files written; ``result`` holds them.  Being a
    KeyboardInterrupt, it ends the command as the interrupt would have."""

    def __init__(self, result: BuildResult) -> None:
        super().__init__("interrupted")
        self.result = result


class BuildFailed(BuildError):
    """Some products failed; the result (reports, status files) is attached."""

    def __init__(self, result: BuildResult, message: str) -> None:
        super().__init__(message, hint=f"see {result.status_json}")
        self.result = result
