"""``scipipe envconfig``: a work root's environments; switch the active one (lsstsw's)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import click

from ..errors import InputError
from ..installer import envconfig
from ..installer.envconfig import EnvRow
from .common import columns, echo, emit_json, get_app, info
from .options import json_option, root_option, takes


@dataclass(frozen=True)
class EnvconfigArgs:
    root: Path
    name: str | None
    build_id: str | None
    interactive: bool


@click.command("envconfig")
@root_option
@click.option("-n", "name", metavar="NAME", help="Make ROOT/envs/NAME the active environment.")
@click.option("-b", "build_id", metavar="bNNNN",
              help="Make the environment that built bNNNN the active one.")  # fmt: skip
@click.option(
    "-i", "interactive", is_flag=True, help="Pick the active one from a list (a terminal)."
)
@json_option
@takes(EnvconfigArgs)
def envconfig_cmd(a: EnvconfigArgs) -> None:
    """List a work root's environments and which built each build; switch the active one.

    Without options, list ROOT/envs/* (the active one starred) with the builds each
    built (ROOT/build/env/<bNNNN>.json).  -n NAME, -b bNNNN or -i rewrite
    ROOT/bin/setup.{sh,bash,zsh,csh} to activate another; source one again to use it.
    """
    given = [f for f, v in (("-n", a.name), ("-b", a.build_id), ("-i", a.interactive)) if v]
    if len(given) > 1:
        raise InputError(f"{' and '.join(given)} cannot be combined: choose one way to switch")
    rows = envconfig.environments(a.root)
    target = a.name
    if a.build_id is not None:
        target = envconfig.env_of_build(a.root, a.build_id)
    elif a.interactive:
        target = _pick(rows)
    if target is None:
        _show(rows)
        return
    changed = envconfig.switch(a.root, target)
    if get_app().json:
        emit_json({"root": str(a.root.absolute()), "active": target, "changed": changed})
        return
    said = "is now" if changed else "was already"
    echo(f"{target} {said} the active environment of {a.root.absolute()}")
    if changed:
        info(f"source {a.root.absolute()}/bin/setup.sh (or setup.csh) again to use it")


def _show(rows: list[EnvRow]) -> None:
    if get_app().json:
        emit_json({"environments": [r.to_json() for r in rows]})
        return
    if not rows:
        echo("no environments (scipipe deploy makes one)")
        return
    table = [
        ["*" if r.active else "", r.name, ", ".join(r.builds) or "-", r.made_from or "-"]
        for r in rows
    ]
    echo(columns(["", "environment", "built", "made from"], table))


def _pick(rows: list[EnvRow]) -> str:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise InputError(
            "-i needs a terminal: stdin or stdout is not one",
            hint="choose with -n NAME or -b bNNNN",
        )
    if not rows:
        raise InputError("no environments to choose from", hint="scipipe deploy makes one")
    for i, r in enumerate(rows, 1):
        mark = "*" if r.active else " "
        echo(f"{i:3d}{mark} {r.name}  built: {', '.join(r.builds) or '-'}")
    choice: int = click.prompt("environment", type=click.IntRange(1, len(rows)))
    return rows[choice - 1].name
