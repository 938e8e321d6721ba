"""The ``lsstinstall`` entry point (the end-user installer), with lsstinstall's flags.

Only the command line is defined here; what it does (:mod:`.lsstinstall_run`, which
imports the installer) loads when it runs, so ``lsstinstall --help`` starts fast.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import click

from ..names.variants import VARIANTS
from .app import run
from .lazy import load
from .options import cache_option, takes


@dataclass(frozen=True)
class LsstinstallArgs:
    dry_run: bool
    tag: str | None
    exact_tag: str | None
    version: str | None
    env_name: str | None
    prefix: Path | None
    update: bool
    developer: bool
    variant: str | None
    conda_root: Path | None
    new_conda: bool
    channels: tuple[str, ...]
    eups_root: str
    no_binary: bool
    no_source: bool
    _ignored_b: bool
    _ignored_c: bool
    _ignored_t: bool
    install_products: tuple[str, ...]
    require_checksums: bool
    cache: Path | None
    json_: bool
    debug: bool


@click.command("lsstinstall", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-n", "dry_run", is_flag=True, help="Dry run: print each step as '$ step'.")
@click.option(
    "-T",
    "tag",
    metavar="TAG",
    help="rubin-env of this EUPS tag (its #CONDA_ENV in <-E>/src/tags/TAG.list).",
)
@click.option(
    "-X",
    "exact_tag",
    metavar="TAG",
    help="The exact environment of this tag (<binary root>/env/TAG.env).",
)
@click.option(
    "-v",
    "version",
    metavar="VER",
    help="rubin-env version [default: latest: the newest this machine can install].",
)
@click.option("-e", "env_name", metavar="ENV", help="Environment name [default: lsst-scipipe-VER].")
@click.option(
    "--prefix",
    type=click.Path(file_okay=False, path_type=Path),
    help="Make the environment at this path instead of <conda root>/envs/ENV "
    "(conda's -p PREFIX; lsstinstall's -p names the conda root).",
)
@click.option("-u", "update", is_flag=True, help="Update rubin-env in an existing environment.")
@click.option("-d", "developer", is_flag=True, help="Add rubin-env-developer.")
@click.option(
    "--variant",
    type=click.Choice(VARIANTS),
    default=None,
    help="The feedstock's rubin-env variant: nosysroot (in place of rubin-env, without the "
    "sysroot), developer, rsp or extras (added to it).",
)
@click.option(
    "-p",
    "conda_root",
    type=click.Path(file_okay=False, path_type=Path),
    help="conda root holding envs/ [default: the active conda, else $PWD/conda].",
)
@click.option("-P", "new_conda", is_flag=True, help="Ignore an active conda; use -p.")
@click.option(
    "-C",
    "channels",
    multiple=True,
    metavar="CH",
    help="Channel before conda-forge (repeatable; the first wins).",
)
@click.option("-E", "eups_root", default="https://eups.lsst.cloud/stack", show_default=True,
              metavar="URL", help="EUPS distribution root.")  # fmt: skip
@click.option("-B", "no_binary", is_flag=True, help="No binary root in pkgroot.")
@click.option("-S", "no_source", is_flag=True, help="No source root in pkgroot.")
@click.option("-b", "_ignored_b", is_flag=True, hidden=True)
@click.option("-c", "_ignored_c", is_flag=True, hidden=True)
@click.option("-t", "_ignored_t", is_flag=True, hidden=True)
@click.option(
    "--install",
    "install_products",
    multiple=True,
    metavar="PRODUCT",
    help="Then install PRODUCT from the -T/-X tag (scipipe distrib install).",
)
@click.option(
    "--require-checksums",
    is_flag=True,
    help="With --install: refuse artifacts the server publishes no .sha256 for.",
)
@cache_option
@click.option("--json", "json_", is_flag=True, help="Print the result as JSON.")
@click.option("--debug", is_flag=True, help="Debug logging, and a traceback on errors.")
@takes(LsstinstallArgs)
def lsstinstall(a: LsstinstallArgs) -> None:
    """Install the rubin-env conda environment and an EUPS stack for the LSST Science
    Pipelines, ready for `scipipe distrib install` (or `eups distrib install`).

    Needs no conda: environments are made with py-rattler, every package verified.
    -T, -X and -v are mutually exclusive; -b -c -t are accepted and ignored.
    """
    load("scipipe_tools.cli.lsstinstall_run", "execute")(a)


def main() -> None:
    sys.exit(run(lsstinstall, sys.argv[1:], "lsstinstall"))
