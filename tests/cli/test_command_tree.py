"""The shape of ``cli/``: groups that load their commands only when used, and every
command's parameters arriving as one typed object."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import typing
from collections.abc import Iterator

import click
import pytest

from scipipe_tools.cli.app import cli
from scipipe_tools.cli.lazy import LazyGroup
from scipipe_tools.cli.lsstinstall import lsstinstall


def commands(group: click.Group, path: str) -> Iterator[tuple[str, click.Command]]:
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, f"{path} {name}"
        yield f"{path} {name}", command
        if isinstance(command, click.Group):
            yield from commands(command, f"{path} {name}")


def every_command() -> list[tuple[str, click.Command]]:
    return [("scipipe", cli), *commands(cli, "scipipe"), ("lsstinstall", lsstinstall)]


@pytest.mark.parametrize("path", [p for p, c in every_command() if isinstance(c, LazyGroup)])
def test_a_lazy_group_lists_its_commands_as_click_would(path: str) -> None:
    group = dict(every_command())[path]
    assert isinstance(group, LazyGroup)
    for width in (40, 80, 120):
        ctx = click.Context(group, terminal_width=width)
        lazy, loaded = click.HelpFormatter(width=width), click.HelpFormatter(width=width)
        group.format_commands(ctx, lazy)
        click.Group.format_commands(group, ctx, loaded)  # loads every command
        assert lazy.getvalue() == loaded.getvalue()


def loaded_modules(*args: str) -> set[str]:
    """The project's modules that ``scipipe ARGS`` imports."""
    code = (
        "import sys\n"
        "from scipipe_tools.cli.app import cli, run\n"
        f"run(cli, {list(args)!r}, 'scipipe')\n"
        "print(*(m for m in sys.modules if m.startswith('scipipe_tools')), file=sys.stderr)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(r.stderr.split())


def test_help_and_one_command_load_only_what_they_use() -> None:
    top = loaded_modules("--help")
    assert {m for m in top if m.startswith("scipipe_tools.cli")} == {
        "scipipe_tools.cli",
        "scipipe_tools.cli.app",
        "scipipe_tools.cli.common",
        "scipipe_tools.cli.lazy",
    }
    names = loaded_modules("release", "tag-name", "26.0.0")
    assert "scipipe_tools.cli.release.names" in names
    assert not {"scipipe_tools.flows.run", "scipipe_tools.release.tagging"} & names


def args_type(command: click.Command) -> type | None:
    handler = getattr(command.callback, "__wrapped__", None)
    if handler is None:
        return None
    hints = typing.get_type_hints(handler)
    hints.pop("return", None)
    (kind,) = hints.values()
    return kind if isinstance(kind, type) else None


@pytest.mark.parametrize(
    "path", [p for p, c in every_command() if c.params and not isinstance(c, click.Group)]
)
def test_a_command_takes_its_parameters_as_one_frozen_dataclass(path: str) -> None:
    command = dict(every_command())[path]
    kind = args_type(command)
    assert kind is not None and dataclasses.is_dataclass(kind), f"{path}: no *Args handler"
    assert kind.__dataclass_params__.frozen  # type: ignore[attr-defined]
    fields = {f.name for f in dataclasses.fields(kind)}
    assert fields == {p.name for p in command.params if p.expose_value}
