"""``lsstinstall``: the rubin-env environment and an empty EUPS stack, ready for binaries.

1. Choose rubin-env: ``-v`` (default: the newest this machine can install), ``-T TAG``
   (the tag list's ``#CONDA_ENV``) or ``-X TAG`` (the tag's exact ``env/<tag>.env``).
2. Make the environment ``<root>/envs/lsst-scipipe-<ver>[-exact]`` (or at ``--prefix``)
   with py-rattler: a
   solve for this machine (``-v``/``-T``; an existing environment is reused unless ``-u``
   or ``-d``) or the exact file, every package verified (``-X``).  No conda is needed.
3. The EUPS stack at ``$CONDA_PREFIX/share/eups`` (where the eups package's activation
   puts ``EUPS_PATH``): ``ups_db/``, ``site/startup.py``, ``site/distribInstallPostHook.py``
   and ``pkgroot`` (``bin|src``).
4. ``loadLSST.{sh,ash,bash,zsh}`` in the current directory, unless present.
5. With ``--install``: ``scipipe distrib install -t TAG PRODUCT`` into the stack.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..distrib.install import InstallOptions
from ..distrib.install import install as distrib_install
from ..env.create import CreateOptions, create_env
from ..env.solve import LockRequest, solve_lock
from ..env.spec import EnvSpec
from ..errors import ResolutionError
from ..eups.flavor import current_flavor
from ..eups.remap import INSTALL, read_remaps, remap_dirs
from ..infra.files import write_atomic
from ..infra.lockfile import Lock, parse_env
from ..infra.paths import cache_root
from ..infra.prefix import installed
from ..infra.progress import NULL, Progress
from ..infra.roots import open_root, read_taglist, split_pkgroot
from ..names import serverlayout as layout
from ..names.platforms import current_platform
from ..stack.stack import Stack
from . import plan
from .plan import InstallerOptions
from .scripts import write_load_scripts

log = logging.getLogger(__name__)

Say = Callable[[str], None]


@dataclass
class InstallerResult:
    version: str
    exact: bool
    env_name: str
    prefix: Path
    eups_path: Path
    pkgroot: str
    tag: str | None
    actions: list[str] = field(default_factory=list)
    env_noop: bool = False
    installed: list[dict[str, object]] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "rubin_env": self.version,
            "exact": self.exact,
            "env_name": self.env_name,
            "prefix": str(self.prefix),
            "eups_path": str(self.eups_path),
            "pkgroot": self.pkgroot,
            "tag": self.tag,
            "env_noop": self.env_noop,
            "actions": self.actions,
            "installed": self.installed,
        }


def install(
    o: InstallerOptions, say: Say = lambda _: None, progress: Progress = NULL
) -> InstallerResult:

    plan.check_options(o)
    o = dataclasses.replace(o, eups_root=plan.eups_root(o.eups_root))
    platform = o.platform or current_platform()
    flavor = o.flavor or current_flavor()
    cache = o.cache or cache_root()
    root = plan.conda_root(o)
    source_url = plan.source_root_url(o.eups_root)
    tag = o.tag or o.exact_tag
    version: str | None = None
    if tag:
        version = tag_env_version(source_url, tag)
    elif o.version and o.version != "latest":
        version = o.version

    exact = o.exact_tag is not None
    lock: Lock | None
    if exact:
        assert o.exact_tag is not None and version is not None
        binary_url = plan.binary_root_url(o.eups_root, platform, version)
        lock = exact_env(binary_url, o.exact_tag, platform)
        source = f"{binary_url}/{layout.env_file(o.exact_tag)}"
    else:
        existing = _existing_version(root, o, version)
        if existing is not None and not (o.update or o.developer or o.variant):
            version, lock, source = existing, None, "reused"
        else:
            lock, version = solve_rubin_env(o, version, platform, cache)
            source = (
                f"a solve of {' '.join(plan.specs(version, o.developer, o.variant))} for {platform}"
            )
    prefix = plan.env_prefix(o, root, version, exact)
    # a path environment is activated (and named, as conda names it) by its path
    name = str(prefix) if o.prefix else prefix.name
    eups_path = prefix / "share" / "eups"
    binary = None if o.no_binary else plan.binary_root_url(o.eups_root, platform, version)
    pkgroot = plan.pkgroot(binary, None if o.no_source else source_url)
    result = InstallerResult(version, exact, name, prefix, eups_path, pkgroot, tag)

    def act(text: str) -> None:
        result.actions.append(text)
        say(f"$ {text}" if o.dry_run else text)

    if lock is None:
        result.env_noop = True
        act(f"reuse the environment {prefix} (rubin-env {version}; -u updates it)")
    else:
        act(f"scipipe env create --lock <{source}> --prefix {prefix}")
        options = CreateOptions(prefix, platform, cache, dry_run=o.dry_run, source=source)
        created = create_env(lock, options, progress)
        result.env_noop = created.noop
    _stack(o, result, flavor, act)
    home = o.home.absolute()
    if (home / "loadLSST.sh").exists():
        act(f"keep {home / 'loadLSST.sh'} (it exists)")
    else:
        act(f"write {home}/loadLSST.{{sh,ash,bash,zsh}}")
        if not o.dry_run:
            write_load_scripts(home, root, name)
    if o.install_products:
        _distrib(o, result, flavor, act, progress)
    return result


def tag_env_version(source_url: str, tag: str) -> str:

    source = open_root(source_url)
    taglist = read_taglist(source, tag)
    return plan.conda_env_of_tag(taglist.conda_env, tag, source.url(layout.source_taglist(tag)))


def exact_env(binary_url: str, tag: str, platform: str) -> Lock:

    root = open_root(binary_url)
    rel = layout.env_file(tag)
    if not root.exists(rel):
        raise ResolutionError(
            f"no exact environment for {tag} on {platform}: {root.url(rel)} does not exist",
            hint="this platform may have only source packages; use -T instead of -X",
        )
    return parse_env(root.read_text(rel), root.url(rel), platform)


def _existing_version(root: Path, o: InstallerOptions, version: str | None) -> str | None:
    """The rubin-env version of the environment this run would reuse, if it exists."""

    if version is None and o.env_name is None and o.prefix is None:
        # "latest" names the environment after what the solve finds: nothing to reuse yet
        return None
    prefix = plan.env_prefix(o, root, version or "", False)
    if not (prefix / "conda-meta").is_dir():
        return None
    have = installed(prefix).get("rubin-env")
    if have is None:
        return None
    if version is not None and have.version != version:
        return None
    return have.version


def solve_rubin_env(
    o: InstallerOptions, version: str | None, platform: str, cache: Path
) -> tuple[Lock, str]:

    spec = EnvSpec(
        path="lsstinstall",
        name="rubin-env",
        version=version or "latest",
        channels=plan.channels(o, version),
        dependencies=tuple(plan.specs(version, o.developer, o.variant)),
        platforms=(platform,),
    )
    outcome = solve_lock(LockRequest(spec, (platform,), detect_virtual=True), cache)
    # the version of rubin-env, or of rubin-env-nosysroot (the variant without rubin-env)
    names = ("rubin-env", "rubin-env-nosysroot")
    found = next((p.version for p in outcome.lock.packages if p.name in names), None)
    if found is None:
        raise ResolutionError("the solve has no rubin-env package")
    return outcome.lock, found


def _stack(
    o: InstallerOptions, r: InstallerResult, flavor: str, act: Callable[[str], None]
) -> None:

    act(f"create the EUPS stack {r.eups_path} (flavor {flavor})")
    act(f"write {r.eups_path / 'pkgroot'}: {r.pkgroot or '(empty: -B and -S)'}")
    act(f"write {r.eups_path / 'site' / 'distribInstallPostHook.py'}")
    if o.dry_run:
        return
    Stack.create(r.eups_path, flavor)
    write_atomic(r.eups_path / "pkgroot", r.pkgroot + "\n")
    hook = Path(__file__).with_name("posthook.py").read_text(encoding="utf-8")
    write_atomic(r.eups_path / "site" / "distribInstallPostHook.py", hook)


def _distrib(
    o: InstallerOptions,
    r: InstallerResult,
    flavor: str,
    act: Callable[[str], None],
    progress: Progress,
) -> None:

    assert r.tag is not None
    products = " ".join(o.install_products)
    strict = " --require-checksums" if o.require_checksums else ""
    act(f"scipipe distrib install -t {r.tag} {products} --stack {r.eups_path}{strict}")
    options = InstallOptions(
        roots=tuple(split_pkgroot(r.pkgroot)),
        tag=r.tag,
        products=o.install_products,
        stack=r.eups_path,
        flavor=flavor,
        dry_run=o.dry_run,
        require_checksums=o.require_checksums,
        remap=read_remaps(remap_dirs(os.environ, [r.eups_path]), INSTALL),
    )
    outcome = distrib_install(options, progress)
    r.installed = [row.to_json() for row in outcome.installed]


def next_steps(r: InstallerResult, home: Path, products: tuple[str, ...] = ()) -> str:
    """What lsstinstall tells the user at the end."""
    tag = r.tag or "<TAG>"
    lines = [
        "Bootstrap complete. To continue installing (and to use) the LSST stack, type one of:",
        f"    . {home}/loadLSST.sh          # sh, ash",
        f"    source {home}/loadLSST.bash   # bash",
        f"    source {home}/loadLSST.zsh    # zsh",
        "then:",
    ]
    if not products:
        lines.append(
            f"    scipipe distrib install -t {tag} lsst_distrib   # or: eups distrib install"
        )
    top = products[0] if products else "lsst_distrib"
    lines.append(f'    setup {top} -t {tag}     # or: eval "$(scipipe setup {top} -t {tag})"')
    return "\n".join(lines)
