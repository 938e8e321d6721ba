"""Benchmark: the parallel build scheduler on a generated 150-product stack, first build.

Every product's ``work`` sleeps a known duration (seeded, uniform in 0.05-0.4 s, times
``--scale``).  Floor, computed from the same durations in the same run: the ideal
makespan ``max(critical path, total work / budget)``, which no schedule can beat.
Target (issue 19): the real wall time of ``run_dag`` with a core budget of 8 (``--jobs``)
is at most 1.10x that with NO duration estimates -- a first build, with no
durations.json from an earlier one -- judged on the fastest of ``--runs`` runs (min and
median printed).  Also printed: the same runs given the durations as priorities (as a
rebuild has them), the makespan our policy reaches in simulation (the gap to it is
threading overhead), and the speed-up over lsstsw's serial build in manifest order (the
sum of the durations: computed, not slept).

The budget is shared between products at once and the jobs (NJOBS) within each.  By
default a product's cores do not shorten it (``--serial-fraction 1``, the hardest case
for sharing: a core given to a product is a core another product cannot use); with
``--serial-fraction F`` < 1 a product on ``c`` cores sleeps ``d * (F + (1 - F) / c)``
(Amdahl's law), and the ideal makespan is a looser lower bound (see
:func:`~scipipe_tools.sourcebuild.scheduler.ideal_makespan`).  Printed for comparison either
way: the old ``-j`` in simulation, one core per product whatever their number.

    python -m benchmarks.bench_scheduler [--products 150] [--jobs 8] [--scale 1] [--seed 1]
                                         [--serial-fraction 1] [--runs 3]

Seed 1 (with 4 dependencies on average, 0-8 each) is a stack whose critical path and
total work / 8 are close, so the order in which ready products start matters.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Mapping, Sequence

from tests.support import stackgen

from benchmarks._timing import min_median, result_line
from scipipe_tools.eups.graph import toposort
from scipipe_tools.sourcebuild import scheduler
from scipipe_tools.sourcebuild.scheduler import (
    Status,
    critical_path,
    ideal_makespan,
    run_dag,
    run_time,
    serial_time,
    simulate,
)

TARGET = 1.10


def timed_run(
    graph: Mapping[str, Sequence[str]],
    durations: Mapping[str, float],
    budget: int,
    weights: Mapping[str, float] | None,
    fraction: float,
) -> float:
    def work(node: str, cores: int) -> str:
        time.sleep(run_time(durations[node], cores, fraction))
        return "built"

    start = time.perf_counter()
    results = run_dag(graph, work, budget=budget, weights=weights)
    wall = time.perf_counter() - start
    assert all(r.status is Status.OK for r in results.values())
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--products", type=int, default=150)
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--scale", type=float, default=1.0, help="duration multiplier")
    ap.add_argument("--deps", type=float, default=4, help="average direct dependencies")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--serial-fraction",
        type=float,
        default=1.0,
        help="share of a product's time that more cores do not shorten (1: none is)",
    )
    ap.add_argument("--runs", type=int, default=3, help="real runs of each kind")
    args = ap.parse_args()
    fraction = args.serial_fraction

    stack = stackgen.generate(args.products, avg_deps=args.deps, seed=args.seed)
    graph = stack.graph()
    rng = random.Random(args.seed)
    durations = {p: rng.uniform(0.05, 0.4) * args.scale for p in stack.products}
    jobs = args.jobs

    n_deps = sum(len(d) for d in graph.values())
    total = serial_time(graph, durations)
    crit = critical_path(graph, durations)
    ideal = ideal_makespan(graph, durations, jobs, fraction)
    simulated = simulate(graph, durations, jobs, serial_fraction=fraction)
    simulated_plain = simulate(
        graph, durations, jobs, weights=dict.fromkeys(graph, 1.0), serial_fraction=fraction
    )
    simulated_alpha = simulate(
        graph, durations, jobs, weights=dict.fromkeys(graph, 0.0), serial_fraction=fraction
    )
    simulated_old = one_core_each(graph, durations, jobs, fraction)
    walls: list[float] = []
    walls_plain: list[float] = []
    for _ in range(args.runs):  # interleaved: the machine's load hits both alike
        walls_plain.append(timed_run(graph, durations, jobs, None, fraction))
        walls.append(timed_run(graph, durations, jobs, durations, fraction))
    wall, wall_plain = min(walls), min(walls_plain)
    ratio = wall_plain / ideal

    print(
        f"stack: {len(graph)} products, {n_deps} dependencies "
        f"({n_deps / len(graph):.1f} per product), {len(toposort(graph))} levels; "
        f"work {0.05 * args.scale:.3g}-{0.4 * args.scale:.3g} s each, core budget {jobs}, "
        f"serial fraction {fraction:g}"
    )
    row("serial lsstsw order (sum, not slept)", total)
    row("critical path", crit)
    row(f"total work / {jobs}", total / jobs)
    row("ideal makespan", ideal)
    row("simulated, priority by durations", simulated, ideal)
    row("simulated, priority by hops", simulated_plain, ideal)
    row("simulated, alphabetical (no priority)", simulated_alpha, ideal)
    row("simulated, old -j (1 core per product)", simulated_old, ideal)
    row("wall, priority by durations (min)", wall, ideal)
    print(f"{'  over ' + str(args.runs) + ' runs:':39s} {min_median(walls)}")
    row("wall, no duration estimates (min)", wall_plain, ideal)
    print(f"{'  over ' + str(args.runs) + ' runs:':39s} {min_median(walls_plain)}")
    print(f"{'threading overhead (wall - simulated):':39s} "
          f"{(wall_plain - simulated_plain) * 1000:8.1f} ms")  # fmt: skip
    print(f"{'speed-up over the old -j (simulated):':39s} {simulated_old / simulated:8.2f} x")
    print(f"{'speed-up over the serial build:':39s} {total / wall_plain:8.2f} x")
    median = statistics.median(walls_plain) / ideal
    print(f"{'ratio wall/ideal, no estimates:':39s} {ratio:8.3f} x (median {median:.3f} x)")
    # the target is for the default, where the ideal makespan is a tight bound
    if fraction != 1.0:
        print("(with --serial-fraction < 1 the ideal makespan is a loose bound: no target)")
    target = TARGET if fraction == 1.0 else float("inf")
    print(result_line("scheduler-first-build", ideal, wall_plain, target))


def one_core_each(
    graph: Mapping[str, Sequence[str]], durations: Mapping[str, float], jobs: int, fraction: float
) -> float:
    """The old ``-j``: ``jobs`` products at once, one core each, in simulation."""
    shared = scheduler.split
    scheduler.split = lambda ready, _running, free, _budget: [1] * min(len(ready), free)
    try:
        return simulate(graph, durations, jobs, serial_fraction=fraction)
    finally:
        scheduler.split = shared


def row(label: str, seconds: float, ideal: float | None = None) -> None:
    extra = f"   ({seconds / ideal:.3f}x ideal)" if ideal else ""
    print(f"{label + ':':39s} {seconds:8.2f} s{extra}")


if __name__ == "__main__":
    main()
