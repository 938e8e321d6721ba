"""Benchmark: the parallel build scheduler on a generated 150-product stack.

Every product's ``work`` sleeps a known duration (seeded, uniform in 0.05-0.4 s, times
``--scale``).  Baseline, computed from the same durations in the same run: the ideal
makespan ``max(critical path, total work / jobs)``, which no schedule can beat.  Target:
the real wall time of ``run_dag`` with ``--jobs 8`` is at most 1.10x that, when it is
given the durations as priorities (as a rebuild has them from the last build's
status.json).  Also printed: the same run without duration estimates, the makespan our
policy reaches in simulation (the gap to it is threading overhead), and the speed-up over
lsstsw's serial build in manifest order (the sum of the durations: computed, not slept).

    python -m benchmarks.bench_scheduler [--products 150] [--jobs 8] [--scale 1] [--seed 1]

Seed 1 (with 4 dependencies on average, 0-8 each) is a stack whose critical path and
total work / 8 are close, so the order in which ready products start matters.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Mapping, Sequence

from benchmarks._timing import verdict
from scipipe_tools.build.scheduler import (
    Status,
    critical_path,
    ideal_makespan,
    run_dag,
    serial_time,
    simulate,
)
from scipipe_tools.eups.graph import toposort
from scipipe_tools.testing import stackgen

TARGET = 1.10


def timed_run(
    graph: Mapping[str, Sequence[str]],
    durations: Mapping[str, float],
    jobs: int,
    weights: Mapping[str, float] | None,
) -> float:
    def work(node: str) -> str:
        time.sleep(durations[node])
        return "built"

    start = time.perf_counter()
    results = run_dag(graph, work, jobs=jobs, weights=weights)
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
    args = ap.parse_args()

    stack = stackgen.generate(args.products, avg_deps=args.deps, seed=args.seed)
    graph = stack.graph()
    rng = random.Random(args.seed)
    durations = {p: rng.uniform(0.05, 0.4) * args.scale for p in stack.products}
    jobs = args.jobs

    n_deps = sum(len(d) for d in graph.values())
    total = serial_time(graph, durations)
    crit = critical_path(graph, durations)
    ideal = ideal_makespan(graph, durations, jobs)
    simulated = simulate(graph, durations, jobs)
    simulated_plain = simulate(graph, durations, jobs, weights=dict.fromkeys(graph, 1.0))
    simulated_alpha = simulate(graph, durations, jobs, weights=dict.fromkeys(graph, 0.0))
    wall = timed_run(graph, durations, jobs, durations)
    wall_plain = timed_run(graph, durations, jobs, None)
    ratio = wall / ideal

    print(
        f"stack: {len(graph)} products, {n_deps} dependencies "
        f"({n_deps / len(graph):.1f} per product), {len(toposort(graph))} levels; "
        f"work {0.05 * args.scale:.3g}-{0.4 * args.scale:.3g} s each, {jobs} jobs"
    )
    row("serial lsstsw order (sum, not slept)", total)
    row("critical path", crit)
    row(f"total work / {jobs}", total / jobs)
    row("ideal makespan", ideal)
    row("simulated, priority by durations", simulated, ideal)
    row("simulated, priority by hops", simulated_plain, ideal)
    row("simulated, alphabetical (no priority)", simulated_alpha, ideal)
    row("wall, no duration estimates", wall_plain, ideal)
    row("wall, priority by durations", wall)
    print(f"{'threading overhead (wall - simulated):':39s} {(wall - simulated) * 1000:8.1f} ms")
    print(f"{'ratio wall/ideal:':39s} {ratio:8.3f} x ({verdict(ratio, TARGET)})")
    print(f"{'speed-up over the serial build:':39s} {total / wall:8.2f} x")


def row(label: str, seconds: float, ideal: float | None = None) -> None:
    extra = f"   ({seconds / ideal:.3f}x ideal)" if ideal else ""
    print(f"{label + ':':39s} {seconds:8.2f} s{extra}")


if __name__ == "__main__":
    main()
