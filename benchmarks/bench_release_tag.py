"""Issue 5 benchmark: tagging 150 repos through the local GitHub server, 50 ms per call.

A release world of ``--products`` bare repositories (``make_release_world``) is served by
the strict local GitHub REST server with ``--latency`` seconds added to every call.  Each
run tags every product (manifest-only mode, a fresh tag name per run so every run creates
every tag), in the same process:

- codekit-shaped serial baseline: PyGithub one repo at a time with codekit's calls (get
  the repo, its teams, the tag ref, create the tag object, create the ref);
- ``tag_release(jobs=1)``: scipipe's own calls, one repo at a time;
- ``tag_release(jobs=N)``: the same, N repos at a time.

Each variant starts with a full rate-limit window (as each token on GitHub has its own):
sharing one window, the variants of 600 repos would use up its 5,000 calls and the last
would wait an hour for the reset.

Prints the wall times (min and median over ``--rounds`` interleaved rounds), the
speed-up of jobs=N over the serial runs (target: at least 8x) and the API calls per
repo, counted by the server, for a new tag and for an in-sync rerun (the reference tool
needs 4 to 6).  The last line is the ``RESULT`` of jobs=N against scipipe's own serial
run (fastest of each).

    python -m benchmarks.bench_release_tag [--products 150] [--latency 0.05] [--jobs 32]
        [--rounds 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tests.support.githubserver import GitHubServer
from tests.support.releaseworld import make_release_world

from benchmarks._timing import min_median, result_line
from scipipe_tools.forge.base import Tagger
from scipipe_tools.forge.github import GitHubForge
from scipipe_tools.release.tagging import TagRequest, TagResult, tag_release
from scipipe_tools.stack.readers import read_repos
from scipipe_tools.stack.sources import load_manifest

TOKEN = "bench-token-not-secret"
TAGGER = Tagger("sqreadmin", "sqre-admin@example.org", dt.datetime(2025, 4, 10, tzinfo=dt.UTC))
ALLOW = ("Data Management", "DM Externals")
TARGET = 8.0


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--products", type=int, default=150)
    ap.add_argument("--latency", type=float, default=0.05, help="seconds added to each call")
    ap.add_argument("--jobs", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved runs of each variant")
    ap.add_argument("--rate-limit", type=int, default=5000, help="calls per window and token")
    args = ap.parse_args()
    names = (f"bench.{i}" for i in itertools.count(1))
    with tempfile.TemporaryDirectory(prefix="scipipe-bench-") as tmp:
        w = make_release_world(Path(tmp) / "w", products=args.products, externals=10, aux=3)
        manifest = load_manifest(w.build_id, str(w.versiondb))
        repos = read_repos(w.repos_yaml)
        with GitHubServer(
            w.remotes,
            org=w.org,
            teams=w.team_members(),
            token=TOKEN,
            latency=args.latency,
            rate_limit=args.rate_limit,
        ) as srv:

            def forge(jobs: int) -> GitHubForge:
                return GitHubForge(w.org, token=TOKEN, base_url=srv.url, jobs_hint=jobs)

            def ours(jobs: int, tag: str) -> TagResult:
                req = TagRequest(
                    git_tag=tag,
                    manifest=manifest,
                    repos=repos,
                    tagger=TAGGER,
                    allow_teams=ALLOW,
                    external_teams=("DM Externals",),
                    deny_teams=("DM Auxilliaries",),
                    jobs=jobs,
                )
                f = forge(jobs)
                try:
                    result = tag_release(req, f)
                finally:
                    f.close()
                if result.errors:
                    raise SystemExit(f"tagging failed: {result.problems[:3]}")
                return result

            def codekit(tag: str) -> None:
                from github import Auth, Github, GithubException, InputGitAuthor

                gh = Github(
                    auth=Auth.Token(TOKEN),
                    base_url=srv.url,
                    retry=None,
                    seconds_between_requests=None,
                    seconds_between_writes=None,
                )
                author = InputGitAuthor(TAGGER.name, TAGGER.email, TAGGER.iso)
                for e in manifest.entries:
                    spec = repos.get(e.name)
                    assert spec is not None
                    full = "/".join(spec.url.rstrip("/").removesuffix(".git").split("/")[-2:])
                    repo = gh.get_repo(full)
                    _teams = [t.name for t in repo.get_teams()]
                    try:
                        repo.get_git_ref(f"tags/{tag}")
                    except GithubException as exc:
                        if exc.status != 404:
                            raise
                    obj = repo.create_git_tag(tag, f"Version {tag}", e.sha1, "commit", author)
                    repo.create_git_ref(f"refs/tags/{tag}", obj.sha)
                gh.close()

            def timed(fn: object, *a: object) -> tuple[float, int]:
                srv.fresh_rate_window()  # a token of its own
                srv.reset_counters()
                start = time.perf_counter()
                fn(*a)  # type: ignore[operator]
                return time.perf_counter() - start, srv.total_calls

            par_name = f"scipipe -j {args.jobs}"
            times: dict[str, list[float]] = {}
            calls: dict[str, int] = {}
            in_sync_calls = 0
            for _ in range(args.rounds):
                runs = {
                    "codekit-shaped serial": timed(codekit, next(names)),
                    "scipipe -j 1": timed(ours, 1, next(names)),
                }
                tag = next(names)
                runs[par_name] = timed(ours, args.jobs, tag)
                _, in_sync_calls = timed(ours, args.jobs, tag)
                for k, (secs, n_calls) in runs.items():
                    times.setdefault(k, []).append(secs)
                    calls[k] = n_calls
            if srv.errors:
                print("server errors:", srv.errors[:3], file=sys.stderr)
                return 1
    n = len(manifest.entries)
    print(f"repos: {n} (bare git remotes) behind the local GitHub server, "
          f"{args.latency * 1000:.0f} ms per call; {args.rounds} round(s)")  # fmt: skip
    for name, secs in times.items():
        print(f"{name + ':':<26} {min_median(secs)}   {calls[name] / n:4.2f} API calls/repo "
              f"({calls[name]} in all)")  # fmt: skip
    print(f"in-sync rerun:             {in_sync_calls / n:4.2f} API calls/repo")
    par = times[par_name]
    for base in ("codekit-shaped serial", "scipipe -j 1"):
        ratio = min(times[base]) / min(par)
        median = statistics.median(times[base]) / statistics.median(par)
        print(f"speed-up -j {args.jobs} over {base}: {ratio:.1f}x (fastest), {median:.1f}x "
              f"(medians) (target >= 8x: {'met' if ratio >= TARGET else 'NOT MET'})")  # fmt: skip
    print(result_line(f"release_tag {n} repos -j {args.jobs} vs -j 1",
                      min(times["scipipe -j 1"]), min(par), TARGET, at_least=True))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
