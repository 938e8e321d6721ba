"""The base image: an OCI layout on disk, or a registry reference fetched with skopeo.

``oci:DIR[:TAG]`` or an existing ``DIR[:TAG]`` is a layout; ``docker://REF`` or any
other ``host/repo:tag`` is copied into a temporary layout with ``skopeo copy``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, Location
from ..infra import proc
from .oci import CONFIG, DOCKER_MANIFEST, LAYER_TYPES, MANIFEST, Descriptor, Layout

SKOPEO_TIMEOUT = 1800.0


@dataclass(frozen=True)
class BaseImage:
    ref: str
    layout: Layout
    manifest_digest: str
    config: dict[str, Any]
    layers: tuple[Descriptor, ...]


def skopeo() -> str:
    found = shutil.which("skopeo")
    if found is None:
        raise InputError("skopeo is not installed", hint="apt-get install skopeo")
    return found


def split_layout_ref(spec: str) -> tuple[Path, str | None]:
    """``DIR`` or ``DIR:TAG`` (a directory whose name has a colon is taken whole)."""
    if Path(spec).is_dir():
        return Path(spec), None
    head, sep, tag = spec.rpartition(":")
    if sep and "/" not in tag and Path(head).is_dir():
        return Path(head), tag
    raise InputError("no such OCI image layout", location=Location(spec))


def is_registry_ref(spec: str) -> bool:
    if spec.startswith("docker://"):
        return True
    if spec.startswith("oci:") or spec.startswith((".", "/", "~")):
        return False
    return not Path(spec.split(":", 1)[0]).exists()


def open_base(spec: str, work: Path, *, tls_verify: bool = True) -> BaseImage:
    """The base image ``spec``; a registry image is copied under ``work`` first."""
    if not spec:
        raise InputError("no base image given", hint="pass --base oci:DIR[:TAG] or docker://REF")
    if is_registry_ref(spec):
        ref = spec if spec.startswith("docker://") else f"docker://{spec}"
        dest = work / "base"
        argv = [skopeo(), "copy", f"--src-tls-verify={str(tls_verify).lower()}",
                ref, f"oci:{dest}:base"]  # fmt: skip
        proc.run(argv, timeout=SKOPEO_TIMEOUT)
        return read_base(Layout(dest), "base", spec)
    path, tag = split_layout_ref(spec.removeprefix("oci:"))
    return read_base(Layout(path), tag, spec)


def read_base(layout: Layout, tag: str | None, spec: str) -> BaseImage:
    where = Location(spec)
    digest, manifest = layout.manifest_for(tag)
    if manifest.get("mediaType", MANIFEST) not in (MANIFEST, DOCKER_MANIFEST):
        kind = manifest.get("mediaType")
        raise InputError(f"not a single-platform image manifest ({kind})", location=where)
    config_desc = _descriptor(manifest.get("config"), where, "config")
    config = layout.read_json(config_desc.digest)
    layers = tuple(_descriptor(d, where, "layer") for d in manifest.get("layers") or [])
    for layer in layers:
        if layer.media_type not in LAYER_TYPES:
            raise InputError(f"unsupported layer type {layer.media_type}", location=where)
        if not layout.blob_path(layer.digest).is_file():
            raise InputError(f"layer {layer.digest} is missing from the layout", location=where)
    rootfs = config.get("rootfs")
    diff_ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(diff_ids, list) or len(diff_ids) != len(layers):
        raise InputError("config's rootfs.diff_ids do not match the layers", location=where)
    return BaseImage(spec, layout, digest, config, layers)


def _descriptor(data: object, where: Location, what: str) -> Descriptor:
    if not isinstance(data, dict):
        raise InputError(f"manifest has no {what} descriptor", location=where)
    try:
        media = str(data.get("mediaType") or CONFIG)
        return Descriptor(media, str(data["digest"]), int(data["size"]))
    except (KeyError, TypeError, ValueError):
        raise InputError(f"manifest's {what} descriptor is malformed", location=where) from None
