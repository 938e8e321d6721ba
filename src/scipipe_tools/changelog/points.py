"""Release points: what each product's commit was at a release (spec section 7).

A :class:`Point` is a named release (``w.2025.15`` / ``w_2025_15``) with, per product,
its EUPS version and full commit SHA.  Points come from

- an EUPS tag on a distribution root (:func:`from_eups_tag`): the versions are the tag
  list's; the SHAs come from the ``#BUILD=`` manifest in a versiondb when one is given,
  else from each version's ``g<sha10>`` part resolved in the product's clone (one
  ``git cat-file --batch-check`` per product for every point at once);
- a versiondb manifest ``bNNNN`` (:func:`from_manifest`);
- a git tag in every product's clone (:func:`from_git_tag`), a final release's tag
  tried with and without its leading ``v`` (external repos carry ``v29.1.0``).

A product whose commit cannot be found is kept in the point's ``unresolved`` (with the
reason); the collector lists it among the release's ``missing``.

:func:`list_series` lists a root's weekly or regular release tags in release order, as
the reference changelog's tag index does.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..errors import InputError, ResolutionError, ScipipeError
from ..eups.manifest import Manifest
from ..infra.roots import Root, find_taglist, open_root
from ..names.tags import TagKind, eups_to_git, git_to_eups, kind_of
from ..stack import sources
from .cache import Cache, repo_identity
from .model import ReleaseKind
from .walk import reason, run_git

SeriesKind = Literal["weekly", "releases"]

WEEKLY = re.compile(r"^w[._]([0-9]{4})[._]([0-9]{2})$")
RELEASE = re.compile(r"^v?([0-9]+)[._]([0-9]+)(?:[._]([0-9]+))?(?:[._]rc([0-9]+))?$")
#: Regular releases' majors outside this range are not releases (old or bogus tags).
MAJOR_MIN, MAJOR_MAX = 9, 1000
_HEX_VERSION = re.compile(r"^g([0-9a-f]{7,40})$")
_DESCRIBE_VERSION = re.compile(r"-g([0-9a-f]{7,40})$")
_SHA40 = re.compile(r"^[0-9a-f]{40}$")
_DATE_FORMAT = "format-local:%Y-%m-%dT%H:%M:%SZ"

_KINDS = {
    TagKind.WEEKLY: ReleaseKind.WEEKLY,
    TagKind.RELEASE_CANDIDATE: ReleaseKind.RC,
    TagKind.FINAL: ReleaseKind.FINAL,
}


@dataclass(frozen=True)
class Point:
    """A release point: per product, its commit (``shas``) and EUPS version."""

    #: the git tag form (``w.2025.15``, ``29.1.0``, ``v29.1.0.rc1``) or the build id
    name: str
    #: the EUPS tag form (``w_2025_15``, ``v29_1_0``) or the build id
    eups: str
    #: a :class:`ReleaseKind` (its string value is accepted and converted)
    kind: ReleaseKind
    #: when it was made (ISO UTC), when known
    date: str | None
    #: product -> full commit SHA
    shas: Mapping[str, str]
    #: product -> EUPS version (empty for a point made from git tags)
    versions: Mapping[str, str]
    build_id: str | None = None
    conda_env: str | None = None
    #: product -> why its commit is unknown (not in ``shas``)
    unresolved: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # callers may pass the kind's value ("weekly"); keep the enum
        object.__setattr__(self, "kind", ReleaseKind(self.kind))

    @property
    def products(self) -> list[str]:
        """Every product of the point, sorted."""
        return sorted({*self.versions, *self.shas, *self.unresolved})

    def version(self, product: str) -> str | None:
        """The EUPS version, else the SHA, else None."""
        return self.versions.get(product) or self.shas.get(product)


def release_kind(tag: str) -> ReleaseKind:
    """The changelog kind of a git or EUPS tag name."""
    return _KINDS.get(kind_of(tag), ReleaseKind.OTHER)


# --- series --------------------------------------------------------------------------


def series_key(name: str, kind: SeriesKind | str) -> int | None:
    """The sort key of a tag name in a series, or None when it is not in the series.

    Weekly ``w_YYYY_WW``: ``YYYY*100 + WW``.  Regular ``vM_m[_p][_rcN]`` (9 <= M <=
    1000): ``M*10^6 + m*10^4 + p*100 + N``, a final release counting as rc 99.
    """
    if kind == "weekly":
        m = WEEKLY.match(name)
        return int(m.group(1)) * 100 + int(m.group(2)) if m else None
    if kind == "releases":
        m = RELEASE.match(name)
        if m is None:
            return None
        major, minor = int(m.group(1)), int(m.group(2))
        if not MAJOR_MIN <= major <= MAJOR_MAX:
            return None
        patch = int(m.group(3) or 0)
        rc = int(m.group(4)) if m.group(4) is not None else 99
        return major * 1_000_000 + minor * 10_000 + patch * 100 + rc
    raise InputError(f"unknown series kind {kind!r}: expected 'weekly' or 'releases'")


def list_series(root: str | Root, kind: SeriesKind | str) -> list[str]:
    """The root's EUPS tags of a series (``weekly`` or ``releases``), oldest first.

    Daily tags, rolling tags (``w_latest``) and anything else are left out.
    """
    series_key("", kind)  # an unknown kind is an InputError, even for an empty root
    opened = open_root(root) if isinstance(root, str) else root
    names = opened.list_tags()
    if names is None:
        raise ResolutionError(
            f"cannot list the tags of {opened}", hint="the root must be a directory or an "
            "http(s) server with directory listings"
        )  # fmt: skip
    keyed = [(key, name) for name in names if (key := series_key(name, kind)) is not None]
    return [name for _key, name in sorted(keyed)]


# --- from EUPS tags ------------------------------------------------------------------


def version_rev(version: str) -> str | None:
    """The git revision an EUPS version names: ``g<hex>`` (or a legacy ``git describe``
    ``...-g<hex>``) before any ``+``; else the part before ``+`` as a tag name; None when
    that is no valid ref name."""
    base = version.split("+", 1)[0]
    m = _HEX_VERSION.match(base) or _DESCRIBE_VERSION.search(base)
    if m is not None:
        return m.group(1)
    if not base or base.startswith(("-", ".", "/")) or re.search(r"[\s~^:?*\[\\]|\.\.|@\{", base):
        return None
    return f"refs/tags/{base}"


def from_eups_tag(
    tag: str,
    root: str | Root,
    *,
    versiondb: str | None = None,
    clones: Mapping[str, Path] | None = None,
    cache: Cache | None = None,
    jobs: int = 8,
) -> Point:
    """The release point of EUPS tag ``tag`` on a distribution root (path or URL).

    SHAs come from the versiondb manifest named by the list's ``#BUILD=`` (``versiondb``
    is a path or URL: a checkout or its ``manifests/``), for the products whose version
    there equals the tag's; the others' ``g<sha10>`` is resolved in ``clones``.
    """
    return from_eups_tags([tag], root, versiondb=versiondb, clones=clones, cache=cache, jobs=jobs)[
        0
    ]


def from_eups_tags(
    tags: Sequence[str],
    root: str | Root,
    *,
    versiondb: str | None = None,
    clones: Mapping[str, Path] | None = None,
    cache: Cache | None = None,
    jobs: int = 8,
) -> list[Point]:
    """:func:`from_eups_tag` for several tags, resolving their versions together."""
    opened = open_root(root) if isinstance(root, str) else root
    dates = build_dates(versiondb) if versiondb is not None else {}
    points = []
    for tag in tags:
        taglist = find_taglist(opened, tag)
        if taglist is None:
            raise ResolutionError(
                f"unknown EUPS tag {tag!r}: no {tag}.list in {opened}",
                hint=f"`scipipe distrib list {opened}` shows the tags it has",
            )
        versions = taglist.products()
        shas: dict[str, str] = {}
        manifest = _manifest(taglist.build_id, versiondb)
        if manifest is not None:
            for product, version in versions.items():
                entry = manifest.by_name.get(product)
                if entry is not None and entry.version == version:
                    shas[product] = entry.sha1
        where = f"manifest {taglist.build_id}" if manifest is not None else "no manifest"
        unresolved = {
            p: f"{v}: not in {where}, and no clone to resolve it in"
            for p, v in versions.items()
            if p not in shas
        }
        build_id = taglist.build_id
        points.append(
            Point(
                eups_to_git(tag),
                tag,
                release_kind(tag),
                dates.get(build_id) if build_id else None,
                dict(sorted(shas.items())),
                dict(sorted(versions.items())),
                build_id,
                taglist.conda_env,
                dict(sorted(unresolved.items())),
            )
        )
    if clones:
        points = resolve_points(points, clones, cache=cache, jobs=jobs)
    return points


def resolve_points(
    points: Sequence[Point],
    clones: Mapping[str, Path],
    *,
    cache: Cache | None = None,
    jobs: int = 8,
) -> list[Point]:
    """The points with their unresolved products' versions (``g<sha10>``, a legacy
    ``...-g<hex>``, else a tag name) resolved in the clones: one ``git cat-file
    --batch-check`` per product for all the points together (none for prefixes the
    cache has resolved before)."""
    pending: dict[str, set[str]] = {}
    for point in points:
        for product in point.unresolved:
            version = point.versions.get(product)
            rev = version_rev(version) if version else None
            if rev is not None:
                pending.setdefault(product, set()).add(rev)
    if not pending:
        return list(points)
    resolved, problems = resolve_revs(pending, clones, cache=cache, jobs=jobs)
    out = []
    for point in points:
        shas = dict(point.shas)
        unresolved: dict[str, str] = {}
        for product, why in point.unresolved.items():
            version = point.versions.get(product)
            rev = version_rev(version) if version else None
            sha = resolved.get(product, {}).get(rev) if rev is not None else None
            if sha is not None:
                shas[product] = sha
            elif version is None:
                unresolved[product] = why
            elif rev is None:
                unresolved[product] = f"version {version} names no git revision"
            else:
                reason_ = problems.get(product) or f"{rev} not found in the clone"
                unresolved[product] = f"cannot resolve {version}: {reason_}"
        out.append(
            dataclasses.replace(
                point, shas=dict(sorted(shas.items())), unresolved=dict(sorted(unresolved.items()))
            )
        )
    return out


def _manifest(build_id: str | None, versiondb: str | None) -> Manifest | None:
    if build_id is None or versiondb is None:
        return None
    try:
        return sources.load_manifest(build_id, versiondb)
    except ResolutionError:
        return None  # not recorded there: fall back to the clones


def resolve_revs(
    wanted: Mapping[str, Iterable[str]],
    clones: Mapping[str, Path],
    *,
    cache: Cache | None = None,
    jobs: int = 8,
) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Full commit SHAs of revisions (hex prefixes, ``refs/tags/...``) per product.

    One ``git cat-file --batch-check`` per product clone; hex prefixes resolved before
    come from the cache.  Returns ``({product: {rev: sha}}, {product: problem})``.
    """
    found: dict[str, dict[str, str]] = {}
    problems: dict[str, str] = {}

    def one(product: str, revs: list[str]) -> None:
        repo = clones.get(product)
        if repo is None:
            problems[product] = "no clone of the product"
            return
        identity = repo_identity(repo) if cache is not None else ""
        known = cache.get_revs(product, identity) if cache is not None else {}
        out = {rev: known[rev] for rev in revs if rev in known}
        todo = [rev for rev in revs if rev not in out]
        if todo:
            result = run_git(
                repo,
                ["cat-file", "--batch-check=%(objectname) %(objecttype)"],
                input="".join(f"{rev}^{{commit}}\n" for rev in todo).encode(),
            )
            if result.returncode != 0:
                problems[product] = reason(result)
            else:
                lines = result.stdout.splitlines()
                for rev, line in zip(todo, lines, strict=False):
                    sha, _, kind = line.partition(" ")
                    if kind == "commit" and _SHA40.match(sha):
                        out[rev] = sha
                fresh = {r: s for r, s in out.items() if r not in known and "/" not in r}
                if cache is not None and fresh:
                    cache.put_revs(product, identity, {**known, **fresh})
        found[product] = out

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(one, p, sorted(revs)) for p, revs in sorted(wanted.items())]
        for future in futures:
            future.result()
    return found, problems


