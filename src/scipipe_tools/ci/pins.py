"""Every ``uses:`` of a workflow or composite action must be pinned.

Pinned means ``owner/repo[/path]@<40 hex digits>`` (a commit, which no one can move, as
a tag can be), ``docker://image@sha256:<64 hex>``, or this repository itself: ``$/path``
(GitHub's self-repository syntax: the commit that is running) or a workspace ``./path``.  A tag or a
branch is a finding, with the file and line.  Also here: mapping a JSON path such as
``$.jobs.build.steps[2]`` (check-jsonschema's error locations) to a line of the YAML.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .. import yamlfile
from ..errors import InputError
from ..infra.files import read_text
from ..yamlfile import MappingNode, Node, ScalarNode, SequenceNode

PINNED = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[^@\s]+)?@[0-9a-f]{40}$")
DOCKER_PINNED = re.compile(r"^docker://[^@\s]+@sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Use:
    path: Path
    line: int
    value: str

    @property
    def pinned(self) -> bool:
        v = self.value
        return v.startswith(("./", "$/")) or bool(PINNED.match(v) or DOCKER_PINNED.match(v))


def compose(path: Path) -> Node | None:
    """A workflow's node tree; GitHub allows anchors and aliases in workflows."""
    return yamlfile.compose(read_text(path, "YAML file"), path, aliases=True)


def _items(node: Node | None) -> list[Node]:
    if isinstance(node, MappingNode):
        return [v for _, v in node.value]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def uses_of(path: Path) -> Iterator[Use]:
    """The ``uses:`` of a workflow (jobs and their steps) or of a composite action."""
    return uses_in(compose(path), path)


def uses_in(root: Node | None, path: Path) -> Iterator[Use]:
    """:func:`uses_of` the node tree of the file at ``path``."""
    if root is None:
        return
    holders: list[Node] = []
    for job in _items(yamlfile.get(root, "jobs")):
        holders.append(job)
        holders.extend(_items(yamlfile.get(job, "steps")))
    runs = yamlfile.get(root, "runs")
    if runs is not None:
        holders.extend(_items(yamlfile.get(runs, "steps")))
    for holder in holders:
        node = yamlfile.get(holder, "uses")
        if isinstance(node, ScalarNode):
            yield Use(path, yamlfile.line(node), str(node.value))


def unpinned(paths: list[Path]) -> list[Use]:
    return [u for p in paths for u in uses_of(p) if not u.pinned]


_PATH_PART = re.compile(r"\.([^.\[\]]+)|\[([0-9]+)\]")


def line_of(path: Path, json_path: str) -> int | None:
    """The line of ``$.a.b[2]`` in a YAML file (the deepest node found), or None."""
    try:
        node = compose(path)
    except InputError:
        return None
    if node is None:
        return None
    keys = [key or int(index) for key, index in _PATH_PART.findall(json_path.removeprefix("$"))]
    return yamlfile.line(yamlfile.find(node, keys))
