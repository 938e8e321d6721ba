"""A binary cache shared by agents: ``scipipe build --cache DIR|URL`` (issue 17).

Before a product is built from source, the cache is asked for it; after it is built, it is
stored there, so the next agent (or the next run) installs it instead of building it.

Keys.  ``<env>/<flavor>/<product>/<version>``: the version (``g<sha>+<deps>``) changes with
the product's commit and with every dependency's version, and ``<env>`` names the
environment it was built in (the hash of its lock when it was made from one, else of its
package listing, else of the Python that built it).

Objects.  ``<key>-<sha256>.tar.gz`` holds the installed tree as ``<product>/<version>/``
(an EUPS binary tarball); ``<key>.json``, the commit record, names that tarball with its
checksum and size.  A reader looks only for the record, so an object is visible only once
complete.  A writer stores the tarball under its own content name first, then creates the
record exclusively: when two agents build the same product at once, both builds are
valid, the first complete record wins and the other agent's tarball is removed.  A
download is verified against the record before it is unpacked.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import socket
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import InputError, IntegrityError, NetworkError, ResolutionError
from ..infra import archive
from ..infra.objectstore import ObjectStore, S3Url, is_s3_url, parse_s3_url
from ..infra.roots import Root, check_rel, open_root
from ..stack.unpack import unpack_binary

log = logging.getLogger(__name__)

SCHEMA = 1


def env_key(entry: Mapping[str, Any]) -> str:
    """The cache's name for the environment a build ran in (a build record's entry)."""
    if entry.get("lock_sha256") and entry.get("lock_matches"):
        basis = f"lock:{entry['lock_sha256']}"
    elif entry.get("explicit_sha256"):
        basis = f"listing:{entry['explicit_sha256']}"
    else:
        python = entry.get("python") or {}
        basis = f"python:{python.get('version')}:{entry.get('kind')}"
    return hashlib.sha256(basis.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CacheRecord:
    product: str
    version: str
    flavor: str
    env: str
    tarball: str
    sha256: str
    size: int
    built_by: str
    created: str
    schema: int = SCHEMA

    def to_text(self) -> str:
        return json.dumps(asdict(self), indent=1) + "\n"

    @classmethod
    def parse(cls, data: bytes, where: str) -> CacheRecord:
        try:
            raw = json.loads(data)
            record = cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})
        except (ValueError, TypeError, KeyError) as exc:
            raise IntegrityError(f"{where}: not a cache record ({exc})") from None
        check_rel(record.tarball)
        if "/" in record.tarball:
            raise IntegrityError(f"{where}: tarball {record.tarball!r} is not beside its record")
        return record


class BinaryCache:
    """The cache at ``spec``: a directory or an ``s3://`` prefix (read and written), or
    an http(s) root (read only)."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        text = spec.removeprefix("file://")
        self.local: Path | None = None if "://" in text else Path(text).absolute()
        self.bucket: S3Url | None = parse_s3_url(spec) if is_s3_url(spec) else None
        self._store: ObjectStore | None = None
        if self.local is not None:
            self.local.mkdir(parents=True, exist_ok=True)
            self.root: Root = open_root(str(self.local))
        else:
            self.root = open_root(spec)
        self._said_read_only = False

    def __str__(self) -> str:
        return self.spec

    @staticmethod
    def key(product: str, version: str, flavor: str, env: str) -> str:
        return check_rel(f"{env}/{flavor}/{product}/{version}")

    # -- reading -----------------------------------------------------------------

    def fetch(
        self, product: str, version: str, flavor: str, env: str, staging: Path, scratch: Path
    ) -> CacheRecord | None:
        """Install ``product`` into ``staging`` from the cache; None when it is not there
        (or cannot be used: said in a warning, and the product is built instead)."""
        key = self.key(product, version, flavor, env)
        try:
            try:  # one request: a miss is the common answer, not worth asking twice
                data = self.root.read_bytes(f"{key}.json")
            except ResolutionError:
                return None
            record = CacheRecord.parse(data, self.root.url(key))
            rel = f"{PurePosixPath(key).parent}/{record.tarball}"
            scratch.mkdir(parents=True, exist_ok=True)
            tarball = scratch / record.tarball
            try:
                self.root.fetch(rel, tarball)
                archive.verify_sha256(tarball, record.sha256, self.root.url(rel))
                unpack_binary(tarball, staging, product, version, record.tarball)
            finally:
                tarball.unlink(missing_ok=True)
        except (IntegrityError, NetworkError, ResolutionError) as exc:
            log.warning("%s: the cache's copy cannot be used, building it: %s", product, exc)
            return None
        return record

    # -- writing -----------------------------------------------------------------

    def store(
        self, product: str, version: str, flavor: str, env: str, installed: Path
    ) -> CacheRecord | None:
        """Store an installed product; None when another agent's copy got there first
        (or the cache is read-only)."""
        if self.bucket is not None:
            return self._store_s3(product, version, flavor, env, installed)
        if self.local is None:
            if not self._said_read_only:
                log.warning("the cache %s is read-only (http): built products are not stored", self)
                self._said_read_only = True
            return None
        key = self.key(product, version, flavor, env)
        record_path = self.local / f"{key}.json"
        if record_path.exists():
            return None
        folder = record_path.parent
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".upload-", suffix=".tar.gz", dir=folder)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            record = _pack(installed, tmp, product, version, flavor, env)
            name = record.tarball
            os.chmod(tmp, 0o644)
            os.replace(tmp, folder / name)
        finally:
            tmp.unlink(missing_ok=True)
        if _create_exclusively(record_path, record.to_text()):
            return record
        (folder / name).unlink(missing_ok=True)  # another agent's record came first
        return None

    def _store_s3(
        self, product: str, version: str, flavor: str, env: str, installed: Path
    ) -> CacheRecord | None:
        """The same order in a bucket: the content-named tarball, then the record, written
        only when no record was there (a race inside that window leaves two complete
        records one after the other; either names a complete, verified tarball)."""
        assert self.bucket is not None
        if self._store is None:
            self._store = ObjectStore()
        key = self.key(product, version, flavor, env)
        record_url = self.bucket.child(f"{key}.json")
        if self._store.head(record_url) is not None:
            return None
        with tempfile.TemporaryDirectory(prefix="scipipe-cache-") as tmp:
            tarball = Path(tmp) / "product.tar.gz"
            record = _pack(installed, tarball, product, version, flavor, env)
            where = f"{PurePosixPath(key).parent}/{record.tarball}"
            self._store.put(self.bucket.child(where), tarball)
        if self._store.head(record_url) is not None:
            return None
        self._store.put(record_url, record.to_text().encode())
        return record


def _pack(
    installed: Path, tarball: Path, product: str, version: str, flavor: str, env: str
) -> CacheRecord:
    """The installed tree as ``<product>/<version>/`` in ``tarball``, and its record."""
    archive.make_tarball(installed, tarball, arcname=f"{product}/{version}")
    sha = archive.sha256_file(tarball)
    return CacheRecord(
        product, version, flavor, env, f"{version}-{sha[:16]}.tar.gz", sha,
        tarball.stat().st_size, socket.gethostname(),
        dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )  # fmt: skip


def _create_exclusively(path: Path, text: str) -> bool:
    """Write ``path`` complete, only if it does not exist yet (a hard link of a finished
    temporary file: readers never see it partial, and exactly one writer wins)."""
    fd, tmp_name = tempfile.mkstemp(prefix=".record-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp_name, 0o644)
        try:
            os.link(tmp_name, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(tmp_name)


def open_cache(spec: str | None) -> BinaryCache | None:
    if not spec:
        return None
    try:
        return BinaryCache(spec)
    except OSError as exc:
        raise InputError(f"cannot use {spec} as a binary cache: {exc.strerror or exc}") from None
