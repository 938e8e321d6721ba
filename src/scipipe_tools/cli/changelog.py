"""``scipipe changelog``."""

from __future__ import annotations

import click


@click.group("changelog")
def changelog_group() -> None:
    """Changelogs and release notes across the stack's repos."""
