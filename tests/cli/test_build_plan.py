"""``scipipe build plan`` and ``scipipe demo init`` on the sample stack, as real git checkouts."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from scipipe_tools.demo import demo
from scipipe_tools.eups.manifest import parse_manifest

from .conftest import Invoke

#: The sample stack's direct dependencies, as examples/sample-stack/README.md states them.
SAMPLE_DEPS = {
    "utils": [],
    "afwdata": [],
    "base": ["utils"],
    "daf_base": ["base", "utils"],
    "pex_config": ["utils"],
    "log": ["base"],
    "geom": ["base", "utils"],
    "afw": ["daf_base", "pex_config", "geom", "log", "utils", "base", "afwdata"],
    "meas_base": ["afw", "pex_config"],
    "pipe_base": ["daf_base", "pex_config", "log"],
    "lsst_demo": ["meas_base", "pipe_base", "afwdata"],
}


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory, examples_dir: Path) -> demo.Demo:
    return demo.init(examples_dir / "sample-stack", tmp_path_factory.mktemp("demo") / "d")


def closure(p: str) -> set[str]:
    out: set[str] = set()
    todo = list(SAMPLE_DEPS[p])
    while todo:
        d = todo.pop()
        if d not in out:
            out.add(d)
            todo.extend(SAMPLE_DEPS[d])
    return out


def head(repo: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_plan_order_versions_and_deps(scipipe: Invoke, demo_dir: demo.Demo) -> None:
    assert demo_dir.sources is not None
    r = scipipe(
        "build", "plan", "lsst_demo", "--sources", demo_dir.sources, "--json", "--flavor", "Linux64"
    )
    assert r.code == 0, r.err
    plan = json.loads(r.out)
    assert plan["levels"] == [
        ["afwdata", "utils"],
        ["base", "pex_config"],
        ["daf_base", "geom", "log"],
        ["afw", "pipe_base"],
        ["meas_base"],
        ["lsst_demo"],
    ]
    products = {p["name"]: p for p in plan["products"]}
    assert {p: products[p]["deps"] for p in products} == SAMPLE_DEPS
    # versions recomputed independently: git rev-parse and the spec's hash recipe
    for name, p in products.items():
        sha = head(demo_dir.sources / name)
        assert p["sha1"] == sha
        expected = "g" + sha[:10]
        deps = closure(name)
        if deps:
            text = "".join(f"{d}\t{head(demo_dir.sources / d)}\n" for d in sorted(deps))
            expected += "+" + hashlib.sha1(text.encode()).hexdigest()[:10]
        assert p["version"] == expected
    assert [(s["product"], s["dep"], s["reason"]) for s in plan["skipped"]] == [
        ("geom", "cuda_toolkit", "excluded")
    ]


def test_plan_conditions_follow_the_flavor(scipipe: Invoke, demo_dir: demo.Demo) -> None:
    r = scipipe(
        "build", "plan", "geom", "--sources", demo_dir.sources, "--json", "--flavor", "DarwinX86"
    )
    assert json.loads(r.out)["skipped"] == []


def test_plan_as_manifest(scipipe: Invoke, demo_dir: demo.Demo) -> None:
    r = scipipe(
        "build",
        "plan",
        "lsst_demo",
        "--sources",
        demo_dir.sources,
        "--format",
        "manifest",
        "--build-id",
        "b1",
    )
    m = parse_manifest(r.out)
    assert m.build_id == "b1" and m.names[-1] == "lsst_demo" and len(m) == 11
    assert m.to_text() == r.out


def test_plan_human_output(scipipe: Invoke, demo_dir: demo.Demo) -> None:
    r = scipipe("build", "plan", "pipe_base", "--sources", demo_dir.sources)
    lines = r.out.splitlines()
    assert lines[0].split() == ["level", "product", "version", "jobs", "deps"]
    assert [ln.split()[1] for ln in lines[1:]] == [
        "utils",
        "base",
        "pex_config",
        "daf_base",
        "log",
        "pipe_base",
    ]
    assert "6 products in 4 levels" in r.err


def test_unknown_product(scipipe: Invoke, demo_dir: demo.Demo) -> None:
    r = scipipe("build", "plan", "lsst_dmeo", "--sources", demo_dir.sources)
    assert r.code == 3
    assert r.err.startswith(f"error: product 'lsst_dmeo' not found in {demo_dir.sources}")


def test_missing_required_dep_names_the_table(
    scipipe: Invoke, demo_dir: demo.Demo, tmp_path: Path
) -> None:
    assert demo_dir.sources is not None
    sources = tmp_path / "sources"
    shutil.copytree(demo_dir.sources, sources, symlinks=True)
    shutil.rmtree(sources / "log")
    r = scipipe(
        "build", "plan", "pipe_base", "--sources", sources, "--repos", demo_dir.stack.repos_yaml
    )
    assert r.code == 3
    lines = r.err.splitlines()
    assert lines[0] == (
        f"error: {sources}/pipe_base/ups/pipe_base.table:5: pipe_base requires 'log', "
        f"which is not in {sources}"
    )
    assert lines[1].startswith("hint: log is in") and "--prep-only" in lines[1]
    assert r.out == ""


def test_plan_takes_repos_from_scipipe_repos_as_build_run_does(
    scipipe: Invoke, demo_dir: demo.Demo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--repos`` is one option: $SCIPIPE_REPOS stands for it in ``build plan`` too."""
    assert demo_dir.sources is not None
    sources = tmp_path / "sources"
    shutil.copytree(demo_dir.sources, sources, symlinks=True)
    shutil.rmtree(sources / "log")
    monkeypatch.setenv("SCIPIPE_REPOS", str(demo_dir.stack.repos_yaml))
    r = scipipe("build", "plan", "pipe_base", "--sources", sources)
    assert r.code == 3
    assert r.err.splitlines()[1].startswith("hint: log is in")
    help_text = " ".join(scipipe("build", "plan", "--help").out.split())
    assert "[env: SCIPIPE_REPOS]" in help_text


