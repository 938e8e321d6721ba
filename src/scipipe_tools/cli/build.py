"""``scipipe build``: source builds in dependency order."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import click

from ..eups.flavor import current_flavor
from ..eups.repos import split_patterns
from ..eups.table import TableContext
from ..infra.lock import LOCK_NAME
from ..installer.deploystate import refresh_repos
from ..names import outputs
from ..sourcebuild import noopstamp, report
from ..sourcebuild.budget import available_cores, describe
from ..sourcebuild.buildenv import (
    EnvChoice,
    EnvRequest,
    choose_env,
    explicit_text,
    read_record,
    render_record,
)
from ..sourcebuild.docs import NO_CONF, DocsFailed, DocsResult, DocsTarget, format_docs_failure
from ..sourcebuild.graphviz import to_dot, to_svg
from ..sourcebuild.plan import core_split, make_plan
from ..sourcebuild.rebuild import Layout, RebuildOptions, RebuildResult, rebuild
from ..sourcebuild.report import format_failure, summary_table
from ..sourcebuild.run import BuildFailed, BuildInterrupted, BuildResult
from ..stack.readers import load_manifest, read_repos
from . import entry
from .common import columns, echo, emit_json, get_app, info
from .console import progress_for
from .inputs import exclusions
from .options import (
    build_dir_option,
    exclusion_map_option,
    flavor_option,
    jobs_option,
    json_option,
    repos_option,
    root_option,
    sources_option,
    takes,
    versiondb_option,
)

#: ``-j``'s default in ``plan`` and ``run``
CORES = "the cores this process may use"


class DefaultToRun(click.Group):
    """``scipipe build PRODUCT...`` means ``scipipe build run PRODUCT...``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group("build", cls=DefaultToRun)
def build_group() -> None:
    """Build the stack from source in dependency order (like lsstsw rebuild).

    \b
      scipipe build lsst_distrib --repos repos.yaml     # same as: scipipe build run ...
      scipipe build plan lsst_distrib --sources DIR     # order and versions only
      scipipe build graph lsst_distrib --sources DIR    # the dependency graph as DOT/SVG
      scipipe build env b1234 --root DIR                # the environment that built b1234
    """


@dataclass(frozen=True)
class PlanArgs:
    products: tuple[str, ...]
    sources: Path
    repos: Path | None
    exclusion_map: Path | None
    flavor: str | None
    fmt: str
    build_id: str | None
    jobs: int


@build_group.command("plan")
@click.argument("products", nargs=-1, required=True)
@sources_option(
    "Directory of product checkouts, one per product (like lsstsw's build/).", required=True
)
@repos_option("repos.yaml, to explain products missing from --sources")
@exclusion_map_option
@flavor_option("EUPS flavor for table conditions [default: $EUPS_FLAVOR, else this machine].")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "manifest"]),
    default="table",
    show_default=True,
    help="Output format; 'manifest' prints manifest.txt.",
)
@click.option("--build-id", default=None, help="BUILD= value for --format manifest.")
@jobs_option(
    "Core budget to show the expected split of (products at once, NJOBS each).",
    available_cores,
    show_default=CORES,
)
@json_option
@takes(PlanArgs)
def plan_cmd(a: PlanArgs) -> None:
    """Resolve PRODUCTS over the checkouts in --sources: build order, versions, deps, and
    how -j's core budget would be shared out (NJOBS per product, all durations equal)."""
    repos = read_repos(a.repos) if a.repos else None
    ctx = TableContext(flavor=a.flavor or current_flavor())
    plan = make_plan(
        list(a.products), a.sources, repos=repos, exclusions=exclusions(a.exclusion_map), ctx=ctx
    )
    split = core_split(plan, a.jobs)
    if get_app().json or a.fmt == "json":
        data = plan.to_json()
        data["budget"] = a.jobs
        for p in data["products"]:
            p["jobs"] = split[p["name"]].cores
        emit_json(data)
        return
    if a.fmt == "manifest":
        click.echo(plan.manifest(a.build_id).to_text(), nl=False)
        return
    rows = [[str(p.level), p.name, p.version, str(split[p.name].cores), ",".join(p.deps)]
            for p in plan.products]  # fmt: skip
    echo(columns(["level", "product", "version", "jobs", "deps"], rows))
    for s in plan.resolution.skipped:
        info(f"skipped optional {s.dep} of {s.product} ({s.reason}, {s.where})")
    info(f"{len(plan.products)} products in {len(plan.resolution.levels)} levels")
    info(describe(a.jobs, split))


