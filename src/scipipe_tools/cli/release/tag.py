"""``scipipe release tag``: tag every product repo of a release."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from ...errors import InputError
from ...names import tags as tagnames
from ...release import ledger as ledger_mod
from ...release.connect import open_forge
from ...release.tagging import TagRequest, TagResult, tag_release
from ...stack import sources
from ...stack.readers import load_repos
from ..common import get_app
from ..console import progress_for
from ..options import (
    ForgeArgs,
    codekit_options,
    dry_run_option,
    forge_options,
    json_option,
    repos_option,
    tagger_options,
    takes,
)
from .forge import apply_debug, forge_config, report_result, tagger_for


@dataclass(frozen=True)
class TagArgs(ForgeArgs):
    git_tag: str
    build_id: str
    eups_tag: str | None
    manifest_only: bool
    allow_teams: tuple[str, ...]
    deny_teams: tuple[str, ...]
    external_teams: tuple[str, ...]
    repos: str
    versiondb_base_url: str
    eupstag_base_url: str
    dry_run: bool
    verify: bool
    force_tag: bool
    ignore_manifest_versions: bool
    ignore_git_message: bool
    ignore_git_tagger: bool
    limit: int | None
    fail_fast: bool
    user: str | None
    email: str | None
    ledger: Path | None
    no_ledger: bool
    debug_level: int


@click.command("tag")
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
@repos_option("repos.yaml (path or URL)", required=True, url=True)
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
@dry_run_option("Every read and check; log writes as (noop).")
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
@tagger_options
@click.option(
    "--ledger",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Per-repo result ledger [default: $XDG_STATE_HOME/scipipe/release/tag-TAG-bNNNN.jsonl].",
)
@click.option("--no-ledger", is_flag=True, help="Keep no ledger; recheck every repo.")
@codekit_options
@forge_options
@json_option
@takes(TagArgs)
def tag_cmd(a: TagArgs) -> int:
    """Tag every product repo of a release at the commit its manifest names.

    \b
      scipipe release tag w.2025.15 --manifest b7624 \\
          --allow-team 'Data Management' --allow-team 'DM Externals' \\
          --external-team 'DM Externals' --deny-team 'DM Auxilliaries' --org lsst

    Every check runs for every repo before the first write; the exit code is the number
    of errors (at most 255).  A rerun skips what is already tagged.
    """
    if a.eups_tag and a.manifest_only:
        raise InputError("--eups-tag and --manifest-only cannot be combined")
    if a.dry_run and a.verify:
        raise InputError("--dry-run and --verify cannot be combined")
    tagnames.check_git_tag(a.git_tag)
    apply_debug(a.debug_level)
    config = forge_config(a)
    manifest = sources.load_manifest(a.build_id, a.versiondb_base_url)
    taglist = None
    if not a.manifest_only:
        eups_tag = a.eups_tag or tagnames.git_to_eups(a.git_tag)
        taglist = sources.load_eups_tag(eups_tag, a.eupstag_base_url)
    repos = load_repos(a.repos)
    ledger = None if a.no_ledger else a.ledger or ledger_mod.default_path(a.git_tag, a.build_id)
    request = TagRequest(
        git_tag=a.git_tag,
        manifest=manifest,
        repos=repos,
        tagger=tagger_for(a.user, a.email),
        allow_teams=a.allow_teams,
        deny_teams=a.deny_teams,
        external_teams=a.external_teams,
        taglist=taglist,
        dry_run=a.dry_run,
        verify=a.verify,
        force_tag=a.force_tag,
        ignore_manifest_versions=a.ignore_manifest_versions,
        ignore_git_message=a.ignore_git_message,
        ignore_git_tagger=a.ignore_git_tagger,
        limit=a.limit,
        fail_fast=a.fail_fast,
        jobs=a.jobs,
        ledger=None if (a.dry_run or a.verify) else ledger,
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


def _report(result: TagResult) -> None:
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
