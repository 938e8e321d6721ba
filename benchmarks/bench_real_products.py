"""Issue 15 benchmark: the seven real products at a 2-core budget.

sconsUtils, utils, base, pex_exceptions, daf_relation, resources and pex_config at
``w.2025.07`` (``../shared/realdata/repos``), built from source with their tests in the
environment of ``tests/realenv.py`` (cached: the first run makes it), twice, in one run:

- **serial**, as lsst_build builds: one product at a time in the manifest's order, each
  with NJOBS=2 (a ``scipipe build run PRODUCT -j 2`` per product into one stack, so
  only that product builds); the floor is the sum of the products' own build times;
- **scipipe**: all of them in one ``scipipe build run -j 2`` (the budget), timed whole,
  process start and preparation (clones, versions, manifest) included.

Also the share of the scipipe run's wall time spent outside product build steps: the
time when no product's command (``scons ...``, as each product's log records it from its
``$ command`` line to its ``exit code`` line) was running.  The goal: no slower than
serial, and less than 5% outside build steps.

Skipped, with a message, when ``../shared`` is absent.  Everything but the cached
environment lives in one temporary directory, removed at the end.

    python -m benchmarks.bench_real_products [--products sconsUtils,utils] [--no-tests]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from tests.realenv import (
    BUNDLES,
    JOBS,
    PRODUCTS,
    bare_for_build,
    build,
    product_env,
    remotes,
)
from tests.realtools import EUPS_ARCHIVE

from benchmarks._timing import result_line, verdict

TARGET_RATIO = 1.0
TARGET_OUTSIDE = 0.05
_STAMP = re.compile(r"\[([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+)Z\] (\$ |exit code )")


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp + "+00:00").timestamp()


def step_spans(log: Path) -> list[tuple[float, float]]:
    """(start, end) of each command a product's log records."""
    spans, start = [], None
    for line in log.read_text(errors="replace").splitlines():
        m = _STAMP.match(line)
        if m is None:
            continue
        if m.group(2) == "$ ":
            start = _epoch(m.group(1))
        elif start is not None:
            spans.append((start, _epoch(m.group(1))))
            start = None
    return spans


def union_seconds(spans: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for s, e in sorted(spans):
        if e <= end:
            continue
        total += e - max(s, end)
        end = e
    return total


def product_seconds(root: Path) -> dict[str, float]:
    data = json.loads((root / "build" / "status.json").read_text())
    return {p["name"]: float(p["seconds"]) for p in data["products"] if p["status"] == "built"}


def _checked(r: subprocess.CompletedProcess[str], what: str) -> None:
    if r.returncode != 0:
        raise SystemExit(f"{what} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--products", default=",".join(PRODUCTS),
                    help="a subset closed under dependencies, in build order")  # fmt: skip
    ap.add_argument("--no-tests", action="store_true", help="pass --no-tests to both builds")
    args = ap.parse_args()
    if not BUNDLES.is_dir() or not EUPS_ARCHIVE.is_file():
        print(f"real products not found ({BUNDLES}, {EUPS_ARCHIVE}): nothing to measure",
              file=sys.stderr)  # fmt: skip
        return 0
    products = tuple(p for p in args.products.split(",") if p)
    tests = ("--no-tests",) if args.no_tests else ()
    with tempfile.TemporaryDirectory(prefix="scipipe-bench-") as tmp:
        base = Path(tmp)
        start = time.perf_counter()
        env = product_env(base)
        env_seconds = time.perf_counter() - start
        repos = remotes(base / "remotes", products)
        extra = (*tests, "--env", str(env.prefix))  # the build activates it

        serial_root = base / "serial"
        serial: dict[str, float] = {}
        serial_env = bare_for_build(base)
        for product in products:
            r = build(repos, serial_root, serial_env, product, extra=extra)
            _checked(r, f"serial build of {product}")
            serial[product] = product_seconds(serial_root)[product]

        root = base / "scipipe"
        scipipe_env = bare_for_build(base)
        start = time.perf_counter()
        r = build(repos, root, scipipe_env, *products, extra=extra)
        wall = time.perf_counter() - start
        _checked(r, "scipipe build")
        ours = product_seconds(root)
        per_product = {p: step_spans(root / "build" / "logs" / f"{p}.log") for p in products}
        inside = union_seconds([s for spans in per_product.values() for s in spans])
        # scipipe's own part of each product's time: its environment, install, declare
        around = sum(ours[p] - sum(e - s for s, e in per_product[p]) for p in products)

    floor = sum(serial.values())
    ratio = wall / floor
    outside = max(0.0, wall - inside) / wall
    print(f"stack: {len(products)} real products at w.2025.07, core budget {JOBS}"
          f"{', no tests' if args.no_tests else ', with their tests'}; environment ready in "
          f"{env_seconds:.1f} s")  # fmt: skip
    print(f"{'product':<16} {'serial (s)':>10} {'in scipipe -j2 (s)':>19}")
    for p in products:
        print(f"{p:<16} {serial[p]:10.1f} {ours.get(p, float('nan')):19.1f}")
    print(f"serial, sum of the products' builds (lsst_build's order, NJOBS={JOBS}): {floor:8.1f} s")
    print(f"scipipe build -j {JOBS}, wall time:                               {wall:8.1f} s")
    print(f"outside product build steps: {outside * 100:.1f}% of the wall time "
          f"({wall - inside:.1f} s; target < {TARGET_OUTSIDE * 100:g}%: "
          f"{'met' if outside < TARGET_OUTSIDE else 'NOT MET'})")  # fmt: skip
    print(f"scipipe's own work inside the products' times (setup, install, declare): "
          f"{around:.2f} s in all")  # fmt: skip
    print(f"ratio scipipe/serial: {ratio:.2f}x   (floor {floor:.1f} s, figure {wall:.1f} s; "
          f"{verdict(ratio, TARGET_RATIO)})")  # fmt: skip
    print(result_line("real_products scipipe/serial", floor, wall, TARGET_RATIO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
