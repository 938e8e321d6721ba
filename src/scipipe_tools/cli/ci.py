"""``scipipe ci``: build matrices, CI validation, lint tooling for the workflows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import click

from ..ci.buildmatrix import read_build_matrix
from ..ci.linttools import determine_tooling
from ..ci.matrix import MatrixRequest, github_matrix, jenkins_properties, plan_json, plan_matrix
from ..ci.validate import CHECKS, validate
from ..stack.readers import read_repos
from .common import columns, echo, emit_json, get_app, info
from .inputs import exclusions
from .options import exclusion_map_option, json_option, repos_option, sources_option, takes, words


@click.group("ci")
def ci_group() -> None:
    """CI definitions: build matrices, GitHub workflows, Jenkins jobs.

    \b
      scipipe ci matrix --changed afw --sources work/sources --format github
      scipipe ci matrix --since w.2025.15 --sources work/sources --format jenkins
      scipipe ci validate                # jenkins-jobs, workflow schemas, zizmor, pins
      scipipe ci lint-tools              # which linters pyproject.toml asks for
    """


@dataclass(frozen=True)
class MatrixArgs:
    changed: tuple[str, ...]
    since: str | None
    products: tuple[str, ...]
    sources: Path | None
    repos: Path | None
    exclusion_map: Path | None
    platforms: tuple[str, ...]
    matrix_file: Path
    fmt: str


@ci_group.command("matrix")
@click.option(
    "--changed",
    multiple=True,
    metavar="REPO",
    help="A changed product (repeatable; space-separated words also split).",
)
@click.option(
    "--since",
    metavar="REF",
    help="Changed = every checkout whose HEAD is not REF (a branch or tag).",
)
@click.option(
    "--products",
    multiple=True,
    metavar="PRODUCT",
    help="Top-level products [default: the matrix file's canonical products].",
)
@sources_option("Checkouts (DIR/<product>) whose table files give the dependency graph.")
@repos_option("repos.yaml, to explain products missing from --sources")
@exclusion_map_option
@click.option(
    "-P",
    "--platform",
    "platforms",
    multiple=True,
    help="Only these platforms (repeatable) [default: all of the matrix file's].",
)
@click.option(
    "--matrix",
    "matrix_file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SCIPIPE_BUILD_MATRIX",
    default=Path("ci/build-matrix.yaml"),
    show_default=True,
    help="The build matrix file [env: SCIPIPE_BUILD_MATRIX].",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "github", "jenkins"]),
    default="table",
    show_default=True,
    help="github: matrix JSON for fromJSON(); jenkins: KEY=VALUE lines.",
)
@json_option
@takes(MatrixArgs)
def matrix_cmd(a: MatrixArgs) -> None:
    """The minimal rebuild set of a change and its platform matrix.

    The changed products plus everything downstream of them, in build order, within the
    closure of the top-level products; without --changed or --since, every top-level
    product.  An unknown repo is exit 3.
    """
    matrix = read_build_matrix(a.matrix_file)
    request = MatrixRequest(
        top=words(a.products),
        changed=words(a.changed),
        since=a.since,
        sources=a.sources,
        platforms=words(a.platforms),
        repos=read_repos(a.repos) if a.repos else None,
        exclusions=exclusions(a.exclusion_map),
    )
    plan = plan_matrix(matrix, request)
    if plan.changed is not None:
        info(
            f"{len(plan.changed)} changed ({plan.source}), "
            f"{len(plan.products)} to rebuild on {len(plan.active_legs)} platform(s)"
        )
    if get_app().json:
        emit_json(plan_json(plan))
    elif a.fmt == "github":
        echo(json.dumps(github_matrix(plan), separators=(",", ":")))
    elif a.fmt == "jenkins":
        for line in jenkins_properties(plan):
            echo(line)
    else:
        rows = [
            [
                leg.platform.name,
                leg.platform.runner,
                leg.platform.label,
                " ".join(leg.products) or "-",
            ]
            for leg in plan.legs
        ]
        echo(columns(["platform", "runner", "label", "products"], rows))


@dataclass(frozen=True)
class ValidateArgs:
    root: Path
    checks: tuple[str, ...]


@ci_group.command("validate")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="The repository whose CI definitions are checked.",
)
@click.option(
    "--check",
    "checks",
    multiple=True,
    type=click.Choice(["jenkins", "schema", "zizmor", "pins"]),
    help="Run only these checks (repeatable) [default: all].",
)
@json_option
@takes(ValidateArgs)
def validate_cmd(a: ValidateArgs) -> int:
    """Check the CI definitions offline: Jenkins jobs render (jenkins-jobs test),
    workflows and composite actions match GitHub's JSON schemas, zizmor finds nothing,
    and every uses: is pinned to a commit SHA.  Exit 1 when anything is found."""
    results = validate(a.root, tuple(dict.fromkeys(a.checks)) or CHECKS)
    failed = [f for r in results for f in r.findings]
    if get_app().json:
        emit_json(
            {
                "ok": not failed,
                "checks": [
                    {
                        "name": r.name,
                        "files": r.files,
                        "seconds": round(r.seconds, 3),
                        "skipped": r.skipped,
                        "findings": [
                            {"path": f.path, "line": f.line, "message": f.message}
                            for f in r.findings
                        ],
                    }
                    for r in results
                ],
            }
        )
        return 1 if failed else 0
    for finding in failed:
        echo(str(finding))
    rows = []
    for r in results:
        state = "skipped" if r.skipped else ("ok" if r.ok else f"{len(r.findings)} finding(s)")
        rows.append([r.name, str(r.files), f"{r.seconds:.2f}s", state])
    info(columns(["check", "files", "time", "result"], rows))
    return 1 if failed else 0


@dataclass(frozen=True)
class LintToolsArgs:
    pyproject: Path


@ci_group.command("lint-tools")
@click.argument(
    "pyproject", type=click.Path(dir_okay=False, path_type=Path), default=Path("pyproject.toml")
)
@json_option
@takes(LintToolsArgs)
def lint_tools_cmd(a: LintToolsArgs) -> None:
    """Which linter, formatter and import sorter PYPROJECT asks for, as rubin_workflows
    decides: lint=ruff|flake8, format=ruff|black|none, isort=ruff|isort|none (lines
    ready for $GITHUB_OUTPUT)."""
    tooling = determine_tooling(a.pyproject)
    if get_app().json:
        emit_json({"lint": tooling.lint, "format": tooling.format, "isort": tooling.isort})
        return
    for line in tooling.outputs():
        echo(line)
