"""The options more than one command takes, each declared once, and :func:`takes`.

A command's parameters reach its handler as one typed, frozen object (``RunArgs``,
``TagArgs``, ...: the command's ``*Args`` dataclass, next to it), so a handler reads
``a.jobs``, never a ``**kw`` dictionary.  A block of options that several commands share
(the forge, the release flows) has its own dataclass here, which theirs extend.

Declarations only, light to import: what the values name is read in ``inputs.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import click

from .. import __version__
from .common import App

F = TypeVar("F", bound=Callable[..., Any])
A = TypeVar("A")
R = TypeVar("R")


class Decorator(Protocol):
    """What ``click.option(...)`` returns: it adds the option to the command it decorates."""

    def __call__(self, f: F, /) -> F: ...


def takes(make: Callable[..., A]) -> Callable[[Callable[[A], R]], Callable[..., R]]:
    """The handler takes its parameters as one object: click passes them by name, and
    ``make`` (the command's ``*Args`` dataclass) receives them so.  Put it last, under
    the options."""

    def decorate(handler: Callable[[A], R]) -> Callable[..., R]:
        @functools.wraps(handler)
        def callback(**params: object) -> R:
            return handler(make(**params))

        return callback

    return decorate


def stacked(*options: Decorator) -> Decorator:
    """Several options as one decorator, in the order given (as they are listed in help)."""

    def decorate(f: F) -> F:
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def words(values: tuple[str, ...]) -> tuple[str, ...]:
    """A repeated option whose values may also hold several space-separated words
    (Jenkins passes lists so: ``--source-refs 'v29.0.x v29.0.0.rc1'``)."""
    return tuple(w for v in values for w in v.split())


# ---------------------------------------------------------------- output


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.ensure_object(App).json = True
    return value


#: ``--json``: print the result as JSON on stdout (also accepted before the command)
json_option: Decorator = click.option(
    "--json",
    "json_",
    is_flag=True,
    expose_value=False,
    callback=_set_json,
    help="Print the result as JSON.",
)


def dry_run_option(help: str) -> Decorator:
    """``--dry-run``; ``help`` says what the command still does."""
    return click.option("--dry-run", is_flag=True, help=help)


def jobs_option(
    help: str,
    default: int | Callable[[], int] = 8,
    *,
    most: int | None = None,
    show_default: bool | str = True,
) -> Decorator:
    """``-j/--jobs``: how many things at once (``help`` says which)."""
    return click.option(
        "-j",
        "--jobs",
        type=click.IntRange(1, most),
        default=default,
        show_default=show_default,
        help=help,
    )


# ---------------------------------------------------------------- inputs


def repos_option(help: str, *, required: bool = False, url: bool = False) -> Decorator:
    """``--repos``: repos.yaml (``$SCIPIPE_REPOS``), a path, or with ``url`` a path or URL."""
    return click.option(
        "--repos",
        type=str if url else click.Path(dir_okay=False, path_type=Path),
        envvar="SCIPIPE_REPOS",
        required=required,
        help=f"{help} [env: SCIPIPE_REPOS].",
    )


def versiondb_option(help: str, *, default: Path | None = None, url: bool = False) -> Decorator:
    """``--versiondb``: the versiondb (``$SCIPIPE_VERSIONDB``), a checkout, or with
    ``url`` a path or URL."""
    return click.option(
        "--versiondb",
        type=str if url else click.Path(file_okay=False, path_type=Path),
        envvar="SCIPIPE_VERSIONDB",
        default=default,
        show_default=default is not None,
        help=f"{help} [env: SCIPIPE_VERSIONDB].",
    )


def sources_option(help: str, *, required: bool = False) -> Decorator:
    """``--sources``: a directory of product checkouts, one per product."""
    return click.option(
        "--sources",
        type=click.Path(file_okay=False, path_type=Path),
        required=required,
        help=help,
    )


exclusion_map_option: Decorator = click.option(
    "--exclusion-map",
    type=click.Path(dir_okay=False, path_type=Path),
    help="exclusions.txt (default: cuda_toolkit, cuda_sdk, condor).",
)


#: the work root, as lsstsw's: sources/, stack/, build/, versiondb/
root_option: Decorator = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    envvar="SCIPIPE_ROOT",
    show_default=True,
    help="Work root: sources/, stack/, build/, versiondb/ [env: SCIPIPE_ROOT].",
)

build_dir_option: Decorator = click.option(
    "--build-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Logs and reports [default: ROOT/build].",
)

CACHE_HELP = (
    "Cache for repodata and packages [default: $SCIPIPE_CACHE_DIR or ~/.cache/scipipe-tools]."
)

cache_option: Decorator = click.option(
    "--cache", type=click.Path(file_okay=False, path_type=Path), help=CACHE_HELP
)


# ---------------------------------------------------------------- the EUPS stack

stack_option: Decorator = click.option(
    "--stack",
    "stack_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The EUPS stack [default: the first entry of $EUPS_PATH].",
)


def flavor_option(
    help: str = "EUPS flavor [default: $EUPS_FLAVOR, else this machine].",
) -> Decorator:
    """``--flavor``: the EUPS flavor, else this machine's (``$EUPS_FLAVOR`` wins)."""
    return click.option("--flavor", default=None, help=help)


def strict_option(help: str) -> Decorator:
    """``--strict/--no-strict``: is a table line that EUPS skips an error?"""
    return click.option("--strict/--no-strict", default=True, show_default=True, help=help)


# ---------------------------------------------------------------- GitHub and the forges

github_url_option: Decorator = click.option(
    "--github-url",
    envvar="GITHUB_API_URL",
    default="https://api.github.com",
    show_default=True,
    help="GitHub API base URL (GitHub Enterprise: https://HOST/api/v3) [env: GITHUB_API_URL].",
)

token_path_option: Decorator = click.option(
    "--token-path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File holding the GitHub token [default: $GITHUB_TOKEN, else "
    "~/.sq_github_token_delete].  Never given on the command line.",
)


@dataclass(frozen=True)
class ForgeArgs:
    """Where the repos live (:data:`forge_options`)."""

    forge_kind: str | None
    teams_file: Path | None
    org: str
    github_url: str
    token_path: Path | None
    max_wait: float
    jobs: int


#: where the repos live: ``--forge git --teams-file F`` or ``--forge github --org O``
forge_options = stacked(
    click.option(
        "--forge",
        "forge_kind",
        type=click.Choice(["github", "git"]),
        default=None,
        help="github (the REST API) or git (push to each repo's URL; teams from "
        "--teams-file) [default: git when --teams-file is given, else github].",
    ),
    click.option(
        "--teams-file",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="SCIPIPE_TEAMS_FILE",
        help="The git forge's teams: a YAML map of team name -> repos.",
    ),
    click.option("--org", default="", help="GitHub organisation (teams and logs)."),
    github_url_option,
    token_path_option,
    click.option(
        "--max-wait",
        type=click.FloatRange(min=0),
        default=3600.0,
        show_default=True,
        help="Longest wait, in seconds, for a GitHub rate-limit window to reset.",
    ),
    jobs_option("Repositories worked on at once."),
)

#: who signs a tag: ``--user``, ``--email``
tagger_options = stacked(
    click.option("--user", default=None, help="Tagger name [default: git config user.name]."),
    click.option("--email", default=None, help="Tagger email [default: git config user.email]."),
)


#: what codekit's commands all take: ``-d/--debug`` (repeatable; twice adds HTTP
#: tracing; ``$DM_SQUARE_DEBUG``) and ``--version``, typed after the command as there
codekit_options = stacked(
    click.option(
        "-d",
        "--debug",
        "debug_level",
        count=True,
        envvar="DM_SQUARE_DEBUG",
        help="Debug output (codekit's -d/--debug; twice adds HTTP tracing) [env: DM_SQUARE_DEBUG].",
    ),
    click.version_option(__version__, "--version", prog_name="scipipe"),
)


# ---------------------------------------------------------------- the release flows


@dataclass(frozen=True)
class FlowArgs:
    """What every release flow takes (:data:`flow_options`)."""

    config_path: Path
    restart: bool
    dry_run: bool
    results: Path | None
    no_versiondb_push: bool
    build_total_timeout: float | None


#: the release flows' configuration and run state
flow_options = stacked(
    json_option,
    click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        envvar="SCIPIPE_RELEASE_CONFIG",
        required=True,
        help="The flow configuration (YAML) [env: SCIPIPE_RELEASE_CONFIG].",
    ),
    click.option("--restart", is_flag=True, help="Ignore the state of an earlier run."),
    dry_run_option("Print the steps and their state; run nothing."),
    click.option(
        "--results",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Where to write results.json [default: ROOT/build/results.json].",
    ),
    click.option(
        "--no-versiondb-push",
        is_flag=True,
        help="Neither pull nor push the versiondb, whatever the configuration's "
        "versiondb.push says (Jenkins' NO_VERSIONDB_PUSH).",
    ),
    click.option(
        "--build-total-timeout",
        type=click.FloatRange(min=0, min_open=True),
        metavar="SECONDS",
        default=None,
        help="Seconds the build step may take (build --total-timeout), instead of the "
        "configuration's build.total_timeout (Jenkins' TIMEOUT, in hours there).",
    ),
)
