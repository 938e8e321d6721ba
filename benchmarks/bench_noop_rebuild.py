"""Issue 19 benchmark: a no-op rebuild of a 150- and a 300-product stack.

Builds a generated stack once from local git remotes, then times ``scipipe build top
--no-fetch`` (the whole command, process start included) when nothing has changed.  The
floor, measured in the same run: a fresh ``python -c`` process that reads every checkout's
``.git/HEAD`` and the ref file it names (what any tool must at least do to learn the SHAs).
Target: at most 5x.  Also printed, as a second figure: ``git rev-parse HEAD`` in every
checkout, one process each (the floor of issue 3).

On a shared, loaded machine the wall times swing; the CPU time of the processes (user +
system, from ``getrusage``) is printed too, as the steadier comparison.

The command runs as an installed tool does: with its byte code cached (the warm-up run
writes it even when ``PYTHONDONTWRITEBYTECODE`` is set here).

    python -m benchmarks.bench_noop_rebuild [--products 150 300] [--rounds 7]
                                            [--baseline-src OLD_CHECKOUT/src]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.support import stackgen

from benchmarks._timing import min_median, result_line, timings
from scipipe_tools.demo.gitrepo import file_url

TARGET = 5.0

#: the floor: read HEAD and the ref it names (loose, else packed-refs) in every checkout
READ_HEADS = """
import os, sys
root = sys.argv[1]
for name in os.listdir(root):
    gd = os.path.join(root, name, ".git")
    with open(os.path.join(gd, "HEAD")) as fh:
        head = fh.read()
    if head.startswith("ref: "):
        try:
            with open(os.path.join(gd, head[5:].strip())) as fh:
                fh.read()
        except OSError:
            with open(os.path.join(gd, "packed-refs")) as fh:
                fh.read()
"""


def built_stack(
    base: Path, products: int, deps: float, fixed_id: bool = False
) -> tuple[list[str], Path]:
    """A stack of ``products`` built under ``base``: the no-op command and the sources.

    ``fixed_id``: with ``--build-id b1``, through the entry point an install of this tree
    makes (``scipipe_tools.cli.entry:main``), which can take the no-op shortcut."""
    scipipe = str(Path(sys.executable).parent / "scipipe")
    if fixed_id:
        script = base / "scipipe"
        script.write_text(f"#!{sys.executable}\nimport sys\n"
                          "from scipipe_tools.cli.entry import main\nsys.exit(main())\n")  # fmt: skip
        script.chmod(0o755)
        scipipe = str(script)
    stack = stackgen.generate(products - 1, avg_deps=deps, seed=3)
    repos = stackgen.make_git_repos(
        stack, base / "unused", commits=3, bare_remotes=base / "remotes", clone=False
    )
    repos_yaml = stackgen.write_repos_yaml(
        stack, base / "repos.yaml", lambda p: file_url(repos.remotes[p])
    )
    root = base / "work"
    cmd = [scipipe, "-q", "build", stack.top, "--repos", str(repos_yaml), "--root", str(root),
           "--no-tests", "-j", "2", *(["--build-id", "b1"] if fixed_id else [])]  # fmt: skip
    first = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if first.returncode != 0:
        raise SystemExit(first.stderr)
    return [*cmd, "--no-fetch"], root / "sources"


def measure(
    products: int, deps: float, rounds: int, baseline: Path | None, fixed_id: bool = False
) -> tuple[float, float]:
    """Print one size's figures; return (floor, no-op), each the minimum."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    old_env = {**env, "PYTHONPATH": os.pathsep.join([str(baseline), env.get("PYTHONPATH", "")])}
    with tempfile.TemporaryDirectory(prefix="scipipe-bench-") as tmp:
        noop_cmd, sources = built_stack(Path(tmp), products, deps, fixed_id)
        checkouts = sorted(sources.iterdir())

        cpu: dict[str, list[float]] = {"heads": [], "no-op": [], "baseline": []}

        def read_heads() -> None:
            with _cpu(cpu["heads"]):
                subprocess.run([sys.executable, "-c", READ_HEADS, str(sources)], check=True,
                               env=env)  # fmt: skip

        def rev_parse_all() -> None:
            for repo in checkouts:
                subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                               check=True)  # fmt: skip

        def noop_rebuild() -> None:
            with _cpu(cpu["no-op"]):
                r = subprocess.run(noop_cmd, capture_output=True, text=True, check=False, env=env)
            if r.returncode != 0:
                raise SystemExit(r.stderr)

        def baseline_noop() -> None:
            with _cpu(cpu["baseline"]):
                r = subprocess.run(noop_cmd, capture_output=True, text=True, check=False,
                                   env=old_env)  # fmt: skip
            if r.returncode != 0:
                raise SystemExit(r.stderr)

        fns = {"heads": read_heads, "rev-parse": rev_parse_all, "no-op": noop_rebuild}
        if baseline is not None:
            fns["baseline"] = baseline_noop
        t = timings(fns, rounds)
    floor, noop, rev = min(t["heads"]), min(t["no-op"]), min(t["rev-parse"])
    print(f"stack: {len(checkouts)} products, already built")
    print(f"  python reading every HEAD (floor):   {min_median(t['heads'])}")
    print(f"  git rev-parse HEAD in every checkout: {min_median(t['rev-parse'])}")
    print(f"  scipipe build --no-fetch (no-op):     {min_median(t['no-op'])}")
    if baseline is not None:
        print(f"  the same, sources from {baseline}: {min_median(t['baseline'])}; "
              f"CPU {min_median(cpu['baseline'][1:])}")  # fmt: skip
    c_floor, c_noop = cpu["heads"][1:], cpu["no-op"][1:]  # past the warm-up
    print(f"  CPU time, floor: {min_median(c_floor)}; no-op: {min_median(c_noop)} "
          f"(ratio of minima {min(c_noop) / min(c_floor):.2f}x)")  # fmt: skip
    print(f"  ratio no-op/floor: {noop / floor:.2f}x (medians: "
          f"{statistics.median(t['no-op']) / statistics.median(t['heads']):.2f}x); "
          f"no-op/rev-parse: {noop / rev:.2f}x")  # fmt: skip
    return floor, noop


@contextlib.contextmanager
def _cpu(into: list[float]) -> Iterator[None]:
    """Append the CPU time (user + system) the child processes of the block took."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    yield
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    into.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--products", type=int, nargs="+", default=[150, 300])
    ap.add_argument("--deps", type=float, default=6)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument(
        "--baseline-src",
        type=Path,
        help="also time the no-op with this (older) src/ first on PYTHONPATH, interleaved: "
        "a before/after on a noisy machine",
    )
    ap.add_argument(
        "--fixed-build-id",
        action="store_true",
        help="time `scipipe build ... --no-fetch --build-id b1` through this tree's entry "
        "point (the no-op shortcut); without it, each no-op numbers a new build",
    )
    args = ap.parse_args()
    worst: tuple[float, float, int] | None = None
    for n in args.products:
        floor, noop = measure(n, args.deps, args.rounds, args.baseline_src, args.fixed_build_id)
        if worst is None or noop / floor > worst[1] / worst[0]:
            worst = (floor, noop, n)
    assert worst is not None
    print(f"judged: the worst ratio, at {worst[2]} products")
    name = "noop-rebuild-fixed-id" if args.fixed_build_id else "noop-rebuild"
    print(result_line(name, worst[0], worst[1], TARGET))
    return 0


if __name__ == "__main__":
    sys.exit(main())
