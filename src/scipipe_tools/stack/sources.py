"""Where release tagging reads its inputs: manifests from a versiondb, tag lists from a root.

Both take a local path or an http(s) URL, as codekit's ``--versiondb-base-url`` and
``--eupstag-base-url`` do.  A versiondb base is the ``manifests/`` directory (the
codekit default points there) or a versiondb checkout; an EUPS tag base is the
``tags/`` directory or a distribution server root.
"""

from __future__ import annotations

import re

from ..errors import InputError, ResolutionError
from ..eups.manifest import Manifest, parse_manifest
from ..eups.taglist import TagList
from ..infra.roots import find_taglist, open_root

DEFAULT_VERSIONDB_URL = "https://raw.githubusercontent.com/lsst/versiondb/main/manifests"
DEFAULT_EUPSTAG_URL = "https://eups.lsst.cloud/stack/src/tags"
_BUILD_ID = re.compile(r"^b[0-9]+$")


def load_manifest(build_id: str, base: str) -> Manifest:
    """Manifest ``build_id`` from a versiondb base (``<base>/bN.txt`` or ``manifests/bN.txt``).

    The manifest's ``BUILD=`` must name ``build_id``.
    """
    if not _BUILD_ID.match(build_id):
        raise InputError(f"invalid manifest id {build_id!r}: expected bNNNN")
    root = open_root(base)
    last: ResolutionError | None = None
    for rel in (f"{build_id}.txt", f"manifests/{build_id}.txt"):
        try:
            text = root.read_text(rel)
        except ResolutionError as exc:
            last = last or exc
            continue
        where = root.url(rel)
        manifest = parse_manifest(text, where, strict=True)
        if manifest.build_id != build_id:
            found = manifest.build_id or "no BUILD= line"
            raise InputError(f"{where}: expected BUILD={build_id}, found {found}")
        return manifest
    raise ResolutionError(
        f"unknown manifest {build_id}: not found under {base}",
        hint=f"{last}" if last else None,
    )


def load_eups_tag(tag: str, base: str) -> TagList:
    """EUPS tag list ``tag`` from a tags directory or a distribution server root."""
    root = open_root(base)
    found = find_taglist(root, tag)
    if found is None:
        raise ResolutionError(
            f"unknown EUPS tag {tag!r}: no {tag}.list under {base}",
            hint="the EUPS tag must be published before the repos are tagged",
        )
    return found
