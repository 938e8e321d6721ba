"""The Jenkins jobs: rendered XML against golden files, and each job's pipeline script.

Regenerate the golden files on purpose with ``SCIPIPE_UPDATE_GOLDEN=1 pytest <this file>``
(they change with the job definitions and with the pinned jenkins-job-builder).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from scipipe_tools.ci.validate import render_jenkins

from .cishell import JENKINS_SHELL, LSSTINSTALL, PKGROOT, TAG, run_script, sh_script

ROOT = Path(__file__).resolve().parents[2]
JOBS = ROOT / "ci" / "jenkins" / "jobs"
PIPELINES = ROOT / "ci" / "jenkins" / "pipelines"
GOLDEN = ROOT / "tests" / "golden" / "jenkins"
UPDATE = os.environ.get("SCIPIPE_UPDATE_GOLDEN") == "1"

#: the jobs of spec section 6 this repository defines
EXPECTED_JOBS = {
    "release/weekly-release", "release/nightly-release", "release/official-release",
    "release/run-rebuild", "release/run-publish", "release/tag-release", "release/changelog",
    "release/tarball-matrix", "release/pypi-release", "release/docker/build-stack",
    "stack-os-matrix",
}  # fmt: skip
#: the folders the jobs live in
FOLDERS = {"release", "release/docker"}


def jobs() -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for path in sorted(JOBS.glob("*.yaml")):
        for item in yaml.safe_load(path.read_text()):
            if "job" in item:
                out[item["job"]["name"]] = item["job"]
    return out


def test_rendered_xml_matches_golden(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = render_jenkins(JOBS, out)
    assert res.returncode == 0, res.stderr
    if UPDATE:
        shutil.rmtree(GOLDEN, ignore_errors=True)
        shutil.copytree(out, GOLDEN)
    assert GOLDEN.is_dir(), "no golden files: run with SCIPIPE_UPDATE_GOLDEN=1"
    produced = sorted(p.relative_to(out).as_posix() for p in out.rglob("config.xml"))
    golden = sorted(p.relative_to(GOLDEN).as_posix() for p in GOLDEN.rglob("config.xml"))
    assert produced == golden
    assert {p.removesuffix("/config.xml") for p in produced} == EXPECTED_JOBS | FOLDERS
    for name in produced:
        assert (out / name).read_text() == (GOLDEN / name).read_text(), f"{name} differs"


def test_every_job_runs_its_pipeline_script() -> None:
    defined = jobs()
    assert set(defined) >= EXPECTED_JOBS
    used = set()
    for name in EXPECTED_JOBS:
        scm = defined[name]["pipeline-scm"]
        assert isinstance(scm, dict)
        script = scm["script-path"]
        # jenkins-dm-jobs' Plumber convention: pipelines/<last part, - as _>.groovy
        assert script == f"ci/jenkins/pipelines/{name.split('/')[-1].replace('-', '_')}.groovy"
        assert (ROOT / script).is_file()
        used.add(Path(script).name)
    assert used == {p.name for p in PIPELINES.glob("*.groovy")}


def test_schedules_and_parameters() -> None:
    defined = jobs()
    triggers = {n: j.get("triggers") for n, j in defined.items()}
    assert triggers["release/weekly-release"] == [{"timed": "TZ=America/Los_Angeles\n0 0 * * 4"}]
    assert triggers["release/nightly-release"] == [
        {"timed": "TZ=America/Los_Angeles\n0 0 * * 0-3,5-7"}
    ]
    assert triggers["release/changelog"] == [{"timed": "TZ=America/Los_Angeles\n15 * * * *"}]

    def params(name: str) -> list[str]:
        raw = defined[name]["parameters"]
        assert isinstance(raw, list)
        return [next(iter(p.values()))["name"] for p in raw]

    assert params("release/official-release") == [
        "SOURCE_GIT_REFS", "RELEASE_GIT_TAG", "O_LATEST", "EXCLUDE_FROM_BUILDS",
        "EXCLUDE_FROM_TARBALLS", "DRY_RUN", "NO_VERSIONDB_PUSH", "SPLENV_REF", "TIMEOUT",
    ]  # fmt: skip
    assert params("release/weekly-release") == [
        "DATE", "DRY_RUN", "NO_VERSIONDB_PUSH", "DOWNSTREAM_JOBS", "TIMEOUT"
    ]  # fmt: skip
    assert "NO_VERSIONDB_PUSH" in params("release/nightly-release")
    assert {"REFS", "PRODUCTS", "NO_BINARY_FETCH", "PREP_ONLY", "NO_FETCH", "TIMEOUT",
            "SPLENV_REF"} <= set(params("release/run-rebuild"))  # fmt: skip


@pytest.mark.parametrize("script", sorted(PIPELINES.rglob("*.groovy")), ids=lambda p: p.name)
def test_pipelines_leave_expansion_to_the_shell(script: Path) -> None:
    """Every sh script is single-quoted Groovy: parameters reach the shell as environment
    variables, never spliced into the command by Groovy (no injection, no quoting bugs)."""
    text = script.read_text()
    for m in re.finditer(r"\bsh\b[^\n]*?script:\s*(\S)", text):
        assert m.group(1) == "'", f"{script.name}: sh script is not single-quoted: {m.group(0)}"
    assert 'sh "' not in text and 'sh("' not in text


# --- the pipelines' scripts, run by sh against stubs that log their argv ----------------


def params_of(job: dict[str, object]) -> dict[str, dict[str, object]]:
    raw = job["parameters"]
    assert isinstance(raw, list)
    return {p[kind]["name"]: {"type": kind, **p[kind]} for p in raw for kind in p}


def test_stack_os_matrix_builds_with_the_shared_cache(tmp_path: Path) -> None:
    """BUILD_CACHE ('' for none) reaches every platform's `scipipe build` as --cache."""
    param = params_of(jobs()["stack-os-matrix"])["BUILD_CACHE"]
    assert param["type"] == "string" and param["default"] == ""
    assert all(w in str(param["description"]) for w in ("s3://", "https://", "--cache"))
    pipeline = (PIPELINES / "stack_os_matrix.groovy").read_text()
    assert '"BUILD_CACHE=${params.BUILD_CACHE' in pipeline
    legs = pipeline[pipeline.index("def legs") :]
    assert legs.index("BUILD_CACHE=") < legs.index("util.buildStack()")

    build = sh_script(PIPELINES / "lib" / "util.groovy", "scipipe build")
    env = dict(PRODUCTS="afw pipe_base", REPOS_FILE="repos.yaml", WORK="work",
               BUILD_FLAGS="-B", REFS="tickets/DM-1 w.2026.48")  # fmt: skip
    (with_cache,) = run_script(tmp_path / "a", build, {"scipipe": ""},
                               BUILD_CACHE="s3://bucket/cache dir", **env)  # fmt: skip
    assert with_cache["argv"] == [
        "scipipe", "build", "afw", "pipe_base", "--repos", "repos.yaml", "--root", "work", "-B",
        "--cache", "s3://bucket/cache dir", "-r", "tickets/DM-1", "-r", "w.2026.48",
    ]  # fmt: skip
    # run-rebuild has no BUILD_CACHE; an empty one is no cache either
    for i, extra in enumerate([{}, {"BUILD_CACHE": ""}]):
        (without,) = run_script(tmp_path / f"b{i}", build, {"scipipe": ""}, **env, **extra)
        assert "--cache" not in without["argv"]