@dataclass(frozen=True)
class RunArgs:
    products: tuple[str, ...]
    repos: Path | None
    update_repos: bool
    root: Path
    sources: Path | None
    stack: Path | None
    build_dir: Path | None
    versiondb: Path | None
    refs: tuple[str, ...]
    no_fetch: bool
    prep_only: bool
    no_binary_fetch: bool
    binary_root: str | None
    tags: tuple[str, ...]
    jobs: int
    fetch_jobs: int
    tries: int
    fail_fast: bool
    no_tests: bool
    exclusion_map: Path | None
    repository_pattern: str | None
    flavor: str | None
    build_id: str | None
    env_prefix: Path | None
    env_name: str | None
    no_env: bool
    manifest_ref: str | None
    cache: str | None
    timeout: float | None
    total_timeout: float | None
    docs: bool


#: a positive number of seconds
SECONDS = click.FloatRange(min=0, min_open=True)


@build_group.command("run")
@click.argument("products", nargs=-1)
@click.option(
    "--manifest",
    "manifest_ref",
    metavar="bNNNN|FILE",
    help="Build exactly this manifest (a build id from the versiondb, or a manifest.txt): "
    "its products at its SHAs, with its versions and order; no ref is resolved.",
)
@repos_option("repos.yaml: product -> git URL [default: ROOT/repos.yaml, as deploy made it]")
@click.option(
    "-u",
    "--update-repos",
    is_flag=True,
    help="First fetch ROOT/repos.yaml again from where `scipipe deploy` copied it "
    "(lsstsw's rebuild -u).",
)
@root_option
@sources_option("Checkouts [default: ROOT/sources].")
@click.option(
    "--stack",
    type=click.Path(file_okay=False, path_type=Path),
    help="EUPS stack to install into [default: ROOT/stack].",
)
@build_dir_option
@versiondb_option("versiondb repository [default: ROOT/versiondb if it exists]")
@click.option(
    "-r",
    "--ref",
    "refs",
    multiple=True,
    help="Git ref to build, tried in order before repos.yaml's ref and main.",
)
@click.option("-n", "--no-fetch", is_flag=True, help="Clone missing repos only; fetch nothing.")
@click.option(
    "-p", "--prep-only", is_flag=True, help="Prepare and write the manifest; build nothing."
)
@click.option("-B", "--no-binary-fetch", is_flag=True, help="Never install prebuilt tarballs.")
@click.option(
    "--binary-root",
    envvar="EUPS_DISTRIB",
    help="Distrib root (dir or URL) with <p>-<v>@<flavor>.tar.gz [env: EUPS_DISTRIB].",
)
@click.option(
    "-t", "--tag", "tags", multiple=True, help="Also tag the build with TAG (eups tags --clone)."
)
@jobs_option(
    "Core budget, shared between the products built at once and the jobs (NJOBS, "
    "scons/make -j) within each: their sum never exceeds it.",
    available_cores,
    show_default=CORES,
)
@click.option(
    "--fetch-jobs",
    type=click.IntRange(1),
    default=8,
    show_default=True,
    help="Repositories fetched at once.",
)
@click.option(
    "--tries",
    type=click.IntRange(1),
    default=3,
    show_default=True,
    help="Attempts per repository fetch.",
)
@click.option("--fail-fast", is_flag=True, help="Stop starting products after the first failure.")
@click.option(
    "--no-tests",
    is_flag=True,
    help="Build and install without running any unit test: sconsUtils products get "
    "sconsUtils' own --no-tests (in SCONSFLAGS: their 'tests' target is cleared); a "
    "check() in ups/eupspkg.cfg.sh and the pytest run of pure-Python products are "
    "skipped.  With tests, they run once: the plain `scons` of eupspkg's build "
    "verb runs them (its `scons install` reruns only failures).",
)
@exclusion_map_option
@click.option(
    "--repository-pattern",
    envvar="REPOSITORY_PATTERN",
    help="Fallback URLs, '|'-separated, with %(product)s [env: REPOSITORY_PATTERN].",
)
@flavor_option()
@click.option("--build-id", default=None, help="Use this build id instead of allocating one.")
@click.option(
    "--env",
    "env_prefix",
    metavar="PREFIX",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run every step in this environment, activated (a conda prefix or a venv) "
    "[default: the active $CONDA_PREFIX, else the one `scipipe env create` made in ROOT/envs].",
)
@click.option(
    "-e",
    "--env-name",
    metavar="NAME",
    help="Run in the named environment: ROOT/envs/NAME, else NAME in the conda root "
    "($SCIPIPE_CONDA_ROOT, $CONDA_EXE's) or ./conda (lsstinstall's).",
)
@click.option("--no-env", is_flag=True, help="Activate no environment: run in scipipe's own.")
@click.option(
    "--cache",
    metavar="DIR|URL",
    envvar="SCIPIPE_BUILD_CACHE",
    help="Binary cache shared by agents: a product found there (same version, flavor and "
    "environment) is installed instead of built; a built one is stored "
    "[env: SCIPIPE_BUILD_CACHE].",
)
@click.option(
    "--timeout",
    type=SECONDS,
    metavar="SECONDS",
    help="Stop a product whose build steps take longer (its steps' whole process groups: "
    "SIGTERM, 3 s, SIGKILL): it fails with 'timed out after N s', its log is kept and its "
    "last lines printed; the rest goes on as after any failure [default: no limit].",
)
@click.option(
    "--total-timeout",
    type=SECONDS,
    metavar="SECONDS",
    help="Stop the running products once the command has run this long (preparation "
    "included): they fail as with --timeout, the products not started yet are reported "
    "not-run, and the status files, junit.xml and logs are written [default: no limit].",
)
@click.option(
    "--docs",
    is_flag=True,
    help="Once the build succeeded, build each product's Sphinx documentation "
    "(jenkins-dm-jobs' BUILD_DOCS): sphinx-build on its doc/ when it has a doc/conf.py "
    "(the others are skipped and listed), in the build's environment with its dependencies "
    "set up; HTML in BUILD_DIR/docs/PRODUCT, output in BUILD_DIR/logs/PRODUCT.docs.log.  "
    "A failure is a product failure (exit 8).  With -p: which products would be documented.",
)
@json_option
@takes(RunArgs)
def run_cmd(a: RunArgs) -> None:
    """Clone or fetch PRODUCTS and their dependencies, version them, record the manifest
    (and the build id) and build everything not yet installed into the stack.

    Every step runs as in the chosen environment activated (its bin first on PATH,
    CONDA_PREFIX, its etc/conda/activate.d scripts, its python); which environment built
    a build is recorded in ROOT/build/env/<build id>.json (`scipipe build env ID`).

    \b
    Exit codes, for CI (as lsstsw's rebuild: a failed product is not a tool error):
      0  every product built (or was already installed)
      8  one or more products failed to build (or timed out, or were not started
         before --total-timeout); the others were built, and ROOT/build/status.json
         and junit.xml say which failed; with --docs, also: the build succeeded but
         one or more products' documentation failed to build
      143, 130  stopped by SIGTERM or SIGINT: the running steps are taken down and
         status.json and junit.xml still written
      other  the tool could not do its work (2 bad input, 3 unknown product or
         cycle, 4 git failed, 5 unreachable remote, 7 stack locked, 70 a bug)"""
    default = Layout.under(a.root)
    layout = Layout(
        a.sources or default.sources,
        a.stack or default.stack,
        a.build_dir or default.build_dir,
        a.versiondb or default.versiondb,
    )
    if not a.products and a.manifest_ref is None:
        raise click.UsageError("give PRODUCT... or --manifest bNNNN|FILE")
    if a.refs and a.manifest_ref is not None:
        raise click.UsageError("--manifest builds the manifest's commits: no --ref with it")
    manifest = None if a.manifest_ref is None else load_manifest(a.manifest_ref, layout.versiondb)
    repos_file = _repos_file(a)
    repos = read_repos(repos_file).with_patterns(split_patterns(a.repository_pattern))
    env_choice = choose_env(EnvRequest(a.env_prefix, a.env_name, a.no_env), a.root, os.environ)
    said = _say([], f"environment: {env_choice}")
    options = RebuildOptions(
        layout=layout,
        repos=repos,
        flavor=a.flavor or current_flavor(),
        refs=a.refs,
        exclusions=exclusions(a.exclusion_map),
        fetch=not a.no_fetch,
        prep_only=a.prep_only,
        jobs=a.jobs,
        fetch_jobs=a.fetch_jobs,
        tries=a.tries,
        fail_fast=a.fail_fast,
        run_tests=not a.no_tests,
        binary_root=None if a.no_binary_fetch else a.binary_root,
        tags=a.tags,
        build_id=a.build_id,
        env=env_choice,
        manifest=manifest,
        cache=a.cache,
        timeout=a.timeout,
        total_timeout=a.total_timeout,
        docs=a.docs,
    )
    app = get_app()
    started = time.monotonic()
    try:
        with progress_for(app) as progress:
            result = rebuild(list(a.products), options, progress)
    except (BuildFailed, BuildInterrupted) as exc:  # a failure or a signal: what was built
        _print_build(exc.result, app.json, failed=True)
        raise
    except DocsFailed as exc:  # the build went well, some documentation did not
        if exc.build is not None:
            _print_build(exc.build, app.json, failed=False, docs=exc.result)
        for r in exc.result.failed:
            click.echo(format_docs_failure(r), err=True)
        raise
    _say(said, f"# BUILD ID: {result.build_id}" + (" (reused)" if result.build_id_reused else ""))
    if result.build is None:
        _print_prepared(result, layout.build_dir / outputs.MANIFEST, env_choice, docs=a.docs)
        return
    stdout = _print_build(result.build, app.json, failed=False, docs=result.docs, said=said)
    _say(said, f"# BUILD {result.build_id} completed in {time.monotonic() - started:.0f} seconds.")
    _record_noop(a, options, repos_file, result, {"stdout": stdout, "stderr": said})


