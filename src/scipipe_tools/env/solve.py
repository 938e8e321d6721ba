"""Solve an environment spec for each platform and make its lock (``scipipe env lock``).

Each platform is solved by py-rattler (in a worker process, all platforms concurrently)
with that platform's virtual packages, so a Linux lock made on a Mac is the lock a Linux
machine would make.  The lock records per platform the input hash of the spec, the
channels and the virtual packages; :func:`check_lock` compares those hashes with the spec
to tell whether the lock is out of date without solving.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import InputError, Location, ResolutionError, ScipipeError, did_you_mean
from ..infra.files import write_atomic
from ..infra.lockcache import Cached, read_cached, remember_written
from ..infra.lockfile import (
    Lock,
    LockDiff,
    LockedPackage,
    conda_lock_models,
    diff_locks,
    explicit_text,
    normalize_depends,
    parse_lock,
    write_lock,
)
from ..names.platforms import SUPPORTED
from .spec import EnvSpec
from .worker import Started, started_or_new

STRATEGIES = ("highest", "lowest", "lowest-direct")

#: what a lock's header says wrote it
COMMAND = "scipipe env lock"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LockRequest:
    spec: EnvSpec
    platforms: tuple[str, ...]
    variant: str | None = None
    strategy: str = "highest"
    #: package names to relock (``--update``); the rest of ``previous`` is kept if possible
    update: tuple[str, ...] = ()
    previous: Path | None = None
    timeout: float | None = None
    #: solve with this machine's virtual packages instead of the spec's (an installer)
    detect_virtual: bool = False


@dataclass(frozen=True)
class LockOutcome:
    lock: Lock
    #: platform -> seconds the solve took
    seconds: Mapping[str, float]
    #: against the previous lock, when there was one
    diff: LockDiff | None = None
    #: seconds all the solves took together (they run concurrently)
    solving: float = 0.0
    #: the previous lock as read (and whether scipipe wrote its bytes), when there was one
    previous: Cached | None = None


def effective_channels(
    spec_channels: Sequence[str], extra: Sequence[str] = (), override: bool = False
) -> tuple[str, ...]:
    """Extra channels first (strict priority: the first that has a package wins)."""
    base = () if override else tuple(spec_channels)
    return tuple(dict.fromkeys([*extra, *base]))


def with_channels(spec: EnvSpec, channels: Sequence[str]) -> EnvSpec:
    if not channels:
        raise InputError(f"{spec.path}: no channels to solve from")
    return replace(spec, channels=tuple(channels))


def check_platforms(spec: EnvSpec, platforms: Sequence[str]) -> tuple[str, ...]:
    """The platforms to lock: those asked for, else the spec's; each a real platform."""
    out = tuple(dict.fromkeys(platforms or spec.platforms))
    allowed = list(SUPPORTED)
    for p in out:
        if p not in allowed:
            raise InputError(f"unknown platform {p!r}", hint=did_you_mean(p, allowed))
    return out


def solve_lock(request: LockRequest, cache: Path, worker: Started | None = None) -> LockOutcome:
    """Solve every platform; raise :class:`ResolutionError` naming the conflict if one fails.

    ``worker``: a py-rattler worker for ``solve`` the caller started early and closes;
    else one is started here, first thing.
    """
    if request.strategy not in STRATEGIES:
        raise InputError(f"unknown strategy {request.strategy!r}",
                         hint=did_you_mean(request.strategy, STRATEGIES))  # fmt: skip
    with started_or_new("solve", worker) as worker:  # Python and py-rattler start while we prepare
        previous = _updated(request, cache)
        worker.send(_solve_job(request, cache))
        # While it solves: read the previous lock for the diff (remembered parsed: see
        # infra/lockcache.py); unless scipipe wrote it, import the models that will write
        # the new one (a relock that changes nothing needs them not).
        if previous is None:
            previous = _previous(request.previous, cache)
        if previous is None or previous.written_by is None:
            conda_lock_models()
        data = worker.result(timeout=None if request.timeout is None else
                             request.timeout * 2 + 60)  # fmt: skip
    return _outcome(request, data, previous)