def test_tarball_matrix_job() -> None:
    job = jobs()["release/tarball-matrix"]
    params = params_of(job)
    assert list(params) == [
        "TAG", "PRODUCTS", "EUPS_ROOT", "SMOKE_COMMAND", "EXACT_ENV", "PLATFORMS",
    ]  # fmt: skip
    assert params["EUPS_ROOT"]["default"] == "https://eups.lsst.cloud/stack"
    assert params["EXACT_ENV"] == {"type": "bool", "name": "EXACT_ENV", "default": True,
                                   "description": params["EXACT_ENV"]["description"]}  # fmt: skip
    assert {params[n]["default"] for n in ("TAG", "PRODUCTS", "SMOKE_COMMAND", "PLATFORMS")} == {""}
    assert job.get("concurrent") is True and "triggers" not in job
    pipeline = (PIPELINES / "tarball_matrix.groovy").read_text()
    # every platform of the plan, in parallel, each on its agent and in its image
    assert "for (name in props.PLATFORMS.tokenize())" in pipeline
    assert "util.onPlatform(props, platform)" in pipeline and "parallel legs" in pipeline
    assert "\"PRODUCTS=${props['PRODUCTS_' + util.key(platform)]}\"" in pipeline
    assert "\"ENV_FLAG=${params.EXACT_ENV ? '-X' : '-T'}\"" in pipeline


