"""A tiny stand-in for lsst.utils: helpers every other sample product uses."""

from __future__ import annotations

import os

__all__ = ["get_package_dir"]


def get_package_dir(product: str) -> str:
    """Return the directory EUPS recorded for ``product`` in ``$<PRODUCT>_DIR``."""
    key = f"{product.upper()}_DIR"
    try:
        return os.environ[key]
    except KeyError:
        raise LookupError(f"{product} is not set up: ${key} is unset") from None
