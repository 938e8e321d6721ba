"""``scipipe build``: source builds in dependency order."""

from __future__ import annotations

from pathlib import Path

import click

from ..build.plan import make_plan
from ..eups.exclusions import DEFAULT as DEFAULT_EXCLUSIONS
from ..eups.exclusions import read_exclusions
from ..eups.flavor import current_flavor
from ..eups.repos import read_repos
from ..eups.table import TableContext
from .common import columns, echo, emit_json, get_app, info, json_option


@click.group("build")
def build_group() -> None:
    """Build the stack from source in dependency order."""


@build_group.command("plan")
@click.argument("products", nargs=-1, required=True)
@click.option(
    "--sources",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory of product checkouts, one per product (like lsstsw's build/).",
)
@click.option(
    "--repos",
    "repos_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="repos.yaml, to explain products missing from --sources.",
)
@click.option(
    "--exclusion-map",
    type=click.Path(dir_okay=False, path_type=Path),
    help="exclusions.txt (default: cuda_toolkit, cuda_sdk, condor).",
)
@click.option(
    "--flavor", default=None, help="EUPS flavor for table conditions [default: this machine]."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "manifest"]),
    default="table",
    show_default=True,
    help="Output format; 'manifest' prints manifest.txt.",
)
@click.option("--build-id", default=None, help="BUILD= value for --format manifest.")
@json_option
def plan_cmd(
    products: tuple[str, ...],
    sources: Path,
    repos_file: Path | None,
    exclusion_map: Path | None,
    flavor: str | None,
    fmt: str,
    build_id: str | None,
) -> None:
    """Resolve PRODUCTS over the checkouts in --sources: build order, versions, deps."""
    repos = read_repos(repos_file) if repos_file else None
    exclusions = read_exclusions(exclusion_map) if exclusion_map else DEFAULT_EXCLUSIONS
    ctx = TableContext(flavor=flavor or current_flavor())
    plan = make_plan(list(products), sources, repos=repos, exclusions=exclusions, ctx=ctx)
    if get_app().json or fmt == "json":
        emit_json(plan.to_json())
        return
    if fmt == "manifest":
        click.echo(plan.manifest(build_id).to_text(), nl=False)
        return
    rows = [[str(p.level), p.name, p.version, ",".join(p.deps)] for p in plan.products]
    echo(columns(["level", "product", "version", "deps"], rows))
    for s in plan.resolution.skipped:
        info(f"skipped optional {s.dep} of {s.product} ({s.reason}, {s.where})")
    info(f"{len(plan.products)} products in {len(plan.resolution.levels)} levels")
