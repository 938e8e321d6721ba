"""``scipipe ci``: build matrices, CI validation, lint tooling for the workflows."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .common import columns, echo, emit_json, get_app, info
from .options import json_option


def _words(values: tuple[str, ...]) -> tuple[str, ...]:
    """Repeated options whose values may also hold several space-separated words."""
    return tuple(w for v in values for w in v.split())


@click.group("ci")
def ci_group() -> None:
    """CI definitions: build matrices, GitHub workflows, Jenkins jobs.

    \b
      scipipe ci matrix --changed afw --sources work/sources --format github
      scipipe ci matrix --since w.2025.15 --sources work/sources --format jenkins
      scipipe ci validate                # jenkins-jobs, workflow schemas, zizmor, pins
      scipipe ci lint-tools              # which linters pyproject.toml asks for
    """


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
@click.option(
    "--sources",
    type=click.Path(file_okay=False, path_type=Path),
    help="Checkouts (DIR/<product>) whose table files give the dependency graph.",
)
@click.option(
    "--repos",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="SCIPIPE_REPOS",
    help="repos.yaml, to explain products missing from --sources.",
)
@click.option(
    "--exclusion-map",
    type=click.Path(dir_okay=False, path_type=Path),
    help="exclusions.txt (default: cuda_toolkit, cuda_sdk, condor).",
)
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
def matrix_cmd(
    changed: tuple[str, ...],
    since: str | None,
    products: tuple[str, ...],
    sources: Path | None,
    repos: Path | None,
    exclusion_map: Path | None,
    platforms: tuple[str, ...],
    matrix_file: Path,
    fmt: str,
) -> None:
    """The minimal rebuild set of a change and its platform matrix.

    The changed products plus everything downstream of them, in build order, within the
    closure of the top-level products; without --changed or --since, every top-level
    product.  An unknown repo is exit 3.
    """
    from ..ci.buildmatrix import read_build_matrix
    from ..ci.matrix import MatrixRequest, github_matrix, jenkins_properties, plan_json, plan_matrix
    from ..eups.exclusions import DEFAULT
    from ..stack.readers import read_exclusions, read_repos

    matrix = read_build_matrix(matrix_file)
    request = MatrixRequest(
        top=_words(products),
        changed=_words(changed),
        since=since,
        sources=sources,
        platforms=_words(platforms),
        repos=read_repos(repos) if repos else None,
        exclusions=read_exclusions(exclusion_map) if exclusion_map else DEFAULT,
    )
    plan = plan_matrix(matrix, request)
    if plan.changed is not None:
        info(
            f"{len(plan.changed)} changed ({plan.source}), "
            f"{len(plan.products)} to rebuild on {len(plan.active_legs)} platform(s)"
        )
    if get_app().json:
        emit_json(plan_json(plan))
    elif fmt == "github":
        echo(json.dumps(github_matrix(plan), separators=(",", ":")))
    elif fmt == "jenkins":
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
def validate_cmd(root: Path, checks: tuple[str, ...]) -> int:
    """Check the CI definitions offline: Jenkins jobs render (jenkins-jobs test),
    workflows and composite actions match GitHub's JSON schemas, zizmor finds nothing,
    and every uses: is pinned to a commit SHA.  Exit 1 when anything is found."""
    from ..ci.validate import CHECKS, validate

    results = validate(root, tuple(dict.fromkeys(checks)) or CHECKS)
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


@ci_group.command("lint-tools")
@click.argument(
    "pyproject", type=click.Path(dir_okay=False, path_type=Path), default=Path("pyproject.toml")
)
@json_option
def lint_tools_cmd(pyproject: Path) -> None:
    """Which linter, formatter and import sorter PYPROJECT asks for, as rubin_workflows
    decides: lint=ruff|flake8, format=ruff|black|none, isort=ruff|isort|none (lines
    ready for $GITHUB_OUTPUT)."""
    from ..ci.linttools import determine_tooling

    tooling = determine_tooling(pyproject)
    if get_app().json:
        emit_json({"lint": tooling.lint, "format": tooling.format, "isort": tooling.isort})
        return
    for line in tooling.outputs():
        echo(line)
