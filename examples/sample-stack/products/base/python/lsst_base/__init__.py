"""A tiny stand-in for lsst.base: facts about the interpreter and the set-up products."""

from __future__ import annotations

import platform

import lsst_utils

__all__ = ["package_dirs", "python_version"]


def python_version() -> str:
    return platform.python_version()


def package_dirs(products: list[str]) -> dict[str, str | None]:
    """Map each product to its directory, or None when it is not set up."""
    dirs: dict[str, str | None] = {}
    for product in products:
        try:
            dirs[product] = lsst_utils.get_package_dir(product)
        except LookupError:
            dirs[product] = None
    return dirs
