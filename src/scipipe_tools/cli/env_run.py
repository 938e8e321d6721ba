"""What ``scipipe env lock|diff`` do (their command lines: :mod:`.env`; ``create``'s:
:mod:`.env_create_run`).

Loaded when one of them runs, after the command has started its py-rattler worker, so
that the worker's Python and py-rattler start while these modules import.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from ..env.solve import (
    LockRequest,
    check_lock,
    check_platforms,
    default_lock_path,
    effective_channels,
    solve_lock,
    with_channels,
    write_lock_files,
)
from ..env.spec import read_spec
from ..env.worker import Started
from ..errors import ScipipeError
from ..infra.lockfile import LockDiff, LockedPackage, diff_locks, read_env, read_lock
from ..infra.paths import cache_root
from .common import columns, echo, emit_json, get_app, info
from .env import DiffArgs, LockArgs


def _cache(value: Path | None) -> Path:
    return value if value is not None else cache_root()


def lock(a: LockArgs, worker: Started | None) -> None:
    app = get_app()
    spec = read_spec(a.spec_file)
    spec = with_channels(spec, effective_channels(spec.channels, a.channels, a.override_channels))
    spec.specs(a.variant)  # an unknown variant fails here, before anything else
    plats = check_platforms(spec, a.platforms)
    target = a.lockfile or default_lock_path(a.spec_file, a.variant)
    if a.check:
        stale = check_lock(spec, read_lock(target), plats, a.variant)
        if app.json:
            emit_json({"lockfile": str(target), "up_to_date": not stale, "stale": stale})
        if stale:
            detail = "; ".join(f"{p}: {why}" for p, why in stale.items())
            raise ScipipeError(f"{target}: out of date ({detail})",
                               hint=f"rerun: scipipe env lock {a.spec_file}")  # fmt: skip
        if not app.json:
            echo(f"{target}: up to date for {', '.join(plats)}")
        return
    info(f"solving {spec.name} {spec.version} for {', '.join(plats)} ...")
    request = LockRequest(spec, plats, a.variant, a.strategy, a.update, target, a.timeout)
    outcome = solve_lock(request, _cache(a.cache), worker)
    written: list[Path] = []
    if not a.dry_run:
        written = write_lock_files(outcome.lock, target, explicit=a.explicit,
                                   cache=_cache(a.cache), previous=outcome.previous)  # fmt: skip
    if app.json:
        emit_json(
            {
                "lockfile": str(target),
                "dry_run": a.dry_run,
                "written": [str(p) for p in written],
                "solve_seconds": round(outcome.solving, 4),
                "platforms": {
                    p: {
                        "packages": len(outcome.lock.for_platform(p)),
                        "solve_seconds": round(outcome.seconds[p], 4),
                        "input_hash": outcome.lock.content_hash[p],
                    }
                    for p in plats
                },
                "diff": _diff_json(outcome.diff) if outcome.diff else None,
            }
        )
        return
    rows = [[p, str(len(outcome.lock.for_platform(p))), f"{outcome.seconds[p]:.3f} s"]
            for p in plats]  # fmt: skip
    echo(columns(["platform", "packages", "solve"], rows))
    if outcome.diff is not None:
        echo("")
        echo(_diff_text(outcome.diff) if not outcome.diff.empty else "no changes to the lock")
    for path in written:
        info(f"wrote {path}")
    if a.dry_run:
        info(f"dry run: {target} not written")


def diff(a: DiffArgs) -> None:
    old, new = read_env(a.old), read_env(a.new)
    if a.platforms:
        keep = set(a.platforms)
        old = replace(old, packages=tuple(p for p in old.packages if p.platform in keep))
        new = replace(new, packages=tuple(p for p in new.packages if p.platform in keep))
    d = diff_locks(old, new)
    if get_app().json:
        emit_json(_diff_json(d))
    else:
        echo(_diff_text(d) if not d.empty else "no differences")
    if a.exit_code and not d.empty:
        raise click.exceptions.Exit(1)


def _pkg(p: LockedPackage) -> dict[str, str]:
    return {"platform": p.platform, "name": p.name, "version": p.version, "build": p.build}


def _diff_json(d: LockDiff) -> dict[str, object]:
    return {
        "added": [_pkg(p) for p in d.added],
        "removed": [_pkg(p) for p in d.removed],
        "changed": [
            {**_pkg(b), "old_version": a.version, "old_build": a.build} for a, b in d.changed
        ],
    }


def _diff_text(d: LockDiff) -> str:
    rows = [[p.platform, "+", p.name, "", f"{p.version} {p.build}"] for p in d.added]
    rows += [[p.platform, "-", p.name, f"{p.version} {p.build}", ""] for p in d.removed]
    rows += [[b.platform, "~", b.name, f"{a.version} {a.build}", f"{b.version} {b.build}"]
             for a, b in d.changed]  # fmt: skip
    rows.sort(key=lambda r: (r[0], r[2]))
    return columns(["platform", "", "package", "old", "new"], rows)
