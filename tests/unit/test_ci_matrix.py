"""``scipipe ci matrix``: the rebuild set of a change, and its GitHub and Jenkins forms.

The dependency graph comes from real checkouts of the sample stack (``scipipe demo
init``); ``--since`` compares real git tags with each checkout's HEAD.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scipipe_tools.ci.buildmatrix import parse_build_matrix
from scipipe_tools.ci.matrix import (
    MatrixRequest,
    github_matrix,
    jenkins_properties,
    plan_json,
    plan_matrix,
    rebuild_set,
)
from scipipe_tools.cli.app import cli, run
from scipipe_tools.demo import demo
from scipipe_tools.demo.gitrepo import git
from scipipe_tools.errors import InputError, ResolutionError
from scipipe_tools.eups.graph import Resolution, toposort, transitive_deps

ROOT = Path(__file__).resolve().parents[2]
MATRIX = """\
rubin_env: 13.0.1
platforms:
  - {name: linux-64, runner: ubuntu-24.04, image: img:9, label: docker, eups_flavor: Linux64}
  - {name: osx-arm64, runner: macos-14, label: mac, eups_flavor: Darwin}
canonical:
  products: [lsst_demo]
  label: snowflake-0
"""
#: the sample stack's build order of lsst_demo (see examples/sample-stack)
DOWNSTREAM_OF_GEOM = ("geom", "afw", "meas_base", "lsst_demo")


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    made = demo.init(ROOT / "examples" / "sample-stack", tmp_path_factory.mktemp("ci") / "d",
                     channel=False)  # fmt: skip
    assert made.sources is not None
    # the demo's remotes go on a month past w.2025.02: these tests start from that tag
    for repo in sorted(made.sources.iterdir()):
        if subprocess.run(["git", "rev-parse", "-q", "--verify", "w.2025.02^{commit}"],
                          cwd=repo, capture_output=True, check=False).returncode == 0:  # fmt: skip
            git(["checkout", "-q", "--detach", "w.2025.02"], cwd=repo)
    return made.sources


def matrix_file(tmp_path: Path) -> Path:
    path = tmp_path / "build-matrix.yaml"
    path.write_text(MATRIX)
    return path


def test_changed_product_and_everything_downstream_in_build_order(sources: Path) -> None:
    p = plan_matrix(
        parse_build_matrix(MATRIX, "m.yaml"), MatrixRequest(changed=("geom",), sources=sources)
    )
    assert p.changed == ("geom",)
    assert [leg.products for leg in p.legs] == [DOWNSTREAM_OF_GEOM, DOWNSTREAM_OF_GEOM]
    gh = github_matrix(p)
    assert gh["include"][0] == {
        "platform": "linux-64", "runner": "ubuntu-24.04", "image": "img:9", "label": "docker",
        "eups_flavor": "Linux64", "rubin_env": "13.0.1", "products": "geom afw meas_base lsst_demo",
    }  # fmt: skip
    assert gh["include"][1]["image"] == ""
    props = dict(line.split("=", 1) for line in jenkins_properties(p))
    assert props["PRODUCTS"] == "geom afw meas_base lsst_demo"
    assert props["PLATFORMS"] == "linux-64 osx-arm64"
    assert props["CHANGED"] == "geom"
    assert props["LABEL_osx_arm64"] == "mac"
    assert props["IMAGE_linux_64"] == "img:9"
    assert props["CANONICAL_PLATFORM"] == "linux-64"
    assert props["CANONICAL_LABEL"] == "snowflake-0"
    assert props["RUBIN_ENV"] == "13.0.1"
    assert plan_json(p)["matrix"] == gh


def test_a_root_change_rebuilds_the_whole_closure(sources: Path) -> None:
    p = plan_matrix(
        parse_build_matrix(MATRIX, "m.yaml"), MatrixRequest(changed=("utils",), sources=sources)
    )
    closure = p.legs[0].products
    assert closure[0] == "utils" and closure[-1] == "lsst_demo"
    # afwdata is an optional dependency of afw only: not downstream of utils
    assert "afwdata" not in closure


def test_a_leaf_change_and_restriction_to_the_top_products_closure(sources: Path) -> None:
    m = parse_build_matrix(MATRIX, "m.yaml")
    p = plan_matrix(
        m,
        MatrixRequest(
            top=("pipe_base",), changed=("base",), sources=sources, platforms=("osx-arm64",)
        ),
    )
    assert [leg.platform.name for leg in p.legs] == ["osx-arm64"]
    assert "lsst_demo" not in p.products and "pipe_base" in p.products
    with pytest.raises(ResolutionError, match="unknown repo 'afw': not a product of pipe_base"):
        plan_matrix(m, MatrixRequest(top=("pipe_base",), changed=("afw",), sources=sources))


def test_unknown_repo_is_exit_3_with_did_you_mean(
    sources: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(cli, ["ci", "matrix", "--matrix", str(matrix_file(tmp_path)), "--sources", str(sources),
                     "--changed", "afx"], "scipipe")  # fmt: skip
    err = capsys.readouterr().err
    assert code == 3
    assert "error: unknown repo 'afx'" in err
    assert "hint: did you mean 'afw'?" in err


def test_without_a_change_every_top_product_on_every_platform(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        cli,
        ["ci", "matrix", "--matrix", str(matrix_file(tmp_path)), "--format", "github"],
        "scipipe",
    )
    out = capsys.readouterr().out
    assert code == 0
    include = json.loads(out)["include"]
    assert [(e["platform"], e["products"]) for e in include] == [
        ("linux-64", "lsst_demo"),
        ("osx-arm64", "lsst_demo"),
    ]
    assert out.count("\n") == 1  # one line, for $GITHUB_OUTPUT


def test_the_repository_matrix_by_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("SCIPIPE_BUILD_MATRIX", raising=False)
    assert run(cli, ["ci", "matrix", "--format", "jenkins"], "scipipe") == 0
    props = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert props["TOP_PRODUCTS"] == "lsst_distrib lsst_ci lsst_extras"
    assert props["PLATFORMS"] == "linux-64 linux-aarch64 osx-arm64"


def test_bad_requests(sources: Path) -> None:
    m = parse_build_matrix(MATRIX, "m.yaml")
    with pytest.raises(InputError, match="either --changed or --since"):
        plan_matrix(m, MatrixRequest(changed=("geom",), since="w.2025.02", sources=sources))
    with pytest.raises(InputError, match="--sources is required"):
        plan_matrix(m, MatrixRequest(changed=("geom",)))
    with pytest.raises(InputError, match="invalid git ref"):
        plan_matrix(m, MatrixRequest(since="HEAD~1", sources=sources))


def test_since_a_tag_compares_each_checkout_head(sources: Path, tmp_path: Path) -> None:
    m = parse_build_matrix(MATRIX, "m.yaml")
    # every checkout's HEAD is at w.2025.02: nothing to rebuild, an empty GitHub matrix
    p = plan_matrix(m, MatrixRequest(since="w.2025.02", sources=sources))
    assert p.changed == () and p.products == ()
    assert github_matrix(p) == {"include": []}
    assert dict(line.split("=", 1) for line in jenkins_properties(p))["PLATFORMS"] == ""
    # geom gets a new commit; log loses the tag (a repo without it is new since then)
    work = tmp_path / "sources"
    shutil.copytree(sources, work, symlinks=True)
    (work / "geom" / "NEWS").write_text("a change\n")
    git(["add", "NEWS"], cwd=work / "geom")
    git(["commit", "-q", "-m", "A change"], cwd=work / "geom")
    git(["tag", "-d", "w.2025.02"], cwd=work / "log")
    p = plan_matrix(m, MatrixRequest(since="w.2025.02", sources=work))
    assert p.source == "since w.2025.02"
    assert set(p.changed or ()) == {"geom", "log"}
    assert p.legs[0].products == ("geom", "log", "afw", "pipe_base", "meas_base", "lsst_demo")


# --- the pure part: every rebuild set is closed downstream and in build order ----------


@st.composite
def dags(draw: st.DrawFn) -> dict[str, tuple[str, ...]]:
    n = draw(st.integers(1, 12))
    names = [f"p{i}" for i in range(n)]
    graph: dict[str, tuple[str, ...]] = {}
    for i, name in enumerate(names):
        graph[name] = (
            tuple(draw(st.lists(st.sampled_from(names[:i]), max_size=3, unique=True))) if i else ()
        )
    return graph


@settings(max_examples=200, deadline=None)
@given(dags(), st.data())
def test_rebuild_set_properties(graph: dict[str, tuple[str, ...]], data: st.DataObject) -> None:
    res = Resolution(tuple(graph), graph, toposort(graph))
    changed = data.draw(st.lists(st.sampled_from(sorted(graph)), max_size=4))
    out = rebuild_set(res, [*changed, "not-a-product"])
    chosen = set(out)
    assert set(changed) <= chosen
    for p in graph:  # closed downstream, and nothing unaffected
        affected = p in changed or bool(transitive_deps(graph, p) & set(changed))
        assert (p in chosen) == affected
    order = res.order
    assert list(out) == [p for p in order if p in chosen]
