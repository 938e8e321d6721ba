"""``scipipe demo``: try scipipe-tools on the bundled sample stack, offline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from ..demo import demo
from .common import echo, emit_json, get_app, info
from .console import progress_for
from .options import dry_run_option, json_option, takes


@click.group("demo")
def demo_group() -> None:
    """The bundled sample stack as local git repositories, to try the tools offline."""


@dataclass(frozen=True)
class InitArgs:
    dest: Path
    source: Path | None
    no_checkouts: bool
    no_channel: bool
    force: bool
    dry_run: bool


@demo_group.command("init")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--from",
    "source",
    type=click.Path(file_okay=False, path_type=Path),
    help="The sample stack [default: examples/sample-stack].",
)
@click.option("--no-checkouts", is_flag=True, help="Only the remotes and repos.yaml.")
@click.option("--no-channel", is_flag=True, help="No local conda channel and rubin-env.yaml.")
@click.option("--force", is_flag=True, help="Replace an earlier demo in DEST.")
@dry_run_option("Say what would be created; create nothing.")
@json_option
@takes(InitArgs)
def init_cmd(a: InitArgs) -> None:
    """Create DEST/remotes (bare git repos with history), DEST/repos.yaml, DEST/sources,
    and a local conda channel DEST/channel with DEST/rubin-env.yaml, an environment spec
    that solves from it (the channel needs py-rattler-build: pip install 'scipipe-tools[demo]').
    """
    src = demo.find_source(a.source)
    channel = not a.no_channel
    if channel and not demo.can_make_channel():
        channel = False
        info("note: py-rattler-build is not installed, so no conda channel is made "
             "(pip install 'scipipe-tools[demo]')")  # fmt: skip
    if a.dry_run:
        dest = a.dest
        echo(
            f"would materialize {src} into {dest}/remotes, {dest}/repos.yaml"
            + ("" if a.no_checkouts else f", {dest}/sources")
            + ("" if not channel else f", {dest}/channel, {dest}/rubin-env.yaml")
        )
        return
    with progress_for(get_app()) as progress:
        d = demo.init(src, a.dest, checkouts=not a.no_checkouts, channel=channel,
                      force=a.force, progress=progress)  # fmt: skip
    if get_app().json:
        emit_json(
            {
                "remotes": {p: str(r) for p, r in d.stack.remotes.items()},
                "repos_yaml": str(d.stack.repos_yaml),
                "exclusions": str(d.stack.exclusions) if d.stack.exclusions else None,
                "sources": str(d.sources) if d.sources else None,
                "channel": str(d.channel) if d.channel else None,
                "env_spec": str(d.env_spec) if d.env_spec else None,
            }
        )
        return
    echo(f"{len(d.stack.products)} products: {d.stack.dest / 'remotes'}")
    echo(f"repos.yaml: {d.stack.repos_yaml}")
    if d.channel and d.env_spec:
        echo(f"conda channel: {d.channel}")
        echo(f"environment spec: {d.env_spec}")
    if d.sources:
        echo(f"checkouts: {d.sources}")
        info(
            f"next: scipipe build plan lsst_demo --sources {d.sources} --repos {d.stack.repos_yaml}"
        )
