"""``scipipe env``: lock, create and diff conda environments.

Only the command lines are defined here; what the commands do (:mod:`.env_run` and
:mod:`.env_create_run`, which import the environment library) loads when one runs.  A
command that will solve or install starts its py-rattler worker first, so that the
worker's Python and py-rattler start while that library imports and the spec or lock is
read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from ..env.worker import Started
from .entry import take_early
from .lazy import load
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
    # every solve needs py-rattler: it starts now (--check solves nothing)
    _run("lock", a, None if a.check else "solve")


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
    # A new environment (-p DIR without conda-meta/) needs py-rattler; an existing one
    # may need nothing, and create_env starts it only if it does.
    fresh = a.prefix is not None and not (a.prefix / "conda-meta").is_dir()
    _run("create", a, "install" if fresh and not a.dry_run else None)


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
    load("scipipe_tools.cli.env_run", "diff")(a)


#: the module of each command's body
_BODIES = {"lock": "env_run", "create": "env_create_run"}


def _run(command: str, a: LockArgs | CreateArgs, op: str | None) -> None:
    """Run ``command``'s body with a py-rattler worker for ``op`` started first (none
    when ``op`` is None); the worker is closed however the body ends."""
    early = take_early(op) if op is not None else None
    worker = Started(*early) if early else (Started(op) if op is not None else None)
    try:
        load(f"scipipe_tools.cli.{_BODIES[command]}", command)(a, worker)
    finally:
        if worker is not None:
            worker.close()
