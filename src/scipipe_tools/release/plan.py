"""The tag plan: which repo gets which tag on which commit (pure; no git, no HTTP).

Codekit's ``github-tag-release`` algorithm (spec section 4), as functions over data:

1. :func:`select` -- the products: those of the EUPS tag, each checked against the
   manifest (present; same version unless ignored), or every manifest product with
   ``--manifest-only``; then ``--limit``.
2. :func:`resolve_repos` -- each product's repository from repos.yaml.
3. :func:`gate` -- the team gate: in at least one allow team and in no deny team; a repo
   in an external team gets ``v`` before a digit-leading tag.
4. :func:`decide` -- against the tag the repo has now: create, in sync (skip), update
   (only with ``--force-tag``) or conflict.

Every check returns problems instead of raising, so that all of them are reported
before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from ..errors import ScipipeError, at
from ..eups.manifest import Manifest
from ..eups.repos import Repos
from ..eups.taglist import TagList
from ..forge.base import RepoId, Tagger, TagInfo, repo_id


@dataclass(frozen=True)
class Problem:
    """One read-side error, attributed to a product (or ``"-"``)."""

    product: str
    message: str

    def __str__(self) -> str:
        return at(self.product, self.message) if self.product != "-" else self.message


@dataclass(frozen=True)
class Product:
    name: str
    sha: str
    version: str


@dataclass(frozen=True)
class Target:
    """One product's tag: the repository, the tag name for it, the commit, the message."""

    product: str
    repo: RepoId
    sha: str
    version: str
    tag: str = ""
    message: str = ""
    external: bool = False


class Action(StrEnum):
    CREATE = "create"
    IN_SYNC = "in-sync"
    UPDATE = "update"
    CONFLICT = "conflict"


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str = ""


@dataclass(frozen=True)
class Compare:
    """What must match for an existing tag to count as in sync."""

    message: bool = True
    tagger: bool = True


def select(
    manifest: Manifest,
    taglist: TagList | None,
    *,
    ignore_versions: bool = False,
    limit: int | None = None,
) -> tuple[list[Product], list[Problem]]:
    """The products to tag, in file order, and the problems found on the way.

    A product of the EUPS tag that the manifest lacks is an error, not skipped (codekit's
    behaviour: a tag and a manifest that disagree are not a release).
    """
    problems: list[Problem] = []
    by_name = manifest.by_name
    products: list[Product] = []
    if taglist is None:
        products = [Product(e.name, e.sha1, e.version) for e in manifest.entries]
    else:
        seen: set[str] = set()
        for row in taglist.rows:
            if row.product in seen:  # several flavors of one product: one repo tag
                continue
            seen.add(row.product)
            entry = by_name.get(row.product)
            if entry is None:
                problems.append(
                    Problem(
                        row.product,
                        f"in EUPS tag {taglist.tag} but not in manifest {manifest.build_id}",
                    )
                )
                continue
            if not ignore_versions and entry.version != row.version:
                problems.append(
                    Problem(
                        row.product,
                        f"version {row.version} in EUPS tag {taglist.tag} but {entry.version} "
                        f"in manifest {manifest.build_id} (--ignore-manifest-versions to allow)",
                    )
                )
                continue
            products.append(Product(entry.name, entry.sha1, entry.version))
    if limit is not None:
        products = products[:limit]
    return products, problems


def resolve_repos(products: Sequence[Product], repos: Repos) -> tuple[list[Target], list[Problem]]:
    """Each product's repository (``owner/name`` from its repos.yaml URL)."""
    targets: list[Target] = []
    problems: list[Problem] = []
    for p in products:
        spec = repos.get(p.name)
        if spec is None:
            problems.append(Problem(p.name, f"not in {repos.path}"))
            continue
        try:
            rid = repo_id(spec.url)
        except ScipipeError as exc:
            problems.append(Problem(p.name, f"{repos.path}:{spec.line or '?'}: {exc.message}"))
            continue
        targets.append(Target(p.name, rid, p.sha, p.version))
    by_repo: dict[str, Target] = {}
    kept: list[Target] = []
    for t in targets:
        other = by_repo.get(t.repo.full_name)
        if other is None:
            by_repo[t.repo.full_name] = t
            kept.append(t)
        elif other.sha != t.sha:
            problems.append(
                Problem(
                    t.product,
                    f"shares repository {t.repo} with {other.product} but at another commit "
                    f"({t.sha[:12]} vs {other.sha[:12]})",
                )
            )
    return kept, problems


