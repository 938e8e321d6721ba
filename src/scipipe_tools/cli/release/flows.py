"""``scipipe release tag-teams|list-repos|versiondb-publish|weekly|nightly|official``."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ...errors import InputError
from ...stack.readers import load_repos
from ..common import columns, echo, emit_json, get_app, info
from ..console import progress_for
from ..options import json_option
from .tag import forge_config, forge_options, release_group, report_result, tagger_for

if TYPE_CHECKING:
    from ...flows.run import FlowKind, FlowResult, StepStatus
    from ...release.teamtags import TeamTagResult

#: seconds to think again before ``tag-teams --delete`` (only when a person watches)
DELETE_COUNTDOWN = 5


def _words(values: tuple[str, ...]) -> tuple[str, ...]:
    """Repeated options that may also hold space-separated lists (jenkins' REFS style)."""
    return tuple(w for v in values for w in v.split())


# ---------------------------------------------------------------- tag-teams


@release_group.command("tag-teams")
@click.option("--tag", "tags", multiple=True, required=True, help="Git tag to make (repeatable).")
@click.option(
    "--allow-team",
    "allow_teams",
    multiple=True,
    required=True,
    help="Tag the repos of these teams (repeatable).",
)
@click.option(
    "--deny-team",
    "deny_teams",
    multiple=True,
    help="A repo in one of these teams is an error (repeatable).",
)
@click.option(
    "-r",
    "--ref",
    "refs",
    multiple=True,
    help="Tag this branch or tag's commit, tried in order [default: the default branch].",
)
@click.option("--dry-run", is_flag=True, help="Every read and check; write nothing.")
@click.option("--delete", is_flag=True, help="Delete the tags (the refs only).")
@click.option("--ignore-existing-tag", is_flag=True, help="Skip repos that have the tag already.")
@click.option(
    "--repos",
    "repos_arg",
    envvar="SCIPIPE_REPOS",
    default=None,
    help="repos.yaml (path or URL): where the git forge fetches repos from.",
)
@click.option("--user", default=None, help="Tagger name [default: git config user.name].")
@click.option("--email", default=None, help="Tagger email [default: git config user.email].")
@forge_options
@json_option
def tag_teams_cmd(
    tags: tuple[str, ...],
    refs: tuple[str, ...],
    repos_arg: str | None,
    user: str | None,
    email: str | None,
    **kw: Any,
) -> int:
    """Tag every repo of the allow teams (codekit github-tag-teams).

    \b
      scipipe release tag-teams --org lsst --allow-team 'DM Auxilliaries' \\
          --deny-team 'DM Externals' --tag w.2025.15 --ignore-existing-tag
      scipipe release tag-teams ... --tag v29.0.0.rc1 -r v29.0.x -r w.2025.10

    New tags are annotated ("Version TAG").  Every repo is checked before the first
    write; the exit code is the number of errors (at most 255).
    """
    from ...release.connect import open_forge
    from ...release.teamtags import TeamTagRequest, tag_teams

    config = forge_config(kw)
    repos = load_repos(repos_arg) if repos_arg else None
    request = TeamTagRequest(
        tags=tags,
        tagger=tagger_for(user, email),
        allow_teams=tuple(kw["allow_teams"]),
        deny_teams=tuple(kw["deny_teams"]),
        refs=refs,
        dry_run=kw["dry_run"],
        delete=kw["delete"],
        ignore_existing_tag=kw["ignore_existing_tag"],
        jobs=kw["jobs"],
    )
    forge = open_forge(config, repos)
    try:
        with progress_for(get_app()) as progress:
            result = tag_teams(request, forge, progress, before_write=_countdown)
    finally:
        forge.close()
    _report_teams(result)
    return result.exit_code


def _countdown(planned: TeamTagResult) -> None:
    """A last chance (Ctrl-C) before deleting, when a person watches stderr."""
    if planned.mode != "delete" or not sys.stderr.isatty():
        return
    n = planned.pending_writes
    for left in range(DELETE_COUNTDOWN, 0, -1):
        click.echo(f"\rdeleting {n} tag(s) in {left} s (Ctrl-C to stop) ", nl=False, err=True)
        time.sleep(1)
    click.echo("", err=True)


def _report_teams(result: TeamTagResult) -> None:
    verbose = get_app().verbosity > 0
    rows = [
        [r.repo, r.tag, r.sha[:12], r.ref, r.outcome.value, r.detail]
        for r in result.results
        if verbose or r.outcome.value != "exists" or r.detail != "matches"
    ]
    report_result(
        result,
        ["repo", "tag", "sha", "ref", "outcome", "detail"],
        rows,
        f"{', '.join(result.tags)} ({result.mode})",
        "no repos",
    )


# ---------------------------------------------------------------- list-repos


@release_group.command("list-repos")
@click.option("--hide", multiple=True, metavar="TEAM", help="Leave this team out (repeatable).")
@click.option(
    "--mint", type=click.IntRange(min=0), default=0, show_default=True, help="Fewest teams."
)
@click.option("--maxt", type=click.IntRange(min=0), default=None, help="Most teams.")
@click.option("--delimiter", default=", ", show_default=True, help="Between the team names.")
@click.option(
    "--repos",
    "repos_arg",
    envvar="SCIPIPE_REPOS",
    default=None,
    help="repos.yaml: also list its repos that are in no team.",
)
@forge_options
@json_option
def list_repos_cmd(
    hide: tuple[str, ...],
    mint: int,
    maxt: int | None,
    delimiter: str,
    repos_arg: str | None,
    **kw: Any,
) -> None:
    """Every repo of the organisation with its teams (codekit github-list-repos)."""
    from ...release.connect import open_forge, repo_urls
    from ...release.listrepos import format_rows, list_repos

    config = forge_config(kw)
    repos = load_repos(repos_arg) if repos_arg else None
    forge = open_forge(config, repos)
    try:
        rows = list_repos(forge, hide=hide, mint=mint, maxt=maxt, extra=repo_urls(repos))
    finally:
        forge.close()
    if get_app().json:
        emit_json([r.to_json() for r in rows])
        return
    for line in format_rows(rows, delimiter):
        echo(line)


# ---------------------------------------------------------------- versiondb-publish


@release_group.command("versiondb-publish")
@click.option(
    "--versiondb",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("versiondb"),
    show_default=True,
    help="The versiondb checkout.",
)
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
@click.option("--dry-run", is_flag=True, help="Show what would be pushed; change nothing.")
@json_option
def versiondb_publish_cmd(
    versiondb: Path, remote: str, build_id: str | None, manifest: Path | None, dry_run: bool
) -> None:
    """Push the versiondb's branch and build tag to its remote (only what it lacks)."""
    from ...release.vdbpublish import publish_versiondb, record_and_publish
    from ...stack.readers import read_manifest

    if manifest is not None:
        m = read_manifest(manifest, strict=True)
        if build_id is not None and build_id != m.build_id:
            raise InputError(f"--build-id {build_id} but {manifest} is BUILD={m.build_id}")
        result = record_and_publish(versiondb, m, remote, dry_run=dry_run)
        assert result is not None
    else:
        result = publish_versiondb(versiondb, build_id, remote=remote, dry_run=dry_run)
    if get_app().json:
        emit_json(result.to_json())
        return
    verb = "would push" if dry_run else "pushed"
    pushing = [result.branch] if result.branch_action == "push" else []
    if result.tag_action == "push":
        pushing.append(str(result.build_id))
    if pushing:
        echo(f"{verb} {' and '.join(pushing)} to {remote}")
    else:
        held = ", ".join(x for x in (result.branch, result.build_id) if x)
        echo(f"{remote} is up to date ({held})")


# ---------------------------------------------------------------- the flows


def _flow_options(f: Any) -> Any:
    opts = [
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False, path_type=Path),
            envvar="SCIPIPE_RELEASE_CONFIG",
            required=True,
            help="The flow configuration (YAML) [env: SCIPIPE_RELEASE_CONFIG].",
        ),
        click.option("--restart", is_flag=True, help="Ignore the state of an earlier run."),
        click.option(
            "--dry-run", is_flag=True, help="Print the steps and their state; run nothing."
        ),
        click.option(
            "--results",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="Where to write results.json [default: ROOT/build/results.json].",
        ),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return json_option(f)


