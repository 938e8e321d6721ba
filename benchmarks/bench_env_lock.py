"""Issue 4 benchmark: lock a 5,000-record channel for four platforms.

Generates a seeded local channel of real conda packages (5,000 records over linux-64,
linux-aarch64, osx-64, osx-arm64 and noarch; names with up to 30 versions, conda-forge
shaped constraints), then times ``scipipe env lock`` (the whole command, process start
included) for a spec that asks for every name in the channel, and reports the solve time
of each platform.  Baseline measured in the same run: reading and parsing the channel's
``repodata.json`` files with the standard library (what any solver must at least do).

    python -m benchmarks.bench_env_lock [--records 5000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from benchmarks._timing import best_of
from scipipe_tools.demo.channel import (
    DEFAULT_SUBDIRS,
    channel_url,
    generated_packages,
    make_channel,
)

VIRTUAL = {
    "linux-64": {"__glibc": "2.28", "__unix": "0"},
    "linux-aarch64": {"__glibc": "2.28", "__unix": "0"},
    "osx-64": {"__osx": "13.0", "__unix": "0"},
    "osx-arm64": {"__osx": "14.0", "__unix": "0"},
}


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--records", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    scipipe = str(Path(sys.executable).parent / "scipipe")
    packages = generated_packages(args.records, seed=1)
    names = list(dict.fromkeys(p.name for p in packages))
    with tempfile.TemporaryDirectory(prefix="scipipe-bench-") as tmp:
        base = Path(tmp)
        channel = make_channel(base / "channel", packages)
        spec = base / "bench.yaml"
        spec.write_text(
            yaml.safe_dump(
                {
                    "name": "bench",
                    "version": "1.0",
                    "channels": [channel_url(channel)],
                    "dependencies": names,
                    "platforms": list(DEFAULT_SUBDIRS),
                    "virtual_packages": VIRTUAL,
                }
            )
        )
        cmd = [scipipe, "--json", "env", "lock", str(spec), "--cache", str(base / "cache")]
        solves: dict[str, list[float]] = {p: [] for p in DEFAULT_SUBDIRS}
        locked: dict[str, int] = {}

        def lock() -> None:
            r = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if r.returncode != 0:
                raise SystemExit(r.stderr)
            for platform, data in json.loads(r.stdout)["platforms"].items():
                solves[platform].append(data["solve_seconds"])
                locked[platform] = data["packages"]

        repodata = sorted(channel.glob("*/repodata.json"))

        def read_repodata() -> None:
            for path in repodata:
                json.loads(path.read_bytes())

        t = best_of({"read": read_repodata, "lock": lock}, rounds=args.rounds)
    print(f"channel: {len(packages)} records, {len(names)} names, 4 platforms + noarch")
    print(f"spec: every name ({len(names)} specs), locked per platform with its virtual packages")
    for platform in DEFAULT_SUBDIRS:
        print(f"  {platform:<14} solve {min(solves[platform]) * 1000:7.1f} ms   "
              f"{locked[platform]} packages locked")  # fmt: skip
    print(f"parse every repodata.json (baseline):  {t['read'] * 1000:8.1f} ms")
    print(f"scipipe env lock, 4 platforms:         {t['lock'] * 1000:8.1f} ms   "
          "(whole command: start, solve, write lock + 4 explicit files)")  # fmt: skip
    print(f"per platform:                          {t['lock'] / 4 * 1000:8.1f} ms")
    print(f"ratio lock/parse-repodata:             {t['lock'] / t['read']:8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
