"""The exact conda environment a tag was built in: ``env/<tag>.env`` on a server root.

The file is conda's ``@EXPLICIT`` list (``url#md5`` lines), made from a conda-lock.yml
for one platform or copied as is from an explicit file.  The rubin-env version found in
it is the tag list's ``#CONDA_ENV`` unless one is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, Location
from ..files import read_text

#: The metapackages whose version names the environment (spec section 9).
RUBIN_ENV = ("rubin-env", "rubin-env-nosysroot")


@dataclass(frozen=True)
class EnvFile:
    #: the ``@EXPLICIT`` text to publish
    text: str
    #: the rubin-env version in it, when there is one
    rubin_env: str | None
    source: Path


def _package_of(url: str) -> tuple[str, str] | None:
    """(name, version) from a package URL ``.../name-version-build.conda#hash``."""
    filename = url.split("#", 1)[0].rsplit("/", 1)[-1]
    for ext in (".conda", ".tar.bz2"):
        if filename.endswith(ext):
            parts = filename.removesuffix(ext).rsplit("-", 2)
            return (parts[0], parts[1]) if len(parts) == 3 else None
    return None


def _explicit(path: Path, text: str) -> EnvFile:
    version = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "@")):
            continue
        found = _package_of(line)
        if found is not None and found[0] in RUBIN_ENV:
            version = found[1]
    return EnvFile(text if text.endswith("\n") else text + "\n", version, path)


def _from_lock(path: Path, platform: str) -> EnvFile:
    from ..env.lockfile import explicit_text, read_lock

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
    version = next((p.version for p in packages if p.name in RUBIN_ENV), None)
    return EnvFile(explicit_text(packages, header=header), version, path)


def load_env_file(path: Path, platform: str) -> EnvFile:
    """An explicit file as is, or a conda-lock.yml rendered for ``platform``."""
    text = read_text(path, "environment file")
    if any(line.strip() == "@EXPLICIT" for line in text.splitlines()):
        return _explicit(path, text)
    return _from_lock(path, platform)
