"""Collect what changed between release points into :class:`~.model.Release` objects.

For each product present in both points, the first-parent commits between its two
SHAs and the fragments they add (walked in batches, :func:`.walks.walk_all`, or from the
:class:`.cache.Cache`) are grouped by ticket: a
:class:`~.model.Ticket` per key with the products, changes and fragments that name it;
commits naming no ticket go to the release's ``other`` (never dropped, unlike the
reference changelog).  Products only in the new point are ``added``, only in the old
one ``removed`` (their history is not walked).  A product whose commits cannot be
walked -- no SHA, no clone, a SHA absent from the clone -- is listed in ``missing`` with
the reason, and the rest of the release is still collected.

Products named ``testdata_*`` or ``*_testdata`` (large data repositories) are not
walked unless asked for; they still count as added, removed and in ``products``.

Every walk of a series runs in one thread pool, so a series is as parallel as a range.
A release collected before from the very same ranges (and branch and pull-request
URLs) comes whole from the cache's release entry, read while the new ranges are walked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from fnmatch import fnmatchcase
from operator import attrgetter
from pathlib import Path

from ..infra.progress import NULL, Progress
from .cache import Cache, release_digest, repo_identity
from .clones import Clones
from .model import Change, Release, Ticket
from .points import Point
from .walk import Walked, paused_gc
from .walks import Key as _Key
from .walks import walk_all

#: data repositories, not walked (spec section 7)
TESTDATA_PATTERNS = ("testdata_*", "*_testdata")

_by_date = attrgetter("date")


def is_testdata(product: str) -> bool:
    return any(fnmatchcase(product, pattern) for pattern in TESTDATA_PATTERNS)


def _never(product: str) -> bool:
    return False


def collect_range(
    old: Point | None,
    new: Point,
    clones: Mapping[str, Path] | Clones,
    *,
    cache: Cache | None = None,
    jobs: int = 8,
    progress: Progress = NULL,
    branch: str = "main",
    include_testdata: bool = False,
    skip: Callable[[str], bool] | None = None,
    repo_urls: Mapping[str, str] | None = None,
) -> Release:
    """What changed from ``old`` to ``new`` (with no ``old``: nothing to compare with,
    so only the products are listed).

    ``branch`` is the branch the changes landed on (``main``, ``v29.1.x``) for the
    tickets.  ``skip(product)`` says which products not to walk (default: the testdata
    patterns, unless ``include_testdata``).  ``repo_urls`` (product ->
    ``https://github.com/org/repo``) gives merges of pull requests their ``pr_url``.
    """
    return collect_ranges(
        [(old, new)],
        clones,
        cache=cache,
        jobs=jobs,
        progress=progress,
        branch=branch,
        include_testdata=include_testdata,
        skip=skip,
        repo_urls=repo_urls,
    )[0]


def collect_series(
    points: Sequence[Point],
    clones: Mapping[str, Path] | Clones,
    *,
    cache: Cache | None = None,
    jobs: int = 8,
    progress: Progress = NULL,
    branch: str = "main",
    include_testdata: bool = False,
    skip: Callable[[str], bool] | None = None,
    repo_urls: Mapping[str, str] | None = None,
) -> list[Release]:
    """One release per point (given oldest first) against the point before it, newest
    first; the oldest point's release has no ``previous`` and no changes."""
    pairs = [(points[i - 1] if i else None, point) for i, point in enumerate(points)]
    releases = collect_ranges(
        pairs,
        clones,
        cache=cache,
        jobs=jobs,
        progress=progress,
        branch=branch,
        include_testdata=include_testdata,
        skip=skip,
        repo_urls=repo_urls,
    )
    return releases[::-1]


def collect_ranges(
    pairs: Sequence[tuple[Point | None, Point]],
    clones: Mapping[str, Path] | Clones,
    *,
    cache: Cache | None = None,
    jobs: int = 8,
    progress: Progress = NULL,
    branch: str = "main",
    include_testdata: bool = False,
    skip: Callable[[str], bool] | None = None,
    repo_urls: Mapping[str, str] | None = None,
) -> list[Release]:
    """:func:`collect_range` of each pair, in the order given, with every walk in one
    thread pool."""
    with paused_gc():
        return _collect_unpaused(
            pairs, clones, cache=cache, jobs=jobs, progress=progress, branch=branch,
            skip=skip or (_never if include_testdata else is_testdata), repo_urls=repo_urls,
        )  # fmt: skip


def _collect_unpaused(
    pairs: Sequence[tuple[Point | None, Point]],
    clones: Mapping[str, Path] | Clones,
    *,
    cache: Cache | None,
    jobs: int,
    progress: Progress,
    branch: str,
    skip: Callable[[str], bool],
    repo_urls: Mapping[str, str] | None,
) -> list[Release]:
    if isinstance(clones, Clones):
        paths: Mapping[str, Path] = clones.paths
        no_clone: Mapping[str, str] = clones.failed
    else:  # a plain mapping
        paths, no_clone = clones, {}
    releases, plans = _plan_releases(pairs, paths, no_clone, skip)
    urls = repo_urls or {}
    identities = {p: repo_identity(paths[p]) for p in {k[0] for plan in plans for _p, k in plan}}
    # a release collected before from the very same ranges comes whole from the cache
    digests: list[str | None] = [None] * len(releases)
    todo: list[int] = []
    entries: list[int] = []
    for i, plan in enumerate(plans):
        if cache is not None and plan:
            digests[i] = release_digest([k for _p, k in plan], identities, branch, urls)
            if cache.has_release(digests[i] or ""):
                entries.append(i)
                continue
        todo.append(i)
    results, failures = walk_all(
        {key for i in todo for _p, key in plans[i]},
        paths,
        identities,
        cache,
        jobs,
        progress,
        _read_entries(cache, entries, digests, releases, plans, todo),
    )
    for i in todo:
        release, plan = releases[i], plans[i]
        walked: list[tuple[str, Walked]] = []
        for product, key in plan:
            if key in failures:
                release.missing[product] = failures[key]
            else:
                walked.append((product, results[key]))
        newest = _fill(release, walked, branch, urls)
        entry = digests[i]
        if cache is not None and entry is not None and len(walked) == len(plan):
            cache.put_release(entry, release, newest)
    return releases


#: the ranges of one release to walk: ``(product, (product, old SHA, new SHA))``
_Plan = list[tuple[str, _Key]]


def _plan_releases(
    pairs: Sequence[tuple[Point | None, Point]],
    paths: Mapping[str, Path],
    no_clone: Mapping[str, str],
    skip: Callable[[str], bool],
) -> tuple[list[Release], list[_Plan]]:
    """A release for each pair (products, added, removed, missing filled in) and the
    ranges to walk for it."""
    releases: list[Release] = []
    plans: list[_Plan] = []
    for old, new in pairs:
        release = Release(
            name=new.name,
            eups=new.eups,
            kind=new.kind,
            date=new.date,
            previous=old.name if old is not None else None,
        )
        release.products = {p: v for p in new.products if (v := new.version(p))}
        plan: _Plan = []
        if old is not None:
            before, after = set(old.products), set(new.products)
            release.added = sorted(after - before)
            release.removed = sorted(before - after)
            for product in sorted(before & after):
                if skip(product):
                    continue
                problem = _problem(product, old, new, paths, no_clone)
                if problem is not None:
                    release.missing[product] = problem
                    continue
                old_sha, new_sha = old.shas[product], new.shas[product]
                if old_sha != new_sha:
                    plan.append((product, (product, old_sha, new_sha)))
        releases.append(release)
        plans.append(plan)
    return releases, plans


def _read_entries(
    cache: Cache | None,
    entries: Sequence[int],
    digests: Sequence[str | None],
    releases: Sequence[Release],
    plans: Sequence[_Plan],
    todo: list[int],
) -> Iterator[list[_Key]]:
    """Read the release entries (while git walks the new ranges), one a step; the
    ranges of one that turns out unreadable, to walk after all (its index joins
    ``todo``)."""
    for i in entries:
        assert cache is not None
        if cache.get_release(digests[i] or "", releases[i], len(plans[i])):
            yield []
        else:
            todo.append(i)
            yield [key for _p, key in plans[i]]


def _problem(
    product: str,
    old: Point,
    new: Point,
    paths: Mapping[str, Path],
    no_clone: Mapping[str, str],
) -> str | None:
    """Why ``product``'s range cannot be walked, or None."""
    for point, label in ((new, ""), (old, f"previous release {old.name}: ")):
        if product not in point.shas:
            why = point.unresolved.get(product, "no commit SHA known")
            return f"{label}{why}"
    if product not in paths:
        return no_clone.get(product, "no clone of the product")
    return None


def _fill(
    release: Release,
    walked: Sequence[tuple[str, Walked]],
    branch: str,
    repo_urls: Mapping[str, str],
) -> str:
    """Group the walked changes of ``release`` by ticket (products in name order);
    the date of its newest change (the release's own when it has none)."""
    tickets: dict[str, Ticket] = {}
    other: list[Change] = []
    newest = ""
    for product, result in walked:
        url = repo_urls.get(product)
        changes = result.changes
        if changes and changes[0].date > newest:
            newest = changes[0].date
        if url is not None:
            base = url.rstrip("/")
            changes = tuple(
                c._replace(pr_url=f"{base}/pull/{c.pr}") if c.pr is not None else c for c in changes
            )
        for change in changes:
            if not change.tickets:
                other.append(change)
                continue
            for key in change.tickets:
                ticket = tickets.get(key)
                if ticket is None:
                    ticket = tickets[key] = Ticket(key, branch=branch)
                ticket.changes.append(change)
        for fragment in result.fragments:
            ticket = tickets.get(fragment.ticket)
            if ticket is None:
                ticket = tickets[fragment.ticket] = Ticket(fragment.ticket, branch=branch)
            ticket.fragments.append(fragment)
    for ticket in tickets.values():
        ticket.changes.sort(key=_by_date, reverse=True)
        ticket.products = sorted(
            {c.product for c in ticket.changes} | {f.product for f in ticket.fragments}
        )
        ticket.last_merge = ticket.changes[0].date if ticket.changes else ""
    release.tickets = sorted(tickets.values(), key=lambda t: (t.last_merge, t.key), reverse=True)
    release.other = other
    if release.date is None and newest:
        release.date = newest
    return newest
