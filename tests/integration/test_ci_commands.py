"""The ``scipipe`` steps of every workflow, composite action and Jenkins pipeline, run.

Each GitHub ``run:`` and each Jenkins ``sh`` script that calls ``scipipe`` is taken from
the definition files as written and run by a real shell (bash as GitHub runs it, sh as
Jenkins does) against the sample stack: a local conda channel for rubin-env, local git
remotes, a versiondb, a distribution root, and the local GitHub REST server for the
GitHub forge.  Only the environment variables (what GitHub's ``env:`` and Jenkins'
parameters would give) are the test's.

``scipipe`` on PATH is a wrapper that logs each argv, so the test also checks that every
option written after a ``scipipe`` command in the definitions was passed in some run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from scipipe_tools.demo import demo
from scipipe_tools.demo.channel import channel_url
from scipipe_tools.demo.gitrepo import git
from scipipe_tools.names.serverlayout import binary_root_path
from tests.support.githubserver import GitHubServer
from tests.support.ociimage import Registry, pack_layout

ROOT = Path(__file__).resolve().parents[2]
GROUPS = {"ci", "env", "release", "distrib", "eups", "manifest", "demo", "image"}
CALL = re.compile(r"(?:^|[\s;|&(\"])scipipe\s+([a-z][\w-]*)(?:\s+([a-z][\w-]*))?")
GITHUB_SHELL = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]
JENKINS_SHELL = ["sh", "-e", "-c"]
TOKEN = "ghp_ci_commands_0123456789"

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Block:
    """One shell script of a CI definition that calls scipipe."""

    id: str
    script: str
    shell: tuple[str, ...]
    #: the variables the definition's env: sets (GitHub), which the test must all give
    env: tuple[str, ...] = ()

    def calls(self) -> list[tuple[str, set[str]]]:
        """Each ``scipipe`` command written in the script, with the options written after
        it (continuation lines joined; the command ends at a pipe, redirect or ``)``)."""
        text = self.script.replace("\\\n", " ")
        out = []
        for m in CALL.finditer(text):
            cmd = m.group(1)
            if cmd in GROUPS and m.group(2):
                cmd += " " + m.group(2)
            rest = re.split(r"[|>;)]|&&", text[m.end() :], maxsplit=1)[0].split("\n")[0]
            options = {o for o in re.findall(r"(?<![\w$/.-])(-{1,2}[A-Za-z][\w-]*)", rest)}
            out.append((cmd, options))
        return out


def github_blocks() -> list[Block]:
    files = [*sorted((ROOT / ".github" / "workflows").glob("*.yaml")),
             *sorted((ROOT / "workflows").glob("*/action.yaml"))]  # fmt: skip
    blocks = []
    for path in files:
        rel = path.relative_to(ROOT).as_posix()
        data = yaml.safe_load(path.read_text())
        top_env = list((data.get("env") or {}).keys())
        jobs = data.get("jobs") or {"": {"steps": (data.get("runs") or {}).get("steps", [])}}
        for job_name, job in jobs.items():
            job_env = list((job.get("env") or {}).keys())
            for i, step in enumerate(job.get("steps") or []):
                script = step.get("run")
                if not script or not CALL.search(script):
                    continue
                where = f"{job_name}/" if job_name else ""
                env = (*top_env, *job_env, *(step.get("env") or {}).keys())
                blocks.append(
                    Block(f"{rel}::{where}{step.get('name', i)}", script, tuple(GITHUB_SHELL), env)
                )
    return blocks


def jenkins_blocks() -> list[Block]:
    blocks = []
    for path in sorted((ROOT / "ci" / "jenkins" / "pipelines").rglob("*.groovy")):
        rel = path.relative_to(ROOT).as_posix()
        text = path.read_text()
        for m in re.finditer(r"sh label: '([^']+)', script: '''(.*?)'''", text, re.S):
            if CALL.search(m.group(2)):
                blocks.append(Block(f"{rel}::{m.group(1)}", m.group(2), tuple(JENKINS_SHELL)))
    return blocks


def test_the_definitions_call_scipipe_where_expected() -> None:
    ids = {b.id for b in [*github_blocks(), *jenkins_blocks()]}
    assert {
        ".github/workflows/build-stack.yaml::plan/Plan the matrix",
        ".github/workflows/ci.yaml::validate/scipipe ci validate",
        "workflows/setup-stack/action.yaml::Build",
        "ci/jenkins/pipelines/weekly_release.groovy::scipipe release weekly",
        "ci/jenkins/pipelines/lib/util.groovy::scipipe build",
        "ci/jenkins/pipelines/tarball_matrix.groovy::scipipe distrib smoke",
        ".github/workflows/tarball-smoke.yaml::smoke/Install and load the published products",
    } <= ids
    commands = {c for b in [*github_blocks(), *jenkins_blocks()] for c, _ in b.calls()}
    assert commands == {
        "build", "changelog", "ci lint-tools", "ci matrix", "ci validate", "distrib publish",
        "distrib smoke", "env create", "env lock", "image build", "release nightly",
        "release official",
        "release pypi", "release tag", "release tag-name", "release weekly",
    }  # fmt: skip


class Runner:
    """Runs blocks with a base environment, records which ran and every scipipe argv."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.log = tmp / "argv.jsonl"
        bindir = tmp / "bin"
        bindir.mkdir()
        wrapper = bindir / "scipipe"
        wrapper.write_text(
            f"#!{sys.executable}\n"
            "import json, sys\n"
            f"with open({str(self.log)!r}, 'a') as fh:\n"
            "    fh.write(json.dumps(sys.argv[1:]) + '\\n')\n"
            "from scipipe_tools.cli.app import main\n"
            "main()\n"
        )
        wrapper.chmod(0o755)
        drop = ("EUPS_PATH", "EUPS_PKGROOT", "CONDA_EXE", "SCIPIPE_REPOS", "GITHUB_TOKEN",
                "SCIPIPE_BUILD_MATRIX", "SCIPIPE_RELEASE_CONFIG", "GITHUB_API_URL")  # fmt: skip
        self.base = {k: v for k, v in os.environ.items() if k not in drop}
        self.base.update(
            PATH=f"{bindir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            SCIPIPE_CACHE_DIR=str(tmp / "cache"),
            XDG_CACHE_HOME=str(tmp / "xdg-cache"),
            XDG_STATE_HOME=str(tmp / "xdg-state"),
        )
        self.blocks = {b.id: b for b in [*github_blocks(), *jenkins_blocks()]}
        self.ran: set[str] = set()
        self.last: subprocess.CompletedProcess[str] | None = None

    def run(self, block_id: str, cwd: Path, expect: int = 0, **env: str) -> dict[str, str]:
        """Run a block, which must exit with ``expect``; returns what it wrote to
        $GITHUB_OUTPUT (its output is kept as ``self.last``)."""
        block = self.blocks[block_id]
        missing = [name for name in block.env if name not in env]
        assert not missing, f"{block_id} sets {missing}: give them values in the test"
        output = self.tmp / "github-output"
        output.write_text("")
        cwd.mkdir(parents=True, exist_ok=True)
        full = {**self.base, "GITHUB_OUTPUT": str(output), **env}
        r = subprocess.run([*block.shell, block.script], cwd=cwd, env=full, capture_output=True,
                           text=True, check=False, timeout=600)  # fmt: skip
        assert r.returncode == expect, f"{block_id}: exit {r.returncode}:\n{r.stdout}\n{r.stderr}"
        self.last = r
        self.ran.add(block_id)
        return dict(line.split("=", 1) for line in output.read_text().splitlines() if "=" in line)

    def argvs(self) -> Iterator[list[str]]:
        for line in self.log.read_text().splitlines():
            yield json.loads(line)


