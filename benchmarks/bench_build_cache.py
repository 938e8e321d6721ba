"""Issue 17 benchmark: a cold build against a build with every product in the binary cache.

Builds a generated stack (default 150 products) from local git remotes into an empty work
root with ``--cache DIR`` (every product built from source, then stored), then into a
second empty work root against the same cache (every product installed from it), and
prints the ratio cached/cold, both timed in the same run (whole commands, process start,
clones and the EUPS stack included).  The generated products build quickly (a few files
each), so the ratio understates what a cache saves on real products, whose builds take
minutes.

    python -m benchmarks.bench_build_cache [--products 150] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support import stackgen

from benchmarks._timing import min_median, result_line
from scipipe_tools.demo.gitrepo import file_url

#: a build with every product in the cache takes at most this share of a cold build (the
#: generated products build in well under a second, so this is a floor, not the saving)
TARGET = 0.5


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--products", type=int, default=150)
    ap.add_argument("--deps", type=float, default=6)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    scipipe = str(Path(sys.executable).parent / "scipipe")
    stack = stackgen.generate(args.products - 1, avg_deps=args.deps, seed=5)
    with tempfile.TemporaryDirectory(prefix="scipipe-bench-") as tmp:
        base = Path(tmp)
        repos = stackgen.make_git_repos(
            stack, base / "unused", commits=2, bare_remotes=base / "remotes", clone=False
        )
        repos_yaml = stackgen.write_repos_yaml(
            stack, base / "repos.yaml", lambda p: file_url(repos.remotes[p])
        )

        def build(root: Path, cache: Path) -> tuple[float, dict[str, int]]:
            cmd = [scipipe, "-q", "build", stack.top, "--repos", str(repos_yaml), "--root",
                   str(root), "--no-tests", "-j", "2", "--cache", str(cache), "--json"]  # fmt: skip
            start = time.perf_counter()
            r = subprocess.run(cmd, capture_output=True, text=True, check=False)
            took = time.perf_counter() - start
            if r.returncode != 0:
                raise SystemExit(r.stderr)
            counts: dict[str, int] = {}
            for p in json.loads(r.stdout)["products"]:
                counts[p["status"]] = counts.get(p["status"], 0) + 1
            return took, counts

        colds: list[float] = []
        warms: list[float] = []
        for n in range(args.rounds):
            cache = base / f"cache{n}"
            t_cold, c_cold = build(base / f"cold{n}", cache)
            t_cached, c_cached = build(base / f"warm{n}", cache)
            colds.append(t_cold)
            warms.append(t_cached)
            shutil.rmtree(base / f"cold{n}")
            shutil.rmtree(base / f"warm{n}")
    cold, cached = min(colds), min(warms)
    print(f"stack: {args.products} products, {args.rounds} round(s)")
    print(f"cold build (empty cache, stores):   {cold:8.2f} s   {c_cold}   ({min_median(colds)})")
    print(f"build with every product cached:    {cached:8.2f} s   {c_cached}   "
          f"({min_median(warms)})")  # fmt: skip
    print(f"ratio cached/cold:                  {cached / cold:8.2f}x")
    print(result_line("build_cache", cold, cached, TARGET))
    return 0


if __name__ == "__main__":
    sys.exit(main())
