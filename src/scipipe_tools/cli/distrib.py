"""``scipipe distrib publish|install|list``: the distribution server."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import click

from ..distrib.install import DEFAULT_JOBS, InstallOptions, InstallResult, install, plan_install
from ..distrib.publish import KEEP, PublishOptions, PublishPlan, publish
from ..distrib.retention import prune
from ..distrib.smoke import SmokeFailed, SmokeOptions, describe, smoke
from ..distrib.upload import StorePublish, publish_to_store
from ..errors import InputError, ResolutionError
from ..eups.flavor import current_flavor
from ..eups.remap import CREATE, INSTALL, read_remaps, remap_dirs
from ..infra.objectstore import ObjectStore, parse_s3_url
from ..infra.roots import open_root, read_taglist, split_pkgroot
from .common import columns, echo, emit_json, get_app, info
from .console import progress_for
from .inputs import open_stack, stack_path
from .options import (
    dry_run_option,
    flavor_option,
    jobs_option,
    json_option,
    sources_option,
    stack_option,
    takes,
)

#: ``-r/--root``: the server roots an install reads, in order
roots_option = click.option(
    "-r",
    "--root",
    "roots",
    multiple=True,
    help="Server root (dir or URL), tried in order [default: $EUPS_PKGROOT, '|'-separated].",
)


@click.group("distrib")
def distrib_group() -> None:
    """Publish to and install from an EUPS distribution server.

    \b
      scipipe distrib publish -b b12 -t w_2025_10 --server-dir /srv/eups --stack S lsst_distrib
      scipipe distrib publish -b b12 -t w_2025_10 --to s3://bucket/stack --stack S lsst_distrib
      scipipe distrib prune --to s3://bucket/stack --keep-daily 30 --keep-weekly 52
      scipipe distrib install -t w_2025_10 lsst_distrib     # roots from $EUPS_PKGROOT
      scipipe distrib list https://eups.example.org/stack/src -t w_2025_10
    """


@dataclass(frozen=True)
class PublishArgs:
    products: tuple[str, ...]
    build_id: str
    tag: str | None
    rolling: tuple[str, ...]
    server_dir: Path | None
    eups_root: Path | None
    to_url: str | None
    s3_endpoint: str | None
    stack_dir: Path | None
    sources: Path | None
    env_file: Path | None
    platform: str | None
    conda_env: str | None
    flavor: str | None
    jobs: int
    dry_run: bool


@distrib_group.command("publish")
@click.argument("products", nargs=-1, required=True)
@click.option("-b", "--build-id", required=True, help="The build to publish (its EUPS tag bN).")
@click.option("-t", "--tag", default=None, help="Publish under this tag instead of bN.")
@click.option(
    "--rolling", multiple=True, metavar="NAME", help="Also write the list as NAME (w_latest)."
)
@click.option(
    "--server-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="One server root to publish into (with --to: the staging root, kept).",
)
@click.option(
    "--eups-root",
    type=click.Path(file_okay=False, path_type=Path),
    help="An EUPS tree: binary root at DIR/<platform path>, source root at DIR/src.",
)
@click.option(
    "--to",
    "to_url",
    metavar="s3://BUCKET/PREFIX",
    default=None,
    help="Then sync the root to this object-storage prefix: only what changed is sent, "
    "tag lists last [staging root: a temporary one unless --server-dir/--eups-root].",
)
@click.option(
    "--s3-endpoint",
    metavar="URL",
    default=None,
    help="The S3 endpoint for --to [default: $AWS_ENDPOINT_URL, else AWS].",
)
@stack_option
@sources_option("Checkouts (DIR/<product>): also publish source packages.")
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="conda-lock.yml or @EXPLICIT file: the exact environment (env/<tag>.env).",
)
@click.option(
    "--platform", default=None, help="conda platform of --env-file [default: this machine]."
)
@click.option(
    "--conda-env", default=None, help="#CONDA_ENV [default: rubin-env's version in --env-file]."
)
@flavor_option()
@jobs_option("Tarballs packed at once.", os.cpu_count() or 1)
@dry_run_option("Print what would be written; write nothing.")
@json_option
@takes(PublishArgs)
def publish_cmd(a: PublishArgs) -> None:
    """Publish PRODUCTS and their dependencies, as installed under build bN, to a server root."""
    stack = open_stack(a.stack_dir, a.flavor)
    options = PublishOptions(
        build_id=a.build_id,
        products=a.products,
        stack=stack.root,
        flavor=stack.flavor,
        server_dir=a.server_dir,
        eups_root=a.eups_root,
        tag=a.tag,
        rolling=a.rolling,
        sources=a.sources,
        env_file=a.env_file,
        platform=a.platform,
        conda_env=a.conda_env,
        jobs=a.jobs,
        dry_run=a.dry_run,
        remap=read_remaps(remap_dirs(os.environ, [stack.root]), CREATE),
    )
    app = get_app()
    if a.to_url is not None:
        target, store = parse_s3_url(a.to_url), ObjectStore(a.s3_endpoint)
        with progress_for(app) as progress:
            done = publish_to_store(options, target, store, progress)
        if app.json:
            emit_json(done.to_json())
            return
        _print_store_publish(done, app.verbosity > 0)
        return
    if a.s3_endpoint is not None:
        raise InputError("--s3-endpoint goes with --to s3://BUCKET/PREFIX")
    with progress_for(app) as progress:
        plan = publish(options, progress)
    if app.json:
        emit_json(plan.to_json())
        return
    _print_publish(plan)


def _print_publish(plan: PublishPlan) -> None:
    verb = {"create": "write", "replace": "replace", "delete": "delete"}
    changed = [a for a in plan.actions if a.action != KEEP]
    prefix = "would " if plan.options.dry_run else ""
    for a in changed:
        echo(f"{prefix}{verb[a.action]:<8} {a.path}")
    kept = len(plan.actions) - len(changed)
    tags = ", ".join(plan.tags)
    where = str(plan.binary_root)
    if plan.source_root is not None and plan.source_root != plan.binary_root:
        where += f" and {plan.source_root}"
    info(
        f"{'would publish' if prefix else 'published'} {len(plan.collection.products)} products "
        f"of {plan.collection.build_id} as {tags} (#CONDA_ENV={plan.conda_env}) to {where}: "
        f"{len(changed)} files {'to change' if prefix else 'changed'}, {kept} already there"
    )


def _size(n: int) -> str:
    """``812 bytes``, ``3.4 MB``: what was sent, for people."""
    value, unit = float(n), "bytes"
    for bigger in ("kB", "MB", "GB", "TB"):
        if value < 1000:
            break
        value, unit = value / 1000, bigger
    return f"{n} bytes" if unit == "bytes" else f"{value:.1f} {unit}"


def _print_store_publish(done: StorePublish, verbose: bool) -> None:
    sync, plan = done.sync, done.plan
    dry = "would " if plan.options.dry_run else ""
    for t in sync.transfers:
        if t.action != "skip" or verbose:
            size = "" if t.size is None else f"  ({_size(t.size)})"
            verb = {"send": "send", "skip": "skip", "delete": "delete"}[t.action]
            echo(f"{dry}{verb:<6} {sync.target.child(t.rel)}{size}  [{t.reason}]")
    sent, skipped = sync.sent, sync.skipped
    unknown = " or more" if any(t.size is None for t in sent) else ""
    info(
        f"{'would publish' if dry else 'published'} {len(plan.collection.products)} products of "
        f"{plan.collection.build_id} as {', '.join(plan.tags)} to {sync.target} "
        f"({done.endpoint}): {'would send' if dry else 'sent'} {len(sent)} objects "
        f"({_size(sync.total(sent))}{unknown}), skipped {len(skipped)} already there "
        f"({_size(sync.total(skipped))}), {'would delete' if dry else 'deleted'} "
        f"{len(sync.deleted)}"
    )


def _roots(values: tuple[str, ...]) -> tuple[str, ...]:
    roots = [r for v in values for r in split_pkgroot(v)]
    if not roots:
        roots = split_pkgroot(os.environ.get("EUPS_PKGROOT", ""))
    return tuple(roots)


@dataclass(frozen=True)
class InstallArgs:
    product: str
    version: str | None
    tag: str | None
    roots: tuple[str, ...]
    stack_dir: Path | None
    flavor: str | None
    jobs: int
    only_tag: bool
    current: bool
    no_deps: bool
    deps_only: bool
    require_checksums: bool
    dry_run: bool


@distrib_group.command("install")
@click.argument("product")
@click.argument("version", required=False)
@click.option("-t", "--tag", default=None, help="The distribution tag to install (w_2025_10).")
@roots_option
@stack_option
@flavor_option()
@jobs_option("Downloads at once.", DEFAULT_JOBS)
@click.option("-U", "--only-tag", is_flag=True, help="Assign only TAG, not other server tags.")
@click.option("-C", "--current", is_flag=True, help="Also tag what is installed 'current'.")
@click.option("--no-deps", is_flag=True, help="Install the product only, not its dependencies.")
@click.option("--deps-only", is_flag=True, help="Install the dependencies only.")
@click.option(
    "--require-checksums",
    is_flag=True,
    help="Refuse artifacts the server publishes no .sha256 for (the real EUPS server "
    "publishes none; a published one is always checked).",
)
@dry_run_option("Print the plan; change nothing.")
@json_option
@takes(InstallArgs)
def install_cmd(a: InstallArgs) -> None:
    """Install PRODUCT (and its dependencies) from the server's binaries or sources."""
    stack = stack_path(a.stack_dir).absolute()
    options = InstallOptions(
        roots=_roots(a.roots),
        products=(a.product,),
        stack=stack,
        flavor=a.flavor or current_flavor(),
        tag=a.tag,
        version=a.version,
        jobs=a.jobs,
        only_tag=a.only_tag,
        current=a.current,
        no_deps=a.no_deps,
        deps_only=a.deps_only,
        dry_run=a.dry_run,
        require_checksums=a.require_checksums,
        remap=read_remaps(remap_dirs(os.environ, [stack]), INSTALL),
    )
    app = get_app()
    with progress_for(app) as progress:
        result = install(options, progress)
    if app.json:
        emit_json(result.to_json())
        return
    _print_install(result)


