"""Issue 4 benchmark: installing the sample stack from a distribution server vs building it.

Materializes the bundled sample stack (11 products) as local git remotes, builds it from
source once with ``scipipe build`` and publishes that build (``scipipe distrib publish``)
to a server root served by a real HTTP server on 127.0.0.1.  Then, interleaved, best of
``--rounds``, each into a new empty stack, the whole command with process start:

- baseline: ``scipipe build lsst_demo --no-fetch`` (from source: every product built, and
  its unit tests run unless ``--baseline no-tests``; the checkouts are already there);
- ``scipipe distrib install -t TAG lsst_demo`` over HTTP.

    python -m benchmarks.bench_distrib_install [--rounds 3] [--baseline tests|no-tests|both]
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.support.httpserver import StaticServer

from benchmarks._timing import best_of
from scipipe_tools.demo.samplestack import materialize

ROOT = Path(__file__).resolve().parents[1]
TAG = "w_bench"
FLAVOR = "Linux64"


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
            if args.baseline in ("tests", "both"):
                fns["build"] = command(from_source)
            if args.baseline in ("no-tests", "both"):
                fns["build --no-tests"] = command([*from_source, "--no-tests"])
            fns["install"] = command(install)
            t = best_of(fns, rounds=args.rounds)
    print(f"stack: {len(sample.products)} products (the sample stack), published as {TAG}")
    labels = {
        "build": "scipipe build (from source, unit tests on):",
        "build --no-tests": "scipipe build --no-tests (from source):",
        "install": "scipipe distrib install -t TAG (HTTP):",
    }
    for name, seconds in t.items():
        print(f"{labels[name]:<46} {seconds * 1000:8.1f} ms")
    headline = "build" if "build" in t else "build --no-tests"
    print(f"speed-up distrib install over source build: {t[headline] / t['install']:.1f}x"
          f"   ({labels[headline].rstrip(':')})")  # fmt: skip
    if headline == "build" and "build --no-tests" in t:
        ratio = t["build --no-tests"] / t["install"]
        print(f"speed-up over a source build without tests: {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
