"""``scipipe release``: release tagging across repos, and the release flows."""

from __future__ import annotations

from .tag import release_group

__all__ = ["release_group"]
