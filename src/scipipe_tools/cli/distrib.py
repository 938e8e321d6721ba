"""``scipipe distrib``."""

from __future__ import annotations

import click


@click.group("distrib")
def distrib_group() -> None:
    """Publish to and install from an EUPS distribution server."""
