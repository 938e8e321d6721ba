"""Command groups whose commands are imported only when one of them runs.

A command's module imports, at its top, the library it drives (some of it slow to
import: the source build, the release flows).  A group lists its commands by name, with
where each is defined and its one-line summary, so that ``scipipe --help`` and a single
command load only what they use.  The summaries are checked against the commands' own
help by the tests.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import click


@dataclass(frozen=True)
class Lazy:
    """A command defined as ``attr`` in ``module``; ``summary`` is the first paragraph
    of its help, what the group's ``--help`` lists."""

    module: str
    attr: str
    summary: str

    def load(self) -> click.Command:
        command: click.Command = getattr(importlib.import_module(self.module), self.attr)
        return command


class LazyGroup(click.Group):
    """A group whose subclass names its commands in ``lazy``; they load when used."""

    lazy: ClassVar[Mapping[str, Lazy]] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*self.lazy, *super().list_commands(ctx)])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            return self.lazy[cmd_name].load()
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click's, from the summaries: listing the commands loads none of them."""
        commands = [(name, self._listed(ctx, name)) for name in self.list_commands(ctx)]
        shown = [(name, c) for name, c in commands if c is not None and not c.hidden]
        if shown:
            limit = formatter.width - 6 - max(len(name) for name, _ in shown)
            with formatter.section("Commands"):
                formatter.write_dl([(name, c.get_short_help_str(limit)) for name, c in shown])

    def _listed(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            return click.Command(name, help=self.lazy[name].summary)
        return super().get_command(ctx, name)


def load(module: str, attr: str) -> Any:
    """``attr`` of ``module``, imported only now: a command's body, which imports the
    library it drives, loads when the command runs (not for its ``--help``)."""
    return getattr(importlib.import_module(module), attr)
