"""``scipipe distrib publish|install|list``: the distribution server."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import ResolutionError
from ..eups.flavor import current_flavor
from ..infra.roots import open_root, read_taglist, split_pkgroot
from .common import columns, echo, emit_json, get_app, info, json_option
from .console import progress_for
from .stack import flavor_option, open_stack, stack_option, stack_path

if TYPE_CHECKING:
    from ..distrib.install import InstallResult
    from ..distrib.publish import PublishPlan

#: downloads at once (the library's default too: distrib.install.DEFAULT_JOBS)
DEFAULT_JOBS = 8


@click.group("distrib")
def distrib_group() -> None:
    """Publish to and install from an EUPS distribution server.

    \b
      scipipe distrib publish -b b12 -t w_2025_10 --server-dir /srv/eups --stack S lsst_distrib
      scipipe distrib install -t w_2025_10 lsst_distrib     # roots from $EUPS_PKGROOT
      scipipe distrib list https://eups.example.org/stack/src -t w_2025_10
    """


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
    help="One server root to publish into.",
)
@click.option(
    "--eups-root",
    type=click.Path(file_okay=False, path_type=Path),
    help="An EUPS tree: binary root at DIR/<platform path>, source root at DIR/src.",
)
@stack_option
@click.option(
    "--sources",
    type=click.Path(file_okay=False, path_type=Path),
    help="Checkouts (DIR/<product>): also publish source packages.",
)
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
@flavor_option
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1),
    default=os.cpu_count() or 1,
    show_default=True,
    help="Tarballs packed at once.",
)
@click.option("--dry-run", is_flag=True, help="Print what would be written; write nothing.")
@json_option
def publish_cmd(
    products: tuple[str, ...],
    build_id: str,
    tag: str | None,
    rolling: tuple[str, ...],
    server_dir: Path | None,
    eups_root: Path | None,
    stack_dir: Path | None,
    sources: Path | None,
    env_file: Path | None,
    platform: str | None,
    conda_env: str | None,
    flavor: str | None,
    jobs: int,
    dry_run: bool,
) -> None:
    """Publish PRODUCTS and their dependencies, as installed under build bN, to a server root."""
    from ..distrib.publish import PublishOptions, publish

    stack = open_stack(stack_dir, flavor)
    options = PublishOptions(
        build_id=build_id,
        products=products,
        stack=stack.root,
        flavor=stack.flavor,
        server_dir=server_dir,
        eups_root=eups_root,
        tag=tag,
        rolling=rolling,
        sources=sources,
        env_file=env_file,
        platform=platform,
        conda_env=conda_env,
        jobs=jobs,
        dry_run=dry_run,
    )
    app = get_app()
    with progress_for(app) as progress:
        plan = publish(options, progress)
    if app.json:
        emit_json(plan.to_json())
        return
    _print_publish(plan)


def _print_publish(plan: PublishPlan) -> None:
    from ..distrib.publish import KEEP

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


def _roots(values: tuple[str, ...]) -> tuple[str, ...]:
    roots = [r for v in values for r in split_pkgroot(v)]
    if not roots:
        roots = split_pkgroot(os.environ.get("EUPS_PKGROOT", ""))
    return tuple(roots)


@distrib_group.command("install")
@click.argument("product")
@click.argument("version", required=False)
@click.option("-t", "--tag", default=None, help="The distribution tag to install (w_2025_10).")
@click.option(
    "-r",
    "--root",
    "roots",
    multiple=True,
    help="Server root (dir or URL), tried in order [default: $EUPS_PKGROOT, '|'-separated].",
)
@stack_option
@flavor_option
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(1),
    default=DEFAULT_JOBS,
    show_default=True,
    help="Downloads at once.",
)
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
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@json_option
def install_cmd(
    product: str,
    version: str | None,
    tag: str | None,
    roots: tuple[str, ...],
    stack_dir: Path | None,
    flavor: str | None,
    jobs: int,
    only_tag: bool,
    current: bool,
    no_deps: bool,
    deps_only: bool,
    require_checksums: bool,
    dry_run: bool,
) -> None:
    """Install PRODUCT (and its dependencies) from the server's binaries or sources."""
    from ..distrib.install import InstallOptions, install

    options = InstallOptions(
        roots=_roots(roots),
        products=(product,),
        stack=stack_path(stack_dir).absolute(),
        flavor=flavor or current_flavor(),
        tag=tag,
        version=version,
        jobs=jobs,
        only_tag=only_tag,
        current=current,
        no_deps=no_deps,
        deps_only=deps_only,
        dry_run=dry_run,
        require_checksums=require_checksums,
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


@distrib_group.command("list")
@click.argument("root")
@click.option("-t", "--tag", default=None, help="Print this tag's rows instead of the tags.")
@json_option
def list_cmd(root: str, tag: str | None) -> None:
    """The tags on a server ROOT (dir or URL), or the products of one tag."""
    r = open_root(root)
    if tag is None:
        tags = r.list_tags()
        if tags is None:
            raise ResolutionError(
                f"{root}: the server does not list its tags (no index page)",
                hint=f"name a tag: scipipe distrib list {root} -t TAG",
            )
        if get_app().json:
            emit_json(tags)
        elif tags:
            echo("\n".join(tags))
        return
    tl = read_taglist(r, tag)
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


@distrib_group.command("smoke")
@click.argument("products", nargs=-1, required=True)
@click.option("-t", "--tag", required=True, help="The published tag to install (w_2025_10).")
@click.option(
    "-r",
    "--root",
    "roots",
    multiple=True,
    help="Server root (dir or URL), tried in order [default: $EUPS_PKGROOT, '|'-separated].",
)
@click.option(
    "--stack",
    "stack_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="A new directory for the fresh stack [default: a temporary one, removed when "
    "every product passes].",
)
@flavor_option
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
@click.option("--dry-run", is_flag=True, help="Print what would be installed; change nothing.")
@json_option
def smoke_cmd(
    products: tuple[str, ...],
    tag: str,
    roots: tuple[str, ...],
    stack_dir: Path | None,
    flavor: str | None,
    command: str | None,
    env_prefix: Path | None,
    require_checksums: bool,
    dry_run: bool,
) -> None:
    """Install the published PRODUCTS of TAG into a fresh stack, as a user would, set each
    up and load it: the tarball smoke test.  Exit 8 names the products that failed."""
    from ..distrib.install import InstallOptions, plan_install
    from ..distrib.smoke import SmokeFailed, SmokeOptions, describe, smoke

    fresh = stack_dir is None
    stack = Path(tempfile.mkdtemp(prefix="scipipe-smoke-")) if fresh else stack_dir
    assert stack is not None
    options = SmokeOptions(
        roots=_roots(roots),
        tag=tag,
        products=products,
        stack=stack.absolute(),
        flavor=flavor or current_flavor(),
        command=command,
        env=env_prefix,
        require_checksums=require_checksums,
    )
    app = get_app()
    if dry_run:
        plan = plan_install(
            InstallOptions(options.roots, products, options.stack, options.flavor, tag=tag)
        )
        if fresh:
            shutil.rmtree(stack, ignore_errors=True)
        rows = [[r.product, r.version, r.action, r.root or ""] for r in plan.rows]
        echo(columns(["product", "version", "action", "root"], rows))
        info(f"dry run: would install {len(plan.rows)} products and smoke-test {len(products)}")
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