#: what a no-op writes in the build directory (a no-op stamp holds while they are intact)
_OUTPUTS = (outputs.MANIFEST, outputs.STATUS_YAML, outputs.STATUS_JSON, outputs.JUNIT,
            outputs.TIMELINE, outputs.DURATIONS)  # fmt: skip


def _say(said: list[str], text: str) -> list[str]:
    """``info(text)``, and the line in ``said`` if it was printed (a no-op stamp's)."""
    info(text)
    if not get_app().quiet:
        said.append(text)
    return said


def _record_noop(
    a: RunArgs, options: RebuildOptions, repos_file: Path, result: RebuildResult,
    output: dict[str, object],
) -> None:  # fmt: skip
    """After a plain ``--no-fetch`` no-op with a fixed or reused build id (no versiondb,
    whose reuse needs a clean work tree: no stat settles that), the stamp that lets the
    same command skip everything next time (:mod:`..sourcebuild.noopstamp`); after any
    other build, none."""
    lay = options.layout.resolved()
    build = result.build
    plain = (
        entry.KEY is not None and a.no_fetch and build is not None
        and (a.build_id is not None or (result.build_id_reused and lay.versiondb is None))
        and not (a.update_repos or a.prep_only or a.docs or a.refs or a.manifest_ref)
        and not (a.cache or options.binary_root or get_app().debug)
        and not result.plan.resolution.skipped
        and all(r.status == report.ALREADY_INSTALLED for r in build.reports)
    )  # fmt: skip
    if not plain or entry.KEY is None:
        noopstamp.remove(str(lay.build_dir))
        return
    files = [repos_file.absolute(), a.root.absolute() / "versiondb", a.root.absolute() / "envs"]
    files += [lay.build_dir / name for name in _OUTPUTS]
    if a.exclusion_map is not None:
        files.append(a.exclusion_map.absolute())
    if options.env is not None and options.env.prefix is not None:
        prefix = options.env.prefix.absolute()
        files += [prefix, prefix / "conda-meta", prefix / "pyvenv.cfg"]
    heads: dict[str, str] = {}
    db = lay.stack / "ups_db"
    files += [db / "global.tags", lay.stack / "site" / "startup.py"]
    for p in result.plan.products:
        src = lay.sources / p.name
        heads[str(src / ".git")] = p.sha1
        files += [src / "ups" / f"{p.name}.table", src / ".git" / "config"]
        files += [src / ".git" / "packed-refs", db / p.name / f"{p.version}.version"]
        files += [db / p.name / f"{tag}.chain" for tag in (result.build_id, *a.tags)]
        spec = options.repos.get(p.name)
        for ref in dict.fromkeys([spec.default_ref if spec else "main", "main"]):
            files += [src / ".git" / kind / ref for kind in ("refs/remotes/origin", "refs/tags",
                                                              "refs/heads")]  # fmt: skip
    lock = str(lay.stack / LOCK_NAME)
    noopstamp.write(str(lay.build_dir), entry.KEY, heads, map(str, files), lock, output)


