"""Issue 20 benchmark: ``scipipe image build`` of the sample stack, cold and with the
environment layer reused.

Builds the bundled sample stack (11 products) once, publishes it with an environment
lock of a small real local conda channel as its ``env/<tag>.env``, and makes a one-layer
base image offline.  Then, interleaved, ``--rounds`` times, each into a new layout:

- floor: a cold build (a new cache: the environment installed and packed, then the stack);
- figure: a rebuild with the same lock (the environment layer from the cache; the stack
  installed and packed).

    python -m benchmarks.bench_image_build [--rounds 3]
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.support.ociimage import pack_layout

from benchmarks._timing import min_median, result_line, timings
from scipipe_tools.demo.channel import PackageSpec, make_channel, read_repodata
from scipipe_tools.demo.samplestack import materialize
from scipipe_tools.image.build import ImageOptions, build

ROOT = Path(__file__).resolve().parents[1]
TAG = "w_bench"
FLAVOR = "Linux64"
#: the demo environment is 8 tiny packages: the stack dominates; rubin-env is thousands
TARGET = 1.0


def _lock(base: Path) -> Path:
    channel = make_channel(base / "channel", [PackageSpec(f"pkg{i}", "1.0") for i in range(8)],
                           subdirs=("linux-64",))  # fmt: skip
    records = read_repodata(channel, "noarch")["packages.conda"]
    lines = [
        f"{(channel / 'noarch' / fn).as_uri()}#{r['md5']}" for fn, r in sorted(records.items())
    ]
    lock = base / "env.explicit"
    lock.write_text("# platform: linux-64\n@EXPLICIT\n" + "\n".join(lines) + "\n")
    return lock


def _publish(base: Path, lock: Path) -> Path:
    scipipe = str(Path(sys.executable).parent / "scipipe")
    sample = materialize(ROOT / "examples" / "sample-stack", base / "demo", history=False)
    work, srv = base / "work", base / "srv"
    r = subprocess.run([scipipe, "-q", "build", "lsst_demo", "--repos", str(sample.repos_yaml),
                    "--exclusion-map", str(sample.exclusions), "--flavor", FLAVOR, "--root",
                    str(work), "--no-tests"], capture_output=True, check=False)  # fmt: skip
    _check(r)
    r = subprocess.run([scipipe, "-q", "distrib", "publish", "-b", "b1", "-t", TAG, "--server-dir",
                    str(srv), "--stack", str(work / "stack"), "--flavor", FLAVOR,
                    "--sources", str(work / "sources"), "--env-file", str(lock), "--conda-env", "13.0.1", "lsst_demo"], capture_output=True, check=False)  # fmt: skip
    _check(r)
    return srv


def _check(r: subprocess.CompletedProcess[bytes]) -> None:
    if r.returncode != 0:
        raise SystemExit(f"{r.args[2]} failed: {r.stderr.decode()}")


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="scipipe-bench-") as tmp:
        base = Path(tmp)
        srv = _publish(base, _lock(base))
        (base / "rootfs" / "etc").mkdir(parents=True)
        (base / "rootfs" / "etc" / "os-release").write_text("NAME=bench\n")
        layout = pack_layout(base / "rootfs", base / "base", "base")
        n = itertools.count()

        def image(cache: Callable[[], Path]) -> Callable[[], None]:
            def go() -> None:
                build(ImageOptions(roots=(str(srv),), tag=TAG, products=("lsst_demo",),
                                   output=base / "out" / str(next(n)), base=f"oci:{layout}:base",
                                   flavor=FLAVOR, cache=cache()))  # fmt: skip

            return go

        warm = base / "warm-cache"
        t = timings({"cold": image(lambda: base / "cold" / str(next(n))), "reused": image(lambda: warm)},
                    rounds=args.rounds)  # fmt: skip
    print(f"cold build (environment installed):   {min_median(t['cold'])}")
    print(f"rebuild, environment layer reused:     {min_median(t['reused'])}")
    print(
        result_line(
            "image build, env layer reused vs cold", min(t["cold"]), min(t["reused"]), TARGET
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
