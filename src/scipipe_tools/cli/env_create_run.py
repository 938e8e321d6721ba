"""What ``scipipe env create`` does (its command line: :mod:`.env`).

Loaded when it runs, after the command's py-rattler worker started; apart from
:mod:`.env_run` so that creating from a lock imports none of what locking does (the
spec's reader, PyYAML: a lock parsed once is read back as JSON, see
:func:`..env.create.read_env_cached`).
"""

from __future__ import annotations

from pathlib import Path

import click

from ..env.create import CreateOptions, create_env, read_env_cached
from ..env.worker import Started
from ..infra.lockcache import digest_of
from ..infra.paths import cache_root
from ..infra.prefix import already_created, env_prefix
from ..names.platforms import current_platform
from .common import echo, emit_json, get_app, info
from .console import progress_for
from .env import CreateArgs


def _cache(value: Path | None) -> Path:
    return value if value is not None else cache_root()


def create(a: CreateArgs, worker: Started | None) -> None:
    if (a.prefix is None) == (a.name is None):
        raise click.UsageError("give exactly one of --prefix and --name")
    target = a.prefix if a.prefix is not None else env_prefix(str(a.name), a.root)
    plat = a.platform or current_platform()
    app = get_app()
    data = a.lock_file.read_bytes() if a.lock_file.is_file() else None  # read once
    count = already_created(target, digest_of(data), plat) if data is not None else None
    if count is not None:  # made from these very bytes, untouched since: nothing to parse
        if app.json:
            emit_json({"prefix": str(target.absolute()), "platform": plat, "noop": True,
                       "created": False, "dry_run": a.dry_run, "keep": count})  # fmt: skip
        else:
            echo(f"{target.absolute()}: already matches {a.lock_file} ({count} packages)")
        return
    cached = read_env_cached(a.lock_file, plat, _cache(a.cache), data=data)
    options = CreateOptions(
        target, plat, _cache(a.cache), a.jobs, a.dry_run, str(a.lock_file), cached.digest
    )
    with progress_for(app) as progress:
        result = create_env(cached.lock, options, progress, worker)
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
