"""``scipipe image``: container images of a published stack (OCI layout, no Docker)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import click

from ..eups.flavor import current_flavor
from ..image.build import ImageOptions, build
from ..image.push import PushOptions, push
from ..image.tags import utc_stamp
from ..infra.roots import split_pkgroot
from .common import echo, emit_json, get_app, info
from .console import progress_for
from .options import flavor_option, json_option, takes


@click.group("image")
def image_group() -> None:
    """Container images of a published stack: build (OCI layout), push to a registry."""


def _roots(values: tuple[str, ...]) -> tuple[str, ...]:
    roots = [r for v in values for r in split_pkgroot(v)]
    return tuple(roots or split_pkgroot(os.environ.get("EUPS_PKGROOT", "")))


@dataclass(frozen=True)
class BuildArgs:
    products: tuple[str, ...]
    tag: str
    roots: tuple[str, ...]
    base: str
    output: Path
    flavor: str | None
    platform: str
    env_lock: Path | None
    env_name: str | None
    extra_tags: tuple[str, ...]
    os_prefix: str
    timestamp: str | None
    no_timestamp: bool
    cache: Path | None
    push_to: str | None
    tls_verify: bool


@image_group.command("build")
@click.argument("products", nargs=-1, required=True)
@click.option("-t", "--tag", required=True, help="The published EUPS tag (w_2025_10).")
@click.option("-r", "--root", "roots", multiple=True,
              help="Server root (dir or URL), in order [default: $EUPS_PKGROOT].")  # fmt: skip
@click.option("--base", required=True, metavar="REF",
              help="Base image: oci:DIR[:TAG], or docker://HOST/REPO:TAG.")  # fmt: skip
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path),
              default=Path("scipipe-image"), show_default=True,
              help="The OCI image layout to write (added to when it exists).")  # fmt: skip
@flavor_option()
@click.option("--platform", default="linux-64", show_default=True, help="Conda platform.")
@click.option("--env-lock", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The environment lock [default: env/TAG.env from the roots].")  # fmt: skip
@click.option("-e", "--env-name", default=None,
              help="The environment's name [default: lsst-scipipe-<rubin-env>].")  # fmt: skip
@click.option("--extra-tag", "extra_tags", multiple=True, metavar="TAG",
              help="Another tag (w_latest), also with the OS prefix.")  # fmt: skip
@click.option("--os-prefix", default="al9", show_default=True, help="Tag prefix ('' for none).")
@click.option("--timestamp", default=None, metavar="YYYYMMDDTHHMMSSZ",
              help="The UTC time in the timestamp tags [default: now].")  # fmt: skip
@click.option("--no-timestamp", is_flag=True, help="No timestamp tags.")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Layer and package cache [default: the scipipe cache's image/].")  # fmt: skip
@click.option("--push", "push_to", metavar="docker://HOST/REPO", default=None,
              help="Then push every tag to this repository.")  # fmt: skip
@click.option("--tls-verify/--no-tls-verify", default=True, show_default=True,
              help="Verify the registries' TLS (base pull, push).")  # fmt: skip
@json_option
@takes(BuildArgs)
def build_cmd(a: BuildArgs) -> None:
    """Build an OCI image of the published PRODUCTS of TAG: the environment and the
    stack as two layers on a base image; same inputs, same digests."""
    options = ImageOptions(
        roots=_roots(a.roots),
        tag=a.tag,
        products=a.products,
        output=a.output.absolute(),
        base=a.base,
        flavor=a.flavor or current_flavor(),
        platform=a.platform,
        env_lock=a.env_lock,
        env_name=a.env_name,
        extra_tags=a.extra_tags,
        os_prefix=a.os_prefix,
        stamp=None if a.no_timestamp else (a.timestamp or utc_stamp()),
        cache=a.cache,
        base_tls_verify=a.tls_verify,
    )
    app = get_app()
    with progress_for(app) as progress:
        result = build(options, progress)
        pushed = []
        if a.push_to:
            pushed = push(PushOptions(options.output, a.push_to, (), a.tls_verify), progress)
    if app.json:
        emit_json({**result.to_json(), "pushed": pushed})
        return
    reused = " (reused)" if result.env_reused else ""
    echo(f"image {result.manifest.digest} in {result.output}")
    echo(f"  environment layer {result.env.descriptor.digest}{reused}")
    echo(f"  stack layer       {result.stack.descriptor.digest}")
    for tag in result.tags:
        echo(f"  tag {tag}")
    for ref in pushed:
        info(f"pushed {ref}")


@dataclass(frozen=True)
class PushArgs:
    layout: Path
    dest: str
    tags: tuple[str, ...]
    tls_verify: bool


@image_group.command("push")
@click.argument("layout", type=click.Path(file_okay=False, path_type=Path))
@click.argument("dest", metavar="docker://HOST/REPO")
@click.option("--tag", "tags", multiple=True, help="Push only this tag [default: every tag].")
@click.option("--tls-verify/--no-tls-verify", default=True, show_default=True,
              help="Verify the registry's TLS.")  # fmt: skip
@json_option
@takes(PushArgs)
def push_cmd(a: PushArgs) -> None:
    """Push the images tagged in the OCI LAYOUT to a registry repository (with skopeo)."""
    app = get_app()
    with progress_for(app) as progress:
        pushed = push(PushOptions(a.layout, a.dest, a.tags, a.tls_verify), progress)
    if app.json:
        emit_json({"pushed": pushed})
        return
    for ref in pushed:
        echo(ref)
