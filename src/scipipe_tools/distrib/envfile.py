"""The exact conda environment a tag was built in: ``env/<tag>.env`` on a server root.

The file is conda's ``@EXPLICIT`` list (``url#md5`` lines), made from a conda-lock.yml
for one platform or copied as is from an explicit file.  The rubin-env version found in
it is the tag list's ``#CONDA_ENV`` unless one is given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, Location
from ..infra.files import read_text
from ..infra.lockfile import LockedPackage, explicit_text, parse_explicit, read_lock

#: The metapackages whose version names the environment (spec section 9).
RUBIN_ENV = ("rubin-env", "rubin-env-nosysroot")


@dataclass(frozen=True)
class EnvFile:
    #: the ``@EXPLICIT`` text to publish
    text: str
    #: the rubin-env version in it, when there is one
    rubin_env: str | None
    source: Path


def _explicit(path: Path, text: str, platform: str) -> EnvFile:
    """Copied as is (its platform is its own business), once it parses."""
    packages = parse_explicit(text, path, platform).packages
    return EnvFile(text if text.endswith("\n") else text + "\n", _rubin_env(packages), path)


def _rubin_env(packages: Sequence[LockedPackage]) -> str | None:
    """The version of rubin-env, else of rubin-env-nosysroot (which it pins exactly)."""
    versions = {p.name: p.version for p in packages}
    return next((versions[n] for n in RUBIN_ENV if n in versions), None)


def _from_lock(path: Path, platform: str) -> EnvFile:
    lock = read_lock(path)
    packages = lock.for_platform(platform)
    if not packages:
        raise InputError(
            f"no packages for platform {platform}",
            location=Location(str(path)),
            hint=f"the lock has {', '.join(lock.platforms) or 'no platforms'}; pass --platform",
        )
    header = [
        f"Written by scipipe distrib publish from {path.name} for {platform}.",
        f"platform: {platform}",
    ]
    return EnvFile(explicit_text(packages, header=header), _rubin_env(packages), path)


def load_env_file(path: Path, platform: str) -> EnvFile:
    """An explicit file as is, or a conda-lock.yml rendered for ``platform``."""
    text = read_text(path, "environment file")
    if any(line.strip() == "@EXPLICIT" for line in text.splitlines()):
        return _explicit(path, text, platform)
    return _from_lock(path, platform)