def _print_install(result: InstallResult) -> None:
    rows = [[r.product, r.version, r.action, r.root or ""] for r in result.plan.rows]
    echo(columns(["product", "version", "action", "root"], rows))
    counts = {a: sum(r.action == a for r in result.plan.rows) for a in ("binary", "source", "skip")}
    summary = (
        f"{counts['binary']} from binaries, {counts['source']} built from source, "
        f"{counts['skip']} already installed"
    )
    if result.dry_run:
        info(f"dry run: would install into {result.plan.stack}: {summary}")
        return
    info(f"installed into {result.plan.stack}: {summary}")
    for tag, products in result.tags.items():
        info(f"tagged {len(products)} products {tag}")


@dataclass(frozen=True)
class ListArgs:
    root: str
    tag: str | None


@distrib_group.command("list")
@click.argument("root")
@click.option("-t", "--tag", default=None, help="Print this tag's rows instead of the tags.")
@json_option
@takes(ListArgs)
def list_cmd(a: ListArgs) -> None:
    """The tags on a server ROOT (dir or URL), or the products of one tag."""
    r = open_root(a.root)
    if a.tag is None:
        tags = r.list_tags()
        if tags is None:
            raise ResolutionError(
                f"{a.root}: the server does not list its tags (no index page)",
                hint=f"name a tag: scipipe distrib list {a.root} -t TAG",
            )
        if get_app().json:
            emit_json(tags)
        elif tags:
            echo("\n".join(tags))
        return
    tl = read_taglist(r, a.tag)
    if get_app().json:
        emit_json(
            {
                "tag": tl.tag,
                "headers": dict(tl.headers),
                "rows": [
                    {"product": x.product, "flavor": x.flavor, "version": x.version}
                    for x in tl.rows
                ],
            }
        )
        return
    for key, value in tl.headers.items():
        info(f"#{key}={value}")
    echo(
        columns(
            ["product", "flavor", "version"], [[x.product, x.flavor, x.version] for x in tl.rows]
        )
    )


