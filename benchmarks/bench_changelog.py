"""Changelog benchmark: collecting a changelog against plain ``git log``, and the cache.

``--repos`` generated repositories (stackgen: ``--commits`` commits on main, one in
eight a ``--no-ff`` merge of a ticket branch with a towncrier fragment) are cloned with
``ensure_clones``; every weekly below is published as an EUPS tag list with a versiondb
manifest, and tagged in git.

(a) Between two weeklies A and B ``--span`` first-parent commits apart in every repo:
    the whole changelog (points from the EUPS tags and manifests, then
    ``collect_range``, no cache) against ``git log --first-parent A..B`` in every clone,
    both ``--jobs`` repos at a time, best of ``--rounds`` interleaved.  Target: 1.5x.
    Also printed: the serial ``git log`` time and a run that fills an empty cache.
(b) A series of ``--weeklies`` weeklies plus one new one: the whole series cold (empty
    cache) against the rerun after the new weekly, with the cache of the series before
    it.  Target: at most 10% of the cold run.

    python -m benchmarks.bench_changelog [--repos 100] [--commits 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gc
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks._timing import best_of, verdict
from scipipe_tools import proc
from scipipe_tools.changelog.cache import Cache
from scipipe_tools.changelog.clones import ensure_clones
from scipipe_tools.changelog.collect import collect_range, collect_series
from scipipe_tools.changelog.model import Release
from scipipe_tools.changelog.points import from_eups_tags, list_series
from scipipe_tools.changelog.walk import LOG, run_git
from scipipe_tools.eups.manifest import build_manifest
from scipipe_tools.eups.pkgversion import compute_versions
from scipipe_tools.eups.repos import read_repos
from scipipe_tools.eups.taglist import TagList, TagRow
from scipipe_tools.files import write_atomic
from scipipe_tools.release.tagnames import eups_to_git
from scipipe_tools.testing import stackgen
from scipipe_tools.testing.gitrepo import file_url, git

TARGET_RANGE = 1.5
TARGET_RERUN = 0.10


def weekly(i: int) -> str:
    return f"w_2025_{i + 1:02d}"


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
    jobs = args.jobs
    stack = stackgen.generate(args.repos - 1, seed=11)
    with tempfile.TemporaryDirectory(prefix="scipipe-bench-") as tmp:
        base = Path(tmp)
        t0 = time.perf_counter()
        made = stackgen.make_git_repos(
            stack,
            base / "unused",
            commits=args.commits,
            merges=args.commits // 8,
            bare_remotes=base / "remotes",
            clone=False,
        )
        repos_yaml = stackgen.write_repos_yaml(
            stack, base / "repos.yaml", lambda p: file_url(made.remotes[p])
        )
        t1 = time.perf_counter()
        clones = ensure_clones(stack.products, read_repos(repos_yaml), base / "clones", jobs=jobs)
        if clones.failed:
            raise SystemExit(f"clones failed: {clones.failed}")
        t2 = time.perf_counter()
        paths = clones.paths
        chains = {
            p: git(["rev-list", "--first-parent", "main"], cwd=paths[p]).split()
            for p in stack.products
        }
        shortest = min(len(c) for c in chains.values())
        # (a): A and B, span apart, below the series' weeklies' range
        step = max(1, min(args.step, (shortest - 1) // (args.weeklies + 2)))
        span = max(1, min(args.span, shortest - 1 - step))
        # weeklies 0..W (W the new one) at first-parent positions W*step .. 0
        count = args.weeklies + 1
        positions = {i: (count - 1 - i) * step for i in range(count)}
        positions_ab = {"a": step + span, "b": step}
        tags: dict[str, dict[str, str]] = {}
        for i in range(count):
            tags[weekly(i)] = {p: chains[p][positions[i]] for p in stack.products}
        # daily tags: not in the weekly series of (b)
        a_tag, b_tag = "d_2025_06_01", "d_2025_06_02"
        tags[a_tag] = {p: chains[p][positions_ab["a"]] for p in stack.products}
        tags[b_tag] = {p: chains[p][positions_ab["b"]] for p in stack.products}
        for n, (name, shas) in enumerate(sorted(tags.items())):
            publish(base, stack, name, 1000 + n, shas)
            if name == weekly(count - 1):
                new_list = base / "distrib" / "tags" / f"{name}.list"
        for p in stack.products:
            refs = "".join(
                f"update refs/tags/{eups_to_git(name)} {shas[p]}\n" for name, shas in tags.items()
            )
            git(["update-ref", "--stdin"], cwd=paths[p], input=refs)
        t3 = time.perf_counter()
        root = str(base / "distrib")
        vdb = str(base / "versiondb")
        a_git, b_git = eups_to_git(a_tag), eups_to_git(b_tag)
        print(f"stack: {len(stack.products)} repos of {args.commits} commits "
              f"({args.commits // 8} ticket merges); generated in {t1 - t0:.1f} s, "
              f"cloned in {t2 - t1:.1f} s, published in {t3 - t2:.1f} s")  # fmt: skip

        # --- (a) one range ---------------------------------------------------------------
        if args.only != "b":

            def git_log(jobs_: int) -> Callable[[], None]:
                def run() -> None:
                    def one(path: Path) -> None:
                        proc.run(["git", "log", "--first-parent", f"{a_git}..{b_git}"], cwd=path)

                    with ThreadPoolExecutor(max_workers=jobs_) as pool:
                        list(pool.map(one, paths.values()))

                return run

            def changelog(cache_dir: Path | None = None) -> Release:
                cache = None
                if cache_dir is not None:
                    shutil.rmtree(cache_dir, ignore_errors=True)
                    cache = Cache(cache_dir)
                old, new = from_eups_tags([a_tag, b_tag], root, versiondb=vdb)
                return collect_range(old, new, paths, cache=cache, jobs=jobs)

            release = changelog()
            walked = sum(len(t.changes) for t in release.tickets) + len(release.other)
            expected = sum(
                int(
                    git(
                        ["rev-list", "--count", "--first-parent", f"{a_git}..{b_git}"], cwd=paths[p]
                    )
                )
                for p in stack.products
            )
            fragments = sum(len(t.fragments) for t in release.tickets)
            if walked != expected or release.missing:
                raise SystemExit(f"wrong changelog: {walked} changes, git says {expected}")

            def changelog_git(merge_diffs: bool) -> Callable[[], None]:
                argv = [a for a in LOG if merge_diffs or a != "--diff-merges=first-parent"]

                def run() -> None:
                    def one(p: str) -> None:
                        run_git(paths[p], [*argv, f"{a_shas[p]}..{b_shas[p]}", "--"])

                    with ThreadPoolExecutor(max_workers=jobs) as pool:
                        list(pool.map(one, paths))

                return run

            a_shas, b_shas = tags[a_tag], tags[b_tag]
            t = best_of(
                {
                    "git log": git_log(jobs),
                    "changelog": changelog,
                    "points": lambda: from_eups_tags([a_tag, b_tag], root, versiondb=vdb),
                    "changelog+cache": lambda: changelog(base / "cache-a"),
                    "its git": changelog_git(True),
                    "its git, no diffs": changelog_git(False),
                },
                rounds=args.rounds,
            )
            serial = best_of({"serial": git_log(1)}, rounds=max(1, args.rounds // 2))["serial"]
            ratio = t["changelog"] / t["git log"]
            print(f"(a) {a_git}..{b_git}: {span} first-parent commits a repo, {walked} changes, "
                  f"{len(release.tickets)} tickets, {fragments} fragments; {jobs} threads")  # fmt: skip
            print(f"    git log --first-parent A..B, serial:     {serial * 1000:8.1f} ms")
            print(f"    git log --first-parent A..B, {jobs} threads: {t['git log'] * 1000:8.1f} ms")
            print(f"    changelog (EUPS tags -> Release):        {t['changelog'] * 1000:8.1f} ms")
            print(f"    changelog filling an empty cache:        {t['changelog+cache'] * 1000:8.1f} ms"
                  f"   ({t['changelog+cache'] / t['git log']:.2f}x)")  # fmt: skip
            print(f"    of which its git log processes alone:    {t['its git'] * 1000:8.1f} ms"
                  f"   ({t['its git'] / t['git log']:.2f}x; without the merges' fragment diffs "
                  f"{t['its git, no diffs'] / t['git log']:.2f}x)")  # fmt: skip
            print(f"    points: {t['points'] * 1000:8.1f} ms")
        print(f"    ratio changelog/git log:                 {ratio:8.2f}x   "
                  f"({verdict(ratio, TARGET_RANGE)})")  # fmt: skip

        # --- (b) a weekly series and one more weekly ----------------------------------
        if args.only == "a":
            return 0
        hidden = new_list.with_suffix(".hidden")
        new_list.rename(hidden)
        before = list_series(root, "weekly")
        seed_cache = base / "cache-seed"
        collect_series(from_eups_tags(before, root, versiondb=vdb), paths,
                       cache=Cache(seed_cache), jobs=jobs)  # fmt: skip
        hidden.rename(new_list)

        def series(cache: Cache) -> list[Release]:
            names = list_series(root, "weekly")
            points = from_eups_tags(names, root, versiondb=vdb)
            return collect_series(points, paths, cache=cache, jobs=jobs)

        best = {"cold": float("inf"), "rerun": float("inf")}
        outputs: dict[str, list[Release]] = {}
        caches: dict[str, Cache] = {}
        for r in range(args.rounds + 1):  # the first round warms the page cache
            for label in ("cold", "rerun"):
                target = base / f"cache-{label}"
                shutil.rmtree(target, ignore_errors=True)
                if label == "rerun":
                    shutil.copytree(seed_cache, target)
                cache = Cache(target)
                gc.collect()
                start = time.perf_counter()
                outputs[label] = series(cache)
                elapsed = time.perf_counter() - start
                caches[label] = cache
                if r:
                    best[label] = min(best[label], elapsed)
        if outputs["cold"] != outputs["rerun"]:
            raise SystemExit("the rerun's changelog differs from the cold run's")
        ranges = len(outputs["cold"]) - 1
        rerun = caches["rerun"]
        share = best["rerun"] / best["cold"]
        print(f"(b) a series of {len(before)} weeklies + 1 new, {step} first-parent commits a "
              f"week: {ranges} ranges x {len(paths)} repos")  # fmt: skip
        print(f"    cold (empty cache):                      {best['cold'] * 1000:8.1f} ms")
        print(f"    rerun after the new weekly:              {best['rerun'] * 1000:8.1f} ms"
              f"   (walked {rerun.misses}, from the cache {rerun.hits})")  # fmt: skip
        print(f"    rerun/cold:                              {share * 100:8.1f} %   "
              f"(target <= {TARGET_RERUN * 100:g}%: "
              f"{'met' if share <= TARGET_RERUN else 'NOT MET'}; walking 1 range of "
              f"{ranges} alone is {100 / max(1, ranges):.0f}%)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