def _updated(request: LockRequest, cache: Path) -> Cached | None:
    """With ``--update``: the lock to update, each name to relock checked in it."""
    previous = None
    if request.update:
        if request.previous is None or not request.previous.is_file():
            raise InputError("--update needs an existing lock to update",
                             hint="lock once without --update first")  # fmt: skip
        previous = read_cached(request.previous, cache, parse_lock)
        names = {p.name for p in previous.lock.packages}
        for name in request.update:
            if name not in names:
                raise InputError(
                    f"--update {name}: not in {request.previous}",
                    hint=did_you_mean(name, names),
                )
    return previous


def _previous(path: Path | None, cache: Path) -> Cached | None:
    """The lock ``path`` holds, for the diff; None when there is none (or a broken one,
    which the fresh lock replaces)."""
    if path is None or not path.is_file():
        return None
    try:
        return read_cached(path, cache, parse_lock)
    except ScipipeError:
        return None


def _solve_job(request: LockRequest, cache: Path) -> dict[str, Any]:
    spec = request.spec
    specs = spec.specs(request.variant)
    jobs: list[dict[str, Any]] = []
    for platform in request.platforms:
        job: dict[str, Any] = {
            "platform": platform,
            "specs": specs,
            "virtual": None if request.detect_virtual else spec.virtual(platform),
            "strategy": request.strategy,
        }
        if request.update and request.previous is not None:
            job["locked_from"] = str(request.previous)
            job["unlock"] = list(request.update)
        jobs.append(job)
    return {
        "channels": list(spec.channels),
        "cache_dir": str(cache),
        "timeout_s": request.timeout,
        "jobs": jobs,
    }


def _outcome(request: LockRequest, data: Mapping[str, Any], previous: Cached | None) -> LockOutcome:
    spec = request.spec
    specs = spec.specs(request.variant)
    results: list[dict[str, Any]] = data["results"]
    for platform, result in zip(request.platforms, results, strict=True):
        if "error" in result:
            raise unsatisfiable(spec, platform, specs, result["error"])
    packages: list[LockedPackage] = []
    seconds: dict[str, float] = {}
    for platform, result in zip(request.platforms, results, strict=True):
        seconds[platform] = float(result["seconds"])
        packages.extend(_locked(platform, r) for r in result["records"])
    custom = {"spec": f"{spec.name} {spec.version}"}
    if request.variant:
        custom["variant"] = request.variant
    lock = Lock(
        tuple(sorted(packages)),
        request.platforms,
        spec.channels,
        {p: spec.input_hash(p, request.variant) for p in request.platforms},
        (spec.path,),
        custom,
    )
    diff = diff_locks(previous.lock, lock) if previous else None
    return LockOutcome(lock, seconds, diff, float(data.get("seconds", 0.0)), previous)


def _locked(platform: str, record: Mapping[str, Any]) -> LockedPackage:
    return LockedPackage(
        platform=platform,
        name=record["name"],
        version=record["version"],
        build=record["build"],
        url=record["url"],
        md5=record.get("md5"),
        sha256=record.get("sha256"),
        depends=normalize_depends(record.get("depends", ())),
    )


# --------------------------------------------------------------------------- conflicts

_TREE = re.compile(r"^[\s│├└─]*")
_REQUIREMENT = re.compile(
    r"^(?P<spec>.+?)(?:,? (?:which|for which|cannot be installed|can be installed)\b"
    r"| would require\b)"
)


def conflict_chain(message: str) -> tuple[list[str], list[str]]:
    """(the first chain of requirements down to a failure, every package named).

    Reads rattler's explanation tree::

        Cannot solve the request because of: rubin-env ==13.0.1 cannot be installed ...
        └─ rubin-env 13.0.1 would require
           └─ cmake >=4.1.1, which cannot be installed because ...
              └─ cmake 4.1.2 would require
                 └─ __glibc >=2.28,<3.0.a0, for which no candidates were found.
    """
    lines = message.splitlines()
    if lines:
        lines[0] = lines[0].split("because of:", 1)[-1]
    chain: list[tuple[int, str]] = []
    first: list[str] | None = None
    names: dict[str, None] = {}
    for raw in lines:
        text = _TREE.sub("", raw).strip()
        if not text or text.lower().startswith("the following packages are incompatible"):
            continue
        depth = len(raw) - len(raw.lstrip(" │├└─"))
        m = _REQUIREMENT.match(text)
        if m is None or " would require" in text:
            continue  # a candidate ("cmake 4.1.2 would require"), not a requirement
        spec = m.group("spec").strip()
        names[spec.split()[0]] = None
        while chain and chain[-1][0] >= depth:
            chain.pop()
        chain.append((depth, spec))
        leaf = "no candidates were found" in text or "conflicts with" in text
        if leaf and first is None:
            first = [s for _, s in chain] + (["(conflict)"] if "conflicts with" in text else [])
    if first is None:
        first = [s for _, s in chain]
    return first, list(names)


