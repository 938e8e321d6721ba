"""``scipipe setup PRODUCT``: shell code that sets up a product from a stack.

Use it as ``eval "$(scipipe setup afw)"``.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..stack.setup import SHELLS, render_shell, setup
from .common import emit_json, get_app
from .eups.stack import flavor_option, open_stack, stack_option
from .options import json_option


def default_shell() -> str:
    return "zsh" if os.path.basename(os.environ.get("SHELL", "")) == "zsh" else "bash"


@click.command("setup")
@click.argument("product")
@click.argument("version", required=False)
@click.option("-t", "--tag", default=None, help="Prefer versions with this tag.")
@stack_option
@flavor_option
@click.option(
    "--shell",
    type=click.Choice(SHELLS),
    default=None,
    help="Shell syntax to print [default: from $SHELL, else bash].",
)
@json_option
def setup_cmd(
    product: str,
    version: str | None,
    tag: str | None,
    stack_dir: Path | None,
    flavor: str | None,
    shell: str | None,
) -> None:
    """Print the shell code that sets up PRODUCT and its dependencies."""
    stack = open_stack(stack_dir, flavor)
    result = setup(stack, product, version, tag=tag, environ=os.environ)
    if get_app().json:
        emit_json(
            {
                "stack": result.stack,
                "flavor": result.flavor,
                "products": [{"product": p, "version": v} for p, v in result.products],
                "env": result.env,
                "aliases": result.aliases,
                "messages": result.messages,
            }
        )
        return
    click.echo(render_shell(result, shell or default_shell()), nl=False)