def test_not_a_git_checkout(scipipe: Invoke, tmp_path: Path) -> None:
    (tmp_path / "solo" / "ups").mkdir(parents=True)
    (tmp_path / "solo" / "ups" / "solo.table").write_text("envPrepend(PATH, ${PRODUCT_DIR}/bin)\n")
    r = scipipe("build", "plan", "solo", "--sources", tmp_path)
    assert r.code == 2 and r.err == f"error: {tmp_path}/solo is not a git repository\n"


def test_demo_init_refuses_a_non_empty_dir(
    scipipe: Invoke, tmp_path: Path, examples_dir: Path
) -> None:
    (tmp_path / "x").write_text("")
    r = scipipe("demo", "init", tmp_path, "--from", examples_dir / "sample-stack")
    assert r.code == 2 and "is not empty" in r.err
    r = scipipe(
        "demo", "init", tmp_path / "new", "--dry-run", "--from", examples_dir / "sample-stack"
    )
    assert r.code == 0 and not (tmp_path / "new").exists()


def test_demo_init_force_replaces_only_a_demo(
    scipipe: Invoke, tmp_path: Path, examples_dir: Path
) -> None:
    src = examples_dir / "sample-stack"
    dest = tmp_path / "d"
    assert scipipe("demo", "init", dest, "--from", src, "--no-checkouts").code == 0
    again = scipipe("demo", "init", dest, "--from", src)
    assert again.code == 2 and "pass --force" in again.err
    r = scipipe("demo", "init", dest, "--from", src, "--force", "--json")
    assert r.code == 0 and (dest / "sources" / "afw" / "ups" / "afw.table").exists()
    other = tmp_path / "other"
    other.mkdir()
    (other / "precious.txt").write_text("keep me")
    assert scipipe("demo", "init", other, "--from", src, "--force").code == 2
    assert (other / "precious.txt").read_text() == "keep me"
