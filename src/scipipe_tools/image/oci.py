"""The OCI image layout, written and read directly (no Docker daemon).

A layout is a directory: ``oci-layout``, ``index.json`` (one manifest descriptor per
tag, the tag in ``org.opencontainers.image.ref.name``) and ``blobs/sha256/<hex>``
(manifests, configs, layers), every blob named by the sha256 of its bytes.  JSON
documents are written with sorted keys and no whitespace, so the same content is the
same digest.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, Location
from ..infra.files import write_atomic

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
REF_NAME = "org.opencontainers.image.ref.name"
#: Docker's schema-2 media types, as skopeo copies them from some registries
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
LAYER_TYPES = (LAYER_GZIP, LAYER_TAR, DOCKER_LAYER)


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}

    @property
    def hex(self) -> str:
        return self.digest.split(":", 1)[1]


def canonical(data: Mapping[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


class Layout:
    """An OCI image layout directory (made when written to)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def blobs(self) -> Path:
        return self.root / "blobs" / "sha256"

    def blob_path(self, digest: str) -> Path:
        algo, _, hexd = digest.partition(":")
        if algo != "sha256" or len(hexd) != 64 or not all(c in "0123456789abcdef" for c in hexd):
            raise InputError(f"unsupported digest {digest!r}", location=Location.of(self.root))
        return self.blobs / hexd

    def init(self) -> None:
        self.blobs.mkdir(parents=True, exist_ok=True)
        if not (self.root / "oci-layout").exists():
            write_atomic(self.root / "oci-layout", '{"imageLayoutVersion":"1.0.0"}')
        if not (self.root / "index.json").exists():
            self._write_index([])

    def put_bytes(self, data: bytes, media_type: str) -> Descriptor:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        path = self.blob_path(digest)
        if not path.exists():
            self.blobs.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return Descriptor(media_type, digest, len(data))

    def put_json(self, data: Mapping[str, Any], media_type: str) -> Descriptor:
        return self.put_bytes(canonical(data), media_type)

    def put_file(self, source: Path, desc: Descriptor) -> None:
        """Add a blob made elsewhere (a cached layer): hard-linked when it can be."""
        path = self.blob_path(desc.digest)
        if path.exists():
            return
        self.blobs.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
        os.replace(tmp, path)

    def read_json(self, digest: str) -> dict[str, Any]:
        path = self.blob_path(digest)
        try:
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise InputError(f"missing blob {digest}", location=Location.of(self.root)) from None
        except ValueError as exc:
            raise InputError(
                f"blob {digest} is not JSON: {exc}", location=Location.of(path)
            ) from None
        if not isinstance(data, dict):
            raise InputError(f"blob {digest} is not a JSON object", location=Location.of(path))
        return data

    def index(self) -> list[dict[str, Any]]:
        path = self.root / "index.json"
        try:
            data = json.loads(path.read_text("utf-8"))
        except FileNotFoundError:
            raise InputError(
                "not an OCI image layout (no index.json)", location=Location.of(self.root)
            ) from None
        except ValueError as exc:
            raise InputError(f"not JSON: {exc}", location=Location.of(path)) from None
        manifests = data.get("manifests") if isinstance(data, dict) else None
        if not isinstance(manifests, list):
            raise InputError("no 'manifests' list", location=Location.of(path))
        return [m for m in manifests if isinstance(m, dict)]

    def tags(self) -> dict[str, str]:
        """tag -> manifest digest."""
        return {
            str(m["annotations"][REF_NAME]): str(m["digest"])
            for m in self.index()
            if isinstance(m.get("annotations"), dict) and REF_NAME in m["annotations"]
        }

    def manifest_for(self, tag: str | None) -> tuple[str, dict[str, Any]]:
        """The manifest tagged ``tag`` (None: the only one)."""
        entries = self.index()
        if tag is None:
            if len(entries) != 1:
                raise InputError(
                    f"the layout holds {len(entries)} images: name one with DIR:TAG",
                    location=Location.of(self.root),
                )
            digest = str(entries[0]["digest"])
        else:
            tags = self.tags()
            if tag not in tags:
                known = ", ".join(sorted(tags)) or "none"
                raise InputError(
                    f"no image tagged {tag!r} (tags: {known})", location=Location.of(self.root)
                )
            digest = tags[tag]
        return digest, self.read_json(digest)

    def set_tags(self, manifest: Descriptor, tags: Sequence[str]) -> None:
        """Point every tag at ``manifest`` (a tag moved from another image leaves it)."""
        kept = [
            m for m in self.index() if (m.get("annotations") or {}).get(REF_NAME) not in set(tags)
        ]
        new = [{**manifest.to_json(), "annotations": {REF_NAME: t}} for t in tags]
        self._write_index(kept + new)

    def _write_index(self, manifests: list[dict[str, Any]]) -> None:
        data = {"schemaVersion": 2, "mediaType": INDEX, "manifests": manifests}
        write_atomic(self.root / "index.json", json.dumps(data, indent=1, sort_keys=True) + "\n")
