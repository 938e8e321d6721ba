"""The versiondb: a git repository that records every build's manifest (spec section 3).

Layout (lsst/versiondb)::

    manifests/bNNNN.txt            the manifest of build bNNNN, byte for byte
    manifests/content_sha.db.txt   "<content sha1>\\t<bNNNN>" per build, in build order

and an annotated git tag ``bNNNN`` on the commit that recorded each build.

A build id is allocated by content: a manifest whose content hash (SHA1 over
``name\\tsha1\\tversion\\n``) is already in ``content_sha.db.txt`` gets its old id back
(lsst_build means to do this but opens the file in append mode, reads nothing and never
reuses an id); otherwise the id is the highest ``b`` git tag + 1, skipping ids already
used as EUPS tags.

Without a versiondb the build id is the highest EUPS ``bN`` tag + 1:
:func:`scipipe_tools.eups.buildid.next_build_id` over the stack's global tags.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from ..errors import InputError, IntegrityError, ScipipeError
from ..eups.buildid import BuildId, allocate, build_number, format_content_line, parse_content_db
from ..eups.manifest import Manifest
from ..infra import git
from ..infra.files import read_text, write_atomic

log = logging.getLogger(__name__)

CONTENT_DB = "content_sha.db.txt"


class VersionDb:
    """A versiondb checkout at ``path``; commits and tags by ``identity`` (name, email)
    when given, else by git's configured user."""

    def __init__(self, path: Path, identity: git.Identity | None = None) -> None:
        self.path = Path(path)
        self.identity = identity

    def __repr__(self) -> str:
        return f"VersionDb({str(self.path)!r})"

    @property
    def manifests_dir(self) -> Path:
        return self.path / "manifests"

    @property
    def content_db_path(self) -> Path:
        return self.manifests_dir / CONTENT_DB

    def manifest_path(self, build_id: str) -> Path:
        return self.manifests_dir / f"{build_id}.txt"

    @classmethod
    def init(cls, path: Path, identity: git.Identity | None = None) -> VersionDb:
        """Create an empty versiondb: a git repository with ``manifests/`` and one commit."""
        path = Path(path)
        if path.exists() and any(path.iterdir()):
            raise InputError(f"cannot create a versiondb in {path}: the directory is not empty")
        git.init(path)
        db = cls(path, identity)
        write_atomic(db.content_db_path, "")
        git.commit_all(path, "Initialize the versiondb.", identity=identity)
        return db

    def _check(self) -> None:
        if not git.is_repo(self.path):
            raise InputError(
                f"versiondb {self.path} is not a git repository",
                hint=f"clone one there (git clone https://github.com/lsst/versiondb {self.path}), "
                "or move it away to number builds from the stack's bN tags",
            )

    def build_tags(self) -> list[str]:
        """The git tags ``bN``, in numeric order."""
        self._check()
        found = [t for t in git.tags(self.path, "b*") if build_number(t) is not None]
        return sorted(found, key=lambda t: build_number(t) or 0)

    def content_db(self) -> dict[str, str]:
        """``{content sha1: build id}`` from ``manifests/content_sha.db.txt`` (none: empty)."""
        path = self.content_db_path
        if not path.is_file():
            return {}
        return parse_content_db(read_text(path, "versiondb content db"), path)

    def allocate(self, manifest: Manifest, eups_tags: Iterable[str] = ()) -> BuildId:
        """The build id for ``manifest``: the recorded one for the same content, or a new one.

        ``eups_tags`` are the stack's EUPS tags; a new id is never one of them.
        """
        return allocate(manifest.content_hash(), self.content_db(), self.build_tags(), eups_tags)

    def record(self, manifest: Manifest) -> bool:
        """Record ``manifest`` (which carries its build id) and return whether it did.

        A new id: write ``manifests/bN.txt``, append ``<content>\\tbN`` to the content db,
        commit both ("Updates for build bN.") and tag the commit ``bN`` (annotated,
        "Build ID bN"); nothing else in the work tree goes into the commit.

        A reused id (the content db already maps this content to it): nothing to write,
        so False -- provided the versiondb is clean (spec: reusing an id while it is
        dirty is an error) and the recorded manifest is byte-identical to this one.
        """
        self._check()
        bid = manifest.build_id
        if bid is None or build_number(bid) is None:
            raise InputError(f"cannot record a manifest without a build id bNNNN (got {bid!r})")
        text = manifest.to_text()
        target = self.manifest_path(bid)
        content = manifest.content_hash()
        db = self.content_db()
        if db.get(content) == bid:
            if git.is_dirty(self.path):
                raise ScipipeError(
                    f"cannot reuse build id {bid}: the versiondb {self.path} has uncommitted "
                    "changes",
                    hint=f"commit or discard them (git -C {self.path} status)",
                )
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                state = "missing" if not target.is_file() else "different"
                raise IntegrityError(
                    f"versiondb {self.path}: content {content[:12]} is recorded as {bid} but "
                    f"manifests/{bid}.txt is {state}"
                )
            log.info("build id %s reused: its manifest is already recorded", bid)
            return False
        if bid in db.values() or target.exists() or bid in self.build_tags():
            raise IntegrityError(
                f"build id {bid} is already recorded in versiondb {self.path} with other content",
                hint="let the versiondb allocate the id, or pick an unused one",
            )
        had_db = self.content_db_path.is_file()
        old = read_text(self.content_db_path, "versiondb content db") if had_db else ""
        head = git.head_sha(self.path)
        rel = [f"manifests/{target.name}", f"manifests/{CONTENT_DB}"]
        try:
            write_atomic(target, text)
            sep = "\n" if old and not old.endswith("\n") else ""
            write_atomic(self.content_db_path, old + sep + format_content_line(content, bid))
            git.commit_paths(self.path, f"Updates for build {bid}.", rel, identity=self.identity)
        except BaseException:
            # leave the versiondb as it was, so that the next attempt can record bid
            if git.head_sha(self.path) == head:
                git.unstage(self.path, rel)
                target.unlink(missing_ok=True)
                if had_db:
                    write_atomic(self.content_db_path, old)
                else:
                    self.content_db_path.unlink(missing_ok=True)
            raise
        git.tag_annotated(self.path, bid, f"Build ID {bid}", identity=self.identity)
        log.info("recorded build %s in %s", bid, self.path)
        return True