# --- prune (object storage) -----------------------------------------------------------


@dataclass(frozen=True)
class PruneArgs:
    to_url: str
    s3_endpoint: str | None
    keep_daily: int | None
    keep_weekly: int | None
    dry_run: bool


@distrib_group.command("prune")
@click.option("--to", "to_url", metavar="s3://BUCKET/PREFIX", required=True,
              help="The object-storage root (or EUPS tree) to prune.")  # fmt: skip
@click.option("--s3-endpoint", metavar="URL", default=None,
              help="The S3 endpoint [default: $AWS_ENDPOINT_URL, else AWS].")  # fmt: skip
@click.option("--keep-daily", type=click.IntRange(0), default=None, metavar="N",
              help="Keep the newest N daily tags (d_YYYY_MM_DD) [default: all].")  # fmt: skip
@click.option("--keep-weekly", type=click.IntRange(0), default=None, metavar="N",
              help="Keep the newest N weekly tags (w_YYYY_WW) [default: all].")  # fmt: skip
@dry_run_option("Print what would be deleted; delete nothing.")
@json_option
@takes(PruneArgs)
def prune_cmd(a: PruneArgs) -> None:
    """Delete the tag lists of all but the newest daily and weekly tags (tag_monger's job).

    Release tags, builds (bN) and rolling names (w_latest) are never touched, nor the
    tarballs and manifests the lists named.
    """
    if a.keep_daily is None and a.keep_weekly is None:
        raise InputError("nothing to prune: pass --keep-daily N and/or --keep-weekly N")
    target, store = parse_s3_url(a.to_url), ObjectStore(a.s3_endpoint)
    plan = prune(
        store, target, keep_daily=a.keep_daily, keep_weekly=a.keep_weekly, dry_run=a.dry_run
    )
    if get_app().json:
        emit_json(plan.to_json())
        return
    verb = "would delete" if a.dry_run else "deleted"
    for rel in plan.deletions:
        echo(f"{verb} {target.child(rel)}")
    for kind in plan.kept:
        info(f"{kind}: kept {len(plan.kept[kind])}, {verb} {len(plan.pruned[kind])}")


