"""``scipipe changelog``: what changed between releases, from the product repos' history."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import click

from ..changelog.build import ChangelogRequest, build_model
from ..changelog.jira import Jira
from ..changelog.overrides import Overrides, read_overrides
from ..changelog.prs import PullRequests
from ..changelog.render import release_notes_rst, render, render_files
from ..errors import InputError, ResolutionError
from ..forge.github import load_token
from ..infra.paths import cache_root
from ..names import outputs
from ..stack.readers import load_repos
from .common import echo, emit_json, get_app, info
from .console import progress_for
from .options import (
    dry_run_option,
    github_url_option,
    jobs_option,
    repos_option,
    takes,
    token_path_option,
    versiondb_option,
)


@dataclass(frozen=True)
class ChangelogArgs:
    points: tuple[str, ...]
    mode: str | None
    no_fold_rcs: bool
    no_fold_first_rc: bool
    repos: str
    eups_root: str | None
    versiondb: str | None
    clones: Path | None
    no_fetch: bool
    cache_dir: Path | None
    no_cache: bool
    overrides: Path | None
    jira_url: str | None
    github_org: str | None
    github_url: str
    token_path: Path | None
    formats: tuple[str, ...]
    output: Path | None
    templates: Path | None
    notes_for: str | None
    title: str
    jobs: int
    allow_missing: bool
    dry_run: bool
    json_: bool


@click.command("changelog")
@click.argument("points", nargs=-1)
@click.option("--weekly", "mode", flag_value="weekly", help="The whole weekly series, and ~main.")
@click.option("--releases", "mode", flag_value="releases",
              help="The whole release series (RCs folded into their final).")  # fmt: skip
@click.option("-u", "--no-fold-rcs", is_flag=True,
              help="With --releases: every RC a page of its own, not folded into its "
              "final (lsst_git_changelog's -u).")  # fmt: skip
@click.option("--no-fold-first-rc", is_flag=True,
              help="With --releases: the first RC a page of its own (the changes on main), "
              "the later RCs folded into the final (lsst_git_changelog's -f).")  # fmt: skip
@repos_option("repos.yaml (path or URL)", required=True, url=True)
@click.option("--eups-root", envvar="SCIPIPE_EUPS_ROOT",
              help="Distribution root (path or URL) whose tags/*.list name the releases "
              "[env: SCIPIPE_EUPS_ROOT].  Without it, POINTS are git tags.")  # fmt: skip
@versiondb_option("versiondb (path or URL): full SHAs for EUPS tags, bNNNN", url=True)
@click.option("--clones", type=click.Path(file_okay=False, path_type=Path),
              help="Product clones, cloned or fetched as needed "
              "[default: CACHE/changelog/clones; CACHE: $SCIPIPE_CACHE_DIR or "
              "~/.cache/scipipe-tools].")  # fmt: skip
@click.option("--no-fetch", is_flag=True, help="Use the clones as they are.")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Walked ranges, by repo and SHA range "
              "[default: CACHE/changelog/ranges].")  # fmt: skip
@click.option("--no-cache", is_flag=True, help="Walk every range again.")
@click.option("--overrides", type=click.Path(dir_okay=False, path_type=Path),
              help="discard_tag, first_tag, patch_merges, skip_products (YAML).")  # fmt: skip
@click.option("--jira", "jira_url", envvar="SCIPIPE_JIRA_URL", default=None,
              help="JIRA base URL for ticket summaries (token: $JIRA_TOKEN) "
              "[env: SCIPIPE_JIRA_URL; default: none].")  # fmt: skip
@click.option("--github-org", metavar="ORG",
              help="Also take tickets from merged pull requests (head branch name, else "
              "title) through the GitHub API: of ORG's repositories and of the other "
              "owners' (lsst-dm/...) that repos.yaml names on GitHub [default: off].")  # fmt: skip
@github_url_option
@token_path_option
@click.option("-f", "--format", "formats", multiple=True,
              type=click.Choice(["md", "rst", "json", "html"]),
              help="Output format (repeatable) [default: md to stdout].")  # fmt: skip
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="File (md, json) or directory (rst, html; with several formats, "
              "one subdirectory each).")  # fmt: skip
@click.option(
    "--templates",
    type=click.Path(file_okay=False, path_type=Path),
    help="A directory of templates overriding the shipped ones by name.",
)
@click.option(
    "--notes",
    "notes_for",
    metavar="X.Y.Z",
    help="Print the pipelines_lsst_io 'Tickets Addressed' RST of this release.",
)
@click.option("--title", default="", help="The changelog's title.")
@jobs_option("Repositories walked at once.")
@click.option("--allow-missing", is_flag=True,
              help="Write the changelog even when some products' commits are missing "
              "(listed on the pages) [default: an error, exit 3].")  # fmt: skip
@dry_run_option("Collect and show the releases; write nothing.")
@click.option("--json", "json_", is_flag=True, help="Print the model as JSON.")
@takes(ChangelogArgs)
def changelog_group(a: ChangelogArgs) -> int:
    """Changes between releases: tickets, other commits, products added and removed.

    \b
      scipipe changelog w.2025.14 w.2025.15 --eups-root https://eups.lsst.cloud/stack/src
      scipipe changelog --weekly --eups-root ROOT -f html -o site/weekly
      scipipe changelog --releases --eups-root ROOT --notes 29.1.0 > v29_1_0.rst

    POINTS are EUPS tags (with --eups-root), manifests bNNNN (with --versiondb) or git
    tags (each product repo's tag).  Tickets come from merge commits (DM- and SP- keys),
    and with --github-org from pull requests' branch names and titles; commits without a
    ticket are listed as other changes.  --releases folds each release's candidates into
    its final's page unless told otherwise (-u, --no-fold-first-rc).
    """
    app = get_app()
    if a.json_:
        app.json = True
    if a.mode is None and len(a.points) != 2:
        raise InputError("give two release points (OLD NEW), or --weekly or --releases")
    if a.mode is not None and a.points:
        raise InputError(f"--{a.mode} takes no release points")
    if (a.no_fold_rcs or a.no_fold_first_rc) and a.mode != "releases":
        flag = "--no-fold-rcs" if a.no_fold_rcs else "--no-fold-first-rc"
        raise InputError(f"{flag} applies to --releases only")
    if a.output is None and set(a.formats) - {"md", "json"}:
        raise InputError("rst and html need -o DIR")
    request = _request(a, cache_root("changelog"))
    with progress_for(app) as progress:
        model = build_model(request, progress)
    missing = [(r.name, p, why) for r in model.releases for p, why in sorted(r.missing.items())]
    if missing and not a.allow_missing:
        name, product, why = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise ResolutionError(
            f"{name}: {product}: {why}{more}",
            hint="fetch the clones (drop --no-fetch), or pass --allow-missing to write the "
            "changelog without them",
        )
    if a.notes_for:
        release = next((r for r in model.releases if a.notes_for in (r.name, r.eups)), None)
        if release is None:
            names = ", ".join(r.name for r in model.releases)
            raise InputError(
                f"no release {a.notes_for!r} in this changelog", hint=f"it has: {names}"
            )
        echo(release_notes_rst(release, templates=a.templates, repo_urls=model.repo_urls))
        return 0
    if app.json:
        emit_json(model.to_json())
        return 0
    if a.dry_run:
        for r in model.releases:
            info(f"{r.name}: {len(r.tickets)} tickets, {len(r.other)} other changes, "
                 f"+{len(r.added)} -{len(r.removed)} products")  # fmt: skip
        return 0
    formats = list(dict.fromkeys(a.formats)) or ["md"]
    if a.output is None:
        for text in render_files(model, formats[0], templates=a.templates).values():
            echo(text.rstrip("\n"))
        return 0
    written: list[Path] = []
    for fmt in formats:
        target = a.output
        if len(formats) > 1:
            target = a.output / outputs.CHANGELOG_FILES.get(fmt, fmt)
        written += render(model, fmt, target, templates=a.templates)
    if missing:
        names = ", ".join(sorted({p for _, p, _ in missing}))
        info(f"note: not walked (no clone or commit missing): {names}")
    info(f"{len(model.releases)} release(s), {len(written)} file(s) written under {a.output}")
    return 0


def _request(a: ChangelogArgs, home: Path) -> ChangelogRequest:
    """What to collect: the release points, the clones and caches under ``home``, and
    where ticket summaries come from (JIRA, GitHub pull requests)."""
    overrides = read_overrides(a.overrides) if a.overrides else Overrides()
    jira = Jira(a.jira_url, home / "jira") if a.jira_url else None
    github = None
    if a.github_org:
        github = PullRequests(
            a.github_url,
            load_token(a.token_path, os.environ),
            org=a.github_org,
            cache_dir=None if a.no_cache else home / "prs",
            jobs=a.jobs,
        )
    return ChangelogRequest(
        mode=a.mode or "range",
        fold_rcs="none" if a.no_fold_rcs else "after-first" if a.no_fold_first_rc else "all",
        repos=load_repos(a.repos),
        clones_dir=a.clones or home / "clones",
        old=a.points[0] if a.points else None,
        new=a.points[1] if a.points else None,
        eups_root=a.eups_root,
        versiondb=a.versiondb,
        fetch=not a.no_fetch,
        cache_dir=None if a.no_cache else (a.cache_dir or home / "ranges"),
        overrides=overrides,
        jira=jira,
        github=github,
        jobs=a.jobs,
        title=a.title,
    )
