"""Run the nodes of a dependency graph in parallel, critical path first, within a core budget.

:func:`run_dag` is a list scheduler: a node becomes ready once all its dependencies
finished OK, and among ready nodes the one with the longest weighted path to the end of
the graph (its *bottom level*) starts first.  With good weights (durations from a
previous build) this lands close to the ideal makespan,
``max(critical path, total work / budget)``.

One budget of cores is shared between the nodes that run at once and the jobs within
each (a product's ``NJOBS``): every node gets its cores when it starts, keeps them until
it ends, and the cores of the running nodes never add up to more than the budget.  See
:func:`split` for the policy: many ready nodes run side by side with one core each, a lone
one gets the whole budget, and in between the budget is shared out by bottom level.

Failures do not stop the build (lsst_build stopped at the first one): a failed node's
dependents are skipped and everything else goes on, unless ``fail_fast`` asks otherwise.

The pure helpers (:func:`bottom_levels`, :func:`ideal_makespan`, :func:`simulate`) make
the schedule quality measurable without running anything.
"""

from __future__ import annotations

import contextlib
import heapq
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum, StrEnum

from ..errors import InputError, ScipipeError
from ..eups.graph import toposort
from ..infra import proc
from .budget import Slot, split


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
    #: the cores of the budget it ran with (0 when it never ran)
    cores: int = 0

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
    work: Callable[[str, int], str],
    *,
    budget: int,
    fail_fast: bool = False,
    weights: Mapping[str, float] | None = None,
    on_start: Callable[[str, int], None] | None = None,
    on_finish: Callable[[NodeResult], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    inline: bool = False,
) -> dict[str, NodeResult]:
    """Run ``work(node, cores)`` for every node of ``graph`` (node -> its dependencies).

    A node starts once all its dependencies finished OK, with ``cores`` of the
    ``budget`` that are its own until it ends (:func:`~.budget.split` decides how many);
    the running nodes' cores never add up to more than ``budget``.  Among the ready
    nodes the highest :func:`bottom_levels` priority goes first (ties alphabetically).
    ``weights`` are estimated durations (default 1 each).

    ``work`` returns a short detail ("built", "already-installed"...); an exception it
    raises marks the node FAILED and its transitive dependents SKIPPED, and the rest
    goes on.  With ``fail_fast`` nothing new starts after the first failure: the running
    nodes finish, the unstarted ones are NOT_RUN.  ``should_stop()`` is asked before
    each start, in whichever thread starts the node (the caller's, or the worker's that
    ended a node), with the run's lock held: it must be quick and must not call into
    the run.  Once it says True the run winds down the same way.

    A KeyboardInterrupt in the caller's thread (or raised by ``work``) stops new starts,
    takes down the process groups the running nodes started (see :mod:`~scipipe_tools.infra.proc`:
    they end with :class:`~scipipe_tools.infra.proc.Stopped`), waits for the running nodes and
    raises :class:`Interrupted` carrying every result.

    ``work`` runs in worker threads.  The worker that ends a node does the scheduling
    itself and goes on with the highest-priority node that can start then (no hand-off
    between threads on a chain); the other nodes starting then go to idle workers.  The
    callbacks all run in the caller's thread, one at a time and in the order things
    happened, so they need no locking; the starts never wait for them.
    ``on_start(node, cores)`` comes as the node starts (it may already be running),
    ``on_finish(result)`` once for every node after its ``on_start``, including skipped
    and not-run ones.  An exception from a callback winds the run down (nothing more
    starts, no more callbacks) and propagates.

    ``inline``: ``work`` runs in the caller's thread, one node at a time, in the order
    the nodes start (for work known to be quick, such as a no-op rebuild's: threads
    would only add their hand-offs).

    Returns every node's result, in :func:`~scipipe_tools.eups.graph.toposort` order.
    Raises ResolutionError for a cycle or a dependency that is not a node.
    """
    _check_budget(budget)
    levels = toposort(graph)
    run = _Run(graph, levels, work, budget, fail_fast, weights, on_start, on_finish, should_stop)
    return run(inline)


