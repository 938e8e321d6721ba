"""The parallel DAG executor, with real threads (short sleeps and events)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scipipe_tools.errors import InputError, ResolutionError
from scipipe_tools.sourcebuild import scheduler
from scipipe_tools.sourcebuild.scheduler import (
    Interrupted,
    NodeResult,
    Status,
    bottom_levels,
    critical_path,
    estimates,
    ideal_makespan,
    run_dag,
    serial_time,
    simulate,
)

# a small stack: a <- b <- d, a <- c <- d, c <- e, f alone
DIAMOND: dict[str, list[str]] = {
    "a": [],
    "b": ["a"],
    "c": ["a", "a"],  # a dependency named twice, as tables may
    "d": ["b", "c"],
    "e": ["c"],
    "f": [],
}


class Recorder:
    """A ``work`` function that records starts, ends and the peak concurrency."""

    def __init__(
        self,
        delay: float | Mapping[str, float] = 0.0,
        fail: Sequence[str] = (),
        hook: Callable[[str], None] | None = None,
    ) -> None:
        self.delay = delay
        self.fail = set(fail)
        self.hook = hook
        self.lock = threading.Lock()
        self.events: list[tuple[str, str]] = []
        self.active = 0
        self.peak = 0

    def __call__(self, node: str, cores: int = 1) -> str:
        with self.lock:
            self.events.append(("start", node))
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            if self.hook is not None:
                self.hook(node)
            delay = self.delay if isinstance(self.delay, float) else self.delay.get(node, 0.0)
            time.sleep(delay)
            if node in self.fail:
                raise RuntimeError(f"{node} broke")
            return "built"
        finally:
            with self.lock:
                self.active -= 1
                self.events.append(("end", node))

    @property
    def started(self) -> list[str]:
        return [n for kind, n in self.events if kind == "start"]

    def assert_deps_first(self, graph: Mapping[str, Sequence[str]]) -> None:
        ended: set[str] = set()
        for kind, node in self.events:
            if kind == "start":
                assert set(graph[node]) <= ended, f"{node} started before its deps ended"
            else:
                ended.add(node)


def statuses(results: Mapping[str, NodeResult]) -> dict[str, str]:
    return {n: r.status.value for n, r in results.items()}


def test_runs_everything_in_dependency_order() -> None:
    work = Recorder(0.01)
    results = run_dag(DIAMOND, work, budget=3)
    assert list(results) == ["a", "f", "b", "c", "d", "e"]  # toposort order
    assert statuses(results) == dict.fromkeys(results, "ok")
    assert all(r.detail == "built" and r.error is None for r in results.values())
    work.assert_deps_first(DIAMOND)
    for r in results.values():
        assert r.started is not None and r.ended is not None and r.started <= r.ended
        assert r.seconds is not None and r.seconds >= 0.01
    assert results["d"].started >= max(results["b"].ended or 0, results["c"].ended or 0)  # type: ignore[operator]


def test_parallelism_is_bounded_and_used() -> None:
    graph: dict[str, list[str]] = {f"n{i:02d}": [] for i in range(12)}
    work = Recorder(0.03)
    run_dag(graph, work, budget=4)
    assert work.peak == 4
    work = Recorder(0.005)
    run_dag(graph, work, budget=1)
    assert work.peak == 1
    assert work.started == sorted(graph)  # equal priorities: alphabetical


def test_failure_skips_exactly_its_dependents() -> None:
    work = Recorder(0.005, fail=["c"])
    results = run_dag(DIAMOND, work, budget=2)
    assert statuses(results) == {
        "a": "ok",
        "b": "ok",
        "c": "failed",
        "d": "skipped",
        "e": "skipped",
        "f": "ok",
    }
    failed = results["c"]
    assert isinstance(failed.error, RuntimeError)
    assert failed.detail == "RuntimeError: c broke"
    assert failed.started is not None and failed.ended is not None
    assert results["d"].detail == "dependency c failed"
    assert results["e"].detail == "dependency c failed"
    assert results["d"].started is None and results["d"].ended is None
    assert "d" not in work.started and "e" not in work.started


def test_skip_reaches_transitive_dependents_only() -> None:
    graph = {"base": [], "mid": ["base"], "top": ["mid"], "side": [], "other": ["side"]}
    results = run_dag(graph, Recorder(fail=["base"]), budget=2)
    assert statuses(results) == {
        "base": "failed",
        "side": "ok",
        "mid": "skipped",
        "other": "ok",
        "top": "skipped",
    }
    assert results["top"].detail == "dependency base failed"


def test_fail_fast_lets_running_nodes_finish_and_starts_nothing_new() -> None:
    graph = {"bad": [], "slow": [], "x1": [], "x2": [], "after": ["bad"]}
    release = threading.Event()

    def hook(node: str) -> None:
        if node == "slow":
            release.wait(5)

    work = Recorder(fail=["bad"], hook=hook)
    # "slow" gets priority 2 (x1, x2 have 1) by weight and starts first, "bad" next
    weights = {"slow": 3.0, "bad": 2.0}

    def on_finish(r: NodeResult) -> None:
        if r.name == "bad":
            release.set()

    results = run_dag(graph, work, budget=2, fail_fast=True, weights=weights, on_finish=on_finish)
    assert statuses(results) == {
        "bad": "failed",
        "slow": "ok",
        "x1": "not-run",
        "x2": "not-run",
        "after": "skipped",
    }
    assert "bad failed and fail-fast is on" in results["x1"].detail
    assert sorted(work.started) == ["bad", "slow"]


def test_keep_going_is_the_default() -> None:
    graph = {"bad": [], "x1": [], "x2": []}
    results = run_dag(graph, Recorder(fail=["bad"]), budget=1)
    assert statuses(results) == {"bad": "failed", "x1": "ok", "x2": "ok"}


def test_should_stop_is_polled_before_starts() -> None:
    graph: dict[str, list[str]] = {f"n{i}": [] for i in range(6)}
    work = Recorder()
    results = run_dag(graph, work, budget=1, should_stop=lambda: len(work.started) >= 2)
    assert [n for n, r in results.items() if r.status is Status.OK] == ["n0", "n1"]
    assert {r.status for n, r in results.items() if n not in ("n0", "n1")} == {Status.NOT_RUN}
    assert results["n5"].detail == "not started: the build was stopped"


def test_priority_follows_the_critical_path() -> None:
    # alphabetically a1..a3 come first, but c1 heads the longest chain
    graph = {"a1": [], "a2": [], "a3": [], "c1": [], "c2": ["c1"], "c3": ["c2"]}
    work = Recorder()
    run_dag(graph, work, budget=1)
    assert work.started[0] == "c1"
    # weights (estimated durations) override hop counts
    work = Recorder()
    run_dag(graph, work, budget=1, weights={"a3": 10.0})
    assert work.started[:2] == ["a3", "c1"]


def test_priority_shortens_the_makespan() -> None:
    # one long node ("z") and six short ones: started last, z would double the time
    graph: dict[str, list[str]] = {f"a{i}": [] for i in range(6)}
    graph["z"] = []
    delays = {**{n: 0.02 for n in graph}, "z": 0.12}
    work = Recorder(delays)
    run_dag(graph, work, budget=2, weights=delays)
    assert work.started[0] == "z"
    assert simulate(graph, delays, 2) == pytest.approx(0.12)
    assert simulate(graph, delays, 2, weights=dict.fromkeys(graph, 0.0)) == pytest.approx(0.18)


def test_cycles_and_unknown_deps_are_resolution_errors() -> None:
    with pytest.raises(ResolutionError, match="dependency cycle: a -> b -> a"):
        run_dag({"a": ["b"], "b": ["a"]}, Recorder(), budget=2)
    with pytest.raises(ResolutionError, match="not in the graph"):
        run_dag({"a": ["ghost"]}, Recorder(), budget=2)
    with pytest.raises(InputError, match="at least 1"):
        run_dag({"a": []}, Recorder(), budget=0)


def test_empty_graph() -> None:
    assert run_dag({}, Recorder(), budget=4) == {}


def run_recording(
    graph: Mapping[str, Sequence[str]],
    work: Callable[[str, int], str],
    budget: int,
    seen: list[tuple[str, str, int]],
) -> dict[str, NodeResult]:
    """run_dag, each callback recorded in ``seen`` with the thread it ran in."""
    return run_dag(
        graph,
        work,
        budget=budget,
        on_start=lambda n, c: seen.append(("start", n, threading.get_ident())),
        on_finish=lambda r: seen.append(("finish", r.name, threading.get_ident())),
    )


def test_callbacks_run_in_the_callers_thread_once_per_node() -> None:
    caller = threading.get_ident()
    seen: list[tuple[str, str, int]] = []
    worker_threads: set[int] = set()

    def work(node: str, cores: int) -> str:
        worker_threads.add(threading.get_ident())
        if node == "c":
            raise RuntimeError("no")
        return "built"

    results = run_recording(DIAMOND, work, 2, seen)
    assert {t for _, _, t in seen} == {caller}
    assert caller not in worker_threads
    finished = [n for kind, n, _ in seen if kind == "finish"]
    assert sorted(finished) == sorted(DIAMOND)  # skipped ones included, each once
    started = [n for kind, n, _ in seen if kind == "start"]
    assert sorted(started) == ["a", "b", "c", "f"]
    assert len(results) == len(DIAMOND)


def test_callback_error_winds_down_and_propagates() -> None:
    """Nothing starts once a callback raised, the running nodes finish, no more
    callbacks, the error propagates.  The starts do not wait for the callbacks: the
    thread that ended "a" may have gone on with "c" before ``on_finish(a)`` ran."""
    graph: dict[str, list[str]] = {n: [] for n in "abcde"}
    work = Recorder({"a": 0.01, "b": 0.2, "c": 0.05, "d": 0.01, "e": 0.01})
    weights = {"a": 3.0, "b": 3.0, "c": 2.0}  # a and b start, c is next
    calls: list[str] = []

    def on_finish(r: NodeResult) -> None:
        calls.append(r.name)
        raise ValueError(f"progress broke on {r.name}")

    with pytest.raises(ValueError, match="progress broke on a"):
        run_dag(graph, work, budget=2, weights=weights, on_finish=on_finish)
    assert work.active == 0  # nothing left running
    assert calls == ["a"]
    assert {"a", "b"} <= set(work.started) <= {"a", "b", "c"}


def test_keyboard_interrupt_waits_for_running_nodes() -> None:
    """Ctrl-C in the caller: running nodes finish, nothing new starts, results kept."""
    graph = {"a": [], "b": [], "c": ["a"], "d": ["b"], "e": []}
    both_running = threading.Barrier(3)
    done: list[str] = []

    def work(node: str, cores: int) -> str:
        if node in ("a", "b"):
            both_running.wait(5)
            time.sleep(0.1)  # still running when the interrupt lands
        done.append(node)
        return "built"

    def interrupter() -> None:
        both_running.wait(5)
        # SIGINT to the caller's thread, as Ctrl-C would: its blocking wait is interrupted
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    threading.Thread(target=interrupter).start()
    with pytest.raises(KeyboardInterrupt) as info:
        run_dag(graph, work, budget=2, weights={"a": 5, "b": 5})
    assert isinstance(info.value, Interrupted)
    results = info.value.results
    assert statuses(results) == {
        "a": "ok",
        "b": "ok",
        "e": "not-run",
        "c": "not-run",
        "d": "not-run",
    }
    assert sorted(done) == ["a", "b"]
    assert results["c"].detail == "not started: interrupted"


def test_keyboard_interrupt_from_work_stops_the_run() -> None:
    graph = {"a": [], "b": [], "c": []}

    def work(node: str, cores: int) -> str:
        if node == "a":
            raise KeyboardInterrupt
        return "built"

    with pytest.raises(Interrupted) as info:
        run_dag(graph, work, budget=1)
    assert statuses(info.value.results) == {"a": "failed", "b": "not-run", "c": "not-run"}


def test_makespan_helpers() -> None:
    durations = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 1.0, "e": 0.5, "f": 4.0}
    levels = bottom_levels(DIAMOND, durations)
    assert levels == {"a": 5.0, "b": 3.0, "c": 4.0, "d": 1.0, "e": 0.5, "f": 4.0}
    assert critical_path(DIAMOND, durations) == 5.0
    assert serial_time(DIAMOND, durations) == 11.5
    assert ideal_makespan(DIAMOND, durations, 2) == 5.75
    assert ideal_makespan(DIAMOND, durations, 8) == 5.0
    assert simulate(DIAMOND, durations, 1) == 11.5
    assert simulate(DIAMOND, durations, 8) == 5.0
    assert bottom_levels(DIAMOND) == {"a": 3.0, "b": 2.0, "c": 2.0, "d": 1.0, "e": 1.0, "f": 1.0}


def test_inline_runs_in_the_callers_thread_with_the_same_results() -> None:
    threads: set[str] = set()
    work = Recorder(fail=["c"], hook=lambda _: threads.add(threading.current_thread().name))
    results = run_dag(DIAMOND, work, budget=3, inline=True)
    assert threads == {threading.current_thread().name}
    assert statuses(results) == statuses(run_dag(DIAMOND, Recorder(fail=["c"]), budget=3))
    assert work.peak == 1
    work.assert_deps_first(DIAMOND)


def test_keyboard_interrupt_from_inline_work_stops_the_run() -> None:
    def work(node: str, cores: int) -> str:
        if node == "b":
            raise KeyboardInterrupt
        return "built"

    with pytest.raises(Interrupted) as info:
        run_dag({"a": [], "b": [], "c": []}, work, budget=2, inline=True)
    assert statuses(info.value.results) == {"a": "ok", "b": "failed", "c": "not-run"}


def test_estimates_without_history_are_hops_and_a_new_product_is_a_typical_one() -> None:
    assert estimates(DIAMOND, {}) == dict.fromkeys(DIAMOND, 1.0)
    known = {"a": 100.0, "b": 300.0, "c": 200.0, "d": 0.0}  # 0: no measure
    assert estimates(DIAMOND, known) == {
        "a": 100.0, "b": 300.0, "c": 200.0, "d": 200.0, "e": 200.0, "f": 200.0,
    }  # fmt: skip


@st.composite
def dags(draw: st.DrawFn) -> dict[str, list[str]]:
    n = draw(st.integers(1, 12))
    names = [f"p{i:02d}" for i in range(n)]
    graph: dict[str, list[str]] = {}
    for i, name in enumerate(names):
        deps = draw(st.lists(st.sampled_from(names[:i]), max_size=4)) if i else []
        graph[name] = deps
    return graph


@settings(max_examples=40, deadline=None)
@given(
    graph=dags(),
    budget=st.integers(1, 4),
    failing=st.sets(st.sampled_from([f"p{i:02d}" for i in range(12)]), max_size=3),
)
def test_property_every_node_one_result_and_deps_first(
    graph: dict[str, list[str]], budget: int, failing: set[str]
) -> None:
    work = Recorder(fail=sorted(failing))
    finished: list[str] = []
    results = run_dag(graph, work, budget=budget, on_finish=lambda r: finished.append(r.name))
    assert sorted(finished) == sorted(graph)  # exactly one result per node
    assert set(results) == set(graph)
    work.assert_deps_first(graph)
    assert work.peak <= budget
    for node, r in results.items():
        deps_ok = all(results[d].status is Status.OK for d in graph[node])
        if r.status is Status.SKIPPED:
            assert not deps_ok
        else:
            assert deps_ok
            assert r.status is (Status.FAILED if node in failing else Status.OK)


def chain_after_roots(roots: int, length: int) -> dict[str, list[str]]:
    """``roots`` independent nodes, then a chain c0 <- c1 <- ... that needs them all."""
    graph: dict[str, list[str]] = {f"r{i}": [] for i in range(roots)}
    graph["c0"] = list(graph)
    for i in range(1, length):
        graph[f"c{i}"] = [f"c{i - 1}"]
    return graph


def test_the_thread_that_ends_a_node_starts_the_next_itself() -> None:
    """No hand-off between threads on a chain (each would wake an idle thread), even
    with idle pool threads about; the callbacks still all run in the caller's thread."""
    graph = chain_after_roots(4, 6)
    all_running = threading.Barrier(4)
    ran_in: dict[str, int] = {}

    def work(node: str, cores: int) -> str:
        ran_in[node] = threading.get_ident()
        if node.startswith("r"):
            all_running.wait(5)  # four pool threads, idle once the roots end
        return "built"

    caller = threading.get_ident()
    seen: list[tuple[str, str, int]] = []
    results = run_recording(graph, work, 4, seen)
    assert statuses(results) == dict.fromkeys(graph, "ok")
    assert len({ran_in[f"r{i}"] for i in range(4)}) == 4
    chain = [f"c{i}" for i in range(6)]
    assert [ran_in[n] for n in chain] == [ran_in[chain[0]]] * 6
    assert ran_in[chain[0]] in {ran_in[f"r{i}"] for i in range(4)}  # a root's thread
    assert {t for _, _, t in seen} == {caller} and caller not in ran_in.values()
    order = [(kind, n) for kind, n, _ in seen]
    for node in graph:
        assert order.count(("start", node)) == order.count(("finish", node)) == 1
        assert order.index(("start", node)) < order.index(("finish", node))


