"""``scipipe eups list|tags|declare``: the installed stack (``ups_db``)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from ...stack.listing import format_list, list_products
from ..common import echo, emit_json, get_app, info
from ..inputs import open_stack
from ..options import dry_run_option, flavor_option, json_option, stack_option, takes


@dataclass(frozen=True)
class ListArgs:
    product: str | None
    tag: str | None
    stack_dir: Path | None
    flavor: str | None


@click.command("list")
@click.argument("product", required=False)
@click.option("-t", "--tag", default=None, help="Only versions with this tag.")
@stack_option
@flavor_option()
@json_option
@takes(ListArgs)
def list_cmd(a: ListArgs) -> None:
    """List declared products, versions and tags, like `eups list`."""
    stack = open_stack(a.stack_dir, a.flavor)
    rows = list_products(stack, a.product, a.tag, os.environ)
    if get_app().json:
        emit_json(
            [
                {"product": r.product, "version": r.version, "tags": list(r.tags), "setup": r.setup}
                for r in rows
            ]
        )
        return
    click.echo(format_list(rows, one_product=a.product is not None), nl=False)


@dataclass(frozen=True)
class TagsArgs:
    clone: tuple[str, str] | None
    dry_run: bool
    stack_dir: Path | None
    flavor: str | None


@click.command("tags")
@click.option("--clone", nargs=2, metavar="OLD NEW", default=None, help="Copy every OLD to NEW.")
@dry_run_option("With --clone: print the assignments only.")
@stack_option
@flavor_option()
@json_option
@takes(TagsArgs)
def tags_cmd(a: TagsArgs) -> None:
    """List the tags EUPS knows for the stack, or clone one (`eups tags --clone OLD NEW`)."""
    stack = open_stack(a.stack_dir, a.flavor)
    if a.clone is None:
        tags = stack.known_tags()
        if get_app().json:
            emit_json(tags)
        else:  # as `eups tags`: one line on a terminal, else one tag a line
            echo((" " if sys.stdout.isatty() else "\n").join(tags))
        return
    old, new = a.clone
    plan = stack.tagged(old)
    if not a.dry_run:
        stack.clone_tag(old, new)
    if get_app().json:
        emit_json({"old": old, "new": new, "dry_run": a.dry_run, "assignments": plan})
        return
    for product, version in plan.items():
        echo(f"{product:<21} {version:<10} {new}")
    verb = "would tag" if a.dry_run else "tagged"
    info(f"{verb} {len(plan)} products {new} (from {old})")


@dataclass(frozen=True)
class DeclareArgs:
    product: str
    version: str
    prod_dir: Path
    table_file: str | None
    tags: tuple[str, ...]
    dry_run: bool
    stack_dir: Path | None
    flavor: str | None


@click.command("declare")
@click.argument("product")
@click.argument("version")
@click.option(
    "-r",
    "--root",
    "prod_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The product's installed directory.",
)
@click.option(
    "-m",
    "--table",
    "table_file",
    default=None,
    help="Table file, or 'none' [default: ups/P.table].",
)
@click.option("-t", "--tag", "tags", multiple=True, help="Tag to assign (repeatable).")
@dry_run_option("Print the .version file; write nothing.")
@stack_option
@flavor_option()
@takes(DeclareArgs)
def declare_cmd(a: DeclareArgs) -> None:
    """Declare PRODUCT VERSION installed in DIR (like `eups declare -r DIR`)."""
    stack = open_stack(a.stack_dir, a.flavor)
    what = f"{a.product} {a.version}"
    if a.dry_run:
        planned = stack.plan_declare(a.product, a.version, a.prod_dir, table_file=a.table_file)
        if planned is None:
            info(f"{what} is already declared so")
        else:
            click.echo(planned.render(), nl=False)
        for tag in a.tags:
            info(f"would tag {what} {tag}")
        return
    stack.declare(a.product, a.version, a.prod_dir, table_file=a.table_file, tags=a.tags)
    info(f"declared {what}" + (f" ({', '.join(a.tags)})" if a.tags else ""))
