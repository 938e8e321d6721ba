"""``scipipe changelog``: from release names to a :class:`ChangelogModel`.

The pipeline: names (two points, or a whole series from the distribution root's tag
index) -> points (each product's commit at each release) -> clones (cloned or fetched in
parallel) -> pages (:mod:`.series`) -> one :func:`~.collect.collect_range` per span
(cached by repo and SHA range) -> merged pages, with JIRA summaries, patched merges and
third-party package changes -> the model the renderers print.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import InputError, ResolutionError
from ..eups.repos import Repos
from ..infra import git
from ..infra.lockfile import Lock
from ..infra.progress import NULL, Progress
from ..infra.roots import Root, open_root
from . import points as points_mod
from .cache import RangeCache
from .clones import Clones, ensure_clones
from .collect import collect_ranges
from .envchanges import package_changes, read_tag_env
from .jira import Jira
from .model import UNRELEASED, Change, ChangelogModel, Release, ReleaseKind, Ticket
from .overrides import Overrides
from .points import Point
from .prs import PullRequests, attach_pulls
from .series import Page, RcFolding, Span, apply_overrides, release_key, release_pages, weekly_key
from .series import weekly_pages as weekly_pages_of

log = logging.getLogger(__name__)
_BUILD = re.compile(r"^b[0-9]+$")


@dataclass(frozen=True)
class ChangelogRequest:
    """What to write a changelog of, and where the inputs are.

    ``mode`` "range" needs ``old`` and ``new``; "weekly" and "releases" take the whole
    series from ``eups_root``'s tag index.
    """

    mode: str
    repos: Repos
    clones_dir: Path
    old: str | None = None
    new: str | None = None
    eups_root: str | None = None
    versiondb: str | None = None
    fetch: bool = True
    cache_dir: Path | None = None
    overrides: Overrides = field(default_factory=Overrides)
    jira: Jira | None = None
    #: merged pull requests from GitHub: tickets of merges whose message names none
    github: PullRequests | None = None
    jobs: int = 8
    title: str = ""
    unreleased: bool = True
    now: str = ""
    #: "releases": RCs folded into their final ("all"), all but the first, or "none"
    fold_rcs: RcFolding = "all"


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def series_names(req: ChangelogRequest) -> list[str]:
    """The release names the request covers, oldest first."""
    if req.mode == "range":
        if not req.old or not req.new:
            raise InputError("give two release points: OLD NEW")
        return [req.old, req.new]
    if req.eups_root is None:
        raise InputError(f"a {req.mode} series needs --eups-root (the tag index)")
    root = open_root(req.eups_root)
    names = points_mod.list_series(root, req.mode)
    key = weekly_key if req.mode == "weekly" else release_key
    names = apply_overrides(names, req.overrides, key)
    if not names:
        raise ResolutionError(f"no {req.mode} tags under {req.eups_root}")
    return names


def pages_for(req: ChangelogRequest, names: Sequence[str]) -> list[Page]:
    if req.mode == "releases":
        return release_pages(names, fold=req.fold_rcs)
    if req.mode == "weekly":
        return weekly_pages_of(names)
    return [Page(names[1], (names[1],), (Span(names[0], names[1], "main"),))]


def _merge(
    page: Page, parts: list[tuple[Span, Release]], kind: ReleaseKind, names: Mapping[str, str]
) -> Release:
    """One page's release from its spans' releases (tickets merged by key); ``names``
    maps the series' names (EUPS tags) to the releases' git-form names."""
    last = parts[-1][1]
    tickets: dict[str, Ticket] = {}
    other: list[Change] = []
    missing: dict[str, str] = {}
    for span, part in parts:
        for t in part.tickets:
            have = tickets.get(t.key)
            if have is None:
                tickets[t.key] = replace(t, branch=span.branch)
                continue
            have.changes += t.changes
            have.fragments += [f for f in t.fragments if f not in have.fragments]
            have.products = sorted(set(have.products) | set(t.products))
            if t.last_merge > have.last_merge:
                have.last_merge, have.branch = t.last_merge, span.branch
        other += part.other
        missing.update(part.missing)
    first = parts[0][1]
    return Release(
        name=names.get(page.name, page.name),
        eups=last.eups,
        kind=kind,
        date=last.date,
        previous=first.previous,
        tickets=sorted(tickets.values(), key=lambda t: t.key),
        other=other,
        added=sorted(
            {p for _, r in parts for p in r.added} - {p for _, r in parts for p in r.removed}
        ),
        removed=sorted(
            {p for _, r in parts for p in r.removed} - {p for _, r in parts for p in r.added}
        ),
        products=last.products,
        missing=missing,
        folded=[names.get(m, m) for m in page.members if m != page.name],
    )


def _kind(name: str) -> ReleaseKind:
    if weekly_key(name) is not None:
        return ReleaseKind.WEEKLY
    key = release_key(name)
    if key is not None:
        return ReleaseKind.FINAL if key[3] == 99 else ReleaseKind.RC
    return ReleaseKind.OTHER


def _points(req: ChangelogRequest, names: Sequence[str]) -> tuple[dict[str, Point], Clones]:
    """Every named point, and the clones of their products (cloned or fetched)."""
    clones: Clones | None = None
    if req.eups_root is None and not all(_BUILD.match(n) for n in names):
        # git tags: the clones say which products have the tag
        products = [p for p in req.repos if not req.overrides.skips(p)]
        clones = ensure_clones(products, req.repos, req.clones_dir, jobs=req.jobs,
                               fetch=req.fetch)  # fmt: skip
    pts: list[Point] = []
    by_eups: dict[str, Point] = {}
    if req.eups_root is not None:
        eups = [n for n in names if not _BUILD.match(n)]
        made = points_mod.from_eups_tags(
            eups, req.eups_root, versiondb=req.versiondb, jobs=req.jobs
        )
        by_eups = dict(zip(eups, made, strict=True))
    for name in names:
        if name in by_eups:
            pts.append(by_eups[name])
        elif _BUILD.match(name):
            if req.versiondb is None:
                raise InputError(f"{name} is a manifest id: pass --versiondb")
            pts.append(points_mod.from_manifest(name, req.versiondb))
        else:
            assert clones is not None
            pts.append(points_mod.from_git_tag(name, list(req.repos), clones.paths, jobs=req.jobs))
    if clones is None:
        products = sorted({p for pt in pts for p in pt.products if not req.overrides.skips(p)})
        clones = ensure_clones(products, req.repos, req.clones_dir, jobs=req.jobs,
                               fetch=req.fetch)  # fmt: skip
        pts = points_mod.resolve_points(pts, clones.paths, jobs=req.jobs)
    for product, reason in sorted(clones.failed.items()):
        log.warning("%s: no clone (%s); its changes are left out", product, reason)
    return dict(zip(names, pts, strict=True)), clones


def _unreleased(last: Point, clones: Mapping[str, Path], repos: Repos, now: str) -> Point:
    """``~main``: each product of the last weekly at its default branch's head."""
    shas: dict[str, str] = {}
    for product in last.shas:
        clone = clones.get(product)
        spec = repos.get(product)
        if clone is None:
            continue
        ref = spec.default_ref if spec is not None else "main"
        sha = git.read_ref(clone, f"refs/heads/{ref}")
        if sha is not None:
            shas[product] = sha
    return Point(UNRELEASED, UNRELEASED, ReleaseKind.UNRELEASED, now, shas, {})