def _check_budget(budget: int) -> None:
    if budget < 1:
        raise InputError(f"the core budget (-j) must be at least 1, not {budget}")


class _Mark(Enum):
    #: every node has its result: the last event
    DONE = "done"
    #: ``work`` raised KeyboardInterrupt: the caller's thread raises it in turn
    INTERRUPT = "interrupt"


@dataclass(frozen=True)
class _Raise:
    """``should_stop`` raised this in a worker: the caller's thread raises it in turn."""

    error: BaseException


#: what the caller's thread is told, in order: a start (node, cores), a result, or a mark
_Event = tuple[str, int] | NodeResult | _Mark | _Raise


class _Run:
    """One run's state, changed under ``lock`` only, by whichever thread ends a node (or
    the caller's, at the start and when it winds down)."""

    def __init__(
        self,
        graph: Mapping[str, Sequence[str]],
        levels: Sequence[Sequence[str]],
        work: Callable[[str, int], str],
        budget: int,
        fail_fast: bool,
        weights: Mapping[str, float] | None,
        on_start: Callable[[str, int], None] | None,
        on_finish: Callable[[NodeResult], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> None:
        self.order = order = [n for level in levels for n in level]
        self.work = work
        self.budget = budget
        #: the started nodes that have not ended, with their cores (at most budget in all)
        self.running: dict[str, int] = {}
        self.free = budget
        self.fail_fast = fail_fast
        self.on_start = on_start
        self.on_finish = on_finish
        self.should_stop = should_stop
        self.dependents = _dependents(graph)
        self.priority = _bottom_levels(levels, self.dependents, weights)
        self.waiting = {n: len(set(graph[n])) for n in order}
        self.ready = [(-self.priority[n], n) for n in order if self.waiting[n] == 0]
        heapq.heapify(self.ready)
        self.lock = threading.Lock()
        #: started nodes handed to a worker (or, inline, to the caller) that has not taken
        #: them up yet: a wind-down takes them back (NOT_RUN)
        self.unclaimed: set[str] = set()
        self.results: dict[str, NodeResult] = {}
        self.stop_reason: str | None = None
        #: the callbacks' events, put under the lock; the caller's thread alone takes
        #: them, woken by a token each in ``wake`` (an interrupt may lose a token as
        #: it wakes the caller, never an event)
        self.events: deque[_Event] = deque()
        self.wake: queue.SimpleQueue[None] = queue.SimpleQueue()
        self.done = False  # _Mark.DONE was put
        self.inline = False  # set before the first start
        # the caller's thread alone uses these:
        self.callbacks = True
        self.pool: ThreadPoolExecutor | None = None
        self.pending: deque[tuple[str, int]] = deque()  # inline: started, to run

    def __call__(self, inline: bool) -> dict[str, NodeResult]:
        self.inline = inline
        if not inline:  # every running node holds a core at least
            self.pool = ThreadPoolExecutor(self.budget, thread_name_prefix="scipipe-build")
        with proc.Scope() as children:
            try:
                with self.lock:
                    starts = self._start_ready()
                    self._check_done()
                self._hand_off(starts)
                self._serve()
            except KeyboardInterrupt:
                # The running nodes' processes are in groups of their own, out of the
                # terminal's reach: take them down, so that the nodes end now.
                children.stop()
                self._wind_down("not started: interrupted")
                raise Interrupted(self._ordered()) from None
            except BaseException:
                self.callbacks = False
                self._wind_down("not started: the build was aborted")
                raise
            if self.pool is not None:
                # Every node ended: the idle workers exit on their own, with nothing left
                # to run; joining them would only delay the return (by a wake-up each).
                self.pool.shutdown(wait=False)
        return self._ordered()

    def _serve(self) -> None:
        """The caller's thread: deliver the events (and, inline, run the nodes) until
        every node has its result."""
        while True:
            while self.events:
                event = self.events.popleft()
                if event is _Mark.DONE:
                    return
                if event is _Mark.INTERRUPT:
                    raise KeyboardInterrupt
                if isinstance(event, _Raise):
                    raise event.error
                self._deliver(event)
            if self.pending:
                node, cores = self.pending.popleft()
                self._chain(node, cores)
            else:
                self.wake.get()

    def _deliver(self, event: tuple[str, int] | NodeResult) -> None:
        if not self.callbacks:
            return
        if isinstance(event, NodeResult):
            if self.on_finish is not None:
                self.on_finish(event)
        elif self.on_start is not None:
            self.on_start(*event)

    def _put(self, event: _Event) -> None:
        """Tell the caller's thread (under the lock, so in the order things happen)."""
        self.events.append(event)
        self.wake.put(None)

    def _hand_off(self, starts: Sequence[tuple[str, int]]) -> None:
        for node, cores in starts:
            if self.pool is None:
                self.pending.append((node, cores))
            else:
                self.pool.submit(self._chain, node, cores)

    def _chain(self, node: str, cores: int) -> None:
        """Run a started node, then the ones the thread goes on with (in a worker, or
        the caller's thread when inline)."""
        with self.lock:
            if node not in self.unclaimed:  # a wind-down took it back
                return
            self.unclaimed.discard(node)
        step: tuple[str, int] | None = (node, cores)
        try:
            while step is not None:
                step = self._step(*step)
        except BaseException as exc:  # a bug in the bookkeeping, in a worker: not a hang
            if self.pool is None:
                raise  # inline: the caller's thread, which raises it
            with self.lock:
                self.stop_reason = self.stop_reason or "not started: the build was aborted"
                if step is not None:  # the node being recorded: it ran
                    self.running.pop(step[0], None)
                self._put(_Raise(exc))
                self._check_done()

    def _step(self, node: str, cores: int) -> tuple[str, int] | None:
        """Run one node and record it; what to run next in this thread, if anything."""
        outcome = _attempt(self.work, node, cores)
        here: tuple[str, int] | None = None
        with self.lock:
            self._record(node, outcome)
            starts = self._start_ready()
            if starts and not self.inline:  # the first, highest priority, runs here
                here, starts = starts[0], starts[1:]
                self.unclaimed.discard(here[0])
            self._check_done()
        self._hand_off(starts)
        return here

    def _start_ready(self) -> list[tuple[str, int]]:
        """Start what the free cores allow, highest priority first, each with its share
        (under the lock): the nodes, with their cores, for the caller to hand off."""
        if self.stop_reason is not None or not self.ready or self.free < 1:
            return []
        if len(self.ready) > self.free:  # crowded: split() gives one core each
            ready = [n for _, n in heapq.nsmallest(self.free, self.ready)]
            shares = [1] * len(ready)
        else:
            ready = [n for _, n in sorted(self.ready)]
            running = [self.priority[n] for n in self.running]
            shares = split([self.priority[n] for n in ready], running, self.free, self.budget)
        starts: list[tuple[str, int]] = []
        for node, cores in zip(ready, shares, strict=False):
            if self._stop_asked():
                break
            heapq.heappop(self.ready)  # == node: they were taken in the heap's order
            self.running[node] = cores
            self.unclaimed.add(node)
            self.free -= cores
            if self.on_start is not None:
                self._put((node, cores))
            starts.append((node, cores))
        return starts

    def _stop_asked(self) -> bool:
        if self.should_stop is None:
            return False
        try:
            stop = self.should_stop()
        except BaseException as exc:  # in a worker: the caller's thread raises it
            self.stop_reason = "not started: the build was aborted"
            self._put(_Raise(exc))
            return True
        if stop:
            self.stop_reason = "not started: the build was stopped"
        return stop

    def _record(self, node: str, outcome: _Outcome) -> None:
        """Record a node that ended (under the lock)."""
        cores = self.running.pop(node)
        self.free += cores
        if outcome.error is None:
            self._finish(NodeResult(node, Status.OK, outcome.detail, *outcome.times, cores=cores))
            for m in self.dependents[node]:
                self.waiting[m] -= 1
                if self.waiting[m] == 0 and m not in self.results:
                    heapq.heappush(self.ready, (-self.priority[m], m))
            return
        self._finish(NodeResult(node, Status.FAILED, outcome.detail, *outcome.times,
                                outcome.error, cores))  # fmt: skip
        self._skip_dependents(node)
        if self.fail_fast and self.stop_reason is None:
            self.stop_reason = f"not started: {node} failed and fail-fast is on"
        if isinstance(outcome.error, KeyboardInterrupt):
            if self.stop_reason is None:
                self.stop_reason = "not started: interrupted"
            self._put(_Mark.INTERRUPT)

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

    def _check_done(self) -> None:
        """Nothing running (under the lock): the rest is NOT_RUN, and the run is over."""
        if self.running or self.done:
            return
        reason = self.stop_reason or "not started"
        for node in self.order:
            if node not in self.results:
                self._finish(NodeResult(node, Status.NOT_RUN, reason, None, None))
        self.ready = []
        self.done = True
        self._put(_Mark.DONE)

    def _finish(self, result: NodeResult) -> None:
        self.results[result.name] = result
        if self.on_finish is not None:
            self._put(result)

    def _wind_down(self, reason: str) -> None:
        """Start nothing more, let the running nodes finish, mark the rest NOT_RUN.

        The caller's thread, after an exception: the started nodes no worker took up
        yet are taken back (inline, every started node: none is running)."""
        with self.lock:
            if self.stop_reason is None:
                self.stop_reason = reason
            back = set(self.running) if self.inline else self.unclaimed
            for node in sorted(back):
                self.running.pop(node, None)
                if node not in self.results:
                    self._finish(NodeResult(node, Status.NOT_RUN, self.stop_reason, None, None))
            self.unclaimed.clear()
            self.pending.clear()
            self._check_done()
        error = self._drain()
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        if error is not None:
            raise error

    def _drain(self) -> Exception | None:
        """Deliver the events until every node has its result; the first exception
        from a callback ends the callbacks and is returned."""
        error: Exception | None = None
        while True:
            if not self.events:
                with self.lock:
                    if self.done and not self.events:  # DONE taken by an interrupt
                        return error
                with contextlib.suppress(queue.Empty):
                    self.wake.get(timeout=0.1)
                continue
            event = self.events.popleft()
            if event is _Mark.DONE:
                return error
            if isinstance(event, _Mark | _Raise):
                continue
            try:
                self._deliver(event)
            except Exception as exc:
                self.callbacks = False
                error = error or exc

    def _ordered(self) -> dict[str, NodeResult]:
        return {n: self.results[n] for n in self.order if n in self.results}


@dataclass(frozen=True)
class _Outcome:
    detail: str
    times: tuple[float, float]
    error: BaseException | None


def _attempt(work: Callable[[str, int], str], node: str, cores: int) -> _Outcome:
    """Run one node in a worker thread; every exception becomes part of the outcome."""
    started = time.time()
    try:
        detail = work(node, cores)
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
    return _bottom_levels(toposort(graph), _dependents(graph), weights)


def _bottom_levels(
    levels: Sequence[Sequence[str]],
    dependents: Mapping[str, Sequence[str]],
    weights: Mapping[str, float] | None,
) -> dict[str, float]:
    """:func:`bottom_levels` given the graph's toposort ``levels`` and its dependents.

    It runs before the first node starts, hence the plain loops (no generator per node).
    """
    out: dict[str, float] = {}
    for node in (n for level in reversed(levels) for n in level):
        above = 0.0  # the max over dependents, 0 without any
        first = True
        for m in dependents[node]:
            if first or out[m] > above:
                above, first = out[m], False
        out[node] = (1.0 if weights is None else float(weights.get(node, 1.0))) + above
    return out


def critical_path(graph: Mapping[str, Sequence[str]], durations: Mapping[str, float]) -> float:
    """The length of the heaviest dependency chain: no schedule is shorter."""
    return max(bottom_levels(graph, durations).values(), default=0.0)


def ideal_makespan(
    graph: Mapping[str, Sequence[str]],
    durations: Mapping[str, float],
    budget: int,
    serial_fraction: float = 1.0,
) -> float:
    """A lower bound on any schedule's length: ``max(critical path, total work / budget)``.

    With ``serial_fraction`` < 1 (see :func:`run_time`) the critical path is taken at
    the whole budget per node and the work at one core each, its cheapest: a bound that
    no split of the budget beats, but a loose one.
    """
    fastest = {n: run_time(durations[n], budget, serial_fraction) for n in graph}
    total = sum(durations[n] for n in graph)
    return max(critical_path(graph, fastest), total / budget)


def serial_time(graph: Mapping[str, Sequence[str]], durations: Mapping[str, float]) -> float:
    """The time of lsstsw's one-at-a-time build in manifest order: the sum of all work."""
    return sum(durations[n] for n in graph)


def run_time(duration: float, cores: int, serial_fraction: float) -> float:
    """Amdahl's law: a node that takes ``duration`` on one core, on ``cores``.

    ``serial_fraction`` 1 (the default everywhere) means cores do not speed a node up,
    0 that they divide its time.
    """
    return duration * (serial_fraction + (1.0 - serial_fraction) / cores)


def simulate(
    graph: Mapping[str, Sequence[str]],
    durations: Mapping[str, float],
    budget: int,
    weights: Mapping[str, float] | None = None,
    serial_fraction: float = 1.0,
) -> float:
    """The makespan :func:`run_dag`'s policy reaches when work takes exactly ``durations``
    (on one core; see :func:`run_time` for more).

    Priorities come from ``weights`` (default: the durations themselves, i.e. perfect
    estimates).  Comparing a real run with this separates threading overhead from the
    list-scheduling gap.
    """
    slots = schedule(graph, durations, budget, weights, serial_fraction)
    return max((s.end for s in slots.values()), default=0.0)


def schedule(
    graph: Mapping[str, Sequence[str]],
    durations: Mapping[str, float],
    budget: int,
    weights: Mapping[str, float] | None = None,
    serial_fraction: float = 1.0,
) -> dict[str, Slot]:
    """The schedule behind :func:`simulate`: each node's start, end and cores."""
    _check_budget(budget)
    priority = bottom_levels(graph, durations if weights is None else weights)
    dependents = _dependents(graph)
    waiting = {n: len(set(deps)) for n, deps in graph.items()}
    ready = [(-priority[n], n) for n in graph if waiting[n] == 0]
    heapq.heapify(ready)
    events: list[tuple[float, str]] = []
    slots: dict[str, Slot] = {}
    running: set[str] = set()
    free, now = budget, 0.0
    while ready or events:
        if ready and free > 0:
            order = [n for _, n in sorted(ready)]
            shares = split([priority[n] for n in order],
                           [priority[n] for n in running], free, budget)  # fmt: skip
            for node, cores in zip(order, shares, strict=False):
                heapq.heappop(ready)
                end = now + run_time(durations[node], cores, serial_fraction)
                slots[node] = Slot(now, end, cores)
                running.add(node)
                free -= cores
                heapq.heappush(events, (end, node))
        now, node = heapq.heappop(events)
        running.discard(node)
        free += slots[node].cores
        for m in dependents[node]:
            waiting[m] -= 1
            if waiting[m] == 0:
                heapq.heappush(ready, (-priority[m], m))
    return slots


def estimates(graph: Mapping[str, Sequence[str]], known: Mapping[str, float]) -> dict[str, float]:
    """Every node's expected duration: the one measured last time, else the median of
    those (a new product in a stack built before is a typical one), else 1 each (a
    first build: the priority is then the longest chain in products)."""
    measured = sorted(known[n] for n in graph if n in known and known[n] > 0)
    half = len(measured) // 2
    default = (measured[half] + measured[~half]) / 2 if measured else 1.0
    return {n: known[n] if n in known and known[n] > 0 else default for n in graph}
