"""``scipipe release weekly|nightly|official``: the release flows."""

from __future__ import annotations

from dataclasses import dataclass, replace

import click

from ...flows.config import read_flow_config
from ...flows.run import (
    FlowFailed,
    FlowKind,
    FlowRequest,
    FlowResult,
    StepStatus,
    plan_flow,
    run_flow,
)
from ..common import columns, echo, emit_json, get_app, info
from ..console import progress_for
from ..options import FlowArgs, flow_options, takes, words


@dataclass(frozen=True)
class DatedFlowArgs(FlowArgs):
    date: str | None


@dataclass(frozen=True)
class OfficialArgs(FlowArgs):
    source_refs: tuple[str, ...]
    git_tag: str
    o_latest: bool
    exclude: tuple[str, ...]
    rubin_env: str | None


date_option = click.option(
    "--date",
    default=None,
    help="The day the tag is named after: YYYY-MM-DD (Pacific) or an ISO time [default: now].",
)


@click.command("weekly")
@date_option
@flow_options
@takes(DatedFlowArgs)
def weekly_cmd(a: DatedFlowArgs) -> int:
    """The weekly release: build, publish w_YYYY_WW and w_latest, tag w.YYYY.WW.

    \b
      scipipe release weekly --config release.yaml
      scipipe release weekly --config release.yaml --date 2025-04-10 --dry-run

    Resumable: a rerun after a failure skips the steps that are done.
    """
    return _run(a, FlowRequest(FlowKind.WEEKLY, date=a.date))


@click.command("nightly")
@date_option
@flow_options
@takes(DatedFlowArgs)
def nightly_cmd(a: DatedFlowArgs) -> int:
    """The nightly release: build, publish d_YYYY_MM_DD and d_latest; tags as a dry run."""
    return _run(a, FlowRequest(FlowKind.NIGHTLY, date=a.date))


@click.command("official")
@click.option(
    "--source-refs",
    "source_refs",
    multiple=True,
    required=True,
    help="Refs the release is cut from, leftmost first ('v29.0.x v29.0.0.rc1'; repeatable).",
)
@click.option(
    "--tag", "git_tag", required=True, help="The release's git tag (v29.0.0.rc1, 29.0.0)."
)
@click.option("--o-latest", is_flag=True, help="Also publish o_latest (final releases only).")
@click.option(
    "--exclude",
    multiple=True,
    metavar="PRODUCT",
    help="Leave a configured top-level product out of the build (repeatable).",
)
@click.option(
    "--rubin-env",
    metavar="VER",
    default=None,
    help="Build in the environment ROOT/envs/lsst-scipipe-VER (scipipe deploy's, env create's) "
    "and publish VER as #CONDA_ENV (Jenkins' SPLENV_REF/RUBINENV_VER).",
)
@flow_options
@takes(OfficialArgs)
def official_cmd(a: OfficialArgs) -> int:
    """An official release (RC or final): tag at the source refs, then build from the tag.

    \b
      scipipe release official --config release.yaml --source-refs w.2025.10 --tag v29.0.0.rc1
      scipipe release official --config release.yaml --source-refs v29.0.0.rc1 \\
          --tag 29.0.0 --o-latest
    """
    request = FlowRequest(
        FlowKind.OFFICIAL,
        git_tag=a.git_tag,
        source_refs=words(a.source_refs),
        o_latest=a.o_latest,
        exclude=words(a.exclude),
    )
    return _run(a, request, a.rubin_env)


def _run(a: FlowArgs, request: FlowRequest, rubin_env: str | None = None) -> int:
    """Plan (``--dry-run``) or run ``request``, with ``--restart`` and ``--results``;
    ``rubin_env``: build in ``ROOT/envs/lsst-scipipe-VER`` and publish it as #CONDA_ENV."""
    config = read_flow_config(a.config_path)
    if rubin_env is not None:
        build = replace(config.build, env=None, env_name=f"lsst-scipipe-{rubin_env}")
        config = replace(config, build=build, distrib=replace(config.distrib, conda_env=rubin_env))
    if a.build_total_timeout is not None:
        config = replace(config, build=replace(config.build, total_timeout=a.build_total_timeout))
    if a.no_versiondb_push and config.versiondb is not None:
        config = replace(config, versiondb=replace(config.versiondb, push=False))
    req = replace(request, restart=a.restart, results=a.results)
    if a.dry_run:
        _print_flow(plan_flow(req, config))
        return 0
    try:
        with progress_for(get_app()) as progress:
            result = run_flow(req, config, progress, on_step=_on_step)
    except FlowFailed as exc:
        _print_flow(exc.result)
        raise
    _print_flow(result)
    return 0


def _on_step(status: StepStatus) -> None:
    if status.status == "running":
        info(f"--> {status.name}: {status.description}")
    elif status.status == "resumed":
        info(f"    {status.name}: done earlier" + (f" ({status.detail})" if status.detail else ""))
    else:
        info(
            f"    {status.name}: {status.status}" + (f" ({status.detail})" if status.detail else "")
        )


def _print_flow(result: FlowResult) -> None:
    app = get_app()
    if app.json:
        emit_json(result.to_json())
        return
    failed = result.failed_outputs
    for p in failed.get("problems", []):
        where = p.get("product") or p.get("repo") or "-"
        click.echo(f"error: {where}: {p.get('message')}", err=True)
    for r in failed.get("repos", []):
        if r.get("outcome") == "failed":
            click.echo(f"error: {r.get('repo')}: {r.get('tag')}: {r.get('detail')}", err=True)
    n = result.names
    head = f"release {n.kind} {n.git_tag} ({', '.join(n.eups_tags)})"
    if result.dry_run:
        echo(f"{head}: plan (state: {result.state_file})")
        rows = [[s.name, s.status, s.description] for s in result.steps]
        echo(columns(["step", "state", "what"], rows))
        return
    rows = [[s.name, s.status, s.detail] for s in result.steps]
    echo(columns(["step", "status", "detail"], rows))
    if result.failed_step is None:
        info(f"{head}: done; results in {result.results_file}")