def _apply_patches(req: ChangelogRequest, releases: list[Release], pts: dict[str, Point],
                   clones: dict[str, Path]) -> None:  # fmt: skip
    """``patch_merges``: each patched PR joins the release whose range holds its commit."""
    for patch in req.overrides.patch_merges:
        clone = clones.get(patch.product)
        if clone is None:
            continue
        for release in releases:
            new = pts.get(release.name) or pts.get(release.eups)
            old = pts.get(release.previous or "")
            if new is None or patch.product not in new.shas:
                continue
            inside = git.is_ancestor(clone, patch.oid, new.shas[patch.product])
            before = (
                old is not None
                and patch.product in old.shas
                and git.is_ancestor(clone, patch.oid, old.shas[patch.product])
            )
            if inside and not before:
                change = Change(
                    patch.product,
                    patch.oid,
                    f"patched merge {patch.url}",
                    patch.date,
                    "",
                    (patch.ticket,),
                    merge=True,
                    pr_url=patch.url,
                )
                ticket = next((t for t in release.tickets if t.key == patch.ticket), None)
                if ticket is None:
                    ticket = Ticket(patch.ticket, branch="main")
                    release.tickets.append(ticket)
                    release.tickets.sort(key=lambda t: t.key)
                ticket.changes.append(change)
                ticket.products = sorted({*ticket.products, patch.product})
                ticket.last_merge = max(ticket.last_merge, patch.date)
                break


