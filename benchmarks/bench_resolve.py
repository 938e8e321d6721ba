"""Issue 2 benchmark: resolve a generated 2,000-product stack.

Baseline, measured in the same run: just reading every table file.  Target: resolving
(reading, parsing, following dependencies, ordering) costs at most 3x that.

    python -m benchmarks.bench_resolve [--products 2000] [--deps 8] [--rounds 9]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tests.support import stackgen

from benchmarks._timing import best_of, verdict
from scipipe_tools.sourcebuild.plan import resolve_sources

TARGET = 3.0


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--products", type=int, default=2000)
    ap.add_argument("--deps", type=float, default=8)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()

    stack = stackgen.generate(args.products, avg_deps=args.deps, seed=1)
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

        t = best_of({"read": read_all, "resolve": resolve_all}, rounds=args.rounds)
    ratio = t["resolve"] / t["read"]
    print(
        f"stack: {len(stack.products)} products, {n_deps} dependencies "
        f"({n_deps / len(stack.products):.1f} per product)"
    )
    print(f"read all table files:   {t['read'] * 1000:8.1f} ms")
    print(f"resolve (parse+order):  {t['resolve'] * 1000:8.1f} ms")
    print(f"ratio resolve/read:     {ratio:8.2f}x   ({verdict(ratio, TARGET)})")


if __name__ == "__main__":
    main()