def _repos_file(a: RunArgs) -> Path:
    """``--repos``, else ``ROOT/repos.yaml``; with ``-u`` refreshed from its source first."""
    default = a.root / "repos.yaml"
    if a.update_repos:
        if a.repos is not None and a.repos.absolute() != default.absolute():
            raise click.UsageError(f"-u refreshes {default}: give no other --repos with it")
        path, source, changed = refresh_repos(a.root)
        info(f"repos.yaml: {path} {'updated from' if changed else 'is up to date with'} {source}")
        return path
    if a.repos is not None:
        return a.repos
    if not default.is_file():
        raise click.UsageError(f"give --repos FILE ({default} does not exist)")
    return default


def _print_prepared(
    result: RebuildResult, manifest: Path, env_choice: EnvChoice, *, docs: bool
) -> None:
    """What ``-p`` did: the manifest, what is to build (and, with --docs, document)."""
    if get_app().json:
        emit_json(
            {
                "build_id": result.build_id,
                "reused": result.build_id_reused,
                "manifest": str(manifest),
                "to_build": result.to_build,
                "environment": env_choice.to_json(),
                **({"docs": [t.to_json() for t in result.docs_plan]} if docs else {}),
            }
        )
        return
    echo(
        f"manifest: {manifest}  "
        f"({len(result.plan.products)} products, {len(result.to_build)} to build)"
    )
    if docs:
        info(_docs_plan(result.docs_plan))


