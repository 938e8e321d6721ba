"""Issue 19 benchmark: resolve a generated 2,000- and an 8,000-product stack.

Floor, measured in the same run: just reading every table file.  Target: resolving
(reading, parsing, following dependencies, ordering) costs at most 3x that, at every size.

    python -m benchmarks.bench_resolve [--products 2000 8000] [--deps 8] [--rounds 9]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from tests.support import stackgen

from benchmarks._timing import min_median, result_line, timings
from scipipe_tools.sourcebuild.plan import resolve_sources

TARGET = 3.0


def measure(products: int, deps: float, rounds: int) -> tuple[float, float]:
    """Print one size's figures; return (floor, resolve), each the minimum."""
    stack = stackgen.generate(products, avg_deps=deps, seed=1)
    with tempfile.TemporaryDirectory(prefix="scipipe-bench-") as tmp:
        root = Path(tmp)
        paths = [str(p) for p in stackgen.write_tables(stack, root).values()]
        n_deps = sum(len(stack.deps(p)) for p in stack.products)

        def read_all() -> None:
            for path in paths:
                with open(path, encoding="utf-8") as fh:
                    fh.read()

        def resolve_all() -> None:
            res = resolve_sources([stack.top], root)
            assert len(res.deps) == len(stack.products)

        t = timings({"read": read_all, "resolve": resolve_all}, rounds=rounds)
    read, res = min(t["read"]), min(t["resolve"])
    medians = statistics.median(t["resolve"]) / statistics.median(t["read"])
    print(
        f"stack: {len(stack.products)} products, {n_deps} dependencies "
        f"({n_deps / len(stack.products):.1f} per product)"
    )
    print(f"  read all table files (floor): {min_median(t['read'])}")
    print(f"  resolve (parse+order):        {min_median(t['resolve'])}")
    print(f"  ratio resolve/read: {res / read:.2f}x (medians: {medians:.2f}x)")
    return read, res


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--products", type=int, nargs="+", default=[2000, 8000])
    ap.add_argument("--deps", type=float, default=8)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    worst: tuple[float, float, int] | None = None
    for n in args.products:
        floor, figure = measure(n, args.deps, args.rounds)
        if worst is None or figure / floor > worst[1] / worst[0]:
            worst = (floor, figure, n)
    assert worst is not None
    print(f"judged: the worst ratio, at {worst[2]} products")
    print(result_line("resolve", worst[0], worst[1], TARGET))


if __name__ == "__main__":
    main()
