"""``scipipe ci``."""

from __future__ import annotations

import click


@click.group("ci")
def ci_group() -> None:
    """CI definitions: build matrices, GitHub workflows, Jenkins jobs."""
