"""Issues 4 and 19 benchmark: ``scipipe env create`` from a lock against the floors.

For each size (by default 100 and 300 packages of 60 files each: 6,000 and 18,000 files,
0.4 and 1.2 GB installed, a mix of incompressible and source-like text; a real rubin-env
is about 600 packages and 2.5 GB), builds a local channel of real conda packages, locks
an environment of all of them, then times, interleaved, each into fresh directories and
after an ``os.sync()`` so that no step pays for the previous one's writes:

- the cold floor: a plain copy of the same package files, the tree the environment
  consists of (``shutil.copytree`` of an environment made earlier): what any installer
  must at least write;
- ``scipipe env create --lock`` with an empty cache (the whole command: process start,
  copy and sha256 of every archive, extraction, linking into the prefix); target: at
  most 3x the cold floor;
- the warm floor: py-rattler's own install of the same lock with its own warm package
  cache (a Python process that imports rattler, reads the lock with rattler's reader and
  calls ``rattler.install``: what scipipe's worker is built on);
- ``scipipe env create`` with a warm cache (archives verified and extracted before);
  target: at most 1.3x the warm floor;
- the no-op: the environment already matches the lock.

Each is printed with its min and median; the ratios are min against min (the least
disturbed run of each: the machines are shared).  Also printed, for scale: a plain copy
of the compressed archives.  The last lines are one ``result_line`` per size and cache,
the very last the one furthest from its target.

    python -m benchmarks.bench_env_create [--packages 100,300] [--files 60] [--kb 64]
        [--rounds 3] [--dir DIR]
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmarks._timing import min_median, result_line, verdict
from scipipe_tools.demo.channel import PackageSpec, channel_url, make_channel
from scipipe_tools.infra.lockfile import read_lock

COLD_TARGET = 3.0
WARM_TARGET = 1.3


def payload(rng: random.Random, name: str, files: int, kb: int) -> dict[str, str]:
    """Half the files incompressible-ish (hex noise, like binaries), half source-like."""
    out = {}
    for i in range(files):
        size = kb * 1024
        if i % 2:
            text = rng.randbytes(size // 2).hex()
        else:
            line = f"def {name}_{i}(x):  # " + rng.randbytes(8).hex() + "\n    return x + 1\n"
            text = (line * (size // len(line) + 1))[:size]
        out[f"lib/python3.13/site-packages/{name}/m{i:03d}.py"] = text
    return out


def packages(n: int, files: int, kb: int) -> list[PackageSpec]:
    rng = random.Random(4)
    out = [
        PackageSpec(
            f"bench{i:03d}",
            "1.0",
            subdir="linux-64",
            depends=("__glibc >=2.17",),
            files=payload(rng, f"bench{i:03d}", files, kb),
        )
        for i in range(n)
    ]
    out.append(PackageSpec("bench-env", "1.0", depends=tuple(p.name for p in out)))
    return out


def timed(
    fns: dict[str, tuple[Callable[[], None], Callable[[], None], Callable[[], None]]],
    rounds: int,
) -> dict[str, list[float]]:
    """Every time of ``rounds``, interleaved; each entry is (setup, work, teardown): only
    work is timed."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, (setup, work, teardown) in fns.items():
            setup()
            gc.collect()
            start = time.perf_counter()
            work()
            times[name].append(time.perf_counter() - start)
            teardown()
    return times


#: py-rattler's own install of a lock (the warm floor): argv[1:] = lock, platform, package
#: cache, prefix
RATTLER_INSTALL = """
import asyncio, sys
from pathlib import Path
import rattler
lock = rattler.LockFile.from_path(Path(sys.argv[1]))
env = lock.default_environment()
platform = next(p for p in lock.platforms() if str(p.name) == sys.argv[2])
records = env.conda_repodata_records_for_platform(platform)
cache = rattler.PackageCache.new_layered([Path(sys.argv[3])], cache_origin=True)
asyncio.run(rattler.install(records, target_prefix=Path(sys.argv[4]), package_cache=cache,
                            platform=rattler.Subdir(sys.argv[2]), show_progress=False))
import os; os._exit(0)  # as scipipe's worker: no interpreter teardown (py-rattler's race)
"""


@dataclass(frozen=True)
class Size:
    packages: int
    archive_mb: float
    installed_files: int
    installed_mb: float
    times: dict[str, list[float]]

    def ratio(self, figure: str, floor: str) -> float:
        return min(self.times[figure]) / min(self.times[floor])


