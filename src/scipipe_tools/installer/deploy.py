"""``scipipe deploy [DIR]``: a ready work root in one command, as lsstsw's ``bin/deploy``.

1. ``ROOT/repos.yaml``: copied from a path or a URL (``--repos``; lsst/repos' by default),
   checked; where it came from is recorded in ``ROOT/etc/deploy.json`` for ``build -u``.
2. ``ROOT/versiondb``: a clone of ``--versiondb-url``, when given.
3. The rubin-env environment ``ROOT/envs/NAME``, from a lock (``--lock``), a tag's exact
   environment on a distribution root (``-X TAG``, as lsstinstall), a solve of a spec
   (``--spec``), else a solve of the newest rubin-env (``-C`` channels, else
   ``$LSST_CONDA_CHANNELS`` or conda-forge).  Every package verified; no conda needed.
4. The EUPS stack ``ROOT/stack`` (where ``scipipe build`` installs).
5. ``ROOT/bin/setup.{sh,bash,zsh,csh}`` (:mod:`.activation`).

Idempotent: every step first looks at what is there; a second run changes nothing and
says so.  A dry run says what would be done and does none of it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..env.create import CreateOptions, create_env, file_digest
from ..env.solve import LockRequest, solve_lock
from ..env.spec import read_spec
from ..errors import InputError, Location
from ..eups.flavor import current_flavor
from ..infra import git
from ..infra.files import write_atomic
from ..infra.lockfile import Lock, read_env
from ..infra.paths import cache_root
from ..infra.progress import NULL, Progress
from ..names import serverlayout as layout
from ..names.platforms import current_platform
from ..stack.readers import fetch_repos_text, repos_source
from ..stack.stack import Stack
from . import activation, plan
from .deploystate import DeployState, read_state, write_state
from .run import exact_env, solve_rubin_env, tag_env_version

#: lsstsw's default: the repos.yaml of github.com/lsst/repos
DEFAULT_REPOS = "https://raw.githubusercontent.com/lsst/repos/main/etc/repos.yaml"

Say = Callable[[str], None]


@dataclass(frozen=True)
class DeployOptions:
    root: Path
    repos: str | None = None
    versiondb_url: str | None = None
    lock: Path | None = None
    exact_tag: str | None = None
    spec: Path | None = None
    variant: str | None = None
    eups_root: str = plan.DEFAULT_EUPS_ROOT
    channels: tuple[str, ...] = ()
    env_name: str | None = None
    dry_run: bool = False
    cache: Path | None = None
    platform: str | None = None
    flavor: str | None = None


@dataclass
class DeployResult:
    root: Path
    env_name: str | None = None
    #: (what, done): done is False for a step that found its work already done
    steps: list[tuple[str, bool]] = field(default_factory=list)

    @property
    def noop(self) -> bool:
        return not any(done for _, done in self.steps)

    def to_json(self) -> dict[str, object]:
        return {
            "root": str(self.root),
            "environment": self.env_name,
            "noop": self.noop,
            "steps": [{"step": s, "changed": done} for s, done in self.steps],
        }


@dataclass
class _Run:
    o: DeployOptions
    root: Path
    state: DeployState
    result: DeployResult
    say: Say

    def step(self, text: str, done: bool) -> None:
        self.result.steps.append((text, done))
        prefix = ("would: " if self.o.dry_run else "") if done else "ok: "
        self.say(prefix + text)


def deploy(o: DeployOptions, say: Say = lambda _: None, progress: Progress = NULL) -> DeployResult:
    """Make (or check) the work root ``o.root``; see the module's documentation."""
    chosen = [f for f, v in (("--lock", o.lock), ("-X", o.exact_tag), ("--spec", o.spec)) if v]
    if len(chosen) > 1:
        raise InputError(f"{' and '.join(chosen)} cannot be combined: choose one environment")
    root = activation.check_root(o.root)
    if root.exists() and not root.is_dir():
        raise InputError("not a directory", location=Location.of(root))
    r = _Run(o, root, read_state(root), DeployResult(root), say)
    _repos(r)
    _versiondb(r)
    env = _environment(r, progress)
    r.result.env_name = env
    _stack(r)
    stale = activation.stale(root, env)
    text = f"write {', '.join(str(p) for p in stale)} (activate {env})"
    if stale:
        r.step(text, True)
        if not o.dry_run:
            activation.write(root, env)
    else:
        r.step(f"{activation.bin_dir(root)}/setup.{{sh,bash,zsh,csh}} activate {env}", False)
    if not o.dry_run:
        write_state(root, r.state)
    return r.result


def _repos(r: _Run) -> None:
    dest = r.root / "repos.yaml"
    spec = r.o.repos
    if spec is None:
        if dest.is_file():
            r.step(f"{dest} (kept; --repos replaces it)", False)
            return
        spec = r.state.repos_source or DEFAULT_REPOS
    source = repos_source(spec)
    if r.o.dry_run and not dest.is_file():
        r.step(f"copy repos.yaml from {source} to {dest}", True)
        return
    text, repos = fetch_repos_text(source)
    r.state.repos_source = source
    try:
        same = dest.read_text(encoding="utf-8") == text
    except OSError:
        same = False
    if same:
        r.step(f"{dest} is {source} ({len(repos.specs)} products)", False)
        return
    r.step(f"copy repos.yaml from {source} to {dest} ({len(repos.specs)} products)", True)
    if not r.o.dry_run:
        write_atomic(dest, text)