@dataclass(frozen=True)
class SmokeArgs:
    products: tuple[str, ...]
    tag: str
    roots: tuple[str, ...]
    stack_dir: Path | None
    flavor: str | None
    command: str | None
    env_prefix: Path | None
    require_checksums: bool
    dry_run: bool


@distrib_group.command("smoke")
@click.argument("products", nargs=-1, required=True)
@click.option("-t", "--tag", required=True, help="The published tag to install (w_2025_10).")
@roots_option
@click.option(
    "--stack",
    "stack_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="A new directory for the fresh stack [default: a temporary one, removed when "
    "every product passes].",
)
@flavor_option()
@click.option(
    "--command",
    "command",
    metavar="ARGV",
    help="Run this for each product once it is set up (no shell; {product}, {version}, "
    "{package}, {python} are filled in) [default: import its Python package].",
)
@click.option(
    "--env",
    "env_prefix",
    metavar="PREFIX",
    type=click.Path(file_okay=False, path_type=Path),
    help="Install and run inside this environment, activated (a conda prefix or a venv).",
)
@click.option("--require-checksums", is_flag=True, help="Refuse artifacts with no .sha256.")
@dry_run_option("Print what would be installed; change nothing.")
@json_option
@takes(SmokeArgs)
def smoke_cmd(a: SmokeArgs) -> None:
    """Install the published PRODUCTS of TAG into a fresh stack, as a user would, set each
    up and load it: the tarball smoke test.  Exit 8 names the products that failed."""
    fresh = a.stack_dir is None
    stack = a.stack_dir or Path(tempfile.mkdtemp(prefix="scipipe-smoke-"))
    options = SmokeOptions(
        roots=_roots(a.roots),
        tag=a.tag,
        products=a.products,
        stack=stack.absolute(),
        flavor=a.flavor or current_flavor(),
        command=a.command,
        env=a.env_prefix,
        require_checksums=a.require_checksums,
    )
    app = get_app()
    if a.dry_run:
        plan = plan_install(
            InstallOptions(options.roots, a.products, options.stack, options.flavor, tag=a.tag)
        )
        if fresh:
            shutil.rmtree(stack, ignore_errors=True)
        rows = [[r.product, r.version, r.action, r.root or ""] for r in plan.rows]
        echo(columns(["product", "version", "action", "root"], rows))
        info(f"dry run: would install {len(plan.rows)} products and smoke-test {len(a.products)}")
        return
    try:
        with progress_for(app) as progress:
            result = smoke(options, progress)
    except SmokeFailed as exc:
        if app.json:
            emit_json({"ok": False, "stack": str(stack), "products": [
                o.to_json() for o in exc.result.outcomes]})  # fmt: skip
        else:
            for line in describe(exc.result.outcomes):
                echo(line)
            for o in exc.result.failed:
                for line in o.tail:
                    info(f"  {o.product}| {line}")
        info(f"the stack is kept for a look: {stack}")
        raise
    except BaseException:
        if fresh:
            shutil.rmtree(stack, ignore_errors=True)
        raise
    if fresh:
        shutil.rmtree(stack, ignore_errors=True)
    if app.json:
        emit_json({"ok": True, "installed": result.installed,
                   "products": [o.to_json() for o in result.outcomes]})  # fmt: skip
        return
    for line in describe(result.outcomes):
        echo(line)
    info(f"smoke tests passed: {len(result.outcomes)} products ({result.installed} installed)")