def _docs_plan(targets: list[DocsTarget]) -> str:
    """``docs: would build a, b; would skip (no doc/conf.py) c``, for ``-p --docs``."""
    build = ", ".join(t.name for t in targets if t.has_conf) or "none"
    skip = ", ".join(t.name for t in targets if not t.has_conf)
    return f"docs: would build {build}" + (f"; would skip ({NO_CONF}) {skip}" if skip else "")


def _print_build(
    result: BuildResult, as_json: bool, *, failed: bool, docs: DocsResult | None = None,
    said: list[str] | None = None,
) -> str:  # fmt: skip
    """Print the build's outcome; what went to stdout (the lines to stderr: ``said``)."""
    if as_json:
        data = json.loads(result.status_json.read_text()) if result.status_json else {}
        if docs is not None:
            data["docs"] = docs.to_json()
        emit_json(data)
        return json.dumps(data, indent=2, sort_keys=False, default=str) + "\n"
    table = summary_table(result.reports)
    echo(table)
    for r in result.failed:
        click.echo(format_failure(r), err=True)
    for path in (result.status_yaml, result.junit, result.timeline):
        if path is not None:
            _say([] if said is None else said, f"wrote {path}")
    if docs is not None:
        info(docs.summary())
        for d in docs.reports:
            if d.html is not None:
                info(f"wrote {d.html / 'index.html'}")
    return table + "\n"


@dataclass(frozen=True)
class EnvArgs:
    build_id: str
    root: Path
    build_dir: Path | None
    explicit: bool


@build_group.command("env")
@click.argument("build_id")
@root_option
@build_dir_option
@click.option(
    "--explicit",
    is_flag=True,
    help="Print the environment's packages as the @EXPLICIT file it can be recreated from "
    "(scipipe env create --lock FILE); a venv's as name==version lines.",
)
@json_option
@takes(EnvArgs)
def env_cmd(a: EnvArgs) -> None:
    """Which environment built BUILD_ID: its prefix, the hash of its lock, its packages."""
    data = read_record(a.build_dir or Layout.under(a.root).build_dir, a.build_id)
    if a.explicit:
        click.echo(explicit_text(data), nl=False)
    elif get_app().json:
        emit_json(data)
    else:
        echo(render_record(data).rstrip("\n"))


@dataclass(frozen=True)
class GraphArgs:
    products: tuple[str, ...]
    sources: Path
    fmt: str
    exclusion_map: Path | None
    flavor: str | None


@build_group.command("graph")
@click.argument("products", nargs=-1, required=True)
@sources_option("Directory of product checkouts.", required=True)
@click.option(
    "--format", "fmt", type=click.Choice(["dot", "svg"]), default="dot", show_default=True
)
@exclusion_map_option
@flavor_option("EUPS flavor for table conditions [default: $EUPS_FLAVOR, else this machine].")
@takes(GraphArgs)
def graph_cmd(a: GraphArgs) -> None:
    """The dependency graph of the plan, as Graphviz DOT or a standalone SVG picture."""
    plan = make_plan(
        list(a.products),
        a.sources,
        exclusions=exclusions(a.exclusion_map),
        ctx=TableContext(flavor=a.flavor or current_flavor()),
    )
    click.echo(to_dot(plan) if a.fmt == "dot" else to_svg(plan), nl=False)
