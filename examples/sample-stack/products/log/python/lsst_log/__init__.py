"""A tiny stand-in for lsst.log.

``version.py`` does not exist in the source tree: ``ups/eupspkg.cfg.sh`` generates it
at build time, as sconsUtils does for the real stack.
"""

from __future__ import annotations

import logging

import lsst_base

try:
    from .version import __version__
except ImportError:  # running from an unbuilt source tree
    __version__ = "unknown"

__all__ = ["__version__", "banner", "get_logger"]


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"lsst.{name}")


def banner() -> str:
    return f"lsst_log {__version__} on Python {lsst_base.python_version()}"
