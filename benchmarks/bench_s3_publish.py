"""Issue 17 benchmark: an incremental publish to object storage vs a full one.

A synthetic stack (``tests.support.stackgen``: ``--products`` products in a random DAG and
the ``top`` metapackage over them), each product installed with ``--kb`` of incompressible
payload, declared and tagged ``b1``.  Then ``--changed`` products that only ``top``
depends on get new versions (and so does ``top``, whose manifest names them: EUPS versions
carry their dependencies), and everything is tagged ``b2``.

moto's standalone S3 server runs on 127.0.0.1; ``scipipe distrib publish --to`` runs as a
process of its own with real boto3, each time from a new temporary staging root.  Per
round (best of ``--rounds``, interleaved):

- full: ``publish -b b2`` into an empty prefix (every object packed and sent);
- incremental: ``publish -b b2`` into a prefix that already holds ``b1`` (published
  there first, not timed): only the changed products' objects and the tag list are sent.

    python -m benchmarks.bench_s3_publish [--products 150] [--changed 5] [--kb 64] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.s3server import ACCESS_KEY, SECRET_KEY, S3Server
from tests.support.stackgen import GeneratedStack, generate

from benchmarks._timing import min_median, result_line
from scipipe_tools.stack.stack import Stack

FLAVOR = "Linux64"
TAG = "w_bench"
BUCKET = "bench"
#: an incremental publish of a few changed products takes at most this share of a full
#: one (most of what remains is fixed: planning, reading the bucket's manifests)
TARGET = 0.5


def install(stack: Stack, gen: GeneratedStack, product: str, version: str, kb: int) -> None:
    """``product version`` installed: its table and ``kb`` of payload, declared."""
    d = stack.product_dir(product, version)
    (d / "ups").mkdir(parents=True)
    (d / "ups" / f"{product}.table").write_text(gen.table(product))
    if product != gen.top:
        (d / "lib").mkdir()
        (d / "lib" / f"lib{product}.so").write_bytes(os.urandom(kb * 1024))
    stack.declare(product, version, d)


def make_stack(root: Path, gen: GeneratedStack, changed: list[str], kb: int) -> Stack:
    stack = Stack.create(root, FLAVOR)
    for p in gen.products:
        install(stack, gen, p, "1.0", kb)
        stack.assign_tag(p, "1.0", "b1")
        if p in changed:
            install(stack, gen, p, "1.1", kb)
        stack.assign_tag(p, "1.1" if p in changed else "1.0", "b2")
    return stack


def only_top_needs(gen: GeneratedStack) -> list[str]:
    """Products no other product depends on (``top`` aside)."""
    needed = {d for p in gen.products if p != gen.top for d in gen.deps(p)}
    return [p for p in gen.products if p != gen.top and p not in needed]


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--products", type=int, default=150)
    ap.add_argument("--changed", type=int, default=5)
    ap.add_argument("--kb", type=int, default=64, help="payload of each product")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=8, help="publish -j")
    args = ap.parse_args()
    scipipe = str(Path(sys.executable).parent / "scipipe")
    gen = generate(args.products - 1, avg_deps=4, seed=17)  # n generated + top
    candidates = only_top_needs(gen)
    if len(candidates) < args.changed:
        print(f"only {len(candidates)} products that nothing but top needs", file=sys.stderr)
        return 1
    changed = [*candidates[: args.changed], gen.top]
    with tempfile.TemporaryDirectory(prefix="scipipe-bench-") as tmp, S3Server() as s3:
        base = Path(tmp)
        stack = make_stack(base / "stack", gen, changed, args.kb)
        s3.create_bucket(BUCKET)
        env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": s3.endpoint,
               "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}  # fmt: skip

        def publish(build_id: str, prefix: str) -> tuple[float, dict[str, object]]:
            argv = [scipipe, "-q", "--json", "distrib", "publish", "-b", build_id, "-t", TAG,
                    "--stack", str(stack.root), "--flavor", FLAVOR, "--conda-env", "13.0.1",
                    "-j", str(args.jobs), "--to", f"s3://{BUCKET}/{prefix}", gen.top]  # fmt: skip
            start = time.perf_counter()
            r = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
            took = time.perf_counter() - start
            if r.returncode != 0:
                raise SystemExit(r.stderr)
            upload: dict[str, object] = json.loads(r.stdout)["upload"]
            return took, upload

        times: dict[str, list[float]] = {"full": [], "incremental": []}
        seen: dict[str, dict[str, object]] = {}
        for i in range(args.rounds):
            publish("b1", f"inc{i}")  # what is already there: not timed
            order = ("full", "incremental") if i % 2 == 0 else ("incremental", "full")
            for name in order:
                took, upload = publish("b2", f"{name}{i}" if name == "full" else f"inc{i}")
                times[name].append(took)
                seen[name] = upload
    best = {name: min(ts) for name, ts in times.items()}
    print(f"root: {len(gen.products)} products ({args.products - 1} + top), {args.kb} kB of "
          f"payload each; {args.changed} changed (+ top, whose manifest names them)")  # fmt: skip
    for name, label in (("full", "full publish (empty prefix):"),
                        ("incremental", "incremental publish (b1 there):")):  # fmt: skip
        sent, skipped = seen[name]["sent"], seen[name]["skipped"]
        assert isinstance(sent, dict) and isinstance(skipped, dict)
        print(f"{label:<34} {min_median(times[name])}   sent {sent['count']:>4} objects "
              f"({sent['bytes'] / 1e6:.2f} MB), skipped {skipped['count']}")  # fmt: skip
    sent_full = seen["full"]["sent"]
    sent_inc = seen["incremental"]["sent"]
    assert isinstance(sent_full, dict) and isinstance(sent_inc, dict)
    print(f"objects sent incremental/full: {sent_inc['count']}/{sent_full['count']} = "
          f"{sent_inc['count'] / sent_full['count']:.3f}")  # fmt: skip
    print(f"ratio incremental/full (time): {best['incremental'] / best['full']:.2f}x"
          f"   (full/incremental: {best['full'] / best['incremental']:.1f}x faster)")  # fmt: skip
    print(result_line("s3_publish incremental/full", best["full"], best["incremental"], TARGET))
    return 0


if __name__ == "__main__":
    sys.exit(main())
