"""``scipipe eups``: the EUPS model (versions, tables, repos.yaml, flavors: model.py) and
the installed stack (list, tags, declare: stack.py)."""

from __future__ import annotations

import click

from . import model, stack


@click.group("eups")
def eups_group() -> None:
    """EUPS versions, table files, repos.yaml and flavors."""


for _command in (
    model.vercmp_cmd,
    model.vermatch_cmd,
    model.flavor_cmd,
    model.lint_table_cmd,
    model.show_table_cmd,
    model.lint_repos_cmd,
    stack.list_cmd,
    stack.tags_cmd,
    stack.declare_cmd,
):
    eups_group.add_command(_command)