def unsatisfiable(
    spec: EnvSpec, platform: str, specs: Iterable[str], message: str
) -> ResolutionError:
    chain, names = conflict_chain(message)
    if "No candidates were found for" in message and not chain:
        missing = message.split("No candidates were found for", 1)[1].strip().rstrip(".")
        chain, names = [missing + " (no such package)"], [missing.split()[0]]
    what = " -> ".join(chain) if chain else " ".join(message.split())[:200]
    conflicting = ", ".join(names)
    return ResolutionError(
        f"{platform}: cannot solve {', '.join(specs)}: {what}"
        + (f" [conflicting: {conflicting}]" if conflicting else ""),
        location=Location(spec.path),
        hint="the solver says:\n" + message.strip(),
    )


# --------------------------------------------------------------------------- check


def check_lock(
    spec: EnvSpec, lock: Lock, platforms: Sequence[str], variant: str | None
) -> dict[str, str]:
    """Platforms whose lock is out of date, each with the reason; empty when current."""
    out: dict[str, str] = {}
    for platform in platforms:
        recorded = lock.content_hash.get(platform)
        if recorded is None:
            out[platform] = "not in the lock"
        elif recorded != spec.input_hash(platform, variant):
            out[platform] = "the spec, its channels or virtual packages changed"
    return out


# --------------------------------------------------------------------------- files


def default_lock_path(spec_path: Path, variant: str | None = None) -> Path:
    stem = spec_path.name.removesuffix(".yaml").removesuffix(".yml")
    return spec_path.with_name(f"{stem}{'-' + variant if variant else ''}.conda-lock.yml")


def explicit_path(lock_path: Path, platform: str) -> Path:
    """``envs/rubin-env-13.0.1-linux-64.env`` beside ``envs/rubin-env-13.0.1.conda-lock.yml``."""
    stem = lock_path.name.removesuffix(".yml").removesuffix(".conda-lock")
    return lock_path.with_name(f"{stem}-{platform}.env")


def write_lock_files(
    lock: Lock,
    target: Path,
    *,
    explicit: bool = True,
    cache: Path | None = None,
    previous: Cached | None = None,
) -> list[Path]:
    """Write ``lock`` to ``target`` and, with ``explicit``, one ``@EXPLICIT`` file per
    platform beside it (:func:`explicit_path`); returns the files that hold it now.

    ``previous``: what ``target`` held (read through ``cache``).  When scipipe wrote
    those bytes from this very lock, they are what would be written again: the file is
    left as it is (and conda-lock's models are not even imported).  Else the new lock
    is remembered in ``cache`` as scipipe's."""
    if _holds(previous, lock):
        log.debug("%s already holds this lock, byte for byte: not rewritten", target)
    else:
        data = write_lock(target, lock, command=COMMAND)
        if cache is not None:
            remember_written(cache, data, lock, COMMAND)
    written = [target]
    if explicit:
        for platform in lock.platforms:
            path = explicit_path(target, platform)
            header = [
                f"Generated by scipipe-tools (scipipe env lock) from {', '.join(lock.sources)}.",
                "Do not edit. Create the environment with: "
                f"scipipe env create --lock {path.name} --prefix DIR",
                f"input_hash: {lock.content_hash.get(platform, '')}",
                f"platform: {platform}",
            ]
            write_atomic(path, explicit_text(lock.for_platform(platform), header=header))
            written.append(path)
    return written


def _holds(previous: Cached | None, lock: Lock) -> bool:
    return previous is not None and previous.written_by == COMMAND and previous.lock == lock