def measure(base: Path, n: int, args: argparse.Namespace) -> Size:
    scipipe = str(Path(sys.executable).parent / "scipipe")
    channel = make_channel(base / "channel", packages(n, args.files, args.kb),
                           subdirs=["linux-64"])  # fmt: skip
    spec = base / "bench.yaml"
    spec.write_text(yaml.safe_dump({
        "name": "bench", "version": "1.0", "channels": [channel_url(channel)],
        "dependencies": ["bench-env"], "platforms": ["linux-64"],
        "virtual_packages": {"linux-64": {"__glibc": "2.28", "__unix": "0"}},
    }))  # fmt: skip
    lock = base / "bench.conda-lock.yml"
    run([scipipe, "-q", "env", "lock", str(spec), "-o", str(lock), "--no-explicit",
         "--cache", str(base / "solve-cache")])  # fmt: skip
    locked = read_lock(lock).for_platform("linux-64")
    archives = [channel / p.url.rsplit("/", 2)[-2] / p.url.rsplit("/", 1)[-1] for p in locked]
    archive_bytes = sum(a.stat().st_size for a in archives)
    warm_cache, reference = base / "warm-cache", base / "reference"
    create = [scipipe, "-q", "env", "create", "--lock", str(lock), "--platform", "linux-64"]
    run([*create, "-p", str(reference), "--cache", str(warm_cache)])
    rattler = [sys.executable, "-c", RATTLER_INSTALL, str(lock), "linux-64",
               str(base / "rattler-cache")]  # fmt: skip
    run([*rattler, str(base / "rattler-warm-up")])  # its own cache, warm from here on
    shutil.rmtree(base / "rattler-warm-up")
    installed = [f for f in reference.rglob("*") if f.is_file()]
    target = base / "target"

    def clear() -> None:
        shutil.rmtree(target, ignore_errors=True)
        shutil.rmtree(base / "cold-cache", ignore_errors=True)
        # No step may pay for the previous one's write-back.
        os.sync()

    def copy_archives() -> None:
        target.mkdir()
        for a in archives:
            shutil.copyfile(a, target / a.name)

    def nothing() -> None:
        os.sync()

    def cmd(*argv: str) -> Callable[[], None]:
        return lambda: run(list(argv))

    to_target = ["-p", str(target), "--cache"]
    steps: dict[str, tuple[Callable[[], None], Callable[[], None], Callable[[], None]]] = {
        "tree": (clear, lambda: shutil.copytree(reference, target, symlinks=True), clear),
        "cold": (clear, cmd(*create, *to_target, str(base / "cold-cache")), clear),
        "rattler": (clear, cmd(*rattler, str(target)), clear),
        "warm": (clear, cmd(*create, *to_target, str(warm_cache)), clear),
        "noop": (nothing, cmd(*create, "-p", str(reference), "--cache", str(warm_cache)), nothing),
        "archives": (clear, copy_archives, clear),
    }
    return Size(len(locked), archive_bytes / 1e6, len(installed),
                sum(f.stat().st_size for f in installed) / 1e6,
                timed(steps, args.rounds))  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--packages", default="100,300",
                    help="Sizes to measure, comma-separated [default: 100,300].")  # fmt: skip
    ap.add_argument("--files", type=int, default=60)
    ap.add_argument("--kb", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=None,
                    help="Where to work [default: the temp dir]; /dev/shm takes the disk out.")  # fmt: skip
    args = ap.parse_args()
    sizes = []
    for n in (int(x) for x in args.packages.split(",")):
        with tempfile.TemporaryDirectory(prefix="scipipe-bench-", dir=args.dir) as tmp:
            sizes.append(measure(Path(tmp), n, args))
    lines = []
    for size in sizes:
        t = size.times
        print(f"environment: {size.packages} packages, {size.archive_mb:.0f} MB of archives, "
              f"{size.installed_files} files, {size.installed_mb:.0f} MB installed "
              f"({args.rounds} rounds)")  # fmt: skip
        print(f"  plain copy of the package files (cold floor): {min_median(t['tree'])}")
        print(f"  scipipe env create, empty cache:              {min_median(t['cold'])}")
        print(f"  py-rattler's own install, warm (warm floor):  {min_median(t['rattler'])}")
        print(f"  scipipe env create, warm cache:               {min_median(t['warm'])}")
        print(f"  scipipe env create, already matching:         {min_median(t['noop'])}")
        print(f"  plain copy of the compressed archives:        {min_median(t['archives'])}"
              "   (for scale)")  # fmt: skip
        cold, warm = size.ratio("cold", "tree"), size.ratio("warm", "rattler")
        print(f"  ratio create/copy, empty cache:               {cold:8.2f}x   "
              f"({verdict(cold, COLD_TARGET)})")  # fmt: skip
        print(f"  ratio create/py-rattler, warm cache:          {warm:8.2f}x   "
              f"({verdict(warm, WARM_TARGET)})")  # fmt: skip
        n = size.packages
        lines.append((cold / COLD_TARGET, result_line(
            f"env create {n} packages, empty cache vs file copy",
            min(t["tree"]), min(t["cold"]), COLD_TARGET)))  # fmt: skip
        lines.append((warm / WARM_TARGET, result_line(
            f"env create {n} packages, warm cache vs py-rattler's install",
            min(t["rattler"]), min(t["warm"]), WARM_TARGET)))  # fmt: skip
    for _, line in sorted(lines, key=lambda item: item[0]):
        print(line)
    return 0


#: as installed: compiled bytecode cached and used
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(argv: list[str]) -> None:
    r = subprocess.run(argv, capture_output=True, text=True, check=False, env=ENV)
    if r.returncode != 0:
        raise SystemExit(r.stderr)


if __name__ == "__main__":
    sys.exit(main())
