"""What ``lsstinstall`` will do, decided from its flags before anything is touched.

The decisions follow lsstinstall (spec section 8): which rubin-env (latest, a tag's
``#CONDA_ENV``, or a tag's exact ``env/<tag>.env``), the environment's name
(``lsst-scipipe-<ver>``, ``-exact`` for ``-X``), where the conda root is (``-p``, the
active conda unless ``-P``), and the ``pkgroot`` (``bin|src``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, Location, did_you_mean
from ..infra.prefix import check_env_name
from ..names.serverlayout import binary_root_path
from ..names.variants import VARIANTS

DEFAULT_EUPS_ROOT = "https://eups.lsst.cloud/stack"
DEFAULT_CHANNELS = ("conda-forge",)
DEV_LABEL = "conda-forge/label/rubin-env_dev"
ENV_PREFIX = "lsst-scipipe-"
_HEX = re.compile(r"^[0-9a-f]{7,40}$")
_VERSION = re.compile(r"^[0-9][0-9A-Za-z.+_]*$")


@dataclass(frozen=True)
class InstallerOptions:
    """lsstinstall's flags."""

    dry_run: bool = False  # -n
    tag: str | None = None  # -T
    exact_tag: str | None = None  # -X
    version: str | None = None  # -v (default: latest)
    env_name: str | None = None  # -e
    #: ``--prefix``: the environment at this path, not ``<conda root>/envs/<name>``
    prefix: Path | None = None
    update: bool = False  # -u
    developer: bool = False  # -d
    #: ``--variant``: the feedstock's rubin-env-<variant> (nosysroot replaces rubin-env)
    variant: str | None = None
    conda_root: Path | None = None  # -p
    new_conda: bool = False  # -P
    channels: tuple[str, ...] = ()  # -C, first wins
    eups_root: str = DEFAULT_EUPS_ROOT  # -E
    no_binary: bool = False  # -B
    no_source: bool = False  # -S
    #: where loadLSST.* go (lsstinstall writes them in the current directory)
    home: Path = field(default_factory=Path.cwd)
    #: run ``scipipe distrib install -t TAG`` for these products afterwards
    install_products: tuple[str, ...] = ()
    #: with install_products: refuse artifacts the server publishes no .sha256 for
    require_checksums: bool = False
    cache: Path | None = None
    platform: str | None = None
    flavor: str | None = None


def check_options(o: InstallerOptions) -> None:
    chosen = [f for f, v in (("-T", o.tag), ("-X", o.exact_tag), ("-v", o.version)) if v]
    if len(chosen) > 1:
        raise InputError(f"{' and '.join(chosen)} cannot be combined: choose one rubin-env")
    if o.env_name and o.prefix:
        raise InputError("-e and --prefix cannot be combined: name the environment or place it")
    if o.exact_tag and o.update:
        raise InputError("-u cannot update an exact environment (-X)")
    if o.exact_tag and o.developer:
        raise InputError("-d cannot add to an exact environment (-X)")
    if o.exact_tag and o.variant:
        raise InputError("--variant cannot change an exact environment (-X)")
    if o.version and o.version != "latest":
        check_env_version(o.version, "-v")
    if o.install_products and not (o.tag or o.exact_tag):
        raise InputError("--install needs the tag to install: give -T TAG or -X TAG")


def check_env_version(value: str, where: str) -> str:
    """A rubin-env version; a legacy scipipe_conda_env hash is refused with a hint."""
    if _HEX.match(value) and not (value.isascii() and value.isdigit()):
        raise InputError(
            f"{where}: {value!r} names a legacy scipipe_conda_env lock file, which this "
            "installer does not support",
            hint="use a rubin-env version (-v 13.0.1), or -X TAG for an exact environment",
        )
    if not _VERSION.match(value):
        raise InputError(f"{where}: invalid rubin-env version {value!r}")
    return value