def build_model(req: ChangelogRequest, progress: Progress = NULL) -> ChangelogModel:
    now = req.now or _now()
    names = series_names(req)
    pages = pages_for(req, names)
    pts, clones = _points(req, names)
    urls = {p: u for p in req.repos if (spec := req.repos.get(p)) and (u := _web_url(spec.url))}
    pairs: list[tuple[Point | None, Point]] = []
    for page in pages:
        pairs += [(pts[s.old] if s.old is not None else None, pts[s.new]) for s in page.spans]
    main: Point | None = None
    if req.mode == "weekly" and req.unreleased:
        main = _unreleased(pts[names[-1]], clones.paths, req.repos, now)
        pts[UNRELEASED] = main
        pairs.append((pts[names[-1]], main))
    cache = RangeCache(req.cache_dir) if req.cache_dir is not None else None
    collected = collect_ranges(pairs, clones, cache=cache, jobs=req.jobs, progress=progress,
                               skip=req.overrides.skips, repo_urls=urls)  # fmt: skip
    git_names = {n: pt.name for n, pt in pts.items()}
    releases: list[Release] = []
    at = 0
    for page in pages:
        parts = list(zip(page.spans, collected[at : at + len(page.spans)], strict=True))
        at += len(page.spans)
        releases.append(_merge(page, parts, _kind(page.name), git_names))
    if main is not None:
        rel = replace(collected[at], name=UNRELEASED, eups=UNRELEASED, previous=pts[names[-1]].name,
                      kind=ReleaseKind.UNRELEASED, date=None, note=f"Updated at {now}")  # fmt: skip
        releases.append(rel)
    _apply_patches(req, releases, pts, clones.paths)
    if req.github is not None:
        attach_pulls(releases, req.github, req.repos)
    if req.jira is not None:
        summaries = req.jira.summaries({t.key for r in releases for t in r.tickets})
        for r in releases:
            for t in r.tickets:
                t.summary = summaries.get(t.key, t.summary)
    if req.eups_root is not None:
        _conda_changes(open_root(req.eups_root), releases)
    title = req.title or {"weekly": "Weekly changelog", "releases": "Release changelog"}.get(
        req.mode, f"Changes from {names[0]} to {names[-1]}"
    )
    return ChangelogModel(title, list(reversed(releases)), urls, now)


def _conda_changes(root: Root, releases: Sequence[Release]) -> None:
    """Each release's third-party package changes, from the published environments."""
    previous: Lock | None = None
    for r in releases:
        if r.kind is ReleaseKind.UNRELEASED:
            continue
        env = read_tag_env(root, r.eups)
        r.conda = package_changes(previous, env)
        previous = env


def _web_url(url: str) -> str | None:
    """The browsable URL of a repository (``https://github.com/o/n``); None for a local
    or ``git://`` URL, which has no pages to link to."""
    if url.startswith(("https://", "http://")):
        return url.removesuffix(".git").rstrip("/")
    if url.startswith("git@github.com:"):
        return "https://github.com/" + url.removeprefix("git@github.com:").removesuffix(".git")
    return None
