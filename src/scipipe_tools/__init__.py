"""scipipe-tools: build and release toolkit for EUPS-managed multi-repository stacks."""

from __future__ import annotations

__version__ = "0.1.0"
