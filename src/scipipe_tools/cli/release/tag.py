"""``scipipe release``: release tagging across repos."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ...errors import InputError
from ...names import tags as tagnames
from ..common import columns, echo, emit_json, get_app, info
from ..console import progress_for
from ..options import json_option

F = TypeVar("F", bound=Callable[..., Any])


@click.group("release")
def release_group() -> None:
    """Release tags: names, tagging every repo, weekly/nightly/official flows."""


@release_group.command("tag-name")
@click.argument("tag", required=False)
@click.option(
    "--weekly",
    "weekly_date",
    is_flag=False,
    flag_value="now",
    default=None,
    metavar="[DATE]",
    help="The weekly tag for DATE (YYYY-MM-DD, Pacific; default now).",
)
@click.option(
    "--daily",
    "daily_date",
    is_flag=False,
    flag_value="now",
    default=None,
    metavar="[DATE]",
    help="The daily tag for DATE (default now).",
)
@json_option
def tag_name_cmd(tag: str | None, weekly_date: str | None, daily_date: str | None) -> None:
    """Convert TAG between git and EUPS forms, or name the weekly/daily tag for a date.

    \b
      scipipe release tag-name 26.0.0          -> v26_0_0
      scipipe release tag-name v29_0_0_rc2     -> v29.0.0.rc2
      scipipe release tag-name --weekly 2020-12-31   -> w.2021.01 w_2021_01
    """
    given = [x is not None for x in (tag, weekly_date, daily_date)]
    if sum(given) != 1:
        raise InputError("give exactly one of TAG, --weekly or --daily")
    if weekly_date is not None:
        name = tagnames.weekly(tagnames.parse_when(weekly_date))
    elif daily_date is not None:
        name = tagnames.daily(tagnames.parse_when(daily_date))
    else:
        assert tag is not None
        if "_" in tag:
            name = tagnames.TagName(tagnames.eups_to_git(tag), tag, tagnames.kind_of(tag))
        else:
            name = tagnames.TagName(tag, tagnames.git_to_eups(tag), tagnames.kind_of(tag))
    if get_app().json:
        emit_json({"git": name.git, "eups": name.eups, "kind": name.kind.value})
    else:
        echo(f"{name.git} {name.eups}")


# ---------------------------------------------------------------- shared options


def forge_options(f: F) -> F:
    """Where the repos live: ``--forge git --teams-file F`` or ``--forge github --org O``."""
    opts = [
        click.option(
            "--forge",
            "forge_kind",
            type=click.Choice(["github", "git"]),
            default=None,
            help="github (the REST API) or git (push to each repo's URL; teams from "
            "--teams-file) [default: git when --teams-file is given, else github].",
        ),
        click.option(
            "--teams-file",
            type=click.Path(dir_okay=False, path_type=Path),
            envvar="SCIPIPE_TEAMS_FILE",
            help="The git forge's teams: a YAML map of team name -> repos.",
        ),
        click.option("--org", default="", help="GitHub organisation (teams and logs)."),
        click.option(
            "--github-url",
            envvar="GITHUB_API_URL",
            default="https://api.github.com",
            show_default=True,
            help="GitHub API base URL (GitHub Enterprise: https://HOST/api/v3).",
        ),
        click.option(
            "--token-path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="File holding the GitHub token [default: $GITHUB_TOKEN, else "
            "~/.sq_github_token_delete].  Never given on the command line.",
        ),
        click.option(
            "--max-wait",
            type=click.FloatRange(min=0),
            default=3600.0,
            show_default=True,
            help="Longest wait, in seconds, for a GitHub rate-limit window to reset.",
        ),
        click.option(
            "-j",
            "--jobs",
            type=click.IntRange(min=1),
            default=8,
            show_default=True,
            help="Repositories worked on at once.",
        ),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def forge_config(kw: dict[str, Any]) -> Any:
    from ...release.connect import ForgeConfig

    kind = kw.pop("forge_kind") or ("git" if kw.get("teams_file") else "github")
    return ForgeConfig(
        kind=kind,
        org=kw.pop("org"),
        teams_file=kw.pop("teams_file"),
        github_url=kw.pop("github_url"),
        token_path=kw.pop("token_path"),
        jobs=kw["jobs"],
        max_wait=kw.pop("max_wait"),
    )


def tagger_for(user: str | None, email: str | None) -> Any:
    from ...forge.base import Tagger
    from ...infra import git

    name = user or git.config_get("user.name")
    mail = email or git.config_get("user.email")
    if not name or not mail:
        raise InputError(
            "no tagger: pass --user and --email",
            hint="or set them with `git config --global user.name/user.email`",
        )
    return Tagger(name, mail, dt.datetime.now(dt.UTC).replace(microsecond=0))


# ---------------------------------------------------------------- release tag


@release_group.command("tag")
@click.argument("git_tag")
@click.option(
    "--manifest",
    "build_id",
    required=True,
    metavar="bNNNN",
    help="The manifest that supplies each product's commit.",
)
@click.option(
    "--eups-tag", default=None, help="EUPS tag to cross-check [default: the git tag's EUPS form]."
)
@click.option("--manifest-only", is_flag=True, help="Tag every manifest product; read no EUPS tag.")
@click.option(
    "--allow-team",
    "allow_teams",
    multiple=True,
    required=True,
    help="A repo must be in at least one of these teams (repeatable).",
)
@click.option(
    "--deny-team",
    "deny_teams",
    multiple=True,
    help="A repo must be in none of these teams (repeatable).",
)
@click.option(
    "--external-team",
    "external_teams",
    multiple=True,
    help="Repos of these teams get 'v' before a digit-leading tag (repeatable).",
)
@click.option(
    "--repos",
    "repos_arg",
    envvar="SCIPIPE_REPOS",
    required=True,
    help="repos.yaml (path or URL) [env: SCIPIPE_REPOS].",
)
@click.option(
    "--versiondb-base-url",
    envvar="LSST_VERSIONDB_BASE_URL",
    default="https://raw.githubusercontent.com/lsst/versiondb/main/manifests",
    show_default=True,
    help="versiondb manifests: a URL, a directory or a checkout.",
)
@click.option(
    "--eupstag-base-url",
    envvar="LSST_EUPSTAG_BASE_URL",
    default="https://eups.lsst.cloud/stack/src/tags",
    show_default=True,
    help="EUPS tag lists: a URL or directory (tags/ or a distrib root).",
)
@click.option("--dry-run", is_flag=True, help="Every read and check; log writes as (noop).")
@click.option(
    "--verify", is_flag=True, help="Write nothing; any tag still to create or move is an error."
)
@click.option("--force-tag", is_flag=True, help="Move conflicting tags.")
@click.option(
    "--ignore-manifest-versions", is_flag=True, help="Skip the EUPS tag vs manifest version check."
)
@click.option(
    "--ignore-git-message",
    is_flag=True,
    help="An existing tag with another message is still in sync.",
)
@click.option(
    "--ignore-git-tagger",
    is_flag=True,
    help="An existing tag with another tagger is still in sync.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Only the first N products, in file order.",
)
@click.option(
    "--fail-fast/--no-fail-fast",
    default=False,
    show_default=True,
    help="Stop at the first write error.",
)
@click.option("--user", default=None, help="Tagger name [default: git config user.name].")
@click.option("--email", default=None, help="Tagger email [default: git config user.email].")
@click.option(
    "--ledger",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Per-repo result ledger [default: $XDG_STATE_HOME/scipipe/release/tag-TAG-bNNNN.jsonl].",
)
@click.option("--no-ledger", is_flag=True, help="Keep no ledger; recheck every repo.")
@click.option(
    "-d",
    "debug_level",
    count=True,
    envvar="DM_SQUARE_DEBUG",
    help="Debug output (codekit's -d; 2 adds HTTP tracing) [env: DM_SQUARE_DEBUG].",
)
@forge_options
@json_option
def tag_cmd(
    git_tag: str,
    build_id: str,
    eups_tag: str | None,
    manifest_only: bool,
    repos_arg: str,
    versiondb_base_url: str,
    eupstag_base_url: str,
    user: str | None,
    email: str | None,
    ledger: Path | None,
    no_ledger: bool,
    debug_level: int,
    **kw: Any,
) -> int:
    """Tag every product repo of a release at the commit its manifest names.

    \b
      scipipe release tag w.2025.15 --manifest b7624 \\
          --allow-team 'Data Management' --allow-team 'DM Externals' \\
          --external-team 'DM Externals' --deny-team 'DM Auxilliaries' --org lsst

    Every check runs for every repo before the first write; the exit code is the number
    of errors (at most 255).  A rerun skips what is already tagged.
    """
    from ...release import ledger as ledger_mod
    from ...release.connect import open_forge
    from ...release.tagging import TagRequest, tag_release
    from ...stack import sources
    from ...stack.readers import load_repos

    if eups_tag and manifest_only:
        raise InputError("--eups-tag and --manifest-only cannot be combined")
    if kw["dry_run"] and kw["verify"]:
        raise InputError("--dry-run and --verify cannot be combined")
    tagnames.check_git_tag(git_tag)
    _debug_level(debug_level)
    config = forge_config(kw)
    manifest = sources.load_manifest(build_id, versiondb_base_url)
    taglist = None
    if not manifest_only:
        taglist = sources.load_eups_tag(eups_tag or tagnames.git_to_eups(git_tag), eupstag_base_url)
    repos = load_repos(repos_arg)
    ledger_path = None if no_ledger else ledger or ledger_mod.default_path(git_tag, build_id)
    request = TagRequest(
        git_tag=git_tag,
        manifest=manifest,
        repos=repos,
        tagger=tagger_for(user, email),
        allow_teams=tuple(kw["allow_teams"]),
        deny_teams=tuple(kw["deny_teams"]),
        external_teams=tuple(kw["external_teams"]),
        taglist=taglist,
        dry_run=kw["dry_run"],
        verify=kw["verify"],
        force_tag=kw["force_tag"],
        ignore_manifest_versions=kw["ignore_manifest_versions"],
        ignore_git_message=kw["ignore_git_message"],
        ignore_git_tagger=kw["ignore_git_tagger"],
        limit=kw["limit"],
        fail_fast=kw["fail_fast"],
        jobs=kw["jobs"],
        ledger=None if (kw["dry_run"] or kw["verify"]) else ledger_path,
        forge_key=config.key,
    )
    forge = open_forge(config, repos)
    try:
        with progress_for(get_app()) as progress:
            result = tag_release(request, forge, progress)
    finally:
        forge.close()
    _report(result)
    return result.exit_code


def _debug_level(level: int) -> None:
    import logging

    if level >= 1:
        logging.getLogger("scipipe_tools").setLevel(logging.DEBUG)
    if level >= 2:
        from ...infra.http import trace_requests

        trace_requests()


def report_result(
    result: Any, headers: list[str], rows: list[list[str]], what: str, empty: str
) -> None:
    """A tagging result: JSON, or its problems (stderr), a table of ``rows`` and a
    summary line ``what: counts; errors; API calls``."""
    if get_app().json:
        emit_json(result.to_json())
        return
    for p in result.problems:
        click.echo(f"error: {p}", err=True)
    if rows:
        echo(columns(headers, rows))
    counts = ", ".join(f"{n} {k}" for k, n in result.counts().items()) or empty
    api = ""
    if result.stats is not None:
        api = f"; {result.stats.total_calls} API calls"
        if result.stats.rate_remaining is not None:
            api += f", rate limit {result.stats.rate_remaining}/{result.stats.rate_limit} left"
    info(f"{what}: {counts}; {result.errors} error(s){api}")


def _report(result: Any) -> None:
    verbose = get_app().verbosity > 0
    rows = [
        [r.product, r.repo, r.tag, r.sha[:12], r.outcome.value, r.detail]
        for r in result.results
        if verbose or r.outcome.value not in ("in-sync", "done-earlier")
    ]
    report_result(
        result,
        ["product", "repo", "tag", "sha", "outcome", "detail"],
        rows,
        f"{result.git_tag} from {result.build_id} ({result.mode})",
        "nothing to do",
    )


from . import flows  # noqa: E402, F401
