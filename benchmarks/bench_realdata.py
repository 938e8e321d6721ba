"""Issue 2 benchmark: the real lsst_distrib (build b8466, 127 products).

Resolves lsst_distrib lsst_ci lsst_extras from the products' own table files, versions
every product from the manifest's SHAs, and writes manifest.txt; reports the time of
each step.  Then compares the result with the real manifest and explains every
difference from SOURCES.tsv (table files that could only be had from another commit).

    python -m benchmarks.bench_realdata [--realdata ../shared/realdata]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import tempfile
from pathlib import Path

from benchmarks._timing import min_median, result_line, timings
from scipipe_tools.eups.graph import ProductInfo, Resolution, resolve, toposort
from scipipe_tools.eups.manifest import Manifest, build_manifest
from scipipe_tools.eups.pkgversion import compute_versions
from scipipe_tools.eups.table import TableContext
from scipipe_tools.stack.readers import read_manifest, read_table

TOP = ["lsst_distrib", "lsst_ci", "lsst_extras"]
#: resolving at most this many times reading its table files (bench_resolve's target)
TARGET = 3.0


def run(root: Path, rounds: int) -> str:
    with tempfile.TemporaryDirectory(prefix="scipipe-bench-") as tmp:
        return _run(root, rounds, Path(tmp) / "manifest.txt")


def _run(root: Path, rounds: int, out: Path) -> str:
    manifest_path = root / "manifest-b8466.txt"
    manifest = read_manifest(manifest_path)
    shas = {e.name: e.sha1 for e in manifest.entries}

    def lookup(name: str) -> ProductInfo | None:
        if name not in shas:
            return None
        path = root / "tables" / f"{name}.table"
        return ProductInfo(name, read_table(path) if path.exists() else None)

    res: Resolution = resolve(TOP, lookup)
    versions: dict[str, str] = {}
    ours: Manifest | None = None

    def step_resolve() -> None:
        nonlocal res
        res = resolve(TOP, lookup, ctx=TableContext("Linux64"))

    def step_version() -> None:
        nonlocal versions
        versions = compute_versions(res.deps, shas, order=res.order)

    def step_write() -> None:
        nonlocal ours
        ours = build_manifest(res.order, res.deps, shas, versions, "b8466")
        out.write_text(ours.to_text())

    tables = sorted((root / "tables").glob("*.table"))

    def read_tables() -> None:  # the floor of resolving: the files' bytes
        for path in tables:
            path.read_text(encoding="utf-8")

    def all_steps() -> None:
        step_resolve()
        step_version()
        step_write()

    runs = timings(
        {
            "resolve": step_resolve,
            "version": step_version,
            "write": step_write,
            "total": all_steps,
            "read manifest": lambda: read_manifest(manifest_path),
            "read tables": read_tables,
        },
        rounds=rounds,
    )
    t = {name: min(ts) for name, ts in runs.items()}
    print(f"lsst_distrib b8466: {len(res.deps)} products resolved from {' '.join(TOP)}; "
          f"{rounds} interleaved rounds")  # fmt: skip
    for name in ["resolve", "version", "write", "total", "read manifest", "read tables"]:
        print(f"  {name:<14} {min_median(runs[name])}")

    notes = {}
    with open(root / "SOURCES.tsv", newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            notes[row["product"]] = row["note"]
    diff = [n for n in res.deps if list(res.deps[n]) != list(manifest[n].deps)]
    wrong = sorted(n for n in versions if versions[n] != manifest[n].version)
    print(f"product set equals the manifest's: {set(res.deps) == set(manifest.names)}")
    print(f"direct deps differ for {len(diff)} products; SOURCES.tsv says why:")
    for n in diff:
        ours_set, theirs = set(res.deps[n]), set(manifest[n].deps)
        extra = ",".join(sorted(ours_set - theirs)) or "-"
        missing = ",".join(sorted(theirs - ours_set)) or "-"
        copy = re.search(r"used repository copy tip of (\S+ \([\d-]+\))", notes.get(n, ""))
        why = f"table from the tip of {copy.group(1)}" if copy else notes.get(n, "?")
        print(f"  {n:<31} table-only={extra:<12} manifest-only={missing:<24} {why}")
    print(
        f"versions that differ as a result ({len(wrong)}, each downstream of those): "
        + ", ".join(wrong)
    )
    # With the stale rows taken from the manifest, everything else is ours.
    graph = {n: (manifest[n].deps if n in diff else d) for n, d in res.deps.items()}
    order = [p for level in toposort(graph) for p in level]
    fixed = build_manifest(order, graph, shas, compute_versions(graph, shas), "b8466")
    print(
        f"with those {len(diff)} rows corrected: order, every version and the file "
        f"byte-identical: {fixed.to_text() == manifest_path.read_text()}"
    )
    return result_line("realdata resolve/read tables", t["read tables"], t["resolve"], TARGET)


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "realdata"
    ap.add_argument("--realdata", type=Path, default=default)
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    root = args.realdata / "lsst_distrib-b8466"
    if not root.is_dir():
        print(f"real data not found at {root}: nothing to measure", file=sys.stderr)
        return 0
    print(run(root, args.rounds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