def tag_name_for(git_tag: str, external: bool) -> str:
    """``v`` + tag for an external repo when the tag starts with a digit (``29.1.0``)."""
    return "v" + git_tag if external and "0" <= git_tag[:1] <= "9" else git_tag


def message_for(name: str, build_id: str, eups_tag: str | None) -> str:
    """The annotated tag's message: one of codekit's two release templates."""
    if eups_tag is None:
        return f"Version {name} release from manifest {build_id}"
    return f"Version {name} release from {eups_tag}/{build_id}"


def gate(
    targets: Sequence[Target],
    members: Mapping[str, frozenset[str]],
    *,
    allow: Sequence[str],
    deny: Sequence[str] = (),
    external: Sequence[str] = (),
    git_tag: str,
    build_id: str,
    eups_tag: str | None,
    exists: Callable[[str], bool] | None = None,
) -> tuple[list[Target], list[Problem]]:
    """The team gate, and each target's tag name and message.  A repo in no allowed
    team is looked up with ``exists`` (when given), so that a missing one says so."""
    kept: list[Target] = []
    problems: list[Problem] = []
    for t in targets:
        name = t.repo.full_name
        in_allow = [team for team in allow if name in members.get(team, frozenset())]
        in_deny = [team for team in deny if name in members.get(team, frozenset())]
        if not in_allow:
            if exists is not None and not exists(name):
                problems.append(Problem(t.product, f"{name}: the repository does not exist"))
            else:
                teams = ", ".join(allow)
                problems.append(
                    Problem(t.product, f"{name} is in none of the allowed teams ({teams})")
                )
            continue
        if in_deny:
            problems.append(Problem(t.product, f"{name} is in denied team {in_deny[0]!r}"))
            continue
        ext = any(name in members.get(team, frozenset()) for team in external)
        tag = tag_name_for(git_tag, ext)
        kept.append(
            Target(
                t.product,
                t.repo,
                t.sha,
                t.version,
                tag=tag,
                message=message_for(tag, build_id, eups_tag),
                external=ext,
            )
        )
    return kept, problems


def _strip(message: str | None) -> str:
    return (message or "").rstrip()


def decide(
    target: Target,
    existing: TagInfo | None,
    tagger: Tagger,
    *,
    compare: Compare = Compare(),
    force: bool = False,
) -> Decision:
    """What to do with ``target`` given the tag its repo has now.

    Equal means: an annotated tag of the same commit (the tag object pointing straight at
    it), with the same message and tagger name and email unless those comparisons are
    off.  The tagger date is never compared, so that a rerun is in sync.
    """
    if existing is None:
        return Decision(Action.CREATE)
    diffs: list[str] = []
    if not existing.annotated:
        diffs.append("it is a lightweight tag")
    else:
        if existing.sha != target.sha:
            diffs.append(f"it points at {existing.sha[:12]}, not {target.sha[:12]}")
        elif existing.target_type != "commit":
            diffs.append(f"it is a tag of a {existing.target_type}, not of the commit")
        if compare.message and _strip(existing.message) != _strip(target.message):
            diffs.append(f"its message is {_strip(existing.message)!r}")
        if compare.tagger and (existing.tagger_name, existing.tagger_email) != (
            tagger.name,
            tagger.email,
        ):
            diffs.append(f"its tagger is {existing.tagger_name} <{existing.tagger_email}>")
    if not diffs:
        return Decision(Action.IN_SYNC)
    reason = "; ".join(diffs)
    return Decision(Action.UPDATE if force else Action.CONFLICT, reason)
