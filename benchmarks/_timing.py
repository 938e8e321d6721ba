"""Timing helpers: interleaved runs, because the machines are shared and noisy.

Every benchmark ends with one line made by :func:`result_line`, so a script can read it::

    RESULT <name>: floor <s> s, figure <s> s, ratio <r>x (target <= <t>x: met)
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable


def timings(fns: dict[str, Callable[[], object]], rounds: int = 9) -> dict[str, list[float]]:
    """Run every function once per round, interleaved, after one warm-up; return all times."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():  # warm-up: page cache, imports, regex compilation
        fn()
    for _ in range(rounds):
        for name, fn in fns.items():
            gc.collect()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def best_of(fns: dict[str, Callable[[], object]], rounds: int = 9) -> dict[str, float]:
    """Each function's fastest time over interleaved rounds."""
    return {name: min(ts) for name, ts in timings(fns, rounds).items()}


def min_median(times: list[float]) -> str:
    """``min 12.3 ms, median 13.0 ms`` for a list of seconds."""
    return f"min {min(times) * 1000:.1f} ms, median {statistics.median(times) * 1000:.1f} ms"


def verdict(ratio: float, target: float, *, at_least: bool = False) -> str:
    met = ratio >= target if at_least else ratio <= target
    return f"target {'>=' if at_least else '<='} {target:g}x: {'met' if met else 'NOT MET'}"


def result_line(
    name: str, floor: float, figure: float, target: float, *, at_least: bool = False
) -> str:
    """The machine-readable last line: floor and figure in seconds, their ratio, the verdict."""
    ratio = figure / floor if floor else float("inf")
    if at_least:  # a speed-up: floor is the slow reference, figure the fast one
        ratio = floor / figure if figure else float("inf")
    return (
        f"RESULT {name}: floor {floor:.4f} s, figure {figure:.4f} s, ratio {ratio:.2f}x "
        f"({verdict(ratio, target, at_least=at_least)})"
    )
