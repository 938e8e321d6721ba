"""Issue 3 benchmark: a no-op rebuild of a 150-product stack.

Builds a generated 150-product stack once from local git remotes, then times
``scipipe build top --no-fetch`` (the whole command, process start included) when nothing
has changed, against the baseline measured in the same run: ``git rev-parse HEAD`` in all
150 checkouts, one process each (what any tool must at least do to learn the SHAs).
Target: at most 3x.

    python -m benchmarks.bench_noop_rebuild [--products 150] [--rounds 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support import stackgen

from benchmarks._timing import best_of, verdict
from scipipe_tools.demo.gitrepo import file_url

TARGET = 3.0


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--products", type=int, default=150)
    ap.add_argument("--deps", type=float, default=6)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    scipipe = str(Path(sys.executable).parent / "scipipe")
    stack = stackgen.generate(args.products - 1, avg_deps=args.deps, seed=3)
    with tempfile.TemporaryDirectory(prefix="scipipe-bench-") as tmp:
        base = Path(tmp)
        repos = stackgen.make_git_repos(
            stack, base / "unused", commits=3, bare_remotes=base / "remotes", clone=False
        )
        repos_yaml = stackgen.write_repos_yaml(
            stack, base / "repos.yaml", lambda p: file_url(repos.remotes[p])
        )
        root = base / "work"
        cmd = [scipipe, "-q", "build", stack.top, "--repos", str(repos_yaml), "--root",
               str(root), "--no-tests", "-j", "2"]  # fmt: skip
        first = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if first.returncode != 0:
            print(first.stderr, file=sys.stderr)
            return 1
        sources = sorted((root / "sources").iterdir())

        def rev_parse_all() -> None:
            for repo in sources:
                subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                               check=True)  # fmt: skip

        def noop_rebuild() -> None:
            r = subprocess.run([*cmd, "--no-fetch"], capture_output=True, text=True, check=False)
            if r.returncode != 0:
                raise SystemExit(r.stderr)

        t = best_of({"rev-parse": rev_parse_all, "no-op": noop_rebuild}, rounds=args.rounds)
    ratio = t["no-op"] / t["rev-parse"]
    print(f"stack: {len(sources)} products, already built")
    print(f"git rev-parse HEAD in every checkout:  {t['rev-parse'] * 1000:8.1f} ms")
    print(f"scipipe build --no-fetch (no-op):      {t['no-op'] * 1000:8.1f} ms")
    print(f"ratio no-op/rev-parse:                 {ratio:8.2f}x   ({verdict(ratio, TARGET)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
