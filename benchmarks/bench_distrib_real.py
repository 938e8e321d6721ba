"""Issue 14 benchmark: ``scipipe distrib install`` vs real ``eups distrib install``.

Builds real EUPS 2.2.15 from ``../shared/tools`` (with the tests' own build function),
builds the bundled sample stack (11 products) with ``scipipe build``, publishes it as a
binary root with ``scipipe distrib publish`` (which real EUPS installs), and serves it
over HTTP on 127.0.0.1.  Then, on the same machine, each into a new empty stack, the
whole command with process start, interleaved, best of ``--rounds`` after a warm-up:

- real ``eups distrib install -r URL -t TAG lsst_demo`` (in bash, after ``setups.sh``);
- ``scipipe distrib install -t TAG --root URL lsst_demo``.

Skipped, with a message, when ``../shared`` (the real tools) is absent.  Everything it
makes lives in one temporary directory, removed at the end.

    python -m benchmarks.bench_distrib_real [--rounds 1]
"""

from __future__ import annotations

import argparse
import itertools
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.realtools import EUPS_ARCHIVE, RealEups, build_eups
from tests.support.httpserver import StaticServer

from benchmarks._timing import min_median, result_line, timings
from scipipe_tools.demo.samplestack import materialize

ROOT = Path(__file__).resolve().parents[1]
TAG = "w_bench"
FLAVOR = "Linux64"
#: scipipe's install takes at most this share of real EUPS's (no slower than eups)
TARGET = 1.0


def _check(r: subprocess.CompletedProcess[str], what: str) -> None:
    if r.returncode != 0:
        raise SystemExit(f"{what} failed ({r.returncode}):\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    if not EUPS_ARCHIVE.is_file():
        print(f"real EUPS not found at {EUPS_ARCHIVE}: nothing to measure", file=sys.stderr)
        return 0
    scipipe = str(Path(sys.executable).parent / "scipipe")
    with tempfile.TemporaryDirectory(prefix="scipipe-bench-") as tmp:
        base = Path(tmp)
        real = build_eups(base / "real-eups")
        sample = materialize(ROOT / "examples" / "sample-stack", base / "demo", history=False)
        work = base / "work"
        r = subprocess.run(
            [scipipe, "-q", "build", "lsst_demo", "--repos", str(sample.repos_yaml), "--root",
             str(work), "--exclusion-map", str(sample.exclusions), "--flavor", FLAVOR,
             "--no-tests"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        _check(r, "scipipe build")
        srv = base / "srv"
        r = subprocess.run(
            [scipipe, "-q", "distrib", "publish", "-b", "b1", "-t", TAG, "--server-dir",
             str(srv), "--stack", str(work / "stack"), "--flavor", FLAVOR, "--conda-env",
             "13.0.1", "lsst_demo"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        _check(r, "scipipe distrib publish")
        fresh = (base / "stacks" / str(i) for i in itertools.count())

        with StaticServer(srv) as server:

            def eups_install() -> None:
                stack = next(fresh)
                (stack / "ups_db").mkdir(parents=True)
                _check(_real(real, stack, f"eups distrib install -r {server.url} -t {TAG} "
                                          "lsst_demo"), "eups distrib install")  # fmt: skip

            def scipipe_install() -> None:
                r = subprocess.run(
                    [scipipe, "-q", "distrib", "install", "-t", TAG, "--root", server.url,
                     "--stack", str(next(fresh)), "--flavor", FLAVOR, "lsst_demo"],
                    capture_output=True, text=True, check=False,
                )  # fmt: skip
                _check(r, "scipipe distrib install")

            fns: dict[str, Callable[[], None]] = {
                "eups": eups_install,
                "scipipe": scipipe_install,
            }
            runs = timings(fns, rounds=args.rounds)
    t = {name: min(ts) for name, ts in runs.items()}
    ratio = t["scipipe"] / t["eups"]
    print(f"stack: {len(sample.products)} products (the sample stack), one binary root over "
          f"HTTP, published by scipipe as {TAG}")  # fmt: skip
    print(f"real eups distrib install (EUPS 2.2.15):  {min_median(runs['eups'])}")
    print(f"scipipe distrib install:                  {min_median(runs['scipipe'])}")
    print(
        f"ratio scipipe/eups: {ratio:.2f}x   (eups {t['eups'] * 1000:.0f} ms, scipipe "
        f"{t['scipipe'] * 1000:.0f} ms; {t['eups'] / t['scipipe']:.1f}x faster)"
    )
    print(result_line("distrib_real scipipe/eups", t["eups"], t["scipipe"], TARGET))
    return 0


def _real(real: RealEups, stack: Path, script: str) -> subprocess.CompletedProcess[str]:
    """A real EUPS command on ``stack`` alone (setups.sh puts its default stack first)."""
    return real.run(f"export EUPS_PATH={shlex.quote(str(stack))} && {script}", stack, check=False)


if __name__ == "__main__":
    sys.exit(main())
