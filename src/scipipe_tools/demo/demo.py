"""``scipipe demo``: the bundled sample stack as local git remotes and checkouts."""

from __future__ import annotations

import importlib.util
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..infra.files import write_atomic
from ..infra.progress import NULL, Progress
from ..stack.readers import read_repos
from ._files import yaml_scalar
from .channel import DEFAULT_SUBDIRS, channel_url, make_channel, rubin_like_packages
from .gitrepo import file_url, git
from .samplestack import WEEK_BRANCH, Materialized, materialize

#: Where the sample stack lives in a clone of scipipe-tools.
DEFAULT_SOURCE = Path("examples") / "sample-stack"


@dataclass(frozen=True)
class Demo:
    stack: Materialized
    #: ``sources/<product>`` checkouts of main, as lsstsw's ``build/`` holds them
    sources: Path | None
    #: a local conda channel standing in for conda-forge (needs py-rattler-build)
    channel: Path | None = None
    #: ``rubin-env.yaml``: an environment spec that solves from ``channel``
    env_spec: Path | None = None


def can_make_channel() -> bool:
    """Whether py-rattler-build (the ``demo`` extra) is installed to build packages."""

    return importlib.util.find_spec("rattler_build") is not None


ENV_SPEC = """\
# The demo's rubin-env: the local channel next to this file stands in for conda-forge.
# Made by `scipipe demo init`.  Lock it:  scipipe env lock {path}
name: rubin-env
version: 13.0.1
channels: [{channel}]
dependencies: ["rubin-env ==13.0.1"]
variants:
  developer: ["rubin-env-developer ==13.0.1"]
platforms: [linux-64, linux-aarch64, osx-64, osx-arm64]
virtual_packages:
  linux-64: {{__glibc: "2.28", __unix: "0", __linux: "4.18"}}
  linux-aarch64: {{__glibc: "2.28", __unix: "0", __linux: "4.18"}}
  osx-64: {{__osx: "11.0", __unix: "0"}}
  osx-arm64: {{__osx: "11.0", __unix: "0"}}
"""


TEAMS = """\
# The demo's tagging policy for the plain-git forge (GitHub teams' stand-in).
# Made by `scipipe demo init`.
org: remotes
teams:
  Data Management: [{products}]
  DM Externals: []
  DM Auxilliaries: []
"""

#: Weeks of history before main's state: ``release-week-<k>.yaml`` releases each.
WEEKS = 3
#: The weeklies' dates: one per ``demo/week-<k>`` branch, then main's.
WEEK_DATES = ("2026-11-05", "2026-11-12", "2026-11-19", "2026-11-26")

RELEASE = """\
# The demo's release flow: build, record in a versiondb, publish, tag every repo.
# Made by `scipipe demo init`.  Run:  scipipe release {kind} --config {path} {args}
products: [lsst_demo]
repos: {repos}
root: release
{exclusions}build: {{run_tests: false}}
versiondb: {{url: '{versiondb}'}}
distrib: {{root: release/srv/src, conda_env: 13.0.1}}
forge: {{kind: git, teams_file: teams.yaml, cache_dir: release/forge-cache}}
tagger: {{user: Demo Release Manager, email: release@lsst-demo.example}}
changelog: {{output: release/{changelog}, formats: [html, md]}}
"""


def write_release_files(stack: Materialized) -> tuple[Path, Path]:
    """``teams.yaml`` and ``release.yaml`` (a weekly release of the demo), and an empty
    bare ``remotes/versiondb.git`` for the flow to push the versiondb to."""

    dest = stack.dest
    vdb = dest / "remotes" / "versiondb.git"
    git(["init", "-q", "--bare", str(vdb)])
    teams = dest / "teams.yaml"
    write_atomic(teams, TEAMS.format(products=", ".join(stack.products)))
    excl = "exclusions: exclusions.txt\n" if stack.exclusions else ""

    def config(name: str, repos: str, kind: str, args: str, changelog: str) -> Path:
        path = dest / name
        text = RELEASE.format(
            path=path, kind=kind, args=args, repos=repos, changelog=changelog,
            exclusions=excl, versiondb=file_url(vdb),
        )  # fmt: skip
        write_atomic(path, text)
        return path

    for week in range(1, WEEKS + 1):
        repos = f"repos-week-{week}.yaml"
        write_atomic(dest / repos, _week_repos(stack, WEEK_BRANCH.format(week)))
        date = WEEK_DATES[week - 1]
        config(f"release-week-{week}.yaml", repos, "weekly", f"--date {date}", "changelog")
    config("official.yaml", "repos.yaml", "official", "--source-refs w.2026.48 --tag v30.0.0.rc1",
           "changelog-releases")  # fmt: skip
    release = config("release.yaml", "repos.yaml", "weekly", "--date 2026-11-26", "changelog")
    return teams, release


