"""The reusable workflows and composite actions: their inputs, and what their ``run:``
scripts pass to ``scipipe`` (run by bash, as GitHub runs them, against logging stubs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .cishell import GITHUB_SHELL, LSSTINSTALL, PKGROOT, TAG, run_script

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
ACTIONS = ROOT / "workflows"


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    # YAML 1.1 reads the key `on` as True
    if True in data:
        data["on"] = data.pop(True)
    return data


def step(
    steps: list[dict[str, Any]], *, name: str | None = None, uses: str | None = None
) -> dict[str, Any]:
    found = [
        s for s in steps if (name and s.get("name") == name) or (uses and s.get("uses") == uses)
    ]
    assert len(found) == 1, f"{len(found)} steps named {name or uses}"
    return found[0]


def test_build_stack_passes_its_cache_to_every_build(tmp_path: Path) -> None:
    """build-stack's `cache` input (s3://, https:// or a path; '' for none) reaches each
    platform's `scipipe build` as --cache, through setup-stack's `cache` input."""
    workflow = load(WORKFLOWS / "build-stack.yaml")
    call = workflow["on"]["workflow_call"]
    cache = call["inputs"]["cache"]
    assert cache["type"] == "string" and cache["default"] == ""
    assert all(w in cache["description"] for w in ("s3://", "https://"))
    # credentials for an s3:// cache are optional secrets, given to the build only
    assert {name: s["required"] for name, s in call["secrets"].items()} == {
        "cache-aws-access-key-id": False, "cache-aws-secret-access-key": False,
    }  # fmt: skip
    build = step(workflow["jobs"]["build"]["steps"], uses="$/workflows/setup-stack")
    assert build["with"]["cache"] == "${{ inputs.cache }}"
    assert build["env"] == {
        "AWS_ACCESS_KEY_ID": "${{ secrets.cache-aws-access-key-id }}",
        "AWS_SECRET_ACCESS_KEY": "${{ secrets.cache-aws-secret-access-key }}",
        "AWS_ENDPOINT_URL": "${{ inputs.cache-endpoint-url }}",
    }
    assert "secrets" not in str(workflow["jobs"]["plan"])

    action = load(ACTIONS / "setup-stack" / "action.yaml")
    assert action["inputs"]["cache"]["default"] == ""
    run = step(action["runs"]["steps"], name="Build")
    assert run["env"]["BUILD_CACHE"] == "${{ inputs.cache }}"
    env = dict(PRODUCTS="lsst_demo pipe_base", REPOS="repos.yaml", REFS="tickets/DM-1",
               WORK_DIR="work", BUILD_OPTIONS="--no-tests -j 2",
               GITHUB_OUTPUT=str(tmp_path / "out"))  # fmt: skip
    for work in ("a", "b"):
        (tmp_path / work / "work" / "env").mkdir(parents=True)
    (with_cache,) = run_script(tmp_path / "a", run["run"], {"scipipe": ""}, shell=GITHUB_SHELL,
                               BUILD_CACHE="s3://bucket/build cache", **env)  # fmt: skip
    assert with_cache["argv"] == [
        "scipipe", "build", "lsst_demo", "pipe_base", "--repos", "repos.yaml", "--root", "work",
        "--no-tests", "-j", "2", "--cache", "s3://bucket/build cache", "-r", "tickets/DM-1",
    ]  # fmt: skip
    (without,) = run_script(tmp_path / "b", run["run"], {"scipipe": ""}, shell=GITHUB_SHELL,
                            BUILD_CACHE="", **env)  # fmt: skip
    assert "--cache" not in without["argv"]


def test_tarball_smoke_inputs_and_matrix(tmp_path: Path) -> None:
    workflow = load(WORKFLOWS / "tarball-smoke.yaml")
    inputs = workflow["on"]["workflow_call"]["inputs"]
    assert list(inputs) == ["tag", "products", "root", "smoke-command", "exact-env", "platforms"]
    assert inputs["tag"]["required"] is True
    assert inputs["root"]["default"] == "https://eups.lsst.cloud/stack"
    assert inputs["exact-env"] == {**inputs["exact-env"], "type": "boolean", "default": True}
    assert workflow["permissions"] == {}
    smoke = workflow["jobs"]["smoke"]
    assert smoke["needs"] == "plan" and smoke["runs-on"] == "${{ matrix.runner }}"
    assert smoke["strategy"] == {"fail-fast": False,
                                 "matrix": "${{ fromJSON(needs.plan.outputs.matrix) }}"}  # fmt: skip
    # an end user's first install: no package cache restored
    setup = step(smoke["steps"], uses="$/workflows/setup-scipipe")
    assert setup["with"]["cache"] == "false"

    plan = step(workflow["jobs"]["plan"]["steps"], name="Plan the matrix")
    assert set(plan["env"]) == {"MATRIX_FILE", "PRODUCTS", "PLATFORMS"}
    matrix = '{"include":[{"platform":"linux-64","products":"lsst_distrib"}]}'
    (given,) = run_script(tmp_path / "a", plan["run"], {"scipipe": f"echo '{matrix}'"},
                          shell=GITHUB_SHELL, MATRIX_FILE="m.yaml", PRODUCTS="lsst_distrib",
                          PLATFORMS="linux-64", GITHUB_OUTPUT=str(tmp_path / "out"))  # fmt: skip
    assert given["argv"] == [
        "scipipe", "ci", "matrix", "--matrix", "m.yaml", "--format", "github",
        "--products", "lsst_distrib", "--platform", "linux-64",
    ]  # fmt: skip
    assert (tmp_path / "out").read_text() == f"matrix={matrix}\n"
    (default,) = run_script(tmp_path / "b", plan["run"], {"scipipe": "echo '{}'"},
                            shell=GITHUB_SHELL, MATRIX_FILE="m.yaml", PRODUCTS="", PLATFORMS="",
                            GITHUB_OUTPUT=str(tmp_path / "out"))  # fmt: skip
    assert default["argv"][3:] == ["--matrix", "m.yaml", "--format", "github"]


def test_tarball_smoke_installs_as_a_user_then_runs_scipipe_distrib_smoke(tmp_path: Path) -> None:
    workflow = load(WORKFLOWS / "tarball-smoke.yaml")
    run = step(workflow["jobs"]["smoke"]["steps"], name="Install and load the published products")
    assert run["env"] == {
        "TAG": "${{ inputs.tag }}",
        "PRODUCTS": "${{ matrix.products }}",
        "EUPS_ROOT": "${{ inputs.root }}",
        "SMOKE_COMMAND": "${{ inputs.smoke-command }}",
        "ENV_FLAG": "${{ inputs.exact-env && '-X' || '-T' }}",
        "WORK_DIR": ".scipipe-smoke",
    }
    env = dict(TAG=TAG, PRODUCTS="lsst_distrib pipe_base", EUPS_ROOT="https://eups.example/stack",
               ENV_FLAG="-X", WORK_DIR=".scipipe-smoke")  # fmt: skip
    stubs = {"lsstinstall": LSSTINSTALL, "scipipe": ""}
    install, smoke = run_script(tmp_path / "a", run["run"], stubs, shell=GITHUB_SHELL,
                                watch=("EUPS_PKGROOT",), SMOKE_COMMAND="{python} -V", **env)  # fmt: skip
    work = tmp_path / "a" / ".scipipe-smoke"
    assert install["argv"] == [
        "lsstinstall", "-X", TAG, "-E", "https://eups.example/stack", "-p", f"{work}/conda",
        "-P", "-e", "smoke",
    ]  # fmt: skip
    assert smoke["argv"] == [
        "scipipe", "distrib", "smoke", "-t", TAG, "--env", f"{work}/conda/envs/smoke",
        "--command", "{python} -V", "lsst_distrib", "pipe_base",
    ]  # fmt: skip
    assert smoke["env"] == {"EUPS_PKGROOT": PKGROOT}
    assert (work / "home").is_dir()

    install, smoke = run_script(tmp_path / "b", run["run"], stubs, shell=GITHUB_SHELL,
                                SMOKE_COMMAND="", **{**env, "ENV_FLAG": "-T"})  # fmt: skip
    assert install["argv"][1:3] == ["-T", TAG]
    assert "--command" not in smoke["argv"]
    # a product that fails to load (exit 8) fails the job
    run_script(tmp_path / "c", run["run"], {**stubs, "scipipe": "exit 8"}, shell=GITHUB_SHELL,
               returncode=8, SMOKE_COMMAND="", **env)  # fmt: skip


def test_docker_image_inputs_and_permissions() -> None:
    """As release/docker/build-stack: the tag, products, roots, base, repository; pushing
    to ghcr.io with the caller's token needs `packages: write`, given to that job only."""
    workflow = load(WORKFLOWS / "docker-image.yaml")
    call = workflow["on"]["workflow_call"]
    inputs = call["inputs"]
    assert list(inputs) == [
        "tag", "products", "roots", "base", "repository", "extra-tags", "timestamp", "push",
        "tls-verify", "registry-username",
    ]  # fmt: skip
    assert inputs["tag"]["required"] is True
    assert inputs["repository"]["default"] == "docker://ghcr.io/lsst/scipipe"
    assert inputs["push"] == {**inputs["push"], "type": "boolean", "default": True}
    assert call["secrets"] == {"registry-password": {**call["secrets"]["registry-password"],
                                                     "required": False}}  # fmt: skip
    assert workflow["permissions"] == {}
    job = workflow["jobs"]["image"]
    assert job["permissions"] == {"contents": "read", "packages": "write"}
    # a release: no package cache restored (nothing a cache could have poisoned)
    assert step(job["steps"], uses="$/workflows/setup-scipipe")["with"]["cache"] == "false"
    run = step(job["steps"], name="Build and push the image")
    assert run["env"]["REGISTRY_PASSWORD"] == "${{ secrets.registry-password || github.token }}"
    assert "secrets" not in run["run"] and "${{" not in run["run"]


