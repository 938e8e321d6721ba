"""``scipipe manifest``: read, show and compare lsst_build manifests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from ..eups.manifest import diff_manifests
from ..stack.readers import load_manifest
from .common import columns, echo, emit_json, get_app
from .options import json_option, takes, versiondb_option

by_build_id = versiondb_option("versiondb checkout, to name manifests by build id (bNNNN)")


@click.group("manifest")
def manifest_group() -> None:
    """Read, show and compare manifests (manifest.txt, versiondb bNNNN)."""


@dataclass(frozen=True)
class ShowArgs:
    manifest: str
    versiondb: Path | None


@manifest_group.command("show")
@click.argument("manifest")
@by_build_id
@json_option
@takes(ShowArgs)
def show_cmd(a: ShowArgs) -> None:
    """Show a manifest (a file, or bNNNN with --versiondb) and its content hash."""
    m = load_manifest(a.manifest, a.versiondb)
    if get_app().json:
        emit_json(
            {
                "build_id": m.build_id,
                "content_hash": m.content_hash(),
                "products": [
                    {"name": e.name, "sha1": e.sha1, "version": e.version, "deps": list(e.deps)}
                    for e in m.entries
                ],
            }
        )
        return
    echo(f"BUILD={m.build_id or '-'}  products={len(m)}  content={m.content_hash()}")
    echo(
        columns(
            ["product", "sha1", "version", "deps"],
            [[e.name, e.sha1[:12], e.version, ",".join(e.deps)] for e in m.entries],
        )
    )


@dataclass(frozen=True)
class DiffArgs:
    old: str
    new: str
    versiondb: Path | None
    exit_code: bool


@manifest_group.command("diff")
@click.argument("old")
@click.argument("new")
@by_build_id
@click.option("--exit-code", is_flag=True, help="Exit 1 when the manifests differ.")
@json_option
@takes(DiffArgs)
def diff_cmd(a: DiffArgs) -> int:
    """Products added, removed and changed between two manifests."""
    old, new = load_manifest(a.old, a.versiondb), load_manifest(a.new, a.versiondb)
    d = diff_manifests(old, new)
    if get_app().json:
        emit_json(
            {
                "old": old.build_id,
                "new": new.build_id,
                "added": [{"name": e.name, "version": e.version} for e in d.added],
                "removed": [{"name": e.name, "version": e.version} for e in d.removed],
                "changed": [
                    {
                        "name": n.name,
                        "old_version": o.version,
                        "new_version": n.version,
                        "old_sha1": o.sha1,
                        "new_sha1": n.sha1,
                        "source_changed": o.sha1 != n.sha1,
                    }
                    for o, n in d.changed
                ],
                "deps_changed": [
                    {"name": n.name, "old_deps": list(o.deps), "new_deps": list(n.deps)}
                    for o, n in d.deps_changed
                ],
                "unchanged": d.unchanged,
            }
        )
    else:
        for e in d.added:
            echo(f"+ {e.name} {e.version}")
        for e in d.removed:
            echo(f"- {e.name} {e.version}")
        for o, n in d.changed:
            why = "source" if o.sha1 != n.sha1 else "deps"
            echo(f"~ {n.name} {o.version} -> {n.version} ({why})")
        for o, n in d.deps_changed:
            echo(f"~ {n.name} deps {','.join(o.deps)} -> {','.join(n.deps)}")
        echo(
            f"{len(d.added)} added, {len(d.removed)} removed, "
            f"{len(d.changed) + len(d.deps_changed)} changed, {d.unchanged} unchanged"
        )
    return 1 if a.exit_code and not d.empty else 0
