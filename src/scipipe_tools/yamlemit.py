"""Plain data as YAML, byte for byte as PyYAML's ``dump`` writes it, in a third of the time.

``yaml.dump`` spends most of its time in Python before libyaml's emitter sees anything:
its representer makes a node per value through a chain of calls (looking for repeated
objects to write as aliases), and the emitter asks the resolver twice per scalar whether
its text would read back as another type.  A 400-package conda-lock.yml has 11,000
scalars: 70 ms.  :func:`dump` makes the same nodes directly (for dicts, lists, strings,
booleans, integers and None, the types a lock file holds) and remembers the resolver's
answers for each distinct text; the nodes and the emitter are PyYAML's, so the bytes are
too (tests/unit/test_yamlemit.py compares them on generated data and a real lock).
Anything else (a float, an object that appears twice, another type) returns None: the
caller then uses ``yaml.dump`` itself.
"""

from __future__ import annotations

import contextlib
from typing import Any

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
BOOL = "tag:yaml.org,2002:bool"
NULL = "tag:yaml.org,2002:null"
MAP = "tag:yaml.org,2002:map"
SEQ = "tag:yaml.org,2002:seq"


def dump(data: Any, dumper: type, *, sort_keys: bool) -> str | None:
    """``yaml.dump(data, Dumper=dumper, sort_keys=sort_keys, default_flow_style=False)``,
    or None when ``data`` holds something this does not represent (see the module)."""
    import yaml  # deferred: heavy

    node = _node(data, sort_keys, set(), yaml)
    if node is None or getattr(dumper, "yaml_path_resolvers", None):
        return None
    memo: dict[tuple[Any, str, Any], str] = {}
    base_resolve = dumper.resolve  # type: ignore[attr-defined]

    class Dumper(dumper):  # type: ignore[misc]
        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            # a scalar's tag: a pure function of these while no path resolver is registered
            if type(value) is not str:
                tag: str = base_resolve(self, kind, value, implicit)
                return tag
            key = (kind, value, implicit)
            found = memo.get(key)
            if found is None:
                found = memo[key] = base_resolve(self, kind, value, implicit)
            return found

    text: str = yaml.serialize(node, Dumper=Dumper)
    return text


def _node(data: Any, sort_keys: bool, containers: set[int], yaml: Any) -> Any:
    """The node PyYAML's safe representer makes of ``data`` with block style; None for
    what it would represent otherwise (an alias, a float...)."""
    kind = type(data)
    if kind is str:
        return yaml.ScalarNode(STR, data)
    if kind is bool:
        return yaml.ScalarNode(BOOL, "true" if data else "false")
    if kind is int:
        return yaml.ScalarNode(INT, str(data))
    if data is None:
        return yaml.ScalarNode(NULL, "null")
    if kind is not dict and kind is not list:
        return None
    if id(data) in containers:  # PyYAML writes the second one as an alias
        return None
    containers.add(id(data))
    if kind is list:
        items = [_node(item, sort_keys, containers, yaml) for item in data]
        if any(item is None for item in items):
            return None
        return yaml.SequenceNode(SEQ, items, flow_style=False)
    pairs = list(data.items())
    if sort_keys:
        with contextlib.suppress(TypeError):  # as PyYAML: keys that do not compare stay put
            pairs = sorted(pairs)
    nodes = []
    for key, value in pairs:
        key_node = _node(key, sort_keys, containers, yaml)
        value_node = _node(value, sort_keys, containers, yaml)
        if key_node is None or value_node is None:
            return None
        nodes.append((key_node, value_node))
    return yaml.MappingNode(MAP, nodes, flow_style=False)