def test_docker_image_builds_and_pushes(tmp_path: Path) -> None:
    """The step's script: login (the password on stdin, an auth file in RUNNER_TEMP,
    removed after), then `scipipe image build --push`; push false: neither."""
    workflow = load(WORKFLOWS / "docker-image.yaml")
    run = step(workflow["jobs"]["image"]["steps"], name="Build and push the image")
    skopeo = 'case "$1" in login) cat > "$HOME/password"; echo {} > "$REGISTRY_AUTH_FILE" ;; esac'
    env = dict(TAG=TAG, PRODUCTS="lsst_distrib lsst_sitcom", ROOTS="https://eups.example/src",
               BASE="docker://ghcr.io/lsst-dm/docker-newinstall:9-latest",
               REPOSITORY="docker://ghcr.io/lsst/scipipe", EXTRA_TAGS="w_latest",
               TIMESTAMP="", PUSH="true", TLS_VERIFY="true", REGISTRY_USER="octocat",
               REGISTRY_PASSWORD="ghs_registry_token", RUNNER_TEMP=str(tmp_path))  # fmt: skip
    stubs = {"scipipe": "", "skopeo": skopeo}
    login, build = run_script(tmp_path / "a", run["run"], stubs, shell=GITHUB_SHELL,
                              watch=("REGISTRY_AUTH_FILE",), **env)  # fmt: skip
    auth = str(tmp_path / "registry-auth.json")
    assert login["argv"] == [
        "skopeo", "login", "--tls-verify=true", "--authfile", auth, "-u", "octocat",
        "--password-stdin", "ghcr.io",
    ]  # fmt: skip
    assert (tmp_path / "a" / "password").read_text() == "ghs_registry_token"
    assert build["argv"] == [
        "scipipe", "image", "build", "lsst_distrib", "lsst_sitcom", "-t", TAG, "-r",
        "https://eups.example/src", "--base", "docker://ghcr.io/lsst-dm/docker-newinstall:9-latest",
        "-o", "image", "--json", "--extra-tag", "w_latest", "--push=docker://ghcr.io/lsst/scipipe",
    ]  # fmt: skip
    assert build["env"] == {"REGISTRY_AUTH_FILE": auth}  # skopeo copy finds the login there
    assert not Path(auth).exists()
    (only,) = run_script(tmp_path / "b", run["run"], stubs, shell=GITHUB_SHELL,
                         **{**env, "PUSH": "false", "TLS_VERIFY": "false",
                            "TIMESTAMP": "20261126T080000Z"})  # fmt: skip
    assert only["argv"][-6:] == [
        "--json", "--extra-tag", "w_latest", "--timestamp", "20261126T080000Z", "--no-tls-verify",
    ]  # fmt: skip
    assert not any(a.startswith("--push") for a in only["argv"])