def _versiondb(r: _Run) -> None:
    url = r.o.versiondb_url
    dest = r.root / "versiondb"
    if url is None:
        return
    if git.is_repo(dest):
        have = git.remote_url(dest)
        if have != url:
            raise InputError(
                f"the versiondb is a clone of {have}, not {url}",
                location=Location.of(dest),
                hint="remove it, or give its URL",
            )
        r.step(f"{dest} is a clone of {url}", False)
        return
    r.step(f"git clone {url} {dest}", True)
    if not r.o.dry_run:
        dest.parent.mkdir(parents=True, exist_ok=True)
        git.clone(url, dest)
    r.state.versiondb_url = url


def _stack(r: _Run) -> None:
    stack = r.root / "stack"
    flavor = r.o.flavor or current_flavor()
    if (stack / "ups_db").is_dir():
        r.step(f"{stack} is an EUPS stack", False)
    else:
        r.step(f"create the EUPS stack {stack} (flavor {flavor})", True)
        if not r.o.dry_run:
            Stack.create(stack, flavor)
    if r.o.exact_tag is None:
        return
    platform = r.o.platform or current_platform()
    eups_root = plan.eups_root(r.o.eups_root)
    version = r.state.environments.get(r.result.env_name or "", {}).get("rubin_env", "")
    pkgroot = plan.pkgroot(
        plan.binary_root_url(eups_root, platform, version), plan.source_root_url(eups_root)
    )
    path = stack / "pkgroot"
    if path.is_file() and path.read_text(encoding="utf-8") == pkgroot + "\n":
        r.step(f"{path}: {pkgroot}", False)
        return
    r.step(f"write {path}: {pkgroot}", True)
    if not r.o.dry_run:
        write_atomic(path, pkgroot + "\n")


def _source_key(o: DeployOptions) -> str | None:
    """What the environment is made from, as recorded; None for a new solve of the
    newest rubin-env (whatever it finds next time may differ)."""
    if o.lock is not None:
        return f"lock sha256:{file_digest(o.lock)}"
    if o.exact_tag is not None:
        return f"exact {plan.eups_root(o.eups_root)} {o.exact_tag}"
    if o.spec is not None:
        digest = hashlib.sha256(o.spec.read_bytes()).hexdigest()
        return f"spec sha256:{digest} variant:{o.variant or ''}"
    return None


def _environment(r: _Run, progress: Progress) -> str:
    o = r.o
    for path in (o.lock, o.spec):
        if path is not None and not path.is_file():
            raise InputError("no such file", location=Location.of(path))
    key = _source_key(o)
    envs = r.root / "envs"
    made = {n: e for n, e in r.state.environments.items() if (envs / n / "conda-meta").is_dir()}
    reuse = [n for n, e in made.items() if key is not None and e.get("source") == key]
    if key is None and not reuse:  # no source given: the root's one environment, if any
        reuse = list(made) if len(made) == 1 else []
    if o.env_name is not None:
        reuse = [n for n in reuse if n == o.env_name]
    if reuse:
        r.step(f"{envs / reuse[0]} is made from {made[reuse[0]].get('made_from')}", False)
        return reuse[0]
    platform = o.platform or current_platform()
    cache = o.cache or cache_root()
    lock, version, made_from = _obtain_lock(o, platform, cache)
    if o.env_name is None and version is None:
        raise InputError(f"{made_from} has no rubin-env package: name the environment with -n")
    name = o.env_name or plan.env_name(version or "", o.exact_tag is not None)
    prefix = envs / name
    r.step(f"scipipe env create --lock <{made_from}> --prefix {prefix}", True)
    digest = file_digest(o.lock) if o.lock is not None else None
    options = CreateOptions(prefix, platform, cache, dry_run=o.dry_run, source=made_from,
                            lock_digest=digest)  # fmt: skip
    create_env(lock, options, progress)
    # (a dry run writes no record: this one is for the steps after)
    entry = {"made_from": made_from, "rubin_env": version or ""}
    r.state.environments[name] = {**entry, "source": key or f"solve {made_from}"}
    return name


def _obtain_lock(o: DeployOptions, platform: str, cache: Path) -> tuple[Lock, str | None, str]:
    """The lock, the rubin-env version it holds, and where it came from."""
    if o.lock is not None:
        lock, made_from = read_env(o.lock, platform), str(o.lock.absolute())
    elif o.exact_tag is not None:
        eups_root = plan.eups_root(o.eups_root)
        version = tag_env_version(plan.source_root_url(eups_root), o.exact_tag)
        binary = plan.binary_root_url(eups_root, platform, version)
        lock = exact_env(binary, o.exact_tag, platform)
        made_from = f"{binary}/{layout.env_file(o.exact_tag)}"
    elif o.spec is not None:
        spec = read_spec(o.spec)
        outcome = solve_lock(LockRequest(spec, (platform,), o.variant, detect_virtual=True), cache)
        lock, made_from = outcome.lock, f"a solve of {o.spec.absolute()} for {platform}"
    else:
        options = plan.InstallerOptions(channels=o.channels)
        lock, found = solve_rubin_env(options, None, platform, cache)
        made_from = f"a solve of rubin-env {found} for {platform}"
    found_version = next(
        (p.version for p in lock.for_platform(platform) if p.name == "rubin-env"), None
    )
    return lock, found_version, made_from
