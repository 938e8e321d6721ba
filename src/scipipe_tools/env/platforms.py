"""conda platform (subdir) names for machines: ``linux-64``, ``osx-arm64``..."""

from __future__ import annotations

import os
import platform as _platform

from ..errors import InputError

#: The platforms rubin-env is built for (spec section 9: no Windows).
SUPPORTED = ("linux-64", "linux-aarch64", "osx-64", "osx-arm64")


def conda_platform(system: str, machine: str) -> str:
    """The conda subdir for a ``uname -s``/``uname -m`` pair."""
    table = {
        ("Linux", "x86_64"): "linux-64",
        ("Linux", "aarch64"): "linux-aarch64",
        ("Linux", "arm64"): "linux-aarch64",
        ("Darwin", "x86_64"): "osx-64",
        ("Darwin", "arm64"): "osx-arm64",
    }
    try:
        return table[system, machine]
    except KeyError:
        raise InputError(
            f"unsupported system {system} {machine}",
            hint="supported: Linux or Darwin on x86_64, aarch64 or arm64",
        ) from None


def current_platform() -> str:
    """``$CONDA_SUBDIR``, else this machine's platform."""
    return os.environ.get("CONDA_SUBDIR") or conda_platform(_platform.system(), _platform.machine())
