"""``scipipe eups``: the EUPS model, and the installed stack."""

from __future__ import annotations

from .model import eups_group

__all__ = ["eups_group"]