def conda_env_of_tag(value: str | None, tag: str, where: str) -> str:
    """The rubin-env version a tag list's ``#CONDA_ENV`` names.

    Older lists carry ``https://.../scipipe_conda_env.git@<hash>``; that reduces to the
    hash, which names a legacy lock this installer refuses.
    """
    if not value:
        raise InputError(f"tag {tag} has no #CONDA_ENV line", location=Location(where))
    if "@" in value:
        value = value.rsplit("@", 1)[1]
    return check_env_version(value.strip(), f"{where}: #CONDA_ENV")


def env_name(version: str, exact: bool, override: str | None = None) -> str:
    """``lsst-scipipe-<ver>`` (``-exact`` appended for an exact environment) unless ``-e``."""
    if override:
        return check_env_name(override, "-e")
    return f"{ENV_PREFIX}{version}{'-exact' if exact else ''}"


def env_prefix(o: InstallerOptions, root: Path, version: str, exact: bool) -> Path:
    """Where the environment goes: ``--prefix`` (made absolute), else
    ``<root>/envs/<name>``."""
    if o.prefix is not None:
        return o.prefix.expanduser().absolute()
    return root / "envs" / env_name(version, exact, o.env_name)


def conda_root(o: InstallerOptions) -> Path:
    """Where environments live: the active conda (``$CONDA_EXE``) unless ``-P``, else ``-p``
    (default ``$PWD/conda``).  An existing ``-p`` must be a conda root or empty."""
    exe = os.environ.get("CONDA_EXE")
    if exe and not o.new_conda and o.conda_root is None:
        return Path(exe).resolve().parent.parent
    root = (o.conda_root or Path.cwd() / "conda").absolute()
    if root.exists():
        if not root.is_dir():
            raise InputError("not a directory", location=Location.of(root))
        is_conda = (root / "bin" / "conda").exists() or (root / "envs").is_dir()
        if not is_conda and any(root.iterdir()):
            raise InputError(
                "exists but is not a conda installation (no bin/conda, no envs/)",
                location=Location.of(root),
                hint="pass -p with a new directory or an existing conda root",
            )
    return root


def channels(o: InstallerOptions, version: str | None) -> tuple[str, ...]:
    """``-C`` channels first (the first wins), then ``$LSST_CONDA_CHANNELS`` or conda-forge;
    the rubin-env_dev label for a dev version."""
    base = tuple(os.environ.get("LSST_CONDA_CHANNELS", "").split()) or DEFAULT_CHANNELS
    extra = (DEV_LABEL,) if version and "dev" in version and base == DEFAULT_CHANNELS else ()
    return tuple(dict.fromkeys([*o.channels, *extra, *base]))


def pkgroot(binary_url: str | None, source_url: str | None) -> str:
    """``$EUPS_PATH/pkgroot``: ``bin|src``; either may be left out (-B, -S)."""
    return "|".join(u for u in (binary_url, source_url) if u)


def eups_root(value: str) -> str:
    """``-E``: a URL as given; a local directory made absolute and normalized."""
    if "://" in value:
        return value.rstrip("/")
    return str(Path(value).expanduser().resolve())


def source_root_url(eups_root: str) -> str:
    return f"{eups_root.rstrip('/')}/src"


def binary_root_url(eups_root: str, platform: str, version: str) -> str:

    return f"{eups_root.rstrip('/')}/{binary_root_path(platform, version)}"


def specs(version: str | None, developer: bool, variant: str | None = None) -> Sequence[str]:
    pin = f" =={version}" if version else ""
    if variant is not None and variant not in VARIANTS:
        raise InputError(f"--variant {variant}: not one of {', '.join(VARIANTS)}",
                         hint=did_you_mean(variant, VARIANTS))  # fmt: skip
    base = [f"rubin-env-nosysroot{pin}" if variant == "nosysroot" else f"rubin-env{pin}"]
    added = [v for v in (variant, "developer" if developer else None) if v and v != "nosysroot"]
    return [*base, *(f"rubin-env-{v}{pin}" for v in dict.fromkeys(added))]
