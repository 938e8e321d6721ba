"""``scipipe deploy``: a ready work root in one command (lsstsw's ``bin/deploy``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from ..installer.deploy import DEFAULT_REPOS, DeployOptions, deploy
from ..installer.plan import DEFAULT_EUPS_ROOT
from .common import echo, emit_json, get_app, info
from .console import progress_for
from .options import cache_option, dry_run_option, json_option, takes


@dataclass(frozen=True)
class DeployArgs:
    root: Path
    repos: str | None
    versiondb_url: str | None
    lock: Path | None
    exact_tag: str | None
    spec: Path | None
    variant: str | None
    eups_root: str
    channels: tuple[str, ...]
    env_name: str | None
    cache: Path | None
    dry_run: bool


@click.command("deploy")
@click.argument("root", metavar="[DIR]", default=".",
                type=click.Path(file_okay=False, path_type=Path))  # fmt: skip
@click.option("--repos", metavar="URL|PATH",
              help="repos.yaml to copy into DIR "
                   f"[default: the one DIR has, else {DEFAULT_REPOS}].")  # fmt: skip
@click.option("--versiondb-url", metavar="URL", help="Clone this versiondb into DIR/versiondb.")
@click.option("--lock", type=click.Path(dir_okay=False, path_type=Path),
              help="Create rubin-env from this conda-lock.yml or @EXPLICIT file.")  # fmt: skip
@click.option("-X", "exact_tag", metavar="TAG",
              help="Create the exact environment published with TAG on the -E root.")  # fmt: skip
@click.option("--spec", type=click.Path(dir_okay=False, path_type=Path),
              help="Create the environment from a solve of this spec (env lock's).")  # fmt: skip
@click.option("--variant", help="With --spec: add this variant's packages (developer, rsp).")
@click.option("-E", "eups_root", default=DEFAULT_EUPS_ROOT, show_default=True, metavar="URL",
              help="EUPS distribution root for -X.")  # fmt: skip
@click.option("-C", "channels", multiple=True, metavar="CH",
              help="Without --lock/-X/--spec: solve the newest rubin-env from CH first "
                   "(repeatable) [default: $LSST_CONDA_CHANNELS or conda-forge].")  # fmt: skip
@click.option("-n", "env_name", metavar="NAME",
              help="Environment name in DIR/envs [default: lsst-scipipe-VER].")  # fmt: skip
@cache_option
@dry_run_option("Print the plan; change nothing.")
@json_option
@takes(DeployArgs)
def deploy_cmd(a: DeployArgs) -> None:
    """Make a ready work root in one command (like lsstsw's deploy).

    DIR gets repos.yaml, the versiondb clone (--versiondb-url), the rubin-env environment
    in DIR/envs (from --lock, -X TAG, --spec, else a solve of the newest rubin-env), the
    EUPS stack DIR/stack and DIR/bin/setup.{sh,bash,zsh,csh}, which activate the
    environment and EUPS and set SCIPIPE_ROOT.  A second run changes nothing and says so.
    """
    app = get_app()
    options = DeployOptions(
        root=a.root, repos=a.repos, versiondb_url=a.versiondb_url, lock=a.lock,
        exact_tag=a.exact_tag, spec=a.spec, variant=a.variant, eups_root=a.eups_root,
        channels=a.channels, env_name=a.env_name, dry_run=a.dry_run, cache=a.cache,
    )  # fmt: skip

    def say(text: str) -> None:
        if not app.json:
            echo(text)

    with progress_for(app) as progress:
        result = deploy(options, say, progress)
    if app.json:
        emit_json({**result.to_json(), "dry_run": a.dry_run})
        return
    root = result.root
    if result.noop:
        echo(f"nothing to do: {root} is deployed")
    elif not a.dry_run:
        info(f"deployed {root}. To use it:")
        info(f"    source {root}/bin/setup.sh     # sh, bash, zsh")
        info(f"    source {root}/bin/setup.csh    # csh, tcsh")
