"""``scipipe eups vercmp|vermatch|flavor|lint-table|show-table|lint-repos``: the EUPS
model: versions, tables, repos.yaml, flavors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from ...errors import InputError, Location
from ...eups.flavor import current_flavor
from ...eups.repos import lint
from ...eups.table import Dependency, Table, TableContext
from ...eups.versions import check_version, parse_expr, vercmp
from ...infra import http
from ...stack.readers import read_repos, read_table
from ..common import echo, emit_json, get_app, info
from ..options import flavor_option, json_option, strict_option, takes


@dataclass(frozen=True)
class VercmpArgs:
    a: str
    b: str


@click.command("vercmp")
@click.argument("a")
@click.argument("b")
@json_option
@takes(VercmpArgs)
def vercmp_cmd(args: VercmpArgs) -> None:
    """Compare two EUPS versions; prints A < B, A == B or A > B."""
    a, b = args.a, args.b
    check_version(a, Location("argument A"))
    check_version(b, Location("argument B"))
    c = vercmp(a, b)
    if get_app().json:
        emit_json({"a": a, "b": b, "cmp": c})
    else:
        echo(f"{a} {'<' if c < 0 else '>' if c > 0 else '=='} {b}")


@dataclass(frozen=True)
class VermatchArgs:
    version: str
    expression: str


@click.command("vermatch")
@click.argument("version")
@click.argument("expression")
@json_option
@takes(VermatchArgs)
def vermatch_cmd(a: VermatchArgs) -> int:
    """Exit 0 when VERSION satisfies EXPRESSION (e.g. '>= 1.2 && < 2'), else 1."""
    check_version(a.version, Location("argument VERSION"))
    ok = parse_expr(a.expression, Location("argument EXPRESSION")).matches(a.version)
    if get_app().json:
        emit_json({"version": a.version, "expression": a.expression, "matches": ok})
    else:
        echo("yes" if ok else "no")
    return 0 if ok else 1


@click.command("flavor")
def flavor_cmd() -> None:
    """Print this machine's EUPS flavor ($EUPS_FLAVOR wins)."""
    echo(current_flavor())


def _echo_warnings(table: Table) -> None:
    if table.warnings:  # one write: a table may have a warning on each of many lines
        click.echo("\n".join(f"warning: {w}" for w in table.warnings), err=True)


@dataclass(frozen=True)
class LintTableArgs:
    files: tuple[Path, ...]
    strict: bool


@click.command("lint-table")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@strict_option(
    "A line real EUPS skips is an error; --no-strict reads as EUPS (and resolve, build, "
    "setup) do: such lines are skipped with a warning."
)
@takes(LintTableArgs)
def lint_table_cmd(a: LintTableArgs) -> int:
    """Check table files; prints one line per bad file and exits 2 if any is bad."""
    bad = 0
    for f in a.files:
        try:
            table = read_table(f, strict=a.strict, log_warnings=False)
        except InputError as exc:
            bad += 1
            click.echo(f"error: {exc}", err=True)
            continue
        _echo_warnings(table)
    info(f"{len(a.files) - bad} of {len(a.files)} table files ok")
    return 2 if bad else 0


@dataclass(frozen=True)
class ShowTableArgs:
    file: Path
    flavor: str | None
    types: tuple[str, ...]
    strict: bool


@click.command("show-table")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@flavor_option("EUPS flavor for conditions [default: $EUPS_FLAVOR, else this machine].")
@click.option("--type", "types", multiple=True, help="Active setup type (repeatable), e.g. exact.")
@strict_option(
    "A line real EUPS skips is an error; --no-strict shows what setup does (EUPS's reading)."
)
@json_option
@takes(ShowTableArgs)
def show_table_cmd(a: ShowTableArgs) -> None:
    """Show what a table file does for a flavor: dependencies and environment."""
    table = read_table(a.file, strict=a.strict, log_warnings=False)
    _echo_warnings(table)
    ctx = TableContext(flavor=a.flavor or current_flavor(), types=frozenset(a.types))
    cmds = table.commands(ctx)
    deps = [c for c in cmds if isinstance(c, Dependency)]
    if get_app().json:
        emit_json(
            {
                "table": str(a.file),
                "flavor": ctx.flavor,
                "dependencies": [
                    {
                        "product": d.product,
                        "optional": d.optional,
                        "version": d.version,
                        "expr": str(d.expr) if d.expr else None,
                        "line": d.line,
                        "external": d.external,
                        "just": d.just,
                    }
                    for d in deps
                ],
                "env": [
                    {"command": e.command, "var": e.var, "value": e.value, "line": e.line}
                    for e in table.env_actions(ctx)
                ],
            }
        )
        return
    for d in deps:
        kind = "optional" if d.optional else "required"
        echo(f"{kind:8}  {d}")
    for e in table.env_actions(ctx):
        echo(f"{e.command:10}  {e.var} {e.value or ''}".rstrip())


@dataclass(frozen=True)
class LintReposArgs:
    file: Path
    schemes: tuple[str, ...]
    check_urls: bool


@click.command("lint-repos")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--allow-scheme",
    "schemes",
    multiple=True,
    default=("https",),
    show_default=True,
    help="URL schemes to accept (repeatable).",
)
@click.option("--check-urls", is_flag=True, help="Also require every http(s) URL to answer 200.")
@takes(LintReposArgs)
def lint_repos_cmd(a: LintReposArgs) -> int:
    """Check repos.yaml: structure (unknown keys, url-only mappings) and URL schemes."""
    repos = read_repos(a.file)
    status = None
    if a.check_urls:
        status = http.statuses(spec.url for spec in repos.specs.values())
    problems = lint(repos, allowed_schemes=a.schemes, url_status=status)
    for p in problems:
        click.echo(f"error: {p}", err=True)
    info(f"{len(repos)} entries, {len(problems)} problems")
    return 2 if problems else 0