def _week_repos(stack: Materialized, branch: str) -> str:
    """The demo's repos.yaml with every product at ``branch`` (an earlier week's state)."""
    specs = read_repos(stack.repos_yaml).specs
    lines = [f"{GENERATED} (every product at {branch})", "---"]
    for product in stack.products:
        url = yaml_scalar(file_url(stack.remotes[product]))
        lines += [f"{product}:", f"  url: {url}", f"  ref: {branch}"]
        if specs[product].lfs:
            lines.append("  lfs: true")
    return "\n".join(lines) + "\n"


def find_source(source: Path | None) -> Path:
    """The sample stack: ``source``, else ``examples/sample-stack`` here or in the checkout."""
    candidates = (
        [source]
        if source
        else [
            DEFAULT_SOURCE,
            Path(__file__).resolve().parents[3] / DEFAULT_SOURCE,
        ]
    )
    for cand in candidates:
        if cand is not None and (cand / "products").is_dir():
            return cand
    raise InputError(
        f"no sample stack at {candidates[0]}",
        hint="run from a clone of scipipe-tools, or pass --from PATH/examples/sample-stack",
    )


GENERATED = "# Generated by scipipe_tools.demo.samplestack"


def is_demo(path: Path) -> bool:
    """Whether ``path`` holds what :func:`init` made (and nothing that looks like more)."""
    repos = path / "repos.yaml"
    try:
        generated = repos.read_text(encoding="utf-8").startswith(GENERATED)
    except OSError:
        return False
    return generated and (path / "remotes").is_dir()


def init(
    source: Path,
    dest: Path,
    *,
    checkouts: bool = True,
    channel: bool = True,
    force: bool = False,
    progress: Progress = NULL,
) -> Demo:
    """Materialize the stack under ``dest``: ``remotes/``, ``repos.yaml``, ``sources/``,
    and (with ``channel``) ``channel/`` and ``rubin-env.yaml``.

    With ``force`` an earlier demo in ``dest`` is replaced; anything else there is not.
    """
    if dest.exists() and any(dest.iterdir()):
        if not (force and is_demo(dest)):
            hint = "choose a new directory"
            if is_demo(dest):
                hint = "pass --force to replace the earlier demo"
            raise InputError(f"{dest} is not empty", hint=hint)
        shutil.rmtree(dest)
    created = not dest.exists()
    try:
        made = _init(source, dest, checkouts, progress)
        if not channel:
            return made
        progress.start(1, "building the conda channel")
        try:
            conda, spec = _channel(dest)
        finally:
            progress.finish()
        return Demo(made.stack, made.sources, conda, spec)
    except BaseException:
        # nothing half-made stays behind
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        raise


def _init(source: Path, dest: Path, checkouts: bool, progress: Progress) -> Demo:
    progress.start(1, "making git remotes")
    stack = materialize(source, dest, weeks=WEEKS)
    write_release_files(stack)
    progress.finish()
    if not checkouts:
        return Demo(stack, None)
    sources = stack.dest / "sources"
    sources.mkdir()

    def clone(product: str) -> None:
        git(["clone", "-q", file_url(stack.remotes[product]), str(sources / product)])
        progress.advance(product)

    progress.start(len(stack.products), "cloning")
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        list(pool.map(clone, stack.products))
    progress.finish()
    return Demo(stack, sources)


def _channel(dest: Path) -> tuple[Path, Path]:

    conda = make_channel(dest / "channel", rubin_like_packages(DEFAULT_SUBDIRS))
    spec = dest / "rubin-env.yaml"
    write_atomic(spec, ENV_SPEC.format(path=spec, channel=channel_url(conda)))
    return conda, spec
