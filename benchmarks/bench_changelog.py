"""Changelog benchmark: collecting a changelog against plain ``git log``, and the cache.

``--repos`` generated repositories (stackgen: ``--commits`` commits on main, one in
eight a ``--no-ff`` merge of a ticket branch with a towncrier fragment) are cloned with
``ensure_clones``; every weekly below is published as an EUPS tag list with a versiondb
manifest, and tagged in git.

(a) Between two tags A and B ``--span`` first-parent commits apart in every repo: the
    whole changelog (points from the EUPS tags and manifests, then ``collect_range``,
    no cache) against ``git log --first-parent A..B`` in every clone, ``--jobs`` at a
    time, best of ``--rounds`` interleaved.  Target: at most 1.5x.  Also printed: the
    serial ``git log`` time and a run that fills an empty cache.
(b) The weekly series, ``--weeklies`` weeklies ``--step`` first-parent commits apart
    (default: a year of weeklies, 30 commits a week in every repository), plus one new
    weekly: the whole series from its EUPS tags cold (empty cache) against the rerun
    after the new weekly, with the cache of the series before it.  Target: at most 10%
    of the cold run.  A series of N weeklies cannot go below 1/N (the new range is
    walked), so ``--weeklies 10 --step 100`` shows the short-series figure.

The last line is (a)'s ``RESULT``: the fastest of each, interleaved; the medians'
ratio is printed above it.

    python -m benchmarks.bench_changelog [--repos 100] [--commits 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gc
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.support import stackgen

from benchmarks._timing import best_of, min_median, result_line, timings
from scipipe_tools.changelog.cache import Cache
from scipipe_tools.changelog.clones import ensure_clones
from scipipe_tools.changelog.collect import collect_range, collect_series
from scipipe_tools.changelog.model import Release
from scipipe_tools.changelog.points import from_eups_tags, list_series
from scipipe_tools.demo.gitrepo import file_url, git
from scipipe_tools.eups.manifest import build_manifest
from scipipe_tools.eups.pkgversion import compute_versions
from scipipe_tools.eups.taglist import TagList, TagRow
from scipipe_tools.infra import proc
from scipipe_tools.infra.files import write_atomic
from scipipe_tools.names.tags import eups_to_git
from scipipe_tools.stack.readers import read_repos

TARGET_RANGE = 1.5
TARGET_RERUN = 0.10
A_TAG, B_TAG = "d_2025_06_01", "d_2025_06_02"  # dailies: not in the weekly series


def weekly(i: int) -> str:
    return f"w_{2025 + i // 52}_{i % 52 + 1:02d}"


@dataclass(frozen=True)
class World:
    base: Path
    paths: dict[str, Path]
    #: EUPS tag -> product -> commit
    tags: dict[str, dict[str, str]]
    new_list: Path
    weeklies: int
    step: int
    span: int

    @property
    def root(self) -> str:
        return str(self.base / "distrib")

    @property
    def versiondb(self) -> str:
        return str(self.base / "versiondb")


def publish(base: Path, stack: stackgen.GeneratedStack, name: str, build: int,
            shas: dict[str, str]) -> None:  # fmt: skip
    """``distrib/tags/<name>.list`` and ``versiondb/manifests/b<build>.txt``."""
    graph = stack.graph()
    versions = compute_versions(graph, shas)
    build_id = f"b{build}"
    manifest = build_manifest(stack.products, graph, shas, versions, build_id).toposorted()
    write_atomic(base / "versiondb" / "manifests" / f"{build_id}.txt", manifest.to_text())
    rows = tuple(TagRow(p, "generic", versions[p]) for p in stack.products)
    taglist = TagList(name, rows, {"BUILD": build_id})
    write_atomic(base / "distrib" / "tags" / f"{name}.list", taglist.to_text())


def make_world(base: Path, args: argparse.Namespace) -> World:
    stack = stackgen.generate(args.repos - 1, seed=11)
    t0 = time.perf_counter()
    made = stackgen.make_git_repos(stack, base / "unused", commits=args.commits,
                                   merges=args.commits // 8, bare_remotes=base / "remotes",
                                   clone=False)  # fmt: skip
    repos_yaml = stackgen.write_repos_yaml(
        stack, base / "repos.yaml", lambda p: file_url(made.remotes[p])
    )
    t1 = time.perf_counter()
    clones = ensure_clones(stack.products, read_repos(repos_yaml), base / "clones", jobs=args.jobs)
    if clones.failed:
        raise SystemExit(f"clones failed: {clones.failed}")
    t2 = time.perf_counter()
    paths = clones.paths
    chains = {p: git(["rev-list", "--first-parent", "main"], cwd=paths[p]).split()
              for p in stack.products}  # fmt: skip
    shortest = min(len(c) for c in chains.values())
    step = max(1, min(args.step, (shortest - 1) // (args.weeklies + 2)))
    span = max(1, min(args.span, shortest - 1 - step))
    # weeklies 0..W (W the new one) at first-parent positions W*step .. 0; A and B
    # below the newest weekly
    count = args.weeklies + 1
    tags: dict[str, dict[str, str]] = {}
    for i in range(count):
        tags[weekly(i)] = {p: chains[p][(count - 1 - i) * step] for p in stack.products}
    tags[A_TAG] = {p: chains[p][step + span] for p in stack.products}
    tags[B_TAG] = {p: chains[p][step] for p in stack.products}
    for n, (name, shas) in enumerate(sorted(tags.items())):
        publish(base, stack, name, 1000 + n, shas)
    for p in stack.products:
        refs = "".join(f"update refs/tags/{eups_to_git(name)} {shas[p]}\n"
                       for name, shas in tags.items())  # fmt: skip
        git(["update-ref", "--stdin"], cwd=paths[p], input=refs)
    t3 = time.perf_counter()
    print(f"stack: {len(stack.products)} repos of {args.commits} commits "
          f"({args.commits // 8} ticket merges); generated in {t1 - t0:.1f} s, "
          f"cloned in {t2 - t1:.1f} s, published in {t3 - t2:.1f} s")  # fmt: skip
    new_list = base / "distrib" / "tags" / f"{weekly(count - 1)}.list"
    return World(base, dict(paths), tags, new_list, args.weeklies, step, span)


def bench_range(world: World, jobs: int, rounds: int) -> str:
    paths = world.paths
    a_git, b_git = eups_to_git(A_TAG), eups_to_git(B_TAG)

    def git_log(jobs_: int) -> Callable[[], None]:
        def run() -> None:
            def one(path: Path) -> None:
                proc.run(["git", "log", "--first-parent", f"{a_git}..{b_git}"], cwd=path)

            with ThreadPoolExecutor(max_workers=jobs_) as pool:
                list(pool.map(one, paths.values()))

        return run

    def changelog(cache: Cache | None = None) -> Release:
        old, new = from_eups_tags([A_TAG, B_TAG], world.root, versiondb=world.versiondb)
        return collect_range(old, new, paths, cache=cache, jobs=jobs)

    release = changelog()
    walked = sum(len(t.changes) for t in release.tickets) + len(release.other)
    expected = sum(
        int(git(["rev-list", "--count", "--first-parent", f"{a_git}..{b_git}"], cwd=path))
        for path in paths.values()
    )
    fragments = sum(len(t.fragments) for t in release.tickets)
    if walked != expected or release.missing:
        raise SystemExit(f"wrong changelog: {walked} changes, git says {expected}")

    caches = iter(range(10**6))

    def fill_cache() -> None:  # a fresh, empty cache each time
        changelog(Cache(world.base / f"cache-a-{next(caches)}"))

    runs = timings({"git log": git_log(jobs), "changelog": changelog,
                    "changelog+cache": fill_cache}, rounds=rounds)  # fmt: skip
    t = {name: min(ts) for name, ts in runs.items()}
    serial = best_of({"serial": git_log(1)}, rounds=max(1, rounds // 2))["serial"]
    ratio = t["changelog"] / t["git log"]
    median = statistics.median(runs["changelog"]) / statistics.median(runs["git log"])
    print(f"(a) {a_git}..{b_git}: {world.span} first-parent commits a repo, {walked} changes, "
          f"{len(release.tickets)} tickets, {fragments} fragments; {jobs} threads, "
          f"{rounds} interleaved rounds")  # fmt: skip
    print(f"    git log --first-parent A..B, serial:     {serial * 1000:8.1f} ms")
    print(f"    git log --first-parent A..B, {jobs} threads: {min_median(runs['git log'])}")
    print(f"    changelog (EUPS tags -> Release):        {min_median(runs['changelog'])}")
    print(f"    changelog filling an empty cache:        {min_median(runs['changelog+cache'])}"
          f"   ({t['changelog+cache'] / t['git log']:.2f}x)")  # fmt: skip
    print(f"    ratio changelog/git log:                 {ratio:8.2f}x (fastest), "
          f"{median:.2f}x (medians)")  # fmt: skip
    return result_line(f"changelog {len(paths)} repos", t["git log"], t["changelog"],
                       TARGET_RANGE)  # fmt: skip


def bench_series(world: World, jobs: int, rounds: int) -> None:
    root, vdb, paths = world.root, world.versiondb, world.paths
    hidden = world.new_list.with_suffix(".hidden")
    world.new_list.rename(hidden)
    before = list_series(root, "weekly")
    seed = world.base / "cache-seed"
    collect_series(from_eups_tags(before, root, versiondb=vdb), paths,
                   cache=Cache(seed), jobs=jobs)  # fmt: skip
    hidden.rename(world.new_list)

    def series(cache: Cache) -> list[Release]:
        points = from_eups_tags(list_series(root, "weekly"), root, versiondb=vdb)
        return collect_series(points, paths, cache=cache, jobs=jobs)

    best = {"cold": float("inf"), "rerun": float("inf"), "points": float("inf")}
    outputs: dict[str, list[Release]] = {}
    caches: dict[str, Cache] = {}
    for r in range(rounds + 1):  # the first round warms the page cache
        for label in ("cold", "rerun"):
            target = world.base / f"cache-{label}"
            shutil.rmtree(target, ignore_errors=True)
            if label == "rerun":
                shutil.copytree(seed, target)
            cache = Cache(target)
            outputs.pop(label, None)
            gc.collect()
            start = time.perf_counter()
            outputs[label] = series(cache)
            elapsed = time.perf_counter() - start
            caches[label] = cache
            if r:
                best[label] = min(best[label], elapsed)
        start = time.perf_counter()
        from_eups_tags(list_series(root, "weekly"), root, versiondb=vdb)
        best["points"] = min(best["points"], time.perf_counter() - start)
    if outputs["cold"] != outputs["rerun"]:
        raise SystemExit("the rerun's changelog differs from the cold run's")
    ranges = len(outputs["cold"]) - 1
    rerun = caches["rerun"]
    share = best["rerun"] / best["cold"]
    print(f"(b) a series of {len(before)} weeklies + 1 new, {world.step} first-parent commits "
          f"a week: {ranges} ranges x {len(paths)} repos")  # fmt: skip
    print(f"    cold (empty cache):                      {best['cold'] * 1000:8.1f} ms")
    print(f"    rerun after the new weekly:              {best['rerun'] * 1000:8.1f} ms"
          f"   (walked {rerun.misses}, from the cache {rerun.hits})")  # fmt: skip
    print(f"    of which reading the {ranges + 1} EUPS tags and manifests: "
          f"{best['points'] * 1000:.1f} ms (in both)")  # fmt: skip
    print(f"    rerun/cold:                              {share * 100:8.1f} %   "
          f"(target <= {TARGET_RERUN * 100:g}%: "
          f"{'met' if share <= TARGET_RERUN else 'NOT MET'}; walking 1 range of "
          f"{ranges} alone is {100 / max(1, ranges):.0f}%)")  # fmt: skip
    print(result_line("changelog rerun", best["cold"], best["rerun"], TARGET_RERUN))


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--repos", type=int, default=100)
    ap.add_argument("--commits", type=int, default=2000)
    ap.add_argument("--span", type=int, default=300, help="first-parent commits A..B")
    ap.add_argument("--weeklies", type=int, default=52, help="weeklies before the new one")
    ap.add_argument("--step", type=int, default=30, help="first-parent commits a week")
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", choices=("a", "b"), help="run only part (a) or (b)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="scipipe-bench-") as tmp:
        world = make_world(Path(tmp), args)
        if args.only != "a":
            bench_series(world, args.jobs, args.rounds)
        if args.only != "b":
            last = bench_range(world, args.jobs, args.rounds)
            print(last)
    return 0


if __name__ == "__main__":
    sys.exit(main())
