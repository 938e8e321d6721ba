"""``scipipe changelog``: what changed between releases, from the product repos' history."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from ..errors import InputError, ResolutionError
from .common import echo, emit_json, get_app, info
from .console import progress_for


def _cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "scipipe"


@click.command("changelog")
@click.argument("points", nargs=-1)
@click.option("--weekly", "mode", flag_value="weekly", help="The whole weekly series, and ~main.")
@click.option("--releases", "mode", flag_value="releases",
              help="The whole release series (RCs folded into their final).")  # fmt: skip
@click.option("--repos", "repos_arg", envvar="SCIPIPE_REPOS", required=True,
              help="repos.yaml (path or URL) [env: SCIPIPE_REPOS].")  # fmt: skip
@click.option("--eups-root", envvar="SCIPIPE_EUPS_ROOT",
              help="Distribution root (path or URL) whose tags/*.list name the releases "
              "[env: SCIPIPE_EUPS_ROOT].  Without it, POINTS are git tags.")  # fmt: skip
@click.option("--versiondb", help="versiondb (path or URL): full SHAs for EUPS tags, bNNNN.")
@click.option("--clones", type=click.Path(file_okay=False, path_type=Path),
              help="Product clones, cloned or fetched as needed "
              "[default: $XDG_CACHE_HOME/scipipe/changelog/clones].")  # fmt: skip
@click.option("--no-fetch", is_flag=True, help="Use the clones as they are.")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Walked ranges, by repo and SHA range "
              "[default: $XDG_CACHE_HOME/scipipe/changelog/ranges].")  # fmt: skip
@click.option("--no-cache", is_flag=True, help="Walk every range again.")
@click.option("--overrides", type=click.Path(dir_okay=False, path_type=Path),
              help="discard_tag, first_tag, patch_merges, skip_products (YAML).")  # fmt: skip
@click.option("--jira", "jira_url", envvar="SCIPIPE_JIRA_URL", default=None,
              help="JIRA base URL for ticket summaries (token: $JIRA_TOKEN) "
              "[env: SCIPIPE_JIRA_URL; default: none].")  # fmt: skip
@click.option("--github-org", metavar="ORG",
              help="Also take tickets from the merged pull requests of ORG's repositories "
              "(head branch name, else title) through the GitHub API [default: off].")  # fmt: skip
@click.option("--github-url", envvar="GITHUB_API_URL", default="https://api.github.com",
              show_default=True, help="GitHub API base URL [env: GITHUB_API_URL].")  # fmt: skip
@click.option("--token-path", type=click.Path(dir_okay=False, path_type=Path),
              help="File holding the GitHub token [default: $GITHUB_TOKEN, else "
              "~/.sq_github_token_delete].")  # fmt: skip
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
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=8, show_default=True,
              help="Repositories walked at once.")  # fmt: skip
@click.option("--allow-missing", is_flag=True,
              help="Write the changelog even when some products' commits are missing "
              "(listed on the pages) [default: an error, exit 3].")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Collect and show the releases; write nothing.")
@click.option("--json", "json_", is_flag=True, help="Print the model as JSON.")
def changelog_group(points: tuple[str, ...], mode: str | None, repos_arg: str, **kw: Any) -> int:
    """Changes between releases: tickets, other commits, products added and removed.

    \b
      scipipe changelog w.2025.14 w.2025.15 --eups-root https://eups.lsst.cloud/stack/src
      scipipe changelog --weekly --eups-root ROOT -f html -o site/weekly
      scipipe changelog --releases --eups-root ROOT --notes 29.1.0 > v29_1_0.rst

    POINTS are EUPS tags (with --eups-root), manifests bNNNN (with --versiondb) or git
    tags (each product repo's tag).  Tickets come from merge commits (DM- and SP- keys),
    and with --github-org from pull requests' branch names and titles; commits without a
    ticket are listed as other changes.
    """
    from ..changelog.build import ChangelogRequest, build_model
    from ..changelog.jira import Jira
    from ..changelog.overrides import Overrides, read_overrides
    from ..changelog.render import release_notes_rst, render
    from ..stack.readers import load_repos

    app = get_app()
    if kw["json_"]:
        app.json = True
    if mode is None and len(points) != 2:
        raise InputError("give two release points (OLD NEW), or --weekly or --releases")
    if mode is not None and points:
        raise InputError(f"--{mode} takes no release points")
    if kw["output"] is None and set(kw["formats"]) - {"md", "json"}:
        raise InputError("rst and html need -o DIR")
    home = _cache_home() / "changelog"
    clones = kw["clones"] or home / "clones"
    cache_dir = None if kw["no_cache"] else (kw["cache_dir"] or home / "ranges")
    overrides = read_overrides(kw["overrides"]) if kw["overrides"] else Overrides()
    jira = Jira(kw["jira_url"], home / "jira") if kw["jira_url"] else None
    github = None
    if kw["github_org"]:
        from ..changelog.prs import PullRequests
        from ..forge.github import load_token

        github = PullRequests(
            kw["github_url"],
            load_token(kw["token_path"], os.environ),
            org=kw["github_org"],
            cache_dir=None if kw["no_cache"] else home / "prs",
            jobs=kw["jobs"],
        )
    request = ChangelogRequest(
        mode=mode or "range",
        repos=load_repos(repos_arg),
        clones_dir=clones,
        old=points[0] if points else None,
        new=points[1] if points else None,
        eups_root=kw["eups_root"],
        versiondb=kw["versiondb"],
        fetch=not kw["no_fetch"],
        cache_dir=cache_dir,
        overrides=overrides,
        jira=jira,
        github=github,
        jobs=kw["jobs"],
        title=kw["title"],
    )
    with progress_for(app) as progress:
        model = build_model(request, progress)
    missing = [(r.name, p, why) for r in model.releases for p, why in sorted(r.missing.items())]
    if missing and not kw["allow_missing"]:
        name, product, why = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise ResolutionError(
            f"{name}: {product}: {why}{more}",
            hint="fetch the clones (drop --no-fetch), or pass --allow-missing to write the "
            "changelog without them",
        )
    if kw["notes_for"]:
        wanted = kw["notes_for"]
        release = next((r for r in model.releases if wanted in (r.name, r.eups)), None)
        if release is None:
            names = ", ".join(r.name for r in model.releases)
            raise InputError(f"no release {wanted!r} in this changelog", hint=f"it has: {names}")
        echo(release_notes_rst(release, templates=kw["templates"], repo_urls=model.repo_urls))
        return 0
    if app.json:
        emit_json(model.to_json())
        return 0
    if kw["dry_run"]:
        for r in model.releases:
            info(f"{r.name}: {len(r.tickets)} tickets, {len(r.other)} other changes, "
                 f"+{len(r.added)} -{len(r.removed)} products")  # fmt: skip
        return 0
    formats = list(dict.fromkeys(kw["formats"])) or ["md"]
    out: Path | None = kw["output"]
    if out is None:
        from ..changelog.render import render_files

        for text in render_files(model, formats[0], templates=kw["templates"]).values():
            echo(text.rstrip("\n"))
        return 0
    written: list[Path] = []
    for fmt in formats:
        target = out
        if len(formats) > 1:
            target = out / {"md": "CHANGELOG.md", "json": "changelog.json"}.get(fmt, fmt)
        written += render(model, fmt, target, templates=kw["templates"])
    if missing:
        names = ", ".join(sorted({p for _, p, _ in missing}))
        info(f"note: not walked (no clone or commit missing): {names}")
    info(f"{len(model.releases)} release(s), {len(written)} file(s) written under {out}")
    return 0
