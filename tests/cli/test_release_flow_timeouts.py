"""The release flows pass their build options on: ``build.timeout`` / ``build.total_timeout``
of the flow configuration, and ``--build-total-timeout`` (Jenkins' TIMEOUT) over it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from scipipe_tools.demo.gitrepo import git
from tests.support.gitenv import BUILD_BOT, isolate_git
from tests.support.releaseworld import ReleaseWorld, make_release_world

from .conftest import Invoke

pytestmark = pytest.mark.slow

# the step never ends, and a child of it ignores SIGTERM
HANGS = """\
build() {
    echo "about to hang"
    sh -c 'trap "" TERM; while :; do sleep 0.1; done' &
    sleep 1000
}
"""


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(monkeypatch, BUILD_BOT)
    monkeypatch.delenv("SCIPIPE_RELEASE_CONFIG", raising=False)


@pytest.fixture
def world(tmp_path: Path) -> ReleaseWorld:
    world = make_release_world(tmp_path / "world", products=3, aux=0, externals=1)
    hang(world, world.products[0], tmp_path)  # a leaf: lsst_distrib depends on it
    return world


def hang(world: ReleaseWorld, product: str, tmp: Path) -> None:
    work = tmp / f"edit-{product}-{time.monotonic_ns()}"
    git(["clone", "-q", str(world.remote(product)), str(work)])
    (work / "ups").mkdir(exist_ok=True)
    (work / "ups" / "eupspkg.cfg.sh").write_text(HANGS)
    git(["add", "-A"], cwd=work)
    git(["commit", "-q", "-m", "a build step that hangs"], cwd=work)
    git(["push", "-q", "origin", "HEAD:main"], cwd=work)


def write_config(tmp_path: Path, world: ReleaseWorld, build: str) -> Path:
    path = tmp_path / "release.yaml"
    path.write_text(
        "products: [lsst_distrib]\n"
        f"repos: {world.repos_yaml}\n"
        "root: work\n"
        "flavor: Linux64\n"
        f"build: {{jobs: 2, run_tests: false{build}}}\n"
        "distrib: {root: distrib, conda_env: 12.1.0}\n"
        f"forge: {{kind: git, teams_file: {world.policy}, cache_dir: cache}}\n"
        "tagger: {user: Release Bot, email: release@example.org}\n"
    )
    return path


def product_status(tmp_path: Path, name: str) -> dict[str, object]:
    data = json.loads((tmp_path / "work" / "build" / "status.json").read_text())
    return {p["name"]: p for p in data["products"]}[name]  # type: ignore[no-any-return]


def test_the_configured_timeout_stops_the_flow_build(
    scipipe: Invoke, world: ReleaseWorld, tmp_path: Path
) -> None:
    config = write_config(tmp_path, world, ", timeout: 2")
    r = scipipe("release", "weekly", "--config", config, "--date", "2025-04-10")
    assert r.code == 8, r.err
    assert "step rebuild failed" in r.err
    hung = product_status(tmp_path, world.products[0])
    assert hung["status"] == "failed" and hung["timed_out"] is True
    assert "timed out after 2 s" in str(hung["detail"])
    assert "about to hang" in Path(str(hung["log"])).read_text()
    assert product_status(tmp_path, "lsst_distrib")["status"] == "skipped"


def test_build_total_timeout_overrides_the_configuration(
    scipipe: Invoke, world: ReleaseWorld, tmp_path: Path
) -> None:
    config = write_config(tmp_path, world, ", total_timeout: 100000")
    r = scipipe("release", "nightly", "--config", config, "--date", "2025-04-10",
                "--build-total-timeout", "10")  # fmt: skip
    assert r.code == 8, r.err
    hung = product_status(tmp_path, world.products[0])
    assert hung["status"] == "failed" and hung["timed_out"] is True
    assert "the build's total timeout (10 s) ran out" in str(hung["detail"])


def test_build_docs_documents_the_flow_build(scipipe: Invoke, tmp_path: Path) -> None:
    """``build.docs: true`` (Jenkins' BUILD_DOCS) documents the products the flow built."""
    world = make_release_world(tmp_path / "world", products=2, aux=0, externals=0)
    leaf = world.products[0]
    work = tmp_path / "edit-docs"
    git(["clone", "-q", str(world.remote(leaf)), str(work)])
    (work / "doc").mkdir()
    (work / "doc" / "conf.py").write_text('project = "Leaf docs"\nhtml_theme = "basic"\n')
    (work / "doc" / "index.rst").write_text("Leaf docs\n=========\n\nBuilt by the flow.\n")
    git(["add", "-A"], cwd=work)
    git(["commit", "-q", "-m", "docs"], cwd=work)
    git(["push", "-q", "origin", "HEAD:main"], cwd=work)
    config = write_config(tmp_path, world, ", docs: true")
    r = scipipe("release", "nightly", "--config", config, "--date", "2025-04-10")
    assert r.code == 0, r.err
    index = tmp_path / "work" / "build" / "docs" / leaf / "index.html"
    assert "Leaf docs" in index.read_text()
