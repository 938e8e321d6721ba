"""Run the nodes of a dependency graph in parallel, critical path first.

:func:`run_dag` is a list scheduler: a node becomes ready once all its dependencies
finished OK, at most ``jobs`` run at once (in threads: the work is subprocess-bound), and
among ready nodes the one with the longest weighted path to the end of the graph (its
*bottom level*) starts first.  With good weights (durations from a previous build) this
lands close to the ideal makespan, ``max(critical path, total work / jobs)``.

Failures do not stop the build (lsst_build stopped at the first one): a failed node's
dependents are skipped and everything else goes on, unless ``fail_fast`` asks otherwise.

The pure helpers (:func:`bottom_levels`, :func:`ideal_makespan`, :func:`simulate`) make
the schedule quality measurable without running anything.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from .. import proc
from ..errors import InputError, ScipipeError
from ..eups.graph import toposort

_T = TypeVar("_T")


class Status(StrEnum):
    OK = "ok"
    FAILED = "failed"
    #: a dependency failed or was skipped
    SKIPPED = "skipped"
    #: never started: fail-fast stopped the run, ``should_stop`` said so, or an interrupt
    NOT_RUN = "not-run"


@dataclass(frozen=True)
class NodeResult:
    name: str
    status: Status
    #: what ``work`` returned (OK), the error message (FAILED), why it did not run
    detail: str
    #: ``time.time()`` when ``work`` started and ended; None when it never ran
    started: float | None
    ended: float | None
    #: the exception ``work`` raised (FAILED only)
    error: BaseException | None = None

    @property
    def seconds(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started


class Interrupted(KeyboardInterrupt):
    """A KeyboardInterrupt that arrived during :func:`run_dag`, after it wound down.

    ``results`` holds every node's result: the ones that were running finished, the
    rest are NOT_RUN.  Being a KeyboardInterrupt, it ends a program like one.
    """

    def __init__(self, results: dict[str, NodeResult]) -> None:
        super().__init__("interrupted")
        self.results = results


def run_dag(
    graph: Mapping[str, Sequence[str]],
    work: Callable[[str], str],
    *,
    jobs: int,
    fail_fast: bool = False,
    weights: Mapping[str, float] | None = None,
    on_start: Callable[[str], None] | None = None,
    on_finish: Callable[[NodeResult], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, NodeResult]:
    """Run ``work(node)`` for every node of ``graph`` (node -> its dependencies).

    A node starts once all its dependencies finished OK; at most ``jobs`` run at once;
    among the ready ones the highest :func:`bottom_levels` priority goes first (ties
    alphabetically).  ``weights`` are estimated durations (default 1 each).

    ``work`` returns a short detail ("built", "already-installed"...); an exception it
    raises marks the node FAILED and its transitive dependents SKIPPED, and the rest
    goes on.  With ``fail_fast`` nothing new starts after the first failure: the running
    nodes finish, the unstarted ones are NOT_RUN.  ``should_stop()`` is asked before
    each start; once it says True the run winds down the same way.

    A KeyboardInterrupt in the caller's thread (or raised by ``work``) stops new starts,
    takes down the process groups the running nodes started (see :mod:`~scipipe_tools.proc`:
    they end with :class:`~scipipe_tools.proc.Stopped`), waits for the running nodes and
    raises :class:`Interrupted` carrying every result.

    ``work`` runs in worker threads.  The callbacks all run in the caller's thread, one
    at a time, so they need no locking: ``on_start(node)`` just before a node is handed
    to a worker, ``on_finish(result)`` once for every node, including skipped and
    not-run ones.  An exception from a callback winds the run down (no more callbacks)
    and propagates.

    Returns every node's result, in :func:`~scipipe_tools.eups.graph.toposort` order.
    Raises ResolutionError for a cycle or a dependency that is not a node.
    """
    if jobs < 1:
        raise InputError(f"the number of parallel jobs must be at least 1, not {jobs}")
    order = [n for level in toposort(graph) for n in level]
    return _Run(graph, order, work, jobs, fail_fast, weights, on_start, on_finish, should_stop)()


class _Run:
    """The coordinator's state: the caller's thread alone touches it, but ``outcomes``."""

    def __init__(
        self,
        graph: Mapping[str, Sequence[str]],
        order: list[str],
        work: Callable[[str], str],
        jobs: int,
        fail_fast: bool,
        weights: Mapping[str, float] | None,
        on_start: Callable[[str], None] | None,
        on_finish: Callable[[NodeResult], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        self.order = order
        self.work = work
        self.jobs = jobs
        self.fail_fast = fail_fast
        self.on_start = on_start
        self.on_finish = on_finish
        self.should_stop = should_stop
        self.priority = bottom_levels(graph, weights)
        self.dependents = _dependents(graph)
        self.waiting = {n: len(set(graph[n])) for n in order}
        self.ready = [(-self.priority[n], n) for n in order if self.waiting[n] == 0]
        heapq.heapify(self.ready)
        self.running: dict[Future[_Outcome], str] = {}
        #: what workers did, written by them (under the lock) as each node ends; the
        #: coordinator's record of its futures can miss one when an interrupt lands
        #: mid-bookkeeping, this cannot
        self.outcomes: dict[str, _Outcome] = {}
        self.lock = threading.Lock()
        self.results: dict[str, NodeResult] = {}
        self.stop_reason: str | None = None
        self.callbacks = True

    def __call__(self) -> dict[str, NodeResult]:
        pool = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="scipipe-build")
        with proc.Scope() as children:
            try:
                self._loop(pool)
            except KeyboardInterrupt:
                # The running nodes' processes are in groups of their own, out of the
                # terminal's reach: take them down, so that the nodes end now.
                children.stop()
                self._wind_down(pool, "not started: interrupted")
                raise Interrupted(self._ordered()) from None
            except BaseException:
                self.callbacks = False
                self._wind_down(pool, "not started: the build was aborted")
                raise
            pool.shutdown(wait=True)
        return self._ordered()

    def _loop(self, pool: ThreadPoolExecutor) -> None:
        while True:
            while self.stop_reason is None and self.ready and len(self.running) < self.jobs:
                if self.should_stop is not None and self.should_stop():
                    self.stop_reason = "not started: the build was stopped"
                    break
                _, node = heapq.heappop(self.ready)
                self._call(self.on_start, node)
                self.running[pool.submit(self._attempt, node)] = node
            if not self.running:
                break
            done, _ = wait(self.running, return_when=FIRST_COMPLETED)
            interrupted = [self._collect(f) for f in sorted(done, key=lambda f: self.running[f])]
            if any(interrupted):
                raise KeyboardInterrupt
        self._mark_unstarted()

    def _attempt(self, node: str) -> _Outcome:
        """Run one node (in a worker thread)."""
        outcome = _attempt(self.work, node)
        with self.lock:
            self.outcomes[node] = outcome
        return outcome

    def _collect(self, future: Future[_Outcome]) -> bool:
        node = self.running.pop(future)
        return self._record(node, future.result())  # _attempt never raises

    def _record(self, node: str, outcome: _Outcome) -> bool:
        """Record a finished node; True when ``work`` was interrupted."""
        if node in self.results:
            return False
        if outcome.error is None:
            self._finish(NodeResult(node, Status.OK, outcome.detail, *outcome.times))
            for m in self.dependents[node]:
                self.waiting[m] -= 1
                if self.waiting[m] == 0 and m not in self.results:
                    heapq.heappush(self.ready, (-self.priority[m], m))
            return False
        self._finish(NodeResult(node, Status.FAILED, outcome.detail, *outcome.times, outcome.error))
        self._skip_dependents(node)
        if self.fail_fast and self.stop_reason is None:
            self.stop_reason = f"not started: {node} failed and fail-fast is on"
        return isinstance(outcome.error, KeyboardInterrupt)

    def _skip_dependents(self, failed: str) -> None:
        todo = list(self.dependents[failed])
        while todo:
            m = todo.pop()
            if m in self.results:
                continue
            self._finish(NodeResult(m, Status.SKIPPED, f"dependency {failed} failed", None, None))
            todo.extend(self.dependents[m])
        # No skipped node is in the ready heap: a ready node's dependencies, direct and
        # indirect, all finished OK, so no failure reaches it.

    def _wind_down(self, pool: ThreadPoolExecutor, reason: str) -> None:
        """Start nothing more, let the running nodes finish, mark the rest NOT_RUN."""
        if self.stop_reason is None:
            self.stop_reason = reason
        while self.running:  # reported as each one ends
            done, _ = wait(self.running, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: self.running[f]):
                self._collect(future)
        # A node submitted just as the interrupt landed may be missing from
        # self.running: joining the workers lets it end, and its outcome is recorded.
        pool.shutdown(wait=True, cancel_futures=True)
        with self.lock:
            late = dict(self.outcomes)
        for node in self.order:
            if node in late:
                self._record(node, late[node])
        self._mark_unstarted()

    def _mark_unstarted(self) -> None:
        reason = self.stop_reason or "not started"
        for node in self.order:
            if node not in self.results:
                self._finish(NodeResult(node, Status.NOT_RUN, reason, None, None))
        self.ready = []

    def _finish(self, result: NodeResult) -> None:
        self.results[result.name] = result
        self._call(self.on_finish, result)

    def _call(self, callback: Callable[[_T], None] | None, arg: _T) -> None:
        if callback is not None and self.callbacks:
            callback(arg)

    def _ordered(self) -> dict[str, NodeResult]:
        return {n: self.results[n] for n in self.order if n in self.results}


@dataclass(frozen=True)
class _Outcome:
    detail: str
    times: tuple[float, float]
    error: BaseException | None


def _attempt(work: Callable[[str], str], node: str) -> _Outcome:
    """Run one node in a worker thread; every exception becomes part of the outcome."""
    started = time.time()
    try:
        detail = work(node)
    except BaseException as exc:  # a node's failure is data
        return _Outcome(_describe(exc), (started, time.time()), exc)
    return _Outcome(str(detail), (started, time.time()), None)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, ScipipeError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _dependents(graph: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    rev: dict[str, list[str]] = {n: [] for n in graph}
    for node in sorted(graph):
        for dep in sorted(set(graph[node])):
            rev[dep].append(node)
    return rev


# -- schedule quality, without running anything ----------------------------------------


def bottom_levels(
    graph: Mapping[str, Sequence[str]], weights: Mapping[str, float] | None = None
) -> dict[str, float]:
    """Each node's weight plus the heaviest chain of dependents above it.

    The run can end no earlier than a node's start plus its bottom level, so the ready
    node with the highest one should start first.  Weights default to 1.0 each.
    """
    levels = toposort(graph)
    dependents = _dependents(graph)
    out: dict[str, float] = {}
    for level in reversed(levels):
        for node in level:
            above = max((out[m] for m in dependents[node]), default=0.0)
            out[node] = _weight(weights, node) + above
    return out


def critical_path(graph: Mapping[str, Sequence[str]], durations: Mapping[str, float]) -> float:
    """The length of the heaviest dependency chain: no schedule is shorter."""
    return max(bottom_levels(graph, durations).values(), default=0.0)


def ideal_makespan(
    graph: Mapping[str, Sequence[str]], durations: Mapping[str, float], jobs: int
) -> float:
    """A lower bound on any schedule's length: ``max(critical path, total work / jobs)``."""
    total = sum(durations[n] for n in graph)
    return max(critical_path(graph, durations), total / jobs)


