"""Issue 20 benchmark: ``release pypi`` rerun with nothing new, against its first run.

Real products (../shared/realdata bundles, one commit added after ``w.2025.07``) are
published to a real pypiserver on 127.0.0.1.  The first run clones, versions (lsst-versions),
builds (``python -m build --no-isolation``), checks (twine) and uploads each; a rerun with
the same work directory fetches, versions, reads the simple index and compares sha256:
it builds and uploads nothing.  Also timed: a rerun from an empty work directory (a fresh
CI workspace), which must rebuild to compare and so costs about as much as the first run
minus the upload.

Target: rerun <= 0.25x of the first run (what the rerun still does, a fetch and an
lsst-versions walk over ~500 tags per product, is small next to a build; a rerun that
rebuilt would be ~0.9x).

    python -m benchmarks.bench_release_pypi [--products utils,pex_config] [--rounds 3]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.pypiserver import PypiServer

from benchmarks._timing import min_median, result_line
from scipipe_tools.release.pypi.auth import Target
from scipipe_tools.release.pypi.publish import Outcome, PypiRequest, Source, publish

REALDATA = Path(__file__).resolve().parents[2] / "shared" / "realdata"
ENV = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.org", "GIT_COMMITTER_NAME": "b",
       "GIT_COMMITTER_EMAIL": "b@example.org", "PATH": "/usr/bin:/bin"}  # fmt: skip


def upstream(root: Path, product: str) -> Source:
    repo = root / "upstream" / product
    bundle = REALDATA / "repos" / f"{product}.bundle"
    subprocess.run(["git", "clone", "-q", str(bundle), str(repo)], check=True, env=ENV)
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "after the weekly"],
                   cwd=repo, check=True, env=ENV)  # fmt: skip
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True, env=ENV,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    return Source(product, repo.as_uri(), commit=head)


def timed(request: PypiRequest) -> tuple[float, list[Outcome]]:
    start = time.perf_counter()
    result = publish(request)
    return time.perf_counter() - start, [r.outcome for r in result.results]


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--products", default="utils,pex_config")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if not (REALDATA / "repos").is_dir():
        return 0  # no real data: nothing to measure
    with tempfile.TemporaryDirectory(prefix="scipipe-bench-") as tmp:
        root = Path(tmp)
        sources = tuple(upstream(root, p) for p in args.products.split(","))
        with PypiServer(root / "packages") as index:
            target = Target(index.url, index.simple, index.user, index.password)
            request = PypiRequest(sources, root / "work", target)
            first, outcomes = timed(request)
            assert set(outcomes) == {Outcome.UPLOADED}, outcomes
            reruns = []
            for _ in range(args.rounds):
                t, outcomes = timed(request)
                assert set(outcomes) == {Outcome.PRESENT}, outcomes
                reruns.append(t)
            fresh, outcomes = timed(PypiRequest(sources, root / "fresh", target))
            assert set(outcomes) == {Outcome.PRESENT}, outcomes
    print(f"{len(sources)} products ({args.products})")
    print(f"first run (clone, version, build, check, upload): {first:.2f} s")
    print(f"rerun, nothing new: {min_median(reruns)}")
    print(f"rerun from an empty work directory (rebuilds to compare): {fresh:.2f} s")
    print(result_line("release pypi rerun", first, min(reruns), 0.25))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