def command_of(argv: list[str]) -> str:
    if argv and argv[0] in GROUPS and len(argv) > 1:
        return f"{argv[0]} {argv[1]}"
    return argv[0] if argv else ""


MATRIX = """\
rubin_env: 13.0.1
platforms:
  - {name: linux-64, runner: ubuntu-24.04, image: img:9, label: docker, eups_flavor: Linux64}
  - {name: osx-arm64, runner: macos-14, label: mac, eups_flavor: Darwin}
canonical:
  products: [lsst_demo]
"""


def test_every_scipipe_step_runs_against_the_sample_stack(
    tmp_path: Path, conda_channel: Path
) -> None:
    made = demo.init(ROOT / "examples" / "sample-stack", tmp_path / "demo", channel=False)
    d = made.stack.dest
    spec = d / "rubin-env.yaml"
    spec.write_text(demo.ENV_SPEC.format(path=spec, channel=channel_url(conda_channel)))
    config = d / "release.yaml"
    config.write_text(config.read_text().replace("products: [lsst_demo]",
                                                 "products: [lsst_demo, pipe_base]"))  # fmt: skip
    matrix = tmp_path / "build-matrix.yaml"
    matrix.write_text(MATRIX)
    repos = str(d / "repos.yaml")
    r = Runner(tmp_path)
    action_dir = str(ROOT / "workflows" / "setup-stack")

    # --- GitHub: setup-stack (lock, create, build), as build-stack's build job runs it
    gh = tmp_path / "gh"
    stack = dict(RUBIN_ENV="13.0.1", PLATFORM="linux-64", WORK_DIR="work",
                 GITHUB_ACTION_PATH=action_dir)  # fmt: skip
    r.run("workflows/setup-stack/action.yaml::Lock rubin-env", gh, ENV_SPEC=str(spec), **stack)
    assert (gh / "work" / "rubin-env.conda-lock.yml").is_file()
    r.run("workflows/setup-stack/action.yaml::Create the environment", gh, **stack)
    assert (gh / "work" / "env" / "conda-meta").is_dir()
    cache = tmp_path / "build-cache"  # the binary cache the builds share (a directory)
    out = r.run("workflows/setup-stack/action.yaml::Build", gh, PRODUCTS="lsst_demo",
                REPOS=repos, REFS="main", WORK_DIR="work", BUILD_OPTIONS="--no-tests -j 2",
                BUILD_CACHE=str(cache))  # fmt: skip
    assert out == {"stack": "work/stack"}
    assert "lsst_demo" in (gh / "work" / "build" / "status.yaml").read_text()
    assert "lsst_demo" in {p.parent.name for p in cache.rglob("*.json")}

    # --- GitHub: build-stack's plan, with a change (prep-only clone) and without
    plan = dict(MATRIX_FILE=str(matrix), PRODUCTS="", SINCE="", REFS="main", REPOS=repos,
                WORK_DIR="work")  # fmt: skip
    out = r.run(".github/workflows/build-stack.yaml::plan/Plan the matrix", tmp_path / "plan",
                CHANGED="geom", PLATFORMS="linux-64", **plan)  # fmt: skip
    include = json.loads(out["matrix"])["include"]
    assert [(e["platform"], e["products"]) for e in include] == [
        ("linux-64", "geom afw meas_base lsst_demo")
    ]
    out = r.run(".github/workflows/build-stack.yaml::plan/Plan the matrix", tmp_path / "plan2",
                CHANGED="", PLATFORMS="", **plan)  # fmt: skip
    assert [e["products"] for e in json.loads(out["matrix"])["include"]] == ["lsst_demo"] * 2

    # --- GitHub: python-lint's tooling, and this repository's own validation
    lint = tmp_path / "lint"
    lint.mkdir()
    (lint / "pyproject.toml").write_text("[tool.ruff.lint]\nselect = ['I']\n[tool.black]\n")
    out = r.run(".github/workflows/python-lint.yaml::tooling/Which tools", lint)
    assert out == {"lint": "ruff", "format": "black", "isort": "ruff"}
    r.run(".github/workflows/ci.yaml::validate/scipipe ci validate", ROOT)

    # --- the weekly release: GitHub's step, then Jenkins' (which resumes: all done)
    out = r.run(".github/workflows/weekly-release.yaml::weekly/Weekly release", d,
                CONFIG=str(config), RELEASE_DATE="2026-11-26", DRY_RUN="",
                RESULTS="results.json", GITHUB_TOKEN="")  # fmt: skip
    assert out == {"git-tag": "w.2026.48"}
    results = json.loads((d / "results.json").read_text())
    assert results["eups_tag"] == "w_2026_48"
    release = dict(RELEASE_CONFIG=str(config), GITHUB_TOKEN="", TIMEOUT="12")
    r.run("ci/jenkins/pipelines/weekly_release.groovy::scipipe release weekly", d,
          DATE="2026-11-26", DRY_RUN_FLAG="", **release)  # fmt: skip
    r.run("ci/jenkins/pipelines/weekly_release.groovy::scipipe release weekly", d,
          DATE="2026-11-26", DRY_RUN_FLAG="--dry-run", **release)  # fmt: skip
    r.run("ci/jenkins/pipelines/nightly_release.groovy::scipipe release nightly", d,
          DATE="2026-11-27", DRY_RUN_FLAG="", **release)  # fmt: skip
    assert (d / "release" / "srv" / "src" / "d_2026_11_27.list").is_file()  # a binary root

    # --- official releases: a real RC from GitHub's step; a final (o_latest, an
    # excluded product) planned by Jenkins' as a dry run
    r.run(".github/workflows/official-release.yaml::official/Official release", d,
          CONFIG=str(config), SOURCE_REFS="w.2026.48", RELEASE_TAG="v99.0.0.rc1", O_LATEST="",
          EXCLUDE="", DRY_RUN="", RESULTS="results.json", GITHUB_TOKEN="")  # fmt: skip
    assert "v99.0.0.rc1" in git(["tag"], cwd=d / "remotes" / "afw.git").split()
    r.run("ci/jenkins/pipelines/official_release.groovy::scipipe release official", d,
          SOURCE_GIT_REFS="v99.0.0.rc1", RELEASE_GIT_TAG="99.0.0",
          RELEASE_FLAGS="--o-latest --dry-run", EXCLUDE_FROM_BUILDS="pipe_base",
          SPLENV_REF="13.0.1", **release)  # fmt: skip

    # --- Jenkins: run-rebuild (util.buildStack) then run-publish, in one work root
    jk = tmp_path / "jenkins"
    rebuild = dict(ENV_SPEC=str(spec), SCIPIPE_TOOLS=str(ROOT), RUBIN_ENV="13.0.1",
                   PLATFORM="linux-64", WORK=str(jk / "work"))  # fmt: skip
    r.run("ci/jenkins/pipelines/lib/util.groovy::scipipe env lock", jk, **rebuild)
    r.run("ci/jenkins/pipelines/lib/util.groovy::scipipe env create", jk, **rebuild)
    r.run("ci/jenkins/pipelines/lib/util.groovy::scipipe build", jk, PRODUCTS="lsst_demo",
          REPOS_FILE=repos, REFS="w.2026.48", BUILD_FLAGS="-B", BUILD_HOURS="8",
          BUILD_DOCS="true", **rebuild)  # fmt: skip
    # BUILD_DOCS: the docs step ran (the sample products have no Sphinx doc/conf.py)
    assert r.last is not None and "docs: built none; skipped (no doc/conf.py) " in r.last.stderr
    assert any("--docs" in argv for argv in r.argvs())
    manifest = (jk / "work" / "build" / "manifest.txt").read_text()
    build_id = re.search(r"^BUILD=(b\d+)", manifest, re.M)
    assert build_id is not None
    r.run("ci/jenkins/pipelines/run_publish.groovy::scipipe distrib publish", jk,
          MANIFEST_ID=build_id.group(1), EUPS_TAG="w_2026_48", ROLLING_TAGS="w_latest",
          PRODUCTS="lsst_demo", EUPS_ROOT=str(jk / "eups"), **rebuild)  # fmt: skip
    assert (jk / "eups" / "src" / "tags" / "w_2026_48.list").is_file()
    assert (jk / "eups" / "src" / "tags" / "w_latest.list").is_file()

    # --- the tarball smoke test of what run-publish published, as an end user installs
    # it: a real lsstinstall from the root, then a real scipipe distrib smoke.  Jenkins'
    # tarball-matrix with the tag's exact environment (-X), GitHub's tarball-smoke with
    # rubin-env of the tag solved from the channel (-T)
    tm = tmp_path / "tarball"
    r.run("ci/jenkins/pipelines/tarball_matrix.groovy::plan", tm, PRODUCTS="lsst_demo",
          PLATFORMS="linux-64", SCIPIPE_BUILD_MATRIX=str(matrix))  # fmt: skip
    props = (tm / "matrix.properties").read_text()
    assert "PLATFORMS=linux-64\n" in props and "PRODUCTS_linux_64=lsst_demo\n" in props
    smoke = dict(TAG="w_2026_48", EUPS_ROOT=str(jk / "eups"), PRODUCTS="lsst_demo pipe_base")
    # the demo channel's python cannot run: the products are loaded by this one
    load = (f"{sys.executable} -c 'import importlib, sys; "
            "sys.argv[1] and importlib.import_module(sys.argv[1])' {package}")  # fmt: skip
    r.run("ci/jenkins/pipelines/tarball_matrix.groovy::scipipe distrib smoke", tm,
          SMOKE_COMMAND=load, ENV_FLAG="-X", WORK=str(tm / "work"), **smoke)  # fmt: skip
    assert r.last is not None and "smoke tests passed: 2 products" in r.last.stderr
    assert "/env/w_2026_48.env>" in r.last.stderr  # the environment the tag was built in
    assert (tm / "work" / "smoke" / "home" / "loadLSST.sh").is_file()
    out = r.run(".github/workflows/tarball-smoke.yaml::plan/Plan the matrix", tm,
                MATRIX_FILE=str(matrix), PRODUCTS="", PLATFORMS="osx-arm64")  # fmt: skip
    assert [e["platform"] for e in json.loads(out["matrix"])["include"]] == ["osx-arm64"]
    gh_smoke = ".github/workflows/tarball-smoke.yaml::smoke/Install and load the published products"
    r.run(gh_smoke, tm, SMOKE_COMMAND="", ENV_FLAG="-T", WORK_DIR="gh",
          LSST_CONDA_CHANNELS=channel_url(conda_channel), **smoke)  # fmt: skip
    assert r.last is not None and "ok     pipe_base" in r.last.stdout
    assert "a solve of rubin-env ==13.0.1" in r.last.stderr
    # a product that fails its smoke command fails the step, named (exit 8)
    fails = f"{sys.executable} -c 'import sys; sys.exit(sys.argv[1] == \"pipe_base\")' {{product}}"
    r.run(gh_smoke, tm, SMOKE_COMMAND=fails, ENV_FLAG="-T", WORK_DIR="gh", expect=8,
          LSST_CONDA_CHANNELS=channel_url(conda_channel), **smoke)  # fmt: skip
    assert r.last is not None and "smoke test failed for pipe_base" in r.last.stderr

    # --- the published tag as a container image, pushed to a real registry (Debian's
    # docker-registry on 127.0.0.1, over http, after a skopeo login) on a base made
    # offline: Jenkins' release/docker/build-stack as the weekly starts it (w_latest),
    # then GitHub's docker-image, which reuses the environment layer Jenkins' made
    base_root = tmp_path / "base" / "rootfs"
    (base_root / "etc").mkdir(parents=True)
    (base_root / "etc" / "os-release").write_text('NAME="ci commands test base"\n')
    base = f"oci:{pack_layout(base_root, tmp_path / 'base' / 'layout', 'base')}:base"
    pkgroot = f"{jk / 'eups' / binary_root_path('linux-64', '13.0.1')}|{jk / 'eups' / 'src'}"
    (tmp_path / "gi-temp").mkdir()
    with Registry(tmp_path / "registry") as registry:
        repo = f"docker://{registry.host}/lsst/scipipe"
        login = dict(REGISTRY_USER="ci", REGISTRY_PASSWORD="registry-test-password")
        r.run("ci/jenkins/pipelines/build_stack.groovy::scipipe image build", jk, TAG="w_2026_48",
              PRODUCTS="lsst_demo", EUPS_PKGROOT=pkgroot, BASE_IMAGE=base, DOCKER_TAGS="",
              TIMESTAMP="20261126T080000Z", TLS_VERIFY="false", ROLLING="yes", PUSH_TO=repo,
              WORK=str(jk / "work"), REGISTRY_AUTH_FILE=str(tmp_path / "auth.json"),
              **login)  # fmt: skip
        built = json.loads((jk / "image.json").read_text())
        assert built["pushed"] == [f"{repo}:{t}" for t in sorted(built["tags"])]
        assert "al9-w_latest" in built["tags"] and "al9-w_2026_48-20261126T080000Z" in built["tags"]
        r.run(".github/workflows/docker-image.yaml::image/Build and push the image", tmp_path / "gi",
              TAG="w_2026_48", PRODUCTS="lsst_demo", ROOTS=pkgroot, BASE=base, REPOSITORY=repo,
              EXTRA_TAGS="", TIMESTAMP="", PUSH="true", TLS_VERIFY="false",
              RUNNER_TEMP=str(tmp_path / "gi-temp"), **login)  # fmt: skip
        again = json.loads((tmp_path / "gi" / "image.json").read_text())
        assert again["env_layer_reused"] is True and again["env_layer"] == built["env_layer"]
        assert set(built["tags"]) | set(again["tags"]) == set(registry.tags("lsst/scipipe"))
        assert "registry-test-password" not in (r.last.stdout + r.last.stderr if r.last else "")

    # --- Jenkins: tag-release through the GitHub forge (the local REST server over the
    # demo's remotes): the weekly's tags verify as in sync
    remotes = {f"remotes/{p}": d / "remotes" / f"{p}.git" for p in made.stack.products}
    teams = {"Data Management": sorted(remotes), "DM Externals": [], "DM Auxilliaries": []}
    with GitHubServer(remotes, org="remotes", teams=teams, token=TOKEN) as server:
        r.run("ci/jenkins/pipelines/tag_release.groovy::scipipe release tag", d,
              GIT_TAG="w.2026.48", MANIFEST_ID=results["manifest_id"], EUPS_TAG="w_2026_48",
              REPOS_FILE=repos, GITHUB_ORG="remotes", TAGGER_USER="Demo Release Manager",
              TAGGER_EMAIL="release@lsst-demo.example", TAG_FLAGS="--verify",
              LSST_VERSIONDB_BASE_URL=str(d / "release" / "versiondb"),
              LSST_EUPSTAG_BASE_URL=str(d / "release" / "srv" / "src"),
              GITHUB_TOKEN=TOKEN, GITHUB_API_URL=server.url)  # fmt: skip
        assert server.errors == []

    # --- the changelog sites, from GitHub's step and Jenkins'
    srv = str(d / "release" / "srv" / "src")
    r.run(".github/workflows/changelog-publish.yaml::site/Write the changelog site", d,
          SERIES="weekly", REPOS=repos, EUPS_ROOT=srv, SITE_DIR="site-gh")  # fmt: skip
    assert (d / "site-gh" / "index.html").is_file()
    r.run("ci/jenkins/pipelines/changelog.groovy::scipipe changelog", d, REPOS_URL=repos,
          EUPS_ROOT_URL=srv)  # fmt: skip
    assert (d / "site" / "weekly" / "index.html").is_file()
    assert (d / "site" / "releases" / "index.html").is_file()

    # --- PyPI after the weekly: Jenkins' job from the EUPS tag (lsst_demo has no
    # pyproject.toml: skipped, the index never asked); GitHub's as a dry run, where the
    # sample utils' static version 1.0.0 is not lsst-versions' and is refused (exit 3)
    pypi = dict(REPOSITORY_URL="http://127.0.0.1:9/", WORK=str(tmp_path / "pypi"))
    r.run("ci/jenkins/pipelines/pypi_release.groovy::scipipe release pypi", d, TAG="w_2026_48",
          PRODUCTS="lsst_demo", REPOS_URL=repos, TWINE_USERNAME="u",
          TWINE_PASSWORD="pypi-test-password", **pypi)  # fmt: skip
    assert json.loads((d / "pypi.json").read_text())["products"][0]["outcome"] == "skipped"
    r.run(".github/workflows/pypi-release.yaml::publish/Publish to the index", d, expect=3,
          TAG="w.2026.48", PRODUCTS="utils", REPOS=repos, DRY_RUN="true", TWINE_USERNAME="",
          TWINE_PASSWORD="", REPOSITORY_URL="http://127.0.0.1:9/")  # fmt: skip
    assert r.last is not None and "static version '1.0.0'" in r.last.stderr

    # --- Jenkins: the build matrix, for the release jobs and for stack-os-matrix
    som = tmp_path / "som"
    r.run("ci/jenkins/pipelines/stack_os_matrix.groovy::plan", som, REFS="", PRODUCTS="",
          CHANGED="geom", PLATFORMS="osx-arm64", REPOS_FILE=repos, WORK=str(som / "work"),
          SCIPIPE_BUILD_MATRIX=str(matrix))  # fmt: skip
    props = (som / "matrix.properties").read_text()
    assert "PLATFORMS=osx-arm64\n" in props
    assert "PRODUCTS_osx_arm64=geom afw meas_base lsst_demo\n" in props
    r.run("ci/jenkins/pipelines/lib/util.groovy::scipipe ci matrix", som,
          SCIPIPE_BUILD_MATRIX=str(matrix))  # fmt: skip
    assert "CANONICAL_PLATFORM=linux-64\n" in (som / "matrix.properties").read_text()

    # --- Jenkins: a stack-os-matrix leg on another agent, with BUILD_CACHE: everything
    # GitHub's build stored is installed from the cache, nothing is built
    leg = dict(ENV_SPEC=str(spec), SCIPIPE_TOOLS=str(ROOT), RUBIN_ENV="13.0.1",
               PLATFORM="linux-64", WORK=str(som / "work"))  # fmt: skip
    r.run("ci/jenkins/pipelines/lib/util.groovy::scipipe env lock", som, **leg)
    r.run("ci/jenkins/pipelines/lib/util.groovy::scipipe env create", som, **leg)
    r.run("ci/jenkins/pipelines/lib/util.groovy::scipipe build", som, PRODUCTS="lsst_demo",
          REPOS_FILE=repos, REFS="main", BUILD_FLAGS="--no-tests", BUILD_CACHE=str(cache),
          BUILD_DOCS="false", **leg)  # fmt: skip
    assert r.last is not None and "docs:" not in r.last.stderr
    report = json.loads((som / "work" / "build" / "status.json").read_text())
    assert report["counts"]["from-cache"] == len(report["products"]) > 1, report["counts"]

    # every block that calls scipipe ran, and every option written after a scipipe
    # command in the definitions was passed by some run of that command
    assert r.ran == set(r.blocks)
    passed: dict[str, set[str]] = {}
    for argv in r.argvs():
        opts = {a.split("=", 1)[0] for a in argv if a.startswith("-")}
        passed.setdefault(command_of(argv), set()).update(opts)
    for block in r.blocks.values():
        for cmd, options in block.calls():
            assert cmd in passed, f"{block.id}: scipipe {cmd} never ran"
            assert options <= passed[cmd], f"{block.id}: scipipe {cmd} {options - passed[cmd]}"


