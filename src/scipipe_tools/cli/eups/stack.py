"""``scipipe eups list|tags|declare``: the installed stack (``ups_db``).

Standalone commands, mounted under ``scipipe eups``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ...errors import InputError
from ...eups.flavor import current_flavor
from ...stack.listing import format_list, list_products
from ...stack.stack import Stack
from ..common import echo, emit_json, get_app, info
from ..options import json_option

STACK_HELP = "The EUPS stack [default: the first entry of $EUPS_PATH]."
stack_option = click.option(
    "--stack",
    "stack_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help=STACK_HELP,
)
flavor_option = click.option(
    "--flavor", default=None, help="EUPS flavor [default: $EUPS_FLAVOR, else this machine]."
)


def stack_path(stack_dir: Path | None) -> Path:
    """``--stack``, else the first entry of ``$EUPS_PATH`` (it need not exist yet)."""
    if stack_dir is not None:
        return stack_dir
    first = os.environ.get("EUPS_PATH", "").split(":")[0]
    if not first:
        raise InputError("no stack given", hint="pass --stack DIR or set EUPS_PATH")
    return Path(first)


def open_stack(stack_dir: Path | None, flavor: str | None) -> Stack:
    """``--stack``, else the first entry of ``$EUPS_PATH``; it must be a stack."""
    return Stack.open(stack_path(stack_dir), flavor or current_flavor())


@click.command("list")
@click.argument("product", required=False)
@click.option("-t", "--tag", default=None, help="Only versions with this tag.")
@stack_option
@flavor_option
@json_option
def list_cmd(
    product: str | None, tag: str | None, stack_dir: Path | None, flavor: str | None
) -> None:
    """List declared products, versions and tags, like `eups list`."""
    stack = open_stack(stack_dir, flavor)
    rows = list_products(stack, product, tag, os.environ)
    if get_app().json:
        emit_json(
            [
                {"product": r.product, "version": r.version, "tags": list(r.tags), "setup": r.setup}
                for r in rows
            ]
        )
        return
    click.echo(format_list(rows, one_product=product is not None), nl=False)


@click.command("tags")
@click.option("--clone", nargs=2, metavar="OLD NEW", default=None, help="Copy every OLD to NEW.")
@click.option("--dry-run", is_flag=True, help="With --clone: print the assignments only.")
@stack_option
@flavor_option
@json_option
def tags_cmd(
    clone: tuple[str, str] | None, dry_run: bool, stack_dir: Path | None, flavor: str | None
) -> None:
    """List the tags EUPS knows for the stack, or clone one (`eups tags --clone OLD NEW`)."""
    stack = open_stack(stack_dir, flavor)
    if clone is None:
        tags = stack.known_tags()
        if get_app().json:
            emit_json(tags)
        else:  # as `eups tags`: one line on a terminal, else one tag a line
            echo((" " if sys.stdout.isatty() else "\n").join(tags))
        return
    old, new = clone
    plan = stack.tagged(old)
    if not dry_run:
        stack.clone_tag(old, new)
    if get_app().json:
        emit_json({"old": old, "new": new, "dry_run": dry_run, "assignments": plan})
        return
    for product, version in plan.items():
        echo(f"{product:<21} {version:<10} {new}")
    verb = "would tag" if dry_run else "tagged"
    info(f"{verb} {len(plan)} products {new} (from {old})")


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
@click.option("--dry-run", is_flag=True, help="Print the .version file; write nothing.")
@stack_option
@flavor_option
def declare_cmd(
    product: str,
    version: str,
    prod_dir: Path,
    table_file: str | None,
    tags: tuple[str, ...],
    dry_run: bool,
    stack_dir: Path | None,
    flavor: str | None,
) -> None:
    """Declare PRODUCT VERSION installed in DIR (like `eups declare -r DIR`)."""
    stack = open_stack(stack_dir, flavor)
    if dry_run:
        planned = stack.plan_declare(product, version, prod_dir, table_file=table_file)
        if planned is None:
            info(f"{product} {version} is already declared so")
        else:
            click.echo(planned.render(), nl=False)
        for tag in tags:
            info(f"would tag {product} {version} {tag}")
        return
    stack.declare(product, version, prod_dir, table_file=table_file, tags=tags)
    info(f"declared {product} {version}" + (f" ({', '.join(tags)})" if tags else ""))
