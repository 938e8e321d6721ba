"""``scipipe env``."""

from __future__ import annotations

import click


@click.group("env")
def env_group() -> None:
    """Resolve, lock and create the rubin-env conda environment."""
