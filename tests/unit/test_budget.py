"""One core budget for a build: shared between products at once and the jobs within each."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scipipe_tools.errors import InputError
from scipipe_tools.sourcebuild import scheduler
from scipipe_tools.sourcebuild.budget import Slot, available_cores, describe, peak, split
from scipipe_tools.sourcebuild.scheduler import Status, ideal_makespan, run_dag, schedule, simulate
from tests.support import stackgen


class Intervals:
    """A ``work`` that records, per node, the cores it was given and when it ran."""

    def __init__(self, delay: float = 0.01, delays: dict[str, float] | None = None) -> None:
        self.delay = delay
        self.delays = delays or {}
        self.lock = threading.Lock()
        self.spans: dict[str, tuple[float, float, int]] = {}

    def __call__(self, node: str, cores: int) -> str:
        start = time.monotonic()
        time.sleep(self.delays.get(node, self.delay))
        with self.lock:
            self.spans[node] = (start, time.monotonic(), cores)
        return "built"

    def most_cores_at_once(self) -> int:
        """The largest sum of the cores of the nodes running at the same instant."""
        return max(
            (
                sum(c for s, e, c in self.spans.values() if s <= t < e)
                for t, _, _ in self.spans.values()
            ),
            default=0,
        )

    def cores(self, node: str) -> int:
        return self.spans[node][2]


def test_never_more_cores_than_the_budget_and_a_lone_product_gets_it_all() -> None:
    # base alone, then six side by side, then top alone: budget 4
    graph: dict[str, list[str]] = {"base": []}
    graph.update({f"mid{i}": ["base"] for i in range(6)})
    graph["top"] = [f"mid{i}" for i in range(6)]
    # the mids end one by one (ending together, the last two would share the budget)
    work = Intervals(0.05, {f"mid{i}": 0.06 * (i + 1) for i in range(6)})
    results = run_dag(graph, work, budget=4)
    assert all(r.status is Status.OK for r in results.values())
    assert work.most_cores_at_once() <= 4
    assert work.cores("base") == 4 and work.cores("top") == 4
    # six ready, four cores: four start with one each, the other two as cores free up
    assert [work.cores(f"mid{i}") for i in range(6)] == [1] * 6
    assert {r.name: r.cores for r in results.values()} == {n: work.cores(n) for n in graph}


def test_the_critical_path_gets_the_larger_share() -> None:
    # long heads a chain of three, short is alone: both ready at once, budget 8
    graph = {"long": [], "long2": ["long"], "long3": ["long2"], "short": []}
    work = Intervals()
    run_dag(graph, work, budget=8)
    assert work.cores("long") > work.cores("short") >= 1
    assert work.cores("long") + work.cores("short") <= 8
    assert work.cores("long3") == 8


@st.composite
def dags(draw: st.DrawFn) -> dict[str, list[str]]:
    n = draw(st.integers(1, 10))
    names = [f"p{i:02d}" for i in range(n)]
    return {
        name: draw(st.lists(st.sampled_from(names[:i]), max_size=3)) if i else []
        for i, name in enumerate(names)
    }


@settings(max_examples=25, deadline=None)
@given(graph=dags(), budget=st.integers(1, 6), data=st.data())
def test_property_the_budget_holds_at_every_instant(
    graph: dict[str, list[str]], budget: int, data: st.DataObject
) -> None:
    weights = {n: data.draw(st.floats(0, 5), label=n) for n in graph}
    work = Intervals(0.002)
    results = run_dag(graph, work, budget=budget, weights=weights)
    assert work.most_cores_at_once() <= budget
    assert all(1 <= r.cores <= budget for r in results.values())
    # the simulation follows the same policy
    slots = schedule(graph, weights, budget)
    assert max(sum(s.cores for s in slots.values() if s.start <= t < s.end)
               for t in (s.start for s in slots.values())) <= budget  # fmt: skip


def test_split_policy() -> None:
    # more ready than free cores: one core each, as many as fit
    assert split([3.0, 2.0, 1.0], [], 2, 8) == [1, 1]
    # alone with nothing running: the whole budget
    assert split([5.0], [], 8, 8) == [8]
    # alone, with others running: its share of the budget by weight, within what is free
    assert split([5.0], [5.0], 4, 8) == [4]
    assert split([5.0], [15.0], 6, 8) == [2]
    # shares follow the weights, the cores left by rounding go by largest remainder
    assert split([3.0, 1.0], [], 8, 8) == [6, 2]
    assert split([1.0, 1.0, 1.0], [], 8, 8) == [3, 3, 2]
    # zero weights: equal shares
    assert split([0.0, 0.0], [0.0, 0.0], 8, 8) == [2, 2]
    assert split([1.0], [], 0, 8) == []


def test_available_cores_follows_affinity_and_the_cgroup_quota(tmp_path: Path) -> None:
    affinity = len(os.sched_getaffinity(0))
    cpu_max = tmp_path / "cpu.max"
    assert available_cores(cpu_max) == affinity  # no cgroup file
    cpu_max.write_text("max 100000\n")
    assert available_cores(cpu_max) == affinity
    cpu_max.write_text("100000 100000\n")
    assert available_cores(cpu_max) == 1
    cpu_max.write_text("150000 100000\n")  # 1.5 CPUs: 2 jobs keep it busy
    assert available_cores(cpu_max) == min(affinity, 2)
    cpu_max.write_text("garbage\n")
    assert available_cores(cpu_max) == affinity


def test_describe_and_peak() -> None:
    slots = {
        "a": Slot(0, 1, 4),
        "b": Slot(1, 2, 2),
        "c": Slot(1, 2, 1),
        "d": Slot(2, 3, 4),
    }
    assert peak(slots.values()) == 2  # a ends as b and c start
    assert describe(4, slots) == (
        "core budget 4: up to 2 products at once, NJOBS 1-4; 2 of 4 run alone with all 4"
    )
    assert describe(1, {"a": Slot(0, 1, 1), "b": Slot(1, 2, 1)}) == (
        "core budget 1: 1 product at a time, NJOBS 1"
    )
    assert describe(2, {}) == "core budget 2: nothing to build"


def test_the_simulated_split_beats_one_product_per_core_when_cores_help(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Amdahl: with 30% of each product serial, a shared budget finishes sooner than the
    # old -j (one core per product); when cores do not help at all, it is about as fast
    stack = stackgen.generate(40, avg_deps=3, seed=3)
    graph = stack.graph()
    durations = {p: 1.0 + (i % 7) for i, p in enumerate(stack.products)}
    ours = {f: simulate(graph, durations, 8, serial_fraction=f) for f in (0.3, 1.0)}
    for fraction, makespan in ours.items():
        assert makespan >= ideal_makespan(graph, durations, 8, serial_fraction=fraction) * 0.999
    monkeypatch.setattr(scheduler, "split", lambda ready, _r, free, _b: [1] * min(len(ready), free))
    old = {f: simulate(graph, durations, 8, serial_fraction=f) for f in (0.3, 1.0)}
    assert ours[0.3] <= old[0.3] * 0.9
    assert ours[1.0] <= old[1.0] * 1.01


def test_zero_budget_is_an_input_error() -> None:
    with pytest.raises(InputError, match="core budget"):
        run_dag({"a": []}, Intervals(), budget=0)
    with pytest.raises(InputError, match="core budget"):
        simulate({"a": []}, {"a": 1.0}, 0)
