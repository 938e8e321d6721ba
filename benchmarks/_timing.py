"""Timing helpers: interleaved best-of-N, because the machines are shared and noisy."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable


def best_of(fns: dict[str, Callable[[], object]], rounds: int = 9) -> dict[str, float]:
    """Run every function once per round, interleaved; return each one's fastest time."""
    best = {name: float("inf") for name in fns}
    for fn in fns.values():  # warm-up: page cache, imports, regex compilation
        fn()
    for _ in range(rounds):
        for name, fn in fns.items():
            gc.collect()
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def verdict(ratio: float, target: float) -> str:
    return f"target <= {target:g}x: {'met' if ratio <= target else 'NOT MET'}"