def serial_time(graph: Mapping[str, Sequence[str]], durations: Mapping[str, float]) -> float:
    """The time of lsstsw's one-at-a-time build in manifest order: the sum of all work."""
    return sum(durations[n] for n in graph)


def simulate(
    graph: Mapping[str, Sequence[str]],
    durations: Mapping[str, float],
    jobs: int,
    weights: Mapping[str, float] | None = None,
) -> float:
    """The makespan :func:`run_dag`'s policy reaches when work takes exactly ``durations``.

    Priorities come from ``weights`` (default: the durations themselves, i.e. perfect
    estimates).  Comparing a real run with this separates threading overhead from the
    list-scheduling gap.
    """
    if jobs < 1:
        raise InputError(f"the number of parallel jobs must be at least 1, not {jobs}")
    priority = bottom_levels(graph, durations if weights is None else weights)
    dependents = _dependents(graph)
    waiting = {n: len(set(deps)) for n, deps in graph.items()}
    ready = [(-priority[n], n) for n in graph if waiting[n] == 0]
    heapq.heapify(ready)
    events: list[tuple[float, str]] = []
    now = 0.0
    while ready or events:
        while ready and len(events) < jobs:
            _, node = heapq.heappop(ready)
            heapq.heappush(events, (now + durations[node], node))
        now, node = heapq.heappop(events)
        for m in dependents[node]:
            waiting[m] -= 1
            if waiting[m] == 0:
                heapq.heappush(ready, (-priority[m], m))
    return now


def _weight(weights: Mapping[str, float] | None, node: str) -> float:
    return 1.0 if weights is None else float(weights.get(node, 1.0))
