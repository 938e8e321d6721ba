"""The environment layer: the tag's environment lock installed at its path in the image.

The layer is cached by what it is made from (the lock's bytes, the platform, the path in
the image), so the next weekly with the same lock reuses the blob without installing
anything; and since the layer is reproducible, a registry that has it already is not
sent it again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..env.create import CreateOptions, create_env
from ..infra.files import write_atomic
from ..infra.lockfile import parse_env
from ..infra.progress import NULL, Progress
from .layer import Layer, write_layer
from .oci import LAYER_GZIP, Descriptor
from .pin import pin_conda_meta

#: bumped when the layer's making changes, so old cache entries are not reused
FORMAT = 1


@dataclass(frozen=True)
class EnvSource:
    text: str
    #: where the lock came from, for messages
    name: str
    platform: str
    #: the environment's path in the image
    prefix: PurePosixPath

    @property
    def key(self) -> str:
        data = {"format": FORMAT, "lock_sha256": hashlib.sha256(self.text.encode()).hexdigest(),
                "platform": self.platform, "prefix": str(self.prefix)}  # fmt: skip
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class CachedLayer:
    layer: Layer
    blob: Path
    reused: bool


def env_layer(
    src: EnvSource, cache: Path, pkgs: PurePosixPath, progress: Progress = NULL
) -> CachedLayer:
    """The layer for ``src`` from ``cache``, made there first when it is not."""
    lock = parse_env(src.text, src.name, src.platform)  # a bad lock fails before anything
    layers = cache / "layers"
    record = layers / f"env-{src.key}.json"
    found = _cached(record, layers)
    if found is not None:
        return found
    layers.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".env-", dir=layers) as work:
        prefix = Path(work) / "env"
        options = CreateOptions(
            prefix=prefix,
            platform=src.platform,
            cache=cache / "conda",
            source=src.name,
            lock_digest=hashlib.sha256(src.text.encode()).hexdigest(),
            install_as=Path(str(src.prefix)),
        )
        create_env(lock, options, progress)
        pin_conda_meta(prefix, pkgs)
        made = write_layer(prefix, src.prefix, Path(work) / "layer.tar.gz")
        blob = layers / "blobs" / made.descriptor.hex
        blob.parent.mkdir(exist_ok=True)
        os.replace(Path(work) / "layer.tar.gz", blob)
    data = {"digest": made.descriptor.digest, "size": made.descriptor.size,
            "diff_id": made.diff_id, "files": made.files}  # fmt: skip
    write_atomic(record, json.dumps(data, sort_keys=True) + "\n")
    return CachedLayer(made, blob, False)


def _cached(record: Path, layers: Path) -> CachedLayer | None:
    try:
        data = json.loads(record.read_text("utf-8"))
        desc = Descriptor(LAYER_GZIP, str(data["digest"]), int(data["size"]))
        layer = Layer(desc, str(data["diff_id"]), int(data["files"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    blob = layers / "blobs" / desc.hex
    if not blob.is_file() or blob.stat().st_size != desc.size:
        return None  # the record outlived its blob: make it again
    return CachedLayer(layer, blob, True)
