"""Issue 4 benchmark: installing the sample stack from a distribution server vs building it.

Materializes the bundled sample stack (11 products) as local git remotes, builds it from
source once with ``scipipe build`` and publishes that build (``scipipe distrib publish``)
to a server root served by a real HTTP server on 127.0.0.1.  Then, interleaved, best of
``--rounds``, each into a new empty stack, the whole command with process start:

- baseline: ``scipipe build lsst_demo --no-fetch --no-tests`` (from source: every product
  built; the checkouts are already there), and with ``--baseline both`` (the default) or
  ``tests`` also the same build with its unit tests run;
- ``scipipe distrib install -t TAG lsst_demo`` over HTTP.

The headline (and the last line) is the speed-up over the build without tests: that is
the work an install replaces.  The build with tests is printed after it.

    python -m benchmarks.bench_distrib_install [--rounds 3] [--baseline tests|no-tests|both]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.support.httpserver import StaticServer

from benchmarks._timing import min_median, result_line, timings
from scipipe_tools.demo.samplestack import materialize

ROOT = Path(__file__).resolve().parents[1]
TAG = "w_bench"
FLAVOR = "Linux64"
#: an install is at least this much faster than building without tests (the sample
#: products are pure Python: there is little to build, so this is a floor)
TARGET = 1.0


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline", choices=["tests", "no-tests", "both"], default="both")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="build -j")
    args = ap.parse_args()
    scipipe = str(Path(sys.executable).parent / "scipipe")
    with tempfile.TemporaryDirectory(prefix="scipipe-bench-") as tmp:
        base = Path(tmp)
        sample = materialize(ROOT / "examples" / "sample-stack", base / "demo", history=False)
        work = base / "work"
        build = [scipipe, "-q", "build", "lsst_demo", "--repos", str(sample.repos_yaml),
                 "--exclusion-map", str(sample.exclusions), "--flavor", FLAVOR,
                 "-j", str(args.jobs)]  # fmt: skip
        first = subprocess.run([*build, "--root", str(work), "--no-tests"], capture_output=True, text=True,
                               check=False)  # fmt: skip
        if first.returncode != 0:
            print(first.stderr, file=sys.stderr)
            return 1
        srv = base / "srv"
        publish = [scipipe, "-q", "distrib", "publish", "-b", "b1", "-t", TAG, "--server-dir",
                   str(srv), "--stack", str(work / "stack"), "--flavor", FLAVOR,
                   "--conda-env", "13.0.1", "lsst_demo"]  # fmt: skip
        subprocess.run(publish, capture_output=True, text=True, check=True)
        fresh = (base / "stacks" / str(i) for i in itertools.count())

        def command(argv: list[str]) -> Callable[[], None]:
            def go() -> None:
                target = next(fresh)
                full = [a.replace("{stack}", str(target)) for a in argv]
                r = subprocess.run(full, capture_output=True, text=True, check=False)
                if r.returncode != 0:
                    raise SystemExit(r.stderr)

            return go

        from_source = [*build, "--no-fetch", "--sources", str(work / "sources"),
                       "--stack", "{stack}/stack", "--build-dir", "{stack}/build"]  # fmt: skip
        with StaticServer(srv) as server:
            install = [scipipe, "-q", "distrib", "install", "-t", TAG, "--root", server.url,
                       "--stack", "{stack}", "--flavor", FLAVOR, "lsst_demo"]  # fmt: skip
            fns: dict[str, Callable[[], None]] = {}
            if args.baseline in ("no-tests", "both"):
                fns["build --no-tests"] = command([*from_source, "--no-tests"])
            if args.baseline in ("tests", "both"):
                fns["build"] = command(from_source)
            fns["install"] = command(install)
            runs = timings(fns, rounds=args.rounds)
    t = {name: min(ts) for name, ts in runs.items()}
    print(f"stack: {len(sample.products)} products (the sample stack), published as {TAG}; "
          f"{args.rounds} interleaved rounds")  # fmt: skip
    labels = {
        "build --no-tests": "scipipe build --no-tests (from source):",
        "build": "scipipe build (from source, unit tests on):",
        "install": "scipipe distrib install -t TAG (HTTP):",
    }
    for name, ts in runs.items():
        print(f"{labels[name]:<46} {min_median(ts)}")
    headline = "build --no-tests" if "build --no-tests" in t else "build"
    for name in (headline, *(n for n in ("build",) if n != headline and n in t)):
        ratio = t[name] / t["install"]
        median = statistics.median(runs[name]) / statistics.median(runs["install"])
        print(f"speed-up distrib install over {labels[name].rstrip(':')}: {ratio:.1f}x "
              f"(medians: {median:.1f}x)")  # fmt: skip
    print(result_line(f"distrib_install vs {headline}", t[headline], t["install"], TARGET,
                      at_least=True))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
