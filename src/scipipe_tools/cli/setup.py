"""``scipipe setup PRODUCT``: shell code that sets up a product from a stack.

Use it as ``eval "$(scipipe setup afw)"``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import click

from ..stack.setup import SHELLS, render_shell, setup
from .common import emit_json, get_app
from .inputs import open_stack
from .options import flavor_option, json_option, stack_option, takes


def default_shell() -> str:
    return "zsh" if os.path.basename(os.environ.get("SHELL", "")) == "zsh" else "bash"


@dataclass(frozen=True)
class SetupArgs:
    product: str
    version: str | None
    tag: str | None
    stack_dir: Path | None
    flavor: str | None
    shell: str | None


@click.command("setup")
@click.argument("product")
@click.argument("version", required=False)
@click.option("-t", "--tag", default=None, help="Prefer versions with this tag.")
@stack_option
@flavor_option()
@click.option(
    "--shell",
    type=click.Choice(SHELLS),
    default=None,
    help="Shell syntax to print [default: from $SHELL, else bash].",
)
@json_option
@takes(SetupArgs)
def setup_cmd(a: SetupArgs) -> None:
    """Print the shell code that sets up PRODUCT and its dependencies."""
    stack = open_stack(a.stack_dir, a.flavor)
    result = setup(stack, a.product, a.version, tag=a.tag, environ=os.environ)
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
    click.echo(render_shell(result, a.shell or default_shell()), nl=False)
