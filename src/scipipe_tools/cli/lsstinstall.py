"""The ``lsstinstall`` entry point (the end-user installer)."""

from __future__ import annotations

import sys

import click

from ..errors import ScipipeError
from .app import run


@click.command("lsstinstall", context_settings={"help_option_names": ["-h", "--help"]})
def lsstinstall() -> None:
    """Install a rubin-env conda environment and an EUPS stack (not yet available)."""
    raise ScipipeError("lsstinstall is not implemented yet in this version of scipipe-tools")


def main() -> None:
    sys.exit(run(lsstinstall, sys.argv[1:], "lsstinstall"))