def test_tarball_matrix_plans_the_platforms(tmp_path: Path) -> None:
    plan = sh_script(PIPELINES / "tarball_matrix.groovy", "plan")
    (given,) = run_script(tmp_path / "a", plan, {"scipipe": "echo PLATFORMS=linux-64"},
                          PRODUCTS="lsst_distrib lsst_ci", PLATFORMS="linux-64 osx-arm64")  # fmt: skip
    assert given["argv"] == [
        "scipipe", "ci", "matrix", "--format", "jenkins", "--products", "lsst_distrib lsst_ci",
        "--platform", "linux-64 osx-arm64",
    ]  # fmt: skip
    assert (tmp_path / "a" / "matrix.properties").read_text() == "PLATFORMS=linux-64\n"
    (default,) = run_script(tmp_path / "b", plan, {"scipipe": ""}, PRODUCTS="", PLATFORMS="")
    assert default["argv"] == ["scipipe", "ci", "matrix", "--format", "jenkins"]


def test_tarball_matrix_installs_as_a_user_then_runs_scipipe_distrib_smoke(
    tmp_path: Path,
) -> None:
    """Each leg: lsstinstall makes a fresh environment from EUPS_ROOT, then `scipipe
    distrib smoke` installs PRODUCTS into a fresh stack from the roots lsstinstall wrote
    (loadLSST.sh's EUPS_PKGROOT) and loads each product in that environment."""
    smoke = sh_script(PIPELINES / "tarball_matrix.groovy", "scipipe distrib smoke")
    work = tmp_path / "a" / "work"
    (work / "smoke" / "conda" / "stale").mkdir(parents=True)  # a previous run's: removed
    env = dict(TAG=TAG, EUPS_ROOT="https://eups.example/stack", ENV_FLAG="-X",
               PRODUCTS="lsst_distrib pipe_base", WORK=str(work))  # fmt: skip
    stubs = {"lsstinstall": LSSTINSTALL, "scipipe": ""}
    install, run = run_script(tmp_path / "a", smoke, stubs, watch=("EUPS_PKGROOT",),
                              SMOKE_COMMAND="{python} -c 'import {package}'", **env)  # fmt: skip
    prefix = f"{work}/smoke/conda/envs/smoke"
    assert install["argv"] == [
        "lsstinstall", "-X", TAG, "-E", "https://eups.example/stack", "-p",
        f"{work}/smoke/conda", "-P", "-e", "smoke",
    ]  # fmt: skip
    assert run["argv"] == [
        "scipipe", "distrib", "smoke", "-t", TAG, "--env", prefix,
        "--command", "{python} -c 'import {package}'", "lsst_distrib", "pipe_base",
    ]  # fmt: skip
    assert run["env"] == {"EUPS_PKGROOT": PKGROOT}
    assert not (work / "smoke" / "conda" / "stale").exists()
    assert (work / "smoke" / "home").is_dir()  # lsstinstall's cwd: loadLSST.sh goes there

    # the default smoke command; -T solves the tag's rubin-env instead
    install, run = run_script(tmp_path / "b", smoke, stubs, SMOKE_COMMAND="",
                              **{**env, "ENV_FLAG": "-T", "WORK": str(tmp_path / "b" / "w")})  # fmt: skip
    assert install["argv"][1:3] == ["-T", TAG]
    assert "--command" not in run["argv"] and run["argv"][-2:] == ["lsst_distrib", "pipe_base"]

    # a product that fails to load (exit 8) fails the leg; no TAG is an error up front
    run_script(tmp_path / "c", smoke, {**stubs, "scipipe": "exit 8"}, returncode=8,
               SMOKE_COMMAND="", **{**env, "WORK": str(tmp_path / "c" / "w")})  # fmt: skip
    records = run_script(tmp_path / "d", smoke, stubs, returncode=2,
                         SMOKE_COMMAND="", **{**env, "TAG": "", "WORK": str(tmp_path / "d" / "w")})  # fmt: skip
    assert records == []


