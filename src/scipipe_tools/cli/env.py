"""``scipipe env``: lock, create and diff conda environments."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import click

from ..env.create import CreateOptions, create_env, file_digest, read_env_cached
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
from ..infra.prefix import already_created, env_prefix
from ..names.platforms import current_platform
from .common import columns, echo, emit_json, get_app, info
from .console import progress_for
from .options import cache_option, dry_run_option, jobs_option, json_option, takes


@click.group("env")
def env_group() -> None:
    """Resolve, lock and create the rubin-env conda environment.

    \b
      scipipe env lock envs/rubin-env-13.0.1.yaml          # conda-lock.yml + explicit files
      scipipe env lock envs/rubin-env-13.0.1.yaml --check  # exit 1 if the spec changed
      scipipe env create --lock envs/rubin-env-13.0.1.conda-lock.yml -p ./env
      scipipe env diff old.conda-lock.yml new.conda-lock.yml
    """


def _cache(value: Path | None) -> Path:
    return value if value is not None else cache_root()


@dataclass(frozen=True)
class LockArgs:
    spec_file: Path
    platforms: tuple[str, ...]
    variant: str | None
    channels: tuple[str, ...]
    override_channels: bool
    lockfile: Path | None
    explicit: bool
    check: bool
    update: tuple[str, ...]
    strategy: str
    timeout: float | None
    cache: Path | None
    dry_run: bool


@env_group.command("lock")
@click.argument("spec_file", metavar="SPEC", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-p", "--platform", "platforms", multiple=True,
              help="Platform to lock (repeatable) [default: the spec's platforms].")  # fmt: skip
@click.option("--variant", default=None, help="Add a variant's packages (developer, rsp).")
@click.option("-c", "--channel", "channels", multiple=True,
              help="Channel to put before the spec's (repeatable; first wins).")  # fmt: skip
@click.option("--override-channels", is_flag=True, help="Use only the -c channels.")
@click.option("-o", "--lockfile", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Lock file to write [default: SPEC's name + .conda-lock.yml].")  # fmt: skip
@click.option("--explicit/--no-explicit", default=True, show_default=True,
              help="Also write <lock>-<platform>.env @EXPLICIT files.")  # fmt: skip
@click.option("--check", is_flag=True,
              help="Do not solve: exit 1 if the lock is out of date with the spec.")  # fmt: skip
@click.option("--update", "update", multiple=True, metavar="PKG",
              help="Relock only PKG (repeatable); keep the rest if possible.")  # fmt: skip
@click.option("--strategy", type=click.Choice(["highest", "lowest", "lowest-direct"]),
              default="highest", show_default=True, help="Solver version preference.")  # fmt: skip
@click.option("--timeout", type=float, default=None, help="Give up a solve after SECONDS.")
@cache_option
@dry_run_option("Solve and report; write nothing.")
@json_option
@takes(LockArgs)
def lock_cmd(a: LockArgs) -> None:
    """Solve SPEC for each platform and write conda-lock.yml (version 1).

    Each platform is solved with its own virtual packages (from the spec), so every
    platform can be locked from any machine.  The lock records each platform's input
    hash; --check compares it with the spec without solving.
    """
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
    outcome = solve_lock(request, _cache(a.cache))
    written = [] if a.dry_run else write_lock_files(outcome.lock, target, explicit=a.explicit)
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


@dataclass(frozen=True)
class CreateArgs:
    lock_file: Path
    prefix: Path | None
    name: str | None
    root: Path | None
    platform: str | None
    jobs: int
    cache: Path | None
    dry_run: bool


@env_group.command("create")
@click.option("--lock", "lock_file", required=True,
              type=click.Path(dir_okay=False, path_type=Path),
              help="conda-lock.yml, or an @EXPLICIT file (a server's env/<tag>.env).")  # fmt: skip
@click.option("-p", "--prefix", type=click.Path(file_okay=False, path_type=Path),
              help="Environment directory.")  # fmt: skip
@click.option("-n", "--name", default=None, help="Environment name (in ROOT/envs/NAME).")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="conda root for -n [default: $SCIPIPE_CONDA_ROOT or $CONDA_EXE's].")  # fmt: skip
@click.option("--platform", default=None, help="Platform to install [default: this machine's].")
@jobs_option("Parallel downloads.", most=64)
@cache_option
@dry_run_option("Print what would change; change nothing.")
@json_option
@takes(CreateArgs)
def create_cmd(a: CreateArgs) -> None:
    """Create or update an environment from a lock: no solve, every hash verified.

    Idempotent: an environment that already matches the lock is left alone (a no-op);
    one that differs is brought to exactly the lock (extra packages removed).
    """
    if (a.prefix is None) == (a.name is None):
        raise click.UsageError("give exactly one of --prefix and --name")
    target = a.prefix if a.prefix is not None else env_prefix(str(a.name), a.root)
    plat = a.platform or current_platform()
    app = get_app()
    digest = file_digest(a.lock_file) if a.lock_file.is_file() else None
    count = already_created(target, digest, plat) if digest else None
    if count is not None:  # made from these very bytes, untouched since: nothing to parse
        if app.json:
            emit_json({"prefix": str(target.absolute()), "platform": plat, "noop": True,
                       "created": False, "dry_run": a.dry_run, "keep": count})  # fmt: skip
        else:
            echo(f"{target.absolute()}: already matches {a.lock_file} ({count} packages)")
        return
    # A new environment: Python and py-rattler start while the lock is read and the
    # archives fetched (an existing one may need nothing: create_env starts it if not).
    fresh = not (target / "conda-meta").is_dir()
    worker = Started("install") if fresh and not a.dry_run else None
    try:
        lock = read_env_cached(a.lock_file, plat, _cache(a.cache), digest)
        options = CreateOptions(
            target, plat, _cache(a.cache), a.jobs, a.dry_run, str(a.lock_file), digest
        )
        with progress_for(app) as progress:
            result = create_env(lock, options, progress, worker)
    finally:
        if worker is not None:
            worker.close()
    if app.json:
        emit_json(result.to_json())
        return
    txn = result.transaction
    if result.noop:
        echo(f"{result.prefix}: already matches {a.lock_file} ({len(txn.keep)} packages)")
        return
    verb = "would" if a.dry_run else "did"
    echo(f"{result.prefix} ({plat}): {verb} add {len(txn.add)}, change {len(txn.change)}, "
         f"remove {len(txn.remove)}, keep {len(txn.keep)}")  # fmt: skip
    if a.dry_run or get_app().verbosity > 0:
        for p in txn.add:
            echo(f"  + {p.name} {p.version} {p.build}")
        for old, new in txn.change:
            echo(f"  ~ {new.name} {old.version} {old.build} -> {new.version} {new.build}")
        for gone in txn.remove:
            echo(f"  - {gone.name} {gone.version} {gone.build}")
    if not a.dry_run:
        info(f"{'created' if result.created else 'updated'} in {result.seconds:.2f} s "
             f"({result.downloaded} packages downloaded)")  # fmt: skip


@dataclass(frozen=True)
class DiffArgs:
    old: Path
    new: Path
    platforms: tuple[str, ...]
    exit_code: bool


@env_group.command("diff")
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-p", "--platform", "platforms", multiple=True,
              help="Only these platforms (repeatable).")  # fmt: skip
@click.option("--exit-code", is_flag=True, help="Exit 1 when the locks differ.")
@json_option
@takes(DiffArgs)
def diff_cmd(a: DiffArgs) -> None:
    """Packages added, removed and changed between two locks (or explicit files)."""
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
