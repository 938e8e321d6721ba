"""``scipipe build -j N``: one core budget for the products at once and their NJOBS.

The products' build steps (``ups/eupspkg.cfg.sh``) record the ``$NJOBS`` they were given
and when they ran; at no instant may the running products' NJOBS add up to more than N.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.fakestack import SCIPIPE, Product, make_stack

from .conftest import Invoke

#: a build step that records "start|end PRODUCT NJOBS TIME" and takes a little while
RECORDING_CFG = """\
build() {{
    echo "start $PRODUCT $NJOBS $(date +%s.%N)" >> {record}
    sleep 0.4
    echo "end $PRODUCT $NJOBS $(date +%s.%N)" >> {record}
}}
"""


def spans(record: Path) -> dict[str, tuple[float, float, int]]:
    starts: dict[str, tuple[float, int]] = {}
    out: dict[str, tuple[float, float, int]] = {}
    for line in record.read_text().splitlines():
        kind, product, njobs, when = line.split()
        if kind == "start":
            starts[product] = (float(when), int(njobs))
        else:
            began, jobs = starts[product]
            assert int(njobs) == jobs
            out[product] = (began, float(when), jobs)
    return out


def stack(root: Path, record: Path) -> Path:
    """base alone, four mids side by side, top alone."""
    cfg = RECORDING_CFG.format(record=record)
    products = {"base": Product(cfg=cfg)}
    products.update({f"mid{i}": Product(["base"], cfg) for i in range(4)})
    products["top"] = Product([f"mid{i}" for i in range(4)], cfg)
    return make_stack(root, products)


def test_products_at_once_times_njobs_never_exceed_the_budget(tmp_path: Path) -> None:
    record = tmp_path / "record"
    repos = stack(tmp_path, record)
    root = tmp_path / "work"
    r = subprocess.run(
        [SCIPIPE, "build", "top", "--repos", repos, "--root", root, "-j", "3", "--no-tests"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    ran = spans(record)
    assert sorted(ran) == ["base", "mid0", "mid1", "mid2", "mid3", "top"]
    for product, (start, _, _) in ran.items():
        running = [jobs for s, e, jobs in ran.values() if s <= start < e]
        assert sum(running) <= 3, (product, ran)
    # a lone product gets the whole budget; side by side, one job each
    assert {p: jobs for p, (_, _, jobs) in ran.items()} == {
        "base": 3, "mid0": 1, "mid1": 1, "mid2": 1, "mid3": 1, "top": 3,
    }  # fmt: skip
    assert max(sum(1 for s, e, _ in ran.values() if s <= t < e) for t, _, _ in ran.values()) == 3
    # the split is shown at the start and for each product as it starts
    assert "core budget 3: up to 3 products at once, NJOBS 1-3; 2 of 6 run alone with all 3" in (
        r.stderr
    )
    assert "started base (3 jobs)" in r.stderr and "started mid2 (1 job)" in r.stderr


def test_the_plan_shows_the_split(scipipe: Invoke, tmp_path: Path) -> None:
    record = tmp_path / "record"
    repos = stack(tmp_path, record)
    root = tmp_path / "work"
    prep = scipipe("build", "--repos", repos, "--root", root, "--prep-only", "top")
    assert prep.code == 0, prep.err
    r = scipipe("build", "plan", "top", "--sources", root / "sources", "-j", "3")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].split() == ["level", "product", "version", "jobs", "deps"]
    assert {ln.split()[1]: ln.split()[3] for ln in lines[1:]} == {
        "base": "3", "mid0": "1", "mid1": "1", "mid2": "1", "mid3": "1", "top": "3",
    }  # fmt: skip
    assert "core budget 3: up to 3 products at once" in r.err
    j = scipipe("build", "plan", "top", "--sources", root / "sources", "-j", "8", "--json")
    data = json.loads(j.out)
    assert data["budget"] == 8
    assert {p["name"]: p["jobs"] for p in data["products"]} == {
        "base": 8, "mid0": 2, "mid1": 2, "mid2": 2, "mid3": 2, "top": 8,
    }  # fmt: skip
    assert not record.exists()  # nothing was built