def _date_option(f: Any) -> Any:
    return click.option(
        "--date",
        default=None,
        help="The day the tag is named after: YYYY-MM-DD (Pacific) or an ISO time [default: now].",
    )(f)


@release_group.command("weekly")
@_date_option
@_flow_options
def weekly_cmd(date: str | None, **kw: Any) -> int:
    """The weekly release: build, publish w_YYYY_WW and w_latest, tag w.YYYY.WW.

    \b
      scipipe release weekly --config release.yaml
      scipipe release weekly --config release.yaml --date 2025-04-10 --dry-run

    Resumable: a rerun after a failure skips the steps that are done.
    """
    from ...flows.run import FlowKind

    return _run(FlowKind.WEEKLY, kw, date=date)


@release_group.command("nightly")
@_date_option
@_flow_options
def nightly_cmd(date: str | None, **kw: Any) -> int:
    """The nightly release: build, publish d_YYYY_MM_DD and d_latest; tags as a dry run."""
    from ...flows.run import FlowKind

    return _run(FlowKind.NIGHTLY, kw, date=date)


@release_group.command("official")
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
@_flow_options
def official_cmd(
    source_refs: tuple[str, ...], git_tag: str, o_latest: bool, exclude: tuple[str, ...], **kw: Any
) -> int:
    """An official release (RC or final): tag at the source refs, then build from the tag.

    \b
      scipipe release official --config release.yaml --source-refs w.2025.10 --tag v29.0.0.rc1
      scipipe release official --config release.yaml --source-refs v29.0.0.rc1 \\
          --tag 29.0.0 --o-latest
    """
    from ...flows.run import FlowKind

    return _run(
        FlowKind.OFFICIAL,
        kw,
        git_tag=git_tag,
        source_refs=_words(source_refs),
        o_latest=o_latest,
        exclude=_words(exclude),
    )


def _run(kind: FlowKind, kw: dict[str, Any], **request: Any) -> int:
    from ...flows.config import read_flow_config
    from ...flows.run import FlowFailed, FlowRequest, plan_flow, run_flow

    config = read_flow_config(kw["config_path"])
    req = FlowRequest(kind, restart=kw["restart"], results=kw["results"], **request)
    app = get_app()
    if kw["dry_run"]:
        _print_flow(plan_flow(req, config))
        return 0
    try:
        with progress_for(app) as progress:
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
