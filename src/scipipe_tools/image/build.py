"""``scipipe image build``: an OCI image of a published stack, written without Docker.

1. **Inputs** (reads only): the tag's list in the first root that has it, its
   environment lock (``env/<tag>.env`` in the first root that has one, or
   ``env_lock``), the base image (a layout, or a registry image fetched with skopeo).
2. **Environment layer**: the lock installed at ``<home>/conda/envs/<name>``; cached by
   the lock's bytes (:mod:`.envlayer`), so an unchanged lock reuses its layer.
3. **Stack layer**: ``<home>/loadLSST.{sh,bash,...}`` and the products installed from
   the roots with the tag (and ``current``) into the stack at ``<env>/share/eups`` (as
   ``lsstinstall`` lays it out, where the eups package's activation points ``EUPS_PATH``).
4. **Image**: the base's config with the two layers' diff_ids and history appended, a
   manifest, and every tag pointing at it in the layout's ``index.json``.

Same inputs, same digests: layers are reproducible (:mod:`.layer`, :mod:`.pin`), the
config's times are the epoch, JSON is canonical.  Only the tags carry the build time.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from ..distrib.install import InstallOptions, install
from ..errors import InputError, ResolutionError
from ..eups.taglist import TagList
from ..infra.files import write_atomic
from ..infra.paths import cache_root
from ..infra.progress import NULL, Progress
from ..infra.roots import find_taglist, open_root
from ..installer.plan import conda_env_of_tag, env_name
from ..installer.scripts import LOAD_NAMES, load_script
from ..names import serverlayout as layout
from ..stack.stack import Stack, check_tag
from .base import BaseImage, open_base
from .envlayer import CachedLayer, EnvSource, env_layer
from .layer import Layer, write_layer
from .oci import CONFIG, MANIFEST, Descriptor, Layout
from .pin import pin_ups_db
from .tags import image_tags

DEFAULT_HOME = PurePosixPath("/opt/lsst/software/stack")
CREATED = "1970-01-01T00:00:00Z"
POSTHOOK = Path(__file__).resolve().parents[1] / "installer" / "posthook.py"


@dataclass(frozen=True)
class ImageOptions:
    roots: tuple[str, ...]
    tag: str
    products: tuple[str, ...]
    output: Path
    base: str
    flavor: str
    platform: str = "linux-64"
    #: the environment lock; None: ``env/<tag>.env`` from the roots
    env_lock: Path | None = None
    env_name: str | None = None
    home: PurePosixPath = DEFAULT_HOME
    extra_tags: tuple[str, ...] = ()
    os_prefix: str = "al9"
    #: the UTC timestamp tag (``YYYYMMDDTHHMMSSZ``); None: no timestamp tag
    stamp: str | None = None
    #: built layers (the environment's, by lock) and the package cache; None: the user's
    cache: Path | None = None
    base_tls_verify: bool = True


@dataclass
class ImageResult:
    output: Path
    manifest: Descriptor
    config: Descriptor
    base: str
    env: Layer
    stack: Layer
    env_reused: bool
    env_name: str
    tags: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "layout": str(self.output),
            "manifest": self.manifest.digest,
            "config": self.config.digest,
            "base": self.base,
            "env_layer": self.env.descriptor.digest,
            "env_layer_reused": self.env_reused,
            "stack_layer": self.stack.descriptor.digest,
            "env_name": self.env_name,
            "tags": self.tags,
        }


@dataclass(frozen=True)
class Inputs:
    taglist: TagList
    env: EnvSource
    env_name: str
    tags: list[str]


def resolve(o: ImageOptions) -> Inputs:
    """Everything the build reads first, so bad input fails before any work."""
    check_tag(o.tag)
    if not o.products:
        raise InputError("no product to put in the image")
    if not o.roots:
        raise InputError("no distribution root", hint="pass --root URL|DIR")
    tags = image_tags(o.tag, o.extra_tags, o.os_prefix, o.stamp)
    roots = [open_root(r) for r in o.roots]
    found = [(r, t) for r in roots if (t := find_taglist(r, o.tag)) is not None]
    if not found:
        raise ResolutionError(
            f"unknown tag {o.tag!r}: no {o.tag}.list in {', '.join(o.roots)}",
            hint="`scipipe distrib list ROOT` shows the tags a root has",
        )
    root, taglist = found[0]
    version = conda_env_of_tag(taglist.conda_env, o.tag, root.url(layout.source_taglist(o.tag)))
    name = env_name(version, False, o.env_name)
    if o.env_lock is not None:
        try:
            text, source = o.env_lock.read_text("utf-8"), str(o.env_lock)
        except OSError as exc:
            raise InputError(
                f"{o.env_lock}: cannot read the environment lock: {exc.strerror}"
            ) from None
    else:
        rel = layout.env_file(o.tag)
        holder = next((r for r in roots if r.exists(rel)), None)
        if holder is None:
            raise ResolutionError(
                f"no environment lock for {o.tag}: no {rel} in {', '.join(o.roots)}",
                hint="pass --env-lock FILE",
            )
        text, source = holder.read_text(rel), holder.url(rel)
    prefix = o.home / "conda" / "envs" / name
    return Inputs(taglist, EnvSource(text, source, o.platform, prefix), name, tags)


def build(o: ImageOptions, progress: Progress = NULL) -> ImageResult:
    inputs = resolve(o)
    cache = o.cache or cache_root("image")
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".image-", dir=cache) as tmp:
        work = Path(tmp)
        base = open_base(o.base, work, tls_verify=o.base_tls_verify)
        env = env_layer(inputs.env, cache, o.home / "conda" / "pkgs", progress)
        stack_blob = work / "stack.tar.gz"
        stack = _stack_layer(o, inputs, work / "tree", stack_blob, progress)
        out = Layout(o.output)
        out.init()
        for desc in base.layers:
            out.put_file(base.layout.blob_path(desc.digest), desc)
        out.put_file(env.blob, env.layer.descriptor)
        out.put_file(stack_blob, stack.descriptor)
    config = out.put_json(_config(base, o, inputs, env, stack), CONFIG)
    manifest = out.put_json(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": config.to_json(),
            "layers": [d.to_json() for d in (*base.layers, env.layer.descriptor, stack.descriptor)],
            "annotations": {"org.lsst.eups.tag": o.tag},
        },
        MANIFEST,
    )
    out.set_tags(manifest, inputs.tags)
    return ImageResult(o.output, manifest, config, o.base, env.layer, stack, env.reused,
                       inputs.env_name, inputs.tags)  # fmt: skip


def _stack_layer(
    o: ImageOptions, inputs: Inputs, tree: Path, dest: Path, progress: Progress
) -> Layer:
    """``<home>``: the load scripts, and the stack with the products installed."""
    rel_env = inputs.env.prefix.relative_to(o.home)
    stack_dir = tree / rel_env / "share" / "eups"
    Stack.create(stack_dir, o.flavor)
    write_atomic(stack_dir / "pkgroot", "|".join(o.roots) + "\n")
    write_atomic(stack_dir / "site" / "distribInstallPostHook.py", POSTHOOK.read_text("utf-8"))
    # ``current`` too: the image holds one version of each, so plain ``setup P`` works
    options = InstallOptions(roots=o.roots, products=o.products, stack=stack_dir,
                             flavor=o.flavor, tag=o.tag, current=True)  # fmt: skip
    install(options, progress)
    for debris in stack_dir.glob(".*"):
        if debris.is_file():
            debris.unlink()  # the install's lock file
    pin_ups_db(stack_dir)
    text = load_script(Path(str(o.home)), Path(str(o.home / "conda")), inputs.env_name)
    for name in LOAD_NAMES:
        write_atomic(tree / name, text)
    return write_layer(tree, o.home, dest)


def _config(
    base: BaseImage, o: ImageOptions, inputs: Inputs, env: CachedLayer, stack: Layer
) -> dict[str, Any]:
    config = dict(base.config)
    run = dict(config.get("config") or {})
    labels = dict(run.get("Labels") or {})
    labels.update({"org.lsst.eups.tag": o.tag, "org.lsst.eups.products": " ".join(o.products),
                   "org.lsst.conda.env": inputs.env_name})  # fmt: skip
    run["Labels"] = labels
    run["Cmd"] = ["/bin/bash", "--rcfile", str(o.home / "loadLSST.bash"), "-i"]
    run["WorkingDir"] = str(o.home)
    config["config"] = run
    config["created"] = CREATED
    config.setdefault("architecture", "amd64")
    config.setdefault("os", "linux")
    rootfs = dict(config.get("rootfs") or {})
    rootfs["type"] = "layers"
    rootfs["diff_ids"] = [*rootfs.get("diff_ids", []), env.layer.diff_id, stack.diff_id]
    config["rootfs"] = rootfs
    history = list(config.get("history") or [])
    history.append({"created": CREATED, "created_by": f"scipipe image build: environment "
                    f"{inputs.env_name} from {os.path.basename(inputs.env.name)}"})  # fmt: skip
    history.append({"created": CREATED, "created_by": f"scipipe image build: "
                    f"{' '.join(o.products)} tagged {o.tag}"})  # fmt: skip
    config["history"] = history
    return config


def layer_digests(layout_dir: Path, tag: str) -> Sequence[str]:
    """The layer digests of the image tagged ``tag`` in a layout (base first)."""
    _, manifest = Layout(layout_dir).manifest_for(tag)
    return [str(d["digest"]) for d in manifest.get("layers") or []]
