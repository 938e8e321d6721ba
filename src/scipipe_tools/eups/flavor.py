"""EUPS flavor names (spec section 5)."""

from __future__ import annotations

import os
import platform

from ..errors import InputError


def flavor_for(system: str, machine: str) -> str:
    """``Linux64``, ``Linux``, ``DarwinX86`` or ``Darwin`` for a ``uname -s``/``-m`` pair."""
    if system == "Linux":
        return "Linux64" if machine.endswith("_64") else "Linux"
    if system == "Darwin":
        return "DarwinX86" if machine == "x86_64" else "Darwin"
    raise InputError(f"unsupported system {system!r} (supported: Linux, Darwin)")


def current_flavor() -> str:
    """``$EUPS_FLAVOR``, else derived from this machine."""
    env = os.environ.get("EUPS_FLAVOR")
    if env:
        return env
    return flavor_for(platform.system(), platform.machine())
