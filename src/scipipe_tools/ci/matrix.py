"""``scipipe ci matrix``: what to rebuild after a change, on which platforms.

The rebuild set of a change is the changed products plus everything downstream of them,
in build order, within the closure of the top-level products (the build matrix's
canonical products unless given).  Dependencies come from the table files of the
checkouts, resolved for each platform's EUPS flavor (a table's ``if (flavor == ...)``
can make the sets differ).  Without a change every top-level product is built.

The plan is data; :func:`github_matrix` and :func:`jenkins_properties` render it for
``strategy.matrix: ${{ fromJSON(...) }}`` and for Jenkins' ``readProperties``.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, ResolutionError, did_you_mean
from ..eups.exclusions import DEFAULT as DEFAULT_EXCLUSIONS
from ..eups.exclusions import Exclusions
from ..eups.graph import Resolution, dependents_closure
from ..eups.repos import Repos
from ..eups.table import TableContext
from ..infra import git
from ..sourcebuild.plan import resolve_sources
from .buildmatrix import BuildMatrix, Platform


@dataclass(frozen=True)
class Leg:
    """One platform of the matrix and what it rebuilds there (build order)."""

    platform: Platform
    products: tuple[str, ...]


@dataclass(frozen=True)
class MatrixPlan:
    top: tuple[str, ...]
    rubin_env: str
    #: the changed products (None: no change given, every top-level product is built)
    changed: tuple[str, ...] | None
    legs: tuple[Leg, ...]
    #: how the change was found: "changed", "since <ref>" or "all"
    source: str
    #: the platform release builds run on, and their Jenkins agent label
    canonical: str = ""
    canonical_label: str = ""

    @property
    def products(self) -> tuple[str, ...]:
        """Every leg's products, each once, in the order of first appearance."""
        return tuple(dict.fromkeys(p for leg in self.legs for p in leg.products))

    @property
    def active_legs(self) -> tuple[Leg, ...]:
        return tuple(leg for leg in self.legs if leg.products)


@dataclass(frozen=True)
class MatrixRequest:
    top: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    since: str | None = None
    sources: Path | None = None
    platforms: tuple[str, ...] = ()
    repos: Repos | None = None
    exclusions: Exclusions = DEFAULT_EXCLUSIONS


def plan_matrix(matrix: BuildMatrix, request: MatrixRequest) -> MatrixPlan:
    """Resolve the request against ``matrix`` (pure but for reading the checkouts)."""
    if request.changed and request.since:
        raise InputError("give either --changed or --since, not both")
    top = request.top or matrix.products
    canonical = (matrix.canonical_platform, matrix.canonical_label)
    platforms = matrix.select(request.platforms)
    if not request.changed and request.since is None:
        legs = tuple(Leg(p, top) for p in platforms)
        return MatrixPlan(top, matrix.rubin_env, None, legs, "all", *canonical)
    if request.sources is None:
        raise InputError(
            "--sources is required with --changed and --since (the checkouts' table files "
            "give the dependency graph)"
        )
    resolutions: dict[str, Resolution] = {}
    for flavor in dict.fromkeys(p.eups_flavor for p in platforms):
        resolutions[flavor] = resolve_sources(
            top,
            request.sources,
            repos=request.repos,
            exclusions=request.exclusions,
            ctx=TableContext(flavor=flavor),
        )
    closure = tuple(dict.fromkeys(p for r in resolutions.values() for p in r.order))
    if request.since is not None:
        changed = changed_since(request.sources, closure, request.since)
        source = f"since {request.since}"
    else:
        changed = tuple(dict.fromkeys(request.changed))
        check_known(changed, closure, top)
        source = "changed"
    legs = tuple(Leg(p, rebuild_set(resolutions[p.eups_flavor], changed)) for p in platforms)
    return MatrixPlan(top, matrix.rubin_env, changed, legs, source, *canonical)


