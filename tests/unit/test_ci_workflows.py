"""The reusable workflows and composite actions: their inputs, and what their ``run:``
scripts pass to ``scipipe`` (run by bash, as GitHub runs them, against logging stubs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .cishell import GITHUB_SHELL, run_script

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