def build_dates(versiondb: str) -> dict[str, str]:
    """``{bNNNN: date}`` of the versiondb's build tags, when it is a local git checkout."""
    path = Path(versiondb)
    if not path.is_dir():
        return {}
    repo = path.parent if path.name == "manifests" else path
    if not ((repo / ".git").exists() or (repo / "objects").is_dir()):
        return {}
    result = run_git(
        repo,
        ["for-each-ref", f"--format=%(refname:short)%00%(creatordate:{_DATE_FORMAT})",
         "refs/tags/b*"],
    )  # fmt: skip
    if result.returncode != 0:
        return {}
    dates = {}
    for line in result.stdout.splitlines():
        name, _, date = line.partition("\0")
        if name and date:
            dates[name] = date
    return dates


# --- from a manifest -----------------------------------------------------------------


def from_manifest(build_id: str, versiondb: str) -> Point:
    """The release point of versiondb manifest ``build_id`` (``b8466``)."""
    manifest = sources.load_manifest(build_id, versiondb)
    return Point(
        build_id,
        build_id,
        ReleaseKind.OTHER,
        build_dates(versiondb).get(build_id),
        {e.name: e.sha1 for e in sorted(manifest.entries, key=lambda e: e.name)},
        {e.name: e.version for e in sorted(manifest.entries, key=lambda e: e.name)},
        build_id,
    )