# --- jenkins-dm-jobs' parameters, each to the scipipe command line ----------------------


def scipipe_params(argv: list[str]) -> dict[str, object]:
    """The parameters the real `scipipe` CLI parses from a logged argv (no command runs)."""
    import click

    from scipipe_tools.cli.app import cli

    ctx = click.Context(cli, info_name="scipipe")
    command: click.Command = cli
    args = argv[1:]
    while isinstance(command, click.Group):
        sub = command.get_command(ctx, args[0])
        if sub is None:  # `scipipe build PRODUCTS`: the group's default command, run
            sub = command.get_command(ctx, "run")
        else:
            args = args[1:]
        assert sub is not None
        command = sub
    return dict(command.make_context(command.name, args).params)


def shell_stdout(script: str, **env: str) -> str:
    """What a ``returnStdout`` sh step gives the pipeline (Groovy trims it)."""
    r = subprocess.run([*JENKINS_SHELL, script], env={"PATH": os.environ["PATH"], **env},
                       capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    return r.stdout.strip()


def test_no_fetch_reaches_scipipe_build(tmp_path: Path) -> None:
    """run-rebuild's NO_FETCH (lsstsw's rebuild -n): `scipipe build -n`, fetch nothing."""
    param = params_of(jobs()["release/run-rebuild"])["NO_FETCH"]
    assert param["type"] == "bool" and param["default"] is False
    pipeline = (PIPELINES / "run_rebuild.groovy").read_text()
    assert "[params.NO_FETCH, '-n']" in pipeline and "BUILD_FLAGS=${build_flags}" in pipeline
    build = sh_script(PIPELINES / "lib" / "util.groovy", "scipipe build")
    env = dict(PRODUCTS="afw", REPOS_FILE="repos.yaml", WORK="work", REFS="")
    (on,) = run_script(tmp_path / "a", build, {"scipipe": ""}, BUILD_FLAGS="-B -n", **env)
    assert on["argv"][-2:] == ["-B", "-n"]
    assert scipipe_params(on["argv"])["no_fetch"] is True
    (off,) = run_script(tmp_path / "b", build, {"scipipe": ""}, BUILD_FLAGS="-B", **env)
    assert scipipe_params(off["argv"])["no_fetch"] is False


@pytest.mark.parametrize(
    ("job", "script"),
    [("stack-os-matrix", "stack_os_matrix.groovy"), ("release/run-rebuild", "run_rebuild.groovy")],
)
def test_build_docs_reaches_scipipe_build(tmp_path: Path, job: str, script: str) -> None:
    """BUILD_DOCS (jenkins-dm-jobs' boolean): `scipipe build --docs` when true only."""
    param = params_of(jobs()[job])["BUILD_DOCS"]
    assert param["type"] == "bool" and param["default"] is False
    pipeline = (PIPELINES / script).read_text()
    assert '"BUILD_DOCS=${params.BUILD_DOCS}"' in pipeline
    assert pipeline.index("BUILD_DOCS=") < pipeline.index("util.buildStack()")
    build = sh_script(PIPELINES / "lib" / "util.groovy", "scipipe build")
    env = dict(PRODUCTS="afw", REPOS_FILE="repos.yaml", WORK="work", REFS="", BUILD_FLAGS="-B")
    (on,) = run_script(tmp_path / "on", build, {"scipipe": ""}, BUILD_DOCS="true", **env)
    assert on["argv"][-1] == "--docs" and scipipe_params(on["argv"])["docs"] is True
    for i, extra in enumerate([{}, {"BUILD_DOCS": "false"}]):  # unset (other jobs), false
        (off,) = run_script(tmp_path / f"off{i}", build, {"scipipe": ""}, **env, **extra)
        assert scipipe_params(off["argv"])["docs"] is False


def test_weekly_starts_the_downstream_jobs_with_the_eups_tag(tmp_path: Path) -> None:
    param = params_of(jobs()["release/weekly-release"])["DOWNSTREAM_JOBS"]
    assert param["type"] == "string"
    # the default list names jobs defined here, each of which takes TAG or needs nothing
    downstream = str(param["default"]).split()
    assert downstream == ["release/changelog", "release/tarball-matrix", "release/pypi-release",
                          "release/docker/build-stack"]  # fmt: skip
    assert set(downstream) <= EXPECTED_JOBS
    for name in downstream[1:]:
        assert "TAG" in params_of(jobs()[name]), name
    pipeline = (PIPELINES / "weekly_release.groovy").read_text()
    after = pipeline[pipeline.index("archiveArtifacts") :]
    assert "if (!params.DRY_RUN) {\n      eupsTag = util.releaseEupsTag()" in after
    assert (
        "if (!params.DRY_RUN) {\n    util.startDownstream(params.DOWNSTREAM_JOBS, eupsTag)" in after
    )
    util = (PIPELINES / "lib" / "util.groovy").read_text()
    assert "for (name in (jobs ?: '').tokenize(' '))" in util
    assert "build job: name, wait: false, parameters: [string(name: 'TAG', value: tag)]" in util
    # the tag is the flow's: results.json's first EUPS tag (not the rolling w_latest)
    (tmp_path / "results.json").write_text(
        '{"git_tag": "w.2026.48", "eups_tags": ["w_2026_48", "w_latest"]}'
    )
    script = sh_script(PIPELINES / "lib" / "util.groovy", "eups tag")
    assert shell_stdout(f"cd {tmp_path}\n{script}") == "w_2026_48"


def test_exclude_from_tarballs_reaches_the_tarball_smoke_test(tmp_path: Path) -> None:
    """official-release's EXCLUDE_FROM_TARBALLS: release/tarball-matrix is started with the
    canonical products less those, which its plan gives `scipipe ci matrix --products`."""
    param = params_of(jobs()["release/official-release"])["EXCLUDE_FROM_TARBALLS"]
    assert param["type"] == "string" and param["default"] == ""
    pipeline = (PIPELINES / "official_release.groovy").read_text()
    assert '"TOP_PRODUCTS=${props.TOP_PRODUCTS}"' in pipeline
    assert "if (!params.DRY_RUN && tarballProducts) {" in pipeline
    assert (
        "string(name: 'TAG', value: eupsTag), string(name: 'PRODUCTS', value: tarballProducts)"
        in pipeline
    )
    script = sh_script(PIPELINES / "official_release.groovy", "tarball products")
    top = "lsst_distrib lsst_ci lsst_sitcom"
    products = shell_stdout(script, TOP_PRODUCTS=top, EXCLUDE_FROM_TARBALLS="lsst_ci  lsst_c")
    assert products == "lsst_distrib lsst_sitcom"
    assert shell_stdout(script, TOP_PRODUCTS=top, EXCLUDE_FROM_TARBALLS="") == top
    assert shell_stdout(script, TOP_PRODUCTS=top, EXCLUDE_FROM_TARBALLS=top) == ""
    plan = sh_script(PIPELINES / "tarball_matrix.groovy", "plan")
    (given,) = run_script(tmp_path, plan, {"scipipe": ""}, PRODUCTS=products, PLATFORMS="")
    assert scipipe_params(given["argv"])["products"] == ("lsst_distrib lsst_sitcom",)


@pytest.mark.parametrize("flow", ["weekly", "nightly"])
def test_no_versiondb_push_reaches_the_release_flow(tmp_path: Path, flow: str) -> None:
    """NO_VERSIONDB_PUSH: `scipipe release <flow> --no-versiondb-push`."""
    param = params_of(jobs()[f"release/{flow}-release"])["NO_VERSIONDB_PUSH"]
    assert param["type"] == "bool" and param["default"] is False
    pipeline = PIPELINES / f"{flow}_release.groovy"
    assert "params.NO_VERSIONDB_PUSH, '--no-versiondb-push'" in pipeline.read_text()
    script = sh_script(pipeline, f"scipipe release {flow}")
    env = dict(RELEASE_CONFIG="release.yaml", DATE="", DRY_RUN_FLAG="")
    (on,) = run_script(
        tmp_path / "a", script, {"scipipe": ""}, VDB_FLAG="--no-versiondb-push", **env
    )
    assert scipipe_params(on["argv"])["no_versiondb_push"] is True
    (off,) = run_script(tmp_path / "b", script, {"scipipe": ""}, VDB_FLAG="", **env)
    assert scipipe_params(off["argv"])["no_versiondb_push"] is False
    official = (PIPELINES / "official_release.groovy").read_text()
    assert "[params.NO_VERSIONDB_PUSH, '--no-versiondb-push']" in official


def test_splenv_ref_reaches_the_official_release(tmp_path: Path) -> None:
    """official-release's SPLENV_REF: `scipipe release official --rubin-env VER`."""
    script = sh_script(PIPELINES / "official_release.groovy", "scipipe release official")
    env = dict(RELEASE_CONFIG="r.yaml", SOURCE_GIT_REFS="w.2025.15", RELEASE_GIT_TAG="v1.0.0.rc1",
               RELEASE_FLAGS="")  # fmt: skip
    (on,) = run_script(tmp_path / "a", script, {"scipipe": ""}, SPLENV_REF="13.0.0", **env)
    assert scipipe_params(on["argv"])["rubin_env"] == "13.0.0"
    (off,) = run_script(tmp_path / "b", script, {"scipipe": ""}, SPLENV_REF="", **env)
    assert scipipe_params(off["argv"])["rubin_env"] is None


def test_run_rebuild_timeout_reaches_scipipe_build(tmp_path: Path) -> None:
    """run-rebuild's TIMEOUT (hours, the job's limit): `scipipe build --total-timeout`
    15 minutes shorter, and the reports are archived whatever the build's outcome."""
    param = params_of(jobs()["release/run-rebuild"])["TIMEOUT"]
    assert param["type"] == "string" and param["default"] == "8"
    pipeline = (PIPELINES / "run_rebuild.groovy").read_text()
    assert "timeout(time: params.TIMEOUT.toInteger(), unit: 'HOURS')" in pipeline
    assert '"BUILD_HOURS=${params.TIMEOUT}"' in pipeline
    kept = pipeline[pipeline.index("} finally {") :]
    for artifact in ("status.json", "status.yaml", "logs/**", "junit.xml"):
        assert f"work/build/{artifact}" in kept
    build = sh_script(PIPELINES / "lib" / "util.groovy", "scipipe build")
    env = dict(PRODUCTS="afw", REPOS_FILE="repos.yaml", WORK="work", REFS="", BUILD_FLAGS="-B")
    (on,) = run_script(tmp_path / "a", build, {"scipipe": ""}, BUILD_HOURS="8", **env)
    assert scipipe_params(on["argv"])["total_timeout"] == 8 * 3600 - 900
    (off,) = run_script(tmp_path / "b", build, {"scipipe": ""}, **env)
    assert scipipe_params(off["argv"])["total_timeout"] is None


@pytest.mark.parametrize("flow", ["weekly", "nightly", "official"])
def test_flow_timeout_reaches_the_build_step(tmp_path: Path, flow: str) -> None:
    """The flows' TIMEOUT (hours; jenkins-dm-jobs gives run-rebuild 12):
    `scipipe release <flow> --build-total-timeout SECONDS`."""
    param = params_of(jobs()[f"release/{flow}-release"])["TIMEOUT"]
    assert param["type"] == "string" and param["default"] == "12"
    script = sh_script(PIPELINES / f"{flow}_release.groovy", f"scipipe release {flow}")
    env = dict(RELEASE_CONFIG="r.yaml", DATE="", DRY_RUN_FLAG="", VDB_FLAG="", RELEASE_FLAGS="",
               SOURCE_GIT_REFS="w.2025.15", RELEASE_GIT_TAG="v1.0.0.rc1", SPLENV_REF="")  # fmt: skip
    (on,) = run_script(tmp_path / "a", script, {"scipipe": ""}, TIMEOUT="12", **env)
    assert scipipe_params(on["argv"])["build_total_timeout"] == 12 * 3600
    (off,) = run_script(tmp_path / "b", script, {"scipipe": ""}, TIMEOUT="", **env)
    assert scipipe_params(off["argv"])["build_total_timeout"] is None


# --- release/docker/build-stack: scipipe image build --push -----------------------------

#: skopeo as a stub: what `login --password-stdin` read, kept in $HOME/password
SKOPEO = 'case "$1" in login) cat > "$HOME/password" ;; esac'


def test_build_stack_job() -> None:
    """jenkins-dm-jobs' name and parameters (EUPS tag, products, push switch, extra
    tags), and what `scipipe image build` needs besides: roots, base, repository."""
    job = jobs()["release/docker/build-stack"]
    params = params_of(job)
    assert list(params) == [
        "TAG", "PRODUCTS", "EUPS_PKGROOT", "BASE_IMAGE", "DOCKER_REPO", "DOCKER_TAGS",
        "ROLLING_TAG", "TIMESTAMP", "NO_PUSH", "TLS_VERIFY", "TIMEOUT",
    ]  # fmt: skip
    assert params["PRODUCTS"]["default"] == "lsst_distrib pipelines_check lsst_sitcom"
    assert params["DOCKER_REPO"]["default"] == "docker://ghcr.io/lsst/scipipe"
    assert str(params["BASE_IMAGE"]["default"]).startswith("docker://ghcr.io/lsst-dm/")
    assert params["EUPS_PKGROOT"]["default"] == "https://eups.lsst.cloud/stack/src"
    assert {n: params[n]["default"] for n in ("NO_PUSH", "ROLLING_TAG", "TLS_VERIFY")} == {
        "NO_PUSH": False, "ROLLING_TAG": True, "TLS_VERIFY": True,
    }  # fmt: skip
    assert {params[n]["default"] for n in ("TAG", "DOCKER_TAGS", "TIMESTAMP")} == {""}
    assert "triggers" not in job
    pipeline = (PIPELINES / "build_stack.groovy").read_text()
    assert "timeout(time: params.TIMEOUT.toInteger(), unit: 'HOURS')" in pipeline
    assert "credentialsId: util.REGISTRY_CREDENTIALS" in pipeline
    assert "\"PUSH_TO=${params.NO_PUSH ? '' : params.DOCKER_REPO}\"" in pipeline
    assert "\"ROLLING=${params.ROLLING_TAG ? 'yes' : ''}\"" in pipeline
    # the auth file goes whatever the build's outcome; the result is kept
    kept = pipeline[pipeline.index("} finally {") :]
    assert 'rm -f "$REGISTRY_AUTH_FILE"' in kept
    assert "archiveArtifacts artifacts: 'image.json'" in pipeline


def test_build_stack_builds_and_pushes_with_rubins_tags(tmp_path: Path) -> None:
    """The weekly's TAG: the products built from the roots on the base, pushed to the
    repository after a login whose password skopeo reads from stdin (never argv); the
    rolling tag w_latest and DOCKER_TAGS as extra tags, a fixed TIMESTAMP passed on."""
    script = sh_script(PIPELINES / "build_stack.groovy", "scipipe image build")
    env = dict(TAG="w_2026_48", PRODUCTS="lsst_distrib lsst_sitcom",
               EUPS_PKGROOT="https://eups.example/stack/bin|https://eups.example/stack/src",
               BASE_IMAGE="docker://ghcr.io/lsst-dm/docker-newinstall:9-latest",
               DOCKER_TAGS="extra", TIMESTAMP="20261126T080000Z", TLS_VERIFY="true",
               ROLLING="yes", PUSH_TO="docker://ghcr.io/lsst/scipipe", WORK=str(tmp_path / "w"),
               REGISTRY_USER="bot", REGISTRY_PASSWORD="s3cret-registry-token",
               REGISTRY_AUTH_FILE=str(tmp_path / "auth.json"))  # fmt: skip
    stubs = {"scipipe": "", "skopeo": SKOPEO}
    login, build = run_script(tmp_path / "a", script, stubs, **env)
    assert login["argv"] == [
        "skopeo", "login", "--tls-verify=true", "--authfile", str(tmp_path / "auth.json"),
        "-u", "bot", "--password-stdin", "ghcr.io",
    ]  # fmt: skip
    assert (tmp_path / "a" / "password").read_text() == "s3cret-registry-token"
    assert "s3cret-registry-token" not in json.dumps([login, build])
    assert build["argv"] == [
        "scipipe", "image", "build", "lsst_distrib", "lsst_sitcom", "-t", "w_2026_48",
        "-r", "https://eups.example/stack/bin|https://eups.example/stack/src",
        "--base", "docker://ghcr.io/lsst-dm/docker-newinstall:9-latest",
        "-o", f"{tmp_path}/w/image", "--json", "--extra-tag", "extra", "--extra-tag", "w_latest",
        "--timestamp", "20261126T080000Z", "--push=docker://ghcr.io/lsst/scipipe",
    ]  # fmt: skip
    parsed = scipipe_params(build["argv"])
    assert parsed["extra_tags"] == ("extra", "w_latest")
    assert parsed["push_to"] == "docker://ghcr.io/lsst/scipipe"
    assert parsed["roots"] == (env["EUPS_PKGROOT"],) and parsed["tls_verify"] is True


@pytest.mark.parametrize(
    ("tag", "rolling", "extra"),
    [("d_2026_11_27", "yes", ["d_latest"]), ("w_2026_48", "", []), ("v29_0_0", "yes", [])],
)
def test_build_stack_rolling_tag(tmp_path: Path, tag: str, rolling: str, extra: list[str]) -> None:
    """ROLLING_TAG: d_latest for a daily, none for a final release; unticked, none.
    NO_PUSH: no login, no --push; TLS_VERIFY unticked: --no-tls-verify."""
    script = sh_script(PIPELINES / "build_stack.groovy", "scipipe image build")
    env = dict(TAG=tag, PRODUCTS="lsst_distrib", EUPS_PKGROOT="root", BASE_IMAGE="oci:base",
               DOCKER_TAGS="", TIMESTAMP="", TLS_VERIFY="false", ROLLING=rolling, PUSH_TO="",
               WORK=str(tmp_path / "w"))  # fmt: skip
    (build,) = run_script(tmp_path, script, {"scipipe": "", "skopeo": SKOPEO}, **env)
    parsed = scipipe_params(build["argv"])
    assert parsed["extra_tags"] == tuple(extra)
    assert parsed["push_to"] is None and parsed["tls_verify"] is False
    assert parsed["timestamp"] is None


def test_build_stack_needs_a_tag(tmp_path: Path) -> None:
    script = sh_script(PIPELINES / "build_stack.groovy", "scipipe image build")
    records = run_script(tmp_path, script, {"scipipe": "", "skopeo": SKOPEO}, returncode=2,
                         TAG="", PRODUCTS="lsst_distrib", ROLLING="yes", PUSH_TO="docker://h/r",
                         REGISTRY_PASSWORD="x")  # fmt: skip
    assert records == []
