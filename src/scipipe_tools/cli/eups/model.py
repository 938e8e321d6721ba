"""``scipipe eups``: the EUPS model: versions, tables, repos.yaml, flavors."""

from __future__ import annotations

from collections.abc import Callable
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
from ..options import json_option


@click.group("eups")
def eups_group() -> None:
    """EUPS versions, table files, repos.yaml and flavors."""


@eups_group.command("vercmp")
@click.argument("a")
@click.argument("b")
@json_option
def vercmp_cmd(a: str, b: str) -> None:
    """Compare two EUPS versions; prints A < B, A == B or A > B."""
    check_version(a, Location("argument A"))
    check_version(b, Location("argument B"))
    c = vercmp(a, b)
    if get_app().json:
        emit_json({"a": a, "b": b, "cmp": c})
    else:
        echo(f"{a} {'<' if c < 0 else '>' if c > 0 else '=='} {b}")


@eups_group.command("vermatch")
@click.argument("version")
@click.argument("expression")
@json_option
def vermatch_cmd(version: str, expression: str) -> int:
    """Exit 0 when VERSION satisfies EXPRESSION (e.g. '>= 1.2 && < 2'), else 1."""
    check_version(version, Location("argument VERSION"))
    ok = parse_expr(expression, Location("argument EXPRESSION")).matches(version)
    if get_app().json:
        emit_json({"version": version, "expression": expression, "matches": ok})
    else:
        echo("yes" if ok else "no")
    return 0 if ok else 1


@eups_group.command("flavor")
def flavor_cmd() -> None:
    """Print this machine's EUPS flavor ($EUPS_FLAVOR wins)."""
    echo(current_flavor())


def _strict_option(default_help: str) -> Callable[[Callable[..., object]], Callable[..., object]]:
    return click.option(
        "--strict/--no-strict",
        default=True,
        show_default=True,
        help=default_help,
    )


def _echo_warnings(table: Table) -> None:
    if table.warnings:  # one write: a table may have a warning on each of many lines
        click.echo("\n".join(f"warning: {w}" for w in table.warnings), err=True)


@eups_group.command("lint-table")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@_strict_option(
    "A line real EUPS skips is an error; --no-strict reads as EUPS (and resolve, build, "
    "setup) do: such lines are skipped with a warning."
)
def lint_table_cmd(files: tuple[Path, ...], strict: bool) -> int:
    """Check table files; prints one line per bad file and exits 2 if any is bad."""
    bad = 0
    for f in files:
        try:
            table = read_table(f, strict=strict, log_warnings=False)
        except InputError as exc:
            bad += 1
            click.echo(f"error: {exc}", err=True)
            continue
        _echo_warnings(table)
    info(f"{len(files) - bad} of {len(files)} table files ok")
    return 2 if bad else 0


@eups_group.command("show-table")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--flavor", default=None, help="Flavor for conditions [default: this machine].")
@click.option("--type", "types", multiple=True, help="Active setup type (repeatable), e.g. exact.")
@_strict_option(
    "A line real EUPS skips is an error; --no-strict shows what setup does (EUPS's reading)."
)
@json_option
def show_table_cmd(file: Path, flavor: str | None, types: tuple[str, ...], strict: bool) -> None:
    """Show what a table file does for a flavor: dependencies and environment."""
    table = read_table(file, strict=strict, log_warnings=False)
    _echo_warnings(table)
    ctx = TableContext(flavor=flavor or current_flavor(), types=frozenset(types))
    cmds = table.commands(ctx)
    deps = [c for c in cmds if isinstance(c, Dependency)]
    if get_app().json:
        emit_json(
            {
                "table": str(file),
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


@eups_group.command("lint-repos")
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
def lint_repos_cmd(file: Path, schemes: tuple[str, ...], check_urls: bool) -> int:
    """Check repos.yaml: structure (unknown keys, url-only mappings) and URL schemes."""
    repos = read_repos(file)
    status = None
    if check_urls:
        status = http.statuses(spec.url for spec in repos.specs.values())
    problems = lint(repos, allowed_schemes=schemes, url_status=status)
    for p in problems:
        click.echo(f"error: {p}", err=True)
    info(f"{len(repos)} entries, {len(problems)} problems")
    return 2 if problems else 0


def _mount_stack_commands() -> None:
    from .stack import declare_cmd, list_cmd, tags_cmd

    for cmd in (list_cmd, tags_cmd, declare_cmd):
        eups_group.add_command(cmd)


_mount_stack_commands()