def check_known(changed: Sequence[str], closure: Sequence[str], top: Sequence[str]) -> None:
    for name in changed:
        if name not in closure:
            near = did_you_mean(name, closure)
            raise ResolutionError(
                f"unknown repo {name!r}: not a product of {' '.join(top)} or their dependencies",
                hint=near or f"the closure has {len(closure)} products: see scipipe build plan",
            )


def rebuild_set(res: Resolution, changed: Sequence[str]) -> tuple[str, ...]:
    """``changed`` and everything that depends on them, in ``res``'s build order.

    A changed product outside ``res`` (another flavor's dependency) adds nothing.
    """
    affected = dependents_closure(res.deps, [c for c in changed if c in res.deps])
    return tuple(p for p in res.order if p in affected)


def changed_since(sources: Path, products: Sequence[str], ref: str) -> tuple[str, ...]:
    """The products whose checkout's HEAD is not ``ref`` (a branch of origin, a tag or a
    SHA); a repo that lacks ``ref`` altogether is new since then, so changed too."""
    git.check_ref(ref)

    def differs(product: str) -> bool:
        repo = sources / product
        head = git.head_sha(repo)
        at = git.resolve_ref(repo, ref)
        return at is None or at.sha != head

    with ThreadPoolExecutor(max_workers=8) as pool:
        flags = list(pool.map(differs, products))
    return tuple(p for p, changed in zip(products, flags, strict=True) if changed)


# --- renderings --------------------------------------------------------------------------


def _entry(leg: Leg, rubin_env: str) -> dict[str, str]:
    p = leg.platform
    return {
        "platform": p.name,
        "runner": p.runner,
        "image": p.image or "",
        "label": p.label,
        "eups_flavor": p.eups_flavor,
        "rubin_env": rubin_env,
        "products": " ".join(leg.products),
    }


def github_matrix(plan: MatrixPlan) -> dict[str, Any]:
    """``{"include": [...]}``: one entry per platform with something to build (an empty
    ``include`` when nothing is affected; the workflow skips the build job then)."""
    return {"include": [_entry(leg, plan.rubin_env) for leg in plan.active_legs]}


def _key(platform: str) -> str:
    return platform.replace("-", "_")


def jenkins_properties(plan: MatrixPlan) -> list[str]:
    """``KEY=VALUE`` lines (Java properties without escapes: values are plain words).

    ``PLATFORMS`` names the platforms with something to build; every selected platform
    has its ``PRODUCTS_<p>`` (maybe empty), ``LABEL_<p>``, ``IMAGE_<p>`` and
    ``EUPS_FLAVOR_<p>`` (``<p>`` with ``-`` as ``_``).
    """
    active = plan.active_legs
    lines = [
        f"TOP_PRODUCTS={' '.join(plan.top)}",
        f"CHANGED={' '.join(plan.changed or ())}",
        f"PRODUCTS={' '.join(plan.products)}",
        f"PLATFORMS={' '.join(leg.platform.name for leg in active)}",
        f"CANONICAL_PLATFORM={plan.canonical}",
        f"CANONICAL_LABEL={plan.canonical_label}",
        f"RUBIN_ENV={plan.rubin_env}",
    ]
    for leg in plan.legs:
        k = _key(leg.platform.name)
        lines += [
            f"PRODUCTS_{k}={' '.join(leg.products)}",
            f"LABEL_{k}={leg.platform.label}",
            f"IMAGE_{k}={leg.platform.image or ''}",
            f"EUPS_FLAVOR_{k}={leg.platform.eups_flavor}",
        ]
    return lines


def plan_json(plan: MatrixPlan) -> dict[str, Any]:
    return {
        "top": list(plan.top),
        "source": plan.source,
        "changed": None if plan.changed is None else list(plan.changed),
        "products": list(plan.products),
        "rubin_env": plan.rubin_env,
        "canonical_platform": plan.canonical,
        "canonical_label": plan.canonical_label,
        "legs": [_entry(leg, plan.rubin_env) for leg in plan.legs],
        "matrix": github_matrix(plan),
    }
