"""conda platform (subdir) names for machines: ``linux-64``, ``osx-arm64``..."""

from __future__ import annotations

import os
import platform as _platform

from ..errors import InputError

#: The platforms rubin-env is built for (spec section 9: no Windows).
SUPPORTED = ("linux-64", "linux-aarch64", "osx-64", "osx-arm64")
#: the subdir of packages that install on every platform
NOARCH = "noarch"
#: (``uname -s``, ``uname -m``), lower case -> conda platform
_SYSTEMS = {
    ("linux", "x86_64"): "linux-64",
    ("linux", "aarch64"): "linux-aarch64",
    ("linux", "arm64"): "linux-aarch64",
    ("darwin", "x86_64"): "osx-64",
    ("darwin", "arm64"): "osx-arm64",
}


def conda_platform(system: str | None = None, machine: str | None = None) -> str:
    """The conda platform of a ``uname -s``/``uname -m`` pair (default: this machine's)."""
    system = system or _platform.system()
    machine = machine or _platform.machine()
    try:
        return _SYSTEMS[system.lower(), machine.lower()]
    except KeyError:
        raise InputError(
            f"unsupported system {system} {machine}",
            hint="supported: Linux or Darwin on x86_64, aarch64 or arm64",
        ) from None


def current_platform() -> str:
    """``$CONDA_SUBDIR``, else this machine's platform."""
    return os.environ.get("CONDA_SUBDIR") or conda_platform()


def normalize_platform(value: str) -> str:
    """A conda platform from itself or from ``Linux-x86_64`` / ``Darwin arm64``."""
    if value in SUPPORTED:
        return value
    for sep in ("-", " ", "/"):
        system, found, machine = value.partition(sep)
        if found and (system.lower(), machine.lower()) in _SYSTEMS:
            return _SYSTEMS[system.lower(), machine.lower()]
    raise InputError(
        f"unknown platform {value!r}",
        hint=f"use a conda platform ({', '.join(SUPPORTED)}) or SYSTEM-MACHINE",
    )