# --- from git tags -------------------------------------------------------------------


def tag_candidates(tag: str) -> tuple[str, ...]:
    """The git tag names a release may carry: a final or RC release with and without
    its leading ``v`` (DM repos tag ``29.1.0``, external ones ``v29.1.0``)."""
    if re.match(r"^[0-9]", tag):
        return tag, f"v{tag}"
    if re.match(r"^v[0-9]", tag):
        return tag, tag[1:]
    return (tag,)


def from_git_tag(
    tag: str,
    repos: Iterable[str] | None,
    clones: Mapping[str, Path],
    *,
    jobs: int = 8,
) -> Point:
    """The release point of git tag ``tag``: the tag, peeled, in each product's clone.

    The products looked at are the clones' (those in ``repos`` -- a Repos or any
    collection of product names -- when given); the point's products are those whose
    clone has the tag (or its ``v``-twin).  The date is the newest tagger date among
    them (a lightweight tag's commit date).
    """
    if repos is not None:
        allowed = set(repos)
        clones = {p: r for p, r in clones.items() if p in allowed}
    candidates = tag_candidates(tag)
    shas: dict[str, str] = {}
    dates: list[str] = []
    problems: dict[str, str] = {}

    def one(product: str, repo: Path) -> None:
        result = run_git(
            repo,
            [
                "for-each-ref",
                "--format=%(refname)%00%(objecttype)%00%(objectname)%00%(*objecttype)"
                f"%00%(*objectname)%00%(creatordate:{_DATE_FORMAT})",
                *(f"refs/tags/{c}" for c in candidates),
            ],
        )
        if result.returncode != 0:
            problems[product] = reason(result)
            return
        rows = {}
        for line in result.stdout.splitlines():
            fields = line.split("\0")
            if len(fields) == 6:
                rows[fields[0].removeprefix("refs/tags/")] = fields
        for candidate in candidates:
            row = rows.get(candidate)
            if row is None:
                continue
            _ref, kind, sha, peeled_kind, peeled, date = row
            commit = sha if kind == "commit" else peeled if peeled_kind == "commit" else None
            if commit is None:
                problems[product] = f"tag {candidate} does not point at a commit"
                return
            shas[product] = commit
            if date:
                dates.append(date)
            return

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(one, p, Path(r)) for p, r in sorted(clones.items())]
        for future in futures:
            future.result()
    if not shas and problems:
        first = next(iter(sorted(problems.items())))
        raise ScipipeError(f"cannot read tag {tag}: {first[0]}: {first[1]}")
    if not shas and clones:
        names = " or ".join(repr(c) for c in candidates)
        raise ResolutionError(
            f"unknown release point {tag!r}: no product repository has the git tag {names}",
            hint="check the name (weeklies are w.YYYY.WW), or fetch the clones again",
        )
    return Point(
        tag,
        git_to_eups(tag),
        release_kind(tag),
        max(dates) if dates else None,
        dict(sorted(shas.items())),
        {},
        unresolved=dict(sorted(problems.items())),
    )
