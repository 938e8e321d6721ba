"""Issue 13 benchmark: parse a 10 MB table file.

Baseline, measured in the same run: reading the file.  Target: parsing it costs at most
2x that.  The table is synthetic stack tables end to end (comments, ``setupRequired``,
``envPrepend``), the shape the fast path validates in one pass, which is what
``lint-table`` and resolution do; the dependencies are then made on demand.  For reference,
the same size of table with an ``if`` block per product goes through the general parser.

Reading a cached ASCII file runs at memcpy speed; one regular-expression pass over the
text, the least any validating parser in Python does, costs several times that, so the
target is out of reach of the fast path (about 15-20x here) and far out of reach of the
general parser (about 1,000x).

    python -m benchmarks.bench_table_parse [--mb 10] [--rounds 5]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tests.support import stackgen

from benchmarks._timing import min_median, result_line, timings
from scipipe_tools.eups.table import TableContext, parse_table

TARGET = 2.0


def _blocks(text: str) -> str:
    """Each product's env lines in an if block on the flavor."""
    return text.replace(
        "\nenvPrepend(PYTHONPATH,",
        "\nif (flavor == Linux64) {\n    envPrepend(LD_LIBRARY_PATH, ${PRODUCT_DIR}/lib64)\n"
        "} else {\n    envPrepend(DYLD_LIBRARY_PATH, ${PRODUCT_DIR}/lib)\n}\n"
        "envPrepend(PYTHONPATH,",
    )


def _table_text(size: int) -> str:
    stack = stackgen.generate(2000, avg_deps=8, seed=1)
    chunk = "".join(stack.table(p) for p in stack.products)
    return (chunk * (size // len(chunk) + 1))[:size].rpartition("\n")[0] + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--mb", type=float, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()

    size = int(args.mb * 1e6)
    simple = _table_text(size)
    general = _blocks(simple)[:size].rpartition("\n")[0] + "\n"
    general = general[: general.rfind("\nif (")] + "\n"  # do not cut a block in two
    linux = TableContext("Linux64")
    with tempfile.TemporaryDirectory(prefix="scipipe-bench-") as tmp:
        path = Path(tmp) / "big.table"
        path.write_text(simple)

        def read() -> str:
            with open(path, encoding="utf-8") as fh:
                return fh.read()

        runs = timings(
            {
                "read": read,
                "parse": lambda: parse_table(read(), path),
                "deps": lambda: parse_table(read(), path).dependencies(),
                "general": lambda: parse_table(general, path).dependencies(linux),
            },
            rounds=args.rounds,
        )
    t = {name: min(ts) for name, ts in runs.items()}
    table = parse_table(simple, path)
    assert table.simple_deps is not None, "the benchmark table must take the fast path"
    n_deps = len(table.dependencies())
    assert parse_table(general, path).simple_deps is None
    ratio = t["parse"] / t["read"]
    print(
        f"table: {len(simple) / 1e6:.1f} MB, {simple.count(chr(10)):,} lines, {n_deps:,} "
        "dependencies"
    )
    print(f"read the file:                      {min_median(runs['read'])}")
    print(f"read + parse (fast path):           {min_median(runs['parse'])}")
    print(f"read + parse + dependencies:        {min_median(runs['deps'])}")
    print(
        f"general parser, same size with if blocks (no read): {min_median(runs['general'])} "
        f"({t['general'] / t['read']:.1f}x read)"
    )
    print(f"ratio parse/read:       {ratio:8.2f}x (fastest of {args.rounds} interleaved rounds)")
    print(result_line("table_parse parse/read", t["read"], t["parse"], TARGET))


if __name__ == "__main__":
    main()
