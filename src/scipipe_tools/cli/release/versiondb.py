"""``scipipe release versiondb-publish``: push the versiondb."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from ...errors import InputError
from ...release.vdbpublish import publish_versiondb, record_and_publish
from ...stack.readers import read_manifest
from ..common import echo, emit_json, get_app
from ..options import dry_run_option, json_option, takes, versiondb_option


@dataclass(frozen=True)
class VersiondbPublishArgs:
    versiondb: Path
    remote: str
    build_id: str | None
    manifest: Path | None
    dry_run: bool


@click.command("versiondb-publish")
@versiondb_option("The versiondb checkout", default=Path("versiondb"))
@click.option("--remote", default="origin", show_default=True, help="The remote to push to.")
@click.option(
    "--build-id", default=None, metavar="bNNNN", help="Build tag to push [default: b* on HEAD]."
)
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Record this manifest (with its BUILD=) first.",
)
@dry_run_option("Show what would be pushed; change nothing.")
@json_option
@takes(VersiondbPublishArgs)
def versiondb_publish_cmd(a: VersiondbPublishArgs) -> None:
    """Push the versiondb's branch and build tag to its remote (only what it lacks)."""
    if a.manifest is not None:
        m = read_manifest(a.manifest, strict=True)
        if a.build_id is not None and a.build_id != m.build_id:
            raise InputError(f"--build-id {a.build_id} but {a.manifest} is BUILD={m.build_id}")
        result = record_and_publish(a.versiondb, m, a.remote, dry_run=a.dry_run)
        assert result is not None
    else:
        result = publish_versiondb(a.versiondb, a.build_id, remote=a.remote, dry_run=a.dry_run)
    if get_app().json:
        emit_json(result.to_json())
        return
    verb = "would push" if a.dry_run else "pushed"
    pushing = [result.branch] if result.branch_action == "push" else []
    if result.tag_action == "push":
        pushing.append(str(result.build_id))
    if pushing:
        echo(f"{verb} {' and '.join(pushing)} to {a.remote}")
    else:
        held = ", ".join(x for x in (result.branch, result.build_id) if x)
        echo(f"{a.remote} is up to date ({held})")
