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

import yaml

from ..errors import InputError, Location
from ..files import read_text

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
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


def compose(path: Path) -> yaml.Node | None:
    text = read_text(path, "YAML file")
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(str(exc.problem).split())
        raise InputError(f"invalid YAML: {problem}", location=Location(str(path), line)) from exc
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", location=Location(str(path))) from exc
    return node


def _get(node: yaml.Node, key: str) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key and isinstance(v, yaml.Node):
                return v
    return None


def _items(node: yaml.Node | None) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [v for _, v in node.value]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def uses_of(path: Path) -> Iterator[Use]:
    """The ``uses:`` of a workflow (jobs and their steps) or of a composite action."""
    root = compose(path)
    if root is None:
        return
    holders: list[yaml.Node] = []
    for job in _items(_get(root, "jobs")):
        holders.append(job)
        holders.extend(_items(_get(job, "steps")))
    runs = _get(root, "runs")
    if runs is not None:
        holders.extend(_items(_get(runs, "steps")))
    for holder in holders:
        node = _get(holder, "uses")
        if isinstance(node, yaml.ScalarNode):
            yield Use(path, int(node.start_mark.line) + 1, str(node.value))


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
    line = int(node.start_mark.line) + 1
    for key, index in _PATH_PART.findall(json_path.removeprefix("$")):
        nxt: yaml.Node | None
        if key:
            nxt = _get(node, key)
        else:
            seq = node.value if isinstance(node, yaml.SequenceNode) else []
            nxt = seq[int(index)] if int(index) < len(seq) else None
        if nxt is None:
            break
        node = nxt
        line = int(node.start_mark.line) + 1
    return line
