"""Names and paths on a distribution server root (spec sections 6 and 7).

One root is a directory tree served as static files.  A *binary* root (EUPS's tarball
distrib) holds ``<tag>.list`` at the top, ``manifests/<p>-<v>@<flavor>.manifest`` and
``<p>-<v>@<flavor>.tar.gz``; a *source* root (eupspkg) holds ``tags/<tag>.list``,
``manifests/<p>-<v>.manifest`` and ``products/<p>-<v>.eupspkg``.  Both keep
``tables/<p>-<v>.table``, ``env/<tag>.env`` and ``config.txt``: the same files, named the
same way, as ``eups distrib create`` and ``eups distrib declare`` write.  What we publish
carries one thing more: every tarball has a ``<name>.sha256`` beside it (``sha256sum``
format), which EUPS ignores.

A binary tarball holds ``<p>/<v>/...`` (the product directory relative to the stack's
flavor directory, as EUPS makes them); a source package holds one top directory
``<p>-<v>/`` with the source tree and ``ups/pkginfo`` (``PRODUCT``, ``VERSION``,
``FLAVOR``, ``SOURCE``, ``SHA1``, ``REPOSITORY``, ``REPOVERSION``), as eupspkg makes them.

An EUPS-style tree (``lsstinstall -E URL``) keeps the source root at ``URL/src`` and
each platform's binary root at ``URL/<binary_root_path(platform, rubin_env)>``.
"""

from __future__ import annotations

from ..errors import InputError
from .platforms import normalize_platform

#: Where lsstinstall looks for the source root under an EUPS root URL.
SOURCE_ROOT = "src"
#: Frozen in the binary root path for URL stability only (spec section 7).
FROZEN_MINICONDA = "miniconda3-py38_4.9.2"

#: conda platform -> the ``<plat>`` of a binary root path.
PLATFORM_PATHS = {
    "linux-64": "redhat/el7",
    "linux-aarch64": "redhat/el8-arm",
    "osx-64": "osx/10.9",
    "osx-arm64": "osx/14-arm",
}
#: ``config.txt`` of a binary root: what ``eups distrib create -d tarball`` writes (the
#: manifest name pattern tells EUPS that ``@<flavor>`` is not part of the version).
BINARY_CONFIG = """\
# Configuration for a tarball-based server
MANIFEST_FILE_RE = ^(?P<product>[^-]+)-(?P<version>[^@]+)@(?P<flavor>.*)\\.manifest$
MANIFEST_URL = %(base)s/manifests/%(product)s-%(version)s@%(flavor)s.manifest
TARBALL_URL = %(base)s/%(path)s
DIST_URL = %(base)s/%(path)s
"""
#: ``config.txt`` of a source root: what ``eups distrib create -d eupspkg`` writes.
SOURCE_CONFIG = """\
# Configuration for a EupsPkg-based server
DISTRIB_CLASS = eups.distrib.eupspkg.Distrib
EUPSPKG_URL = %(base)s/products/%(path)s
LIST_URL = %(base)s/tags/%(tag)s.list
TAGLIST_DIR = tags
"""


def binary_root_path(platform: str, rubin_env: str) -> str:
    """The binary root under an EUPS root for a platform and rubin-env version.

    >>> binary_root_path("linux-64", "13.0.1")
    'redhat/el7/conda-system/miniconda3-py38_4.9.2-13.0.1'

    ``platform`` is a conda platform (``linux-64``, ``linux-aarch64``, ``osx-64``,
    ``osx-arm64``) or a system-machine pair such as ``Linux-x86_64``.
    """
    if not rubin_env or "/" in rubin_env or rubin_env.strip() != rubin_env:
        raise InputError(f"invalid rubin-env version {rubin_env!r}")
    plat = PLATFORM_PATHS[normalize_platform(platform)]
    return f"{plat}/conda-system/{FROZEN_MINICONDA}-{rubin_env}"


# --- file names inside a root ---------------------------------------------------------


def taglist_paths(tag: str) -> tuple[str, str]:
    """Where a root may keep a tag list: source roots under ``tags/``, binary at the top."""
    return source_taglist(tag), binary_taglist(tag)


def source_taglist(tag: str) -> str:
    """Where a source root keeps a tag list (its ``LIST_URL``)."""
    return f"tags/{tag}.list"


def binary_taglist(tag: str) -> str:
    """Where a binary root keeps a tag list (EUPS's default ``LIST_URL``)."""
    return f"{tag}.list"


def tarball(product: str, version: str, flavor: str) -> str:
    return f"{product}-{version}@{flavor}.tar.gz"


def sha256_of(name: str) -> str:
    return f"{name}.sha256"


def binary_manifest(product: str, version: str, flavor: str) -> str:
    return f"manifests/{product}-{version}@{flavor}.manifest"


def source_manifest(product: str, version: str) -> str:
    return f"manifests/{product}-{version}.manifest"


def eupspkg_name(product: str, version: str) -> str:
    return f"{product}-{version}.eupspkg"


def eupspkg(product: str, version: str) -> str:
    return f"products/{eupspkg_name(product, version)}"


def table(product: str, version: str) -> str:
    return f"tables/{product}-{version}.table"


def env_file(tag: str) -> str:
    return f"env/{tag}.env"


CONFIG = "config.txt"
