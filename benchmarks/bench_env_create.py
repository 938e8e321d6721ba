"""Issue 4 benchmark: ``scipipe env create`` from a lock against the physical floor.

Builds a local channel of real conda packages with real weight (by default 300 packages
of 60 files each: 18,000 files, 1.2 GB installed, a mix of incompressible and source-like
text; a real rubin-env is about 600 packages and 2.5 GB), locks
an environment of all of them, then times, interleaved, best of N, each into fresh
directories and after an ``os.sync()`` so that no step pays for the previous one's writes:

- the floor: a plain copy of the same package files, the tree the environment consists
  of (``shutil.copytree`` of an environment made earlier): what any installer must at
  least write;
- ``scipipe env create --lock`` with an empty cache (the whole command: process start,
  copy and sha256 of every archive, extraction, linking into the prefix); target: at
  most 3x the floor;
- the same with a warm cache (archives already verified and extracted);
- the no-op: the environment already matches the lock.

Also printed, for scale: a plain copy of the compressed archives themselves, which no
installer can approach (it must decompress and write 4x the bytes here).

    python -m benchmarks.bench_env_create [--packages 300] [--files 60] [--kb 64] [--rounds 3] [--dir DIR]
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
from pathlib import Path

import yaml

from benchmarks._timing import verdict
from scipipe_tools.demo.channel import PackageSpec, channel_url, make_channel
from scipipe_tools.infra.lockfile import read_lock

TARGET = 3.0


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
) -> dict[str, float]:
    """Best of ``rounds``, interleaved; each entry is (setup, work, teardown): only work
    is timed."""
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, (setup, work, teardown) in fns.items():
            setup()
            gc.collect()
            start = time.perf_counter()
            work()
            best[name] = min(best[name], time.perf_counter() - start)
            teardown()
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--packages", type=int, default=300)
    ap.add_argument("--files", type=int, default=60)
    ap.add_argument("--kb", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=None,
                    help="Where to work [default: the temp dir]; /dev/shm takes the disk out.")  # fmt: skip
    args = ap.parse_args()
    scipipe = str(Path(sys.executable).parent / "scipipe")
    with tempfile.TemporaryDirectory(prefix="scipipe-bench-", dir=args.dir) as tmp:
        base = Path(tmp)
        channel = make_channel(base / "channel", packages(args.packages, args.files, args.kb),
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
        installed_bytes = sum(f.stat().st_size for f in reference.rglob("*") if f.is_file())
        installed_files = sum(1 for f in reference.rglob("*") if f.is_file())
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

        def copy_tree() -> None:
            shutil.copytree(reference, target, symlinks=True)

        def cold() -> None:
            run([*create, "-p", str(target), "--cache", str(base / "cold-cache")])

        def warm() -> None:
            run([*create, "-p", str(target), "--cache", str(warm_cache)])

        def noop() -> None:
            run([*create, "-p", str(reference), "--cache", str(warm_cache)])

        def nothing() -> None:
            os.sync()

        t = timed(
            {
                "copy": (clear, copy_archives, clear),
                "tree": (clear, copy_tree, clear),
                "cold": (clear, cold, clear),
                "warm": (clear, warm, clear),
                "noop": (nothing, noop, nothing),
            },
            args.rounds,
        )
    ratio = t["cold"] / t["tree"]
    print(f"environment: {len(locked)} packages, {archive_bytes / 1e6:.0f} MB of archives, "
          f"{installed_files} files, {installed_bytes / 1e6:.0f} MB installed")  # fmt: skip
    print(f"plain copy of the package files (floor):   {t['tree'] * 1000:8.1f} ms")
    print(f"scipipe env create, empty cache:            {t['cold'] * 1000:8.1f} ms")
    print(f"scipipe env create, warm cache:             {t['warm'] * 1000:8.1f} ms")
    print(f"scipipe env create, already matching:       {t['noop'] * 1000:8.1f} ms")
    print(f"plain copy of the compressed archives:      {t['copy'] * 1000:8.1f} ms   (for scale)")
    print(f"ratio create/copy:                          {ratio:8.2f}x   ({verdict(ratio, TARGET)})")
    print(f"ratio create/copy, warm cache:              {t['warm'] / t['tree']:8.2f}x")
    return 0


def run(argv: list[str]) -> None:
    r = subprocess.run(argv, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise SystemExit(r.stderr)


if __name__ == "__main__":
    sys.exit(main())