def test_a_blocked_callback_holds_up_no_start() -> None:
    """The callbacks run in the caller's thread, the starts do not wait for them."""
    graph = chain_after_roots(1, 5)
    chain_done = threading.Event()
    waited: list[bool] = []

    def work(node: str, cores: int) -> str:
        if node == "c4":
            chain_done.set()
        return "built"

    def on_start(node: str, cores: int) -> None:
        if node == "r0":  # the caller's thread is stuck here until the chain ran
            waited.append(chain_done.wait(5))

    results = run_dag(graph, work, budget=2, on_start=on_start)
    assert waited == [True]
    assert statuses(results) == dict.fromkeys(graph, "ok")


def test_a_bookkeeping_error_in_a_worker_reaches_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker that ends a node schedules the next: an error there (a bug) is raised
    in the caller's thread, with every node's result settled, instead of a hang."""
    calls = []

    def broken(*args: object) -> list[int]:
        calls.append(args)
        if len(calls) > 1:
            raise RuntimeError("bookkeeping bug")
        return [1]

    monkeypatch.setattr(scheduler, "split", broken)
    graph = {"a": [], "b": ["a"], "c": ["b"]}
    box: dict[str, BaseException] = {}

    def call() -> None:
        try:
            run_dag(graph, lambda node, cores: "built", budget=2)
        except BaseException as exc:  # what reaches the caller is the point
            box["error"] = exc

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the run hung"
    assert isinstance(box.get("error"), RuntimeError)