# --- the rebase checker (shell only) on real histories ----------------------------------


def _rebase_block() -> str:
    data = yaml.safe_load((ROOT / ".github" / "workflows" / "rebase-checker.yaml").read_text())
    steps = data["jobs"]["rebase-checker"]["steps"]
    script: str = next(s["run"] for s in steps if s.get("name", "").startswith("No merges"))
    return script


@pytest.mark.parametrize("merge", ["main", "v29.0.x", None])
def test_rebase_checker(tmp_path: Path, merge: str | None) -> None:
    repo = tmp_path / "repo"
    git(["init", "-q", "-b", "main", str(repo)])
    (repo / "a").write_text("a\n")
    git(["add", "a"], cwd=repo)
    git(["commit", "-q", "-m", "Initial"], cwd=repo)
    base = git(["rev-parse", "HEAD"], cwd=repo)
    git(["checkout", "-q", "-b", "tickets/DM-1"], cwd=repo)
    (repo / "b").write_text("b\n")
    git(["add", "b"], cwd=repo)
    git(["commit", "-q", "-m", "Work"], cwd=repo)
    if merge is not None:
        git(["branch", "-f", merge, base], cwd=repo)
        git(["checkout", "-q", merge], cwd=repo)
        (repo / "c").write_text("c\n")
        git(["add", "c"], cwd=repo)
        git(["commit", "-q", "-m", "Upstream"], cwd=repo)
        git(["checkout", "-q", "tickets/DM-1"], cwd=repo)
        git(["merge", "-q", "--no-ff", "--no-edit", merge], cwd=repo)
    head = git(["rev-parse", "HEAD"], cwd=repo)
    env = {**os.environ, "BASE_SHA": base, "HEAD_SHA": head}
    r = subprocess.run([*GITHUB_SHELL, _rebase_block()], cwd=repo, env=env,
                       capture_output=True, text=True, check=False)  # fmt: skip
    if merge is None:
        assert r.returncode == 0, r.stdout + r.stderr
    else:
        assert r.returncode == 1
        assert f"Merge branch '{merge}'" in r.stdout
        assert "::error::" in r.stdout
