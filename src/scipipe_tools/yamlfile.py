"""The one YAML reader: every YAML input is read here, and every error names its place.

:func:`compose` gives the node tree (each node keeps its line and column, so a reader can
say ``repos.yaml:88: afw: 'ref' must be a string``); :func:`load` gives plain data, for
big machine-written files (``conda-lock.yml``).  Both take the text or the bytes of a
file and refuse, with ``file:line:column``:

- a byte that is not UTF-8, and a character YAML does not allow (control characters);
- YAML that does not parse (the parser's own mark);
- a key given twice in one mapping (YAML requires unique keys; PyYAML lets the last win);
- aliases (``*name``), unless the caller allows them; then a recursive alias, or aliases
  that expand past :data:`MAX_EXPANSION` nodes (the "billion laughs"), are refused.

Safe loading only (no Python objects), with libyaml's parser when it is there; :func:`dump`
writes plain data the same way.
:class:`NodeReader` has the typed reads of a node that several readers share.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import yamlemit
from .errors import InputError, Location, did_you_mean
from .text import decode, escaped_byte, place

__all__ = [
    "BOOL",
    "FLOAT",
    "INT",
    "NULL",
    "STR",
    "TIMESTAMP",
    "MappingNode",
    "Node",
    "NodeReader",
    "ScalarNode",
    "SequenceNode",
    "at",
    "column",
    "compose",
    "dump",
    "find",
    "get",
    "line",
    "load",
]

Source = str | bytes
PathLike = str | os.PathLike[str]

if TYPE_CHECKING:
    import yaml
    from yaml import MappingNode, Node, ScalarNode, SequenceNode

#: names bound when PyYAML is imported (:func:`_import_yaml`), also for other modules'
#: ``from .yamlfile import MappingNode``
_LAZY = frozenset({"yaml", "MappingNode", "Node", "ScalarNode", "SequenceNode", "LOADER"})
_imported = False
LOADER: Any
_DUMPER: Any
_DataLoader: Any
_PlacingLoader: Any


def _import_yaml() -> None:
    """Import PyYAML, the first time a YAML stream is read or written here.

    It costs 20 ms (its regular expressions compile as it loads), which a command that
    reads no YAML (``env create`` from an already parsed lock) should not pay; so the
    module binds its PyYAML names then, and its functions use them as usual."""
    global _imported, yaml, MappingNode, Node, ScalarNode, SequenceNode, LOADER, _DUMPER
    global _DataLoader, _PlacingLoader
    if _imported:
        return
    import yaml  # deferred: heavy
    from yaml import MappingNode, Node, ScalarNode, SequenceNode  # deferred: heavy

    #: libyaml when present: composing a big lock is several times faster
    LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    _DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    _DataLoader, _PlacingLoader = _loaders(LOADER)
    _imported = True


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        _import_yaml()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
BOOL = "tag:yaml.org,2002:bool"
NULL = "tag:yaml.org,2002:null"
TIMESTAMP = "tag:yaml.org,2002:timestamp"

#: the most nodes a document's aliases may expand to
MAX_EXPANSION = 1_000_000


@functools.cache
def _not_printable() -> re.Pattern[str]:
    """A character YAML does not allow in a stream (outside its c-printable set).

    Surrogates are not in that set, so the bytes read_text's surrogateescape kept from a
    non-UTF-8 file are found too.  Compiled when first needed (4 ms: its ranges)."""
    return re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def line(node: Node) -> int:
    """The 1-based line where ``node`` starts."""
    return int(node.start_mark.line) + 1


def column(node: Node) -> int:
    """The 1-based column where ``node`` starts."""
    return int(node.start_mark.column) + 1


def at(path: PathLike, node: Node) -> Location:
    """``path:line:column`` of ``node``: where every error about a node points."""
    return Location(str(path), line(node), column(node))


def text_of(source: Source, path: PathLike) -> str:
    """The text of a YAML stream, once every character in it is one YAML allows."""
    text = decode(source, path) if isinstance(source, bytes) else source
    m = _not_printable().search(text)
    if m is not None:
        index = m.start()
        if "\udc80" <= text[index] <= "\udcff":
            raise escaped_byte(text, index, path)
        where = Location(str(path), *place(text, index))
        raise InputError(f"invalid character U+{ord(text[index]):04X} (not allowed in YAML)",
                         location=where)  # fmt: skip
    return text


def compose(
    source: Source, path: PathLike, *, aliases: bool = False, unique_keys: bool = True
) -> Node | None:
    """The node tree of a one-document YAML stream (None when it is empty)."""
    _import_yaml()
    text = text_of(source, path)
    try:
        node: Node | None = yaml.compose(text, Loader=LOADER)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, path) from None
    except RecursionError:
        raise InputError("invalid YAML: nested too deeply", location=Location(str(path))) from None
    if node is not None and (unique_keys or "&" in text):
        _walk(node, text, path, aliases=aliases, unique_keys=unique_keys)
    if node is not None and "\\" in text:
        _check_escapes(node, path)
    return node


def load(source: Source, path: PathLike) -> tuple[Any, Node | None]:
    """The data of a one-document YAML stream, and its node tree (to place later errors).

    Aliases are allowed (machine-written files have them), within :data:`MAX_EXPANSION`.
    """
    _import_yaml()
    text = text_of(source, path)
    try:
        return _construct(_DataLoader, text, path)
    except _CONSTRUCTION_ERRORS:
        pass
    try:
        return _construct(_PlacingLoader, text, path)
    except _CONSTRUCTION_ERRORS as exc:  # in a constructor's second step, past any one node
        raise InputError(
            f"invalid YAML: {_words(exc)}"[:200], location=Location(str(path))
        ) from None


def dump(data: Any, *, sort_keys: bool = True) -> str:
    """``data`` (plain values only) as YAML, block style, with libyaml's emitter when
    present; as ``yaml.dump`` writes it, three times faster (:mod:`.yamlemit`)."""
    _import_yaml()
    text = yamlemit.dump(data, _DUMPER, sort_keys=sort_keys)
    if text is None:
        text = yaml.dump(data, Dumper=_DUMPER, sort_keys=sort_keys, default_flow_style=False)
    return text


def get(node: Node | None, key: str | int) -> Node | None:
    """The value of ``key`` in a mapping, or item ``key`` of a sequence; else None."""
    _import_yaml()
    if isinstance(node, MappingNode) and isinstance(key, str):
        return next(
            (v for k, v in node.value if isinstance(k, ScalarNode) and k.value == key), None
        )
    if isinstance(node, SequenceNode) and isinstance(key, int):
        return node.value[key] if 0 <= key < len(node.value) else None
    return None


def find(node: Node, keys: Iterable[str | int]) -> Node:
    """The deepest node along ``keys`` (mapping keys and sequence indexes) from ``node``."""
    for key in keys:
        nxt = get(node, key)
        if nxt is None:
            break
        node = nxt
    return node


# --- errors -------------------------------------------------------------------------------


class _BadNode(Exception):
    """A node whose explicit tag the constructor could not make a value of (``!!int x``)."""

    def __init__(self, node: Node, message: str, mapping: Node | None = None) -> None:
        super().__init__(message)
        self.node = node
        self.message = message
        #: the mapping of a duplicate key, to say where it is
        self.mapping = mapping


def _words(text: object) -> str:
    return " ".join(str(text).split())


def _yaml_error(exc: yaml.YAMLError, text: str, path: PathLike) -> InputError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        where = Location(str(path), mark.line + 1, mark.column + 1) if mark else Location(str(path))
        problem = _words(exc.problem or exc.context or "cannot parse")
        if exc.context and exc.problem:
            context = _words(exc.context)
            but = problem.startswith("but ")  # "expected a single document, but found ..."
            problem = f"{context}, {problem}" if but else f"{problem} ({context})"
        return InputError(f"invalid YAML: {problem}", location=where)
    if isinstance(exc, yaml.reader.ReaderError):
        # text_of found every character YAML refuses; this is for a parser that disagrees
        index = min(max(int(exc.position), 0), len(text))
        return InputError(f"invalid YAML: {_words(exc.reason)}",
                          location=Location(str(path), *place(text, index)))  # fmt: skip
    return InputError(f"invalid YAML: {_words(exc)}", location=Location(str(path)))


# --- the walk: duplicate keys, aliases ------------------------------------------------------


def _walk(root: Node, text: str, path: PathLike, *, aliases: bool, unique_keys: bool) -> None:
    """One pass over the node graph, each node once (an alias is the same node again)."""
    state: dict[int, bool] = {}  # False while a node's children are walked, then True
    sizes: dict[int, int] = {}  # with aliases: how many nodes each one expands to
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            size = 1 + sum(sizes[id(child)] for child in _children(node))
            if size > MAX_EXPANSION:
                raise InputError(
                    f"invalid YAML: aliases expand to more than {MAX_EXPANSION} nodes",
                    location=at(path, node),
                )
            sizes[id(node)] = size
            state[id(node)] = True
            continue
        seen = state.get(id(node))
        if seen is not None:
            if not aliases:
                raise InputError(
                    "invalid YAML: aliases (*name) are not allowed in this file",
                    location=_alias_location(text, path),
                )
            if not seen:
                raise InputError("invalid YAML: recursive alias", location=at(path, node))
            continue
        state[id(node)] = not aliases
        if unique_keys and isinstance(node, MappingNode):
            _unique(node, root, path)
        if aliases:
            stack.append((node, True))
        stack.extend((child, False) for child in reversed(_children(node)))


def _check_escapes(root: Node, path: PathLike) -> None:
    """No value holds a character the stream could not (``"\\0"`` is a NUL): only an
    escape in a double-quoted scalar makes one, so this runs when there is a backslash."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ScalarNode):
            m = _not_printable().search(str(node.value))
            if m is not None:
                raise InputError(f"invalid character U+{ord(m.group()):04X} in a value",
                                 location=at(path, node))  # fmt: skip
        else:
            stack.extend(_children(node))


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _unique(node: MappingNode, root: Node, path: PathLike) -> None:
    first: dict[str, Node] = {}
    for key, _ in node.value:
        if not isinstance(key, ScalarNode):
            continue
        name = str(key.value)
        if name in first:
            raise InputError(
                _in(root, node) + f"duplicate key {name!r} (first at line {line(first[name])})",
                location=at(path, key),
            )
        first[name] = key


def _name(key: Node) -> str:
    return str(key.value) if isinstance(key, ScalarNode) else "?"


def _in(root: Node, target: Node) -> str:
    """``build.jobs: ``, ``platforms[0]: ``: where ``target`` sits under ``root``, as an
    error's prefix (empty at the top).  Only errors ask, so this is a second walk."""
    parents: dict[int, tuple[Node, str]] = {}
    stack = [root]
    while stack and id(target) not in parents and target is not root:
        node = stack.pop()
        if isinstance(node, MappingNode):
            pairs = [(v, f".{_name(k)}") for k, v in node.value]
        elif isinstance(node, SequenceNode):
            pairs = [(v, f"[{i}]") for i, v in enumerate(node.value)]
        else:
            continue
        for child, label in pairs:
            if id(child) not in parents and child is not root:
                parents[id(child)] = (node, label)
                stack.append(child)
    parts: list[str] = []
    node = target
    while node is not root and id(node) in parents:
        node, label = parents[id(node)]
        parts.append(label)
    where = "".join(reversed(parts)).lstrip(".")
    return f"{where}: " if where else ""


def _alias_location(text: str, path: PathLike) -> Location:
    """Where the first alias is: a node keeps its anchor's place, not its aliases', so ask
    the parser again (only on this error path)."""
    for event in yaml.parse(text, Loader=LOADER):
        mark = event.start_mark
        if isinstance(event, yaml.AliasEvent) and mark is not None:
            return Location(str(path), mark.line + 1, mark.column + 1)
    return Location(str(path))


# --- constructing data --------------------------------------------------------------------


#: what constructors raise for a value they cannot make (``!!int abc``, ``!!bool maybe``)
_CONSTRUCTION_ERRORS = (ValueError, TypeError, LookupError, AttributeError, OverflowError)


def _loaders(base: Any) -> tuple[Any, Any]:
    """The loader classes, made on ``base`` (libyaml's safe loader when present) once
    PyYAML is imported."""

    class DataLoader(base):  # type: ignore[misc]
        """The safe loader, refusing duplicate keys."""

        def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
            if not isinstance(node, MappingNode):  # !!set on a scalar: the base says where
                return dict(yaml.constructor.BaseConstructor.construct_mapping(self, node, deep))
            own = node.value  # flatten_mapping takes the merge keys out of this list, in place
            self.flatten_mapping(node)
            mapping: dict[Any, Any] = yaml.constructor.BaseConstructor.construct_mapping(
                self, node, deep=deep
            )
            if len(mapping) < len(node.value):  # a key twice (merged keys may be, legitimately)
                first: dict[Any, Node] = {}
                for key_node, _ in own:
                    key = self.construct_object(key_node, deep=True)
                    if key in first:
                        raise _BadNode(
                            key_node,
                            f"duplicate key {_words(key_node.value)[:40]!r} "
                            f"(first at line {line(first[key])})",
                            mapping=node,
                        )
                    first[key] = key_node
            return mapping

    class PlacingLoader(DataLoader):
        """:class:`DataLoader` naming the node a constructor fails on: slower, so it runs only
        once :class:`DataLoader` has failed."""

        def construct_object(self, node: Node, deep: bool = False) -> Any:
            try:
                return super().construct_object(node, deep)
            except _CONSTRUCTION_ERRORS:
                value = _words(node.value)[:40] if isinstance(node, ScalarNode) else ""
                raise _BadNode(node, f"invalid YAML: cannot read {value!r} as {node.tag}") from None

    return DataLoader, PlacingLoader


def _construct(loader_type: Any, text: str, path: PathLike) -> tuple[Any, Node | None]:
    loader = loader_type(text)
    node: Node | None = None
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        if "&" in text:  # no anchor, no alias: the walk is needed only when there is one
            _walk(node, text, path, aliases=True, unique_keys=False)
        if "\\" in text:
            _check_escapes(node, path)
        return loader.construct_document(node), node
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, path) from None
    except _BadNode as exc:
        where = _in(node, exc.mapping) if node is not None and exc.mapping is not None else ""
        raise InputError(where + exc.message, location=at(path, exc.node)) from None
    except RecursionError:
        raise InputError("invalid YAML: nested too deeply", location=Location(str(path))) from None
    finally:
        loader.dispose()


# --- typed reads ----------------------------------------------------------------------------


class NodeReader:
    """Typed reads of the nodes of one file; every error names ``file:line:column``."""

    def __init__(self, path: PathLike) -> None:
        self.file = path

    def document(
        self, source: Source, empty: str, *, aliases: bool = False, unique_keys: bool = True
    ) -> Node:
        """The root node of the file (its text or bytes); an empty file is an error,
        ``empty file: <empty>``."""
        root = compose(source, self.file, aliases=aliases, unique_keys=unique_keys)
        if root is None:
            raise InputError(f"empty file: {empty}", location=Location(str(self.file)))
        return root

    def where(self, node: Node) -> Location:
        return at(self.file, node)

    def fail(self, node: Node, message: str, hint: str | None = None) -> InputError:
        return InputError(message, location=self.where(node), hint=hint)

    def pairs(self, node: Node, what: str) -> list[tuple[Node, Node]]:
        """The (key, value) pairs of a mapping, in the file's order."""
        if not isinstance(node, MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        return list(node.value)

    def mapping(self, node: Node, what: str, keys: tuple[str, ...]) -> dict[str, tuple[Node, Node]]:
        """``{key: (key node, value node)}``; a key not in ``keys`` is an error, and so is
        a key given twice.  ``what`` prefixes the messages (none when it is empty)."""
        prefix = f"{what}: " if what else ""
        out: dict[str, tuple[Node, Node]] = {}
        for key, value in self.pairs(node, what or "the file"):
            name = str(key.value) if isinstance(key, ScalarNode) else "?"
            if name not in keys:
                raise self.fail(
                    key,
                    f"{prefix}unknown key {name!r} (allowed: {', '.join(keys)})",
                    hint=did_you_mean(name, keys),
                )
            if name in out:
                first = line(out[name][0])
                raise self.fail(key, f"{prefix}duplicate key {name!r} (first at line {first})")
            out[name] = (key, value)
        return out

    def string(self, node: Node, what: str, *, numbers: bool = True) -> str:
        """A non-empty scalar; a number (``version: 13.0``) is its text unless ``numbers``
        is false (then only a string is one)."""
        tags = (STR, INT, FLOAT) if numbers else (STR,)
        if not isinstance(node, ScalarNode) or node.tag not in tags or not str(node.value).strip():
            raise self.fail(node, f"{what} must be a non-empty string")
        return str(node.value)

    def one_of(self, node: Node, what: str, known: tuple[str, ...], noun: str) -> str:
        """A string that is one of ``known``: ``{what}: unknown {noun} 'x' (known: ...)``."""
        value = self.string(node, what)
        if value not in known:
            raise self.fail(node, f"{what}: unknown {noun} {value!r} (known: {', '.join(known)})",
                            hint=did_you_mean(value, known))  # fmt: skip
        return value

    def strings(self, node: Node, what: str) -> tuple[str, ...]:
        if isinstance(node, ScalarNode) and node.tag == STR:
            return (self.string(node, what),)
        if not isinstance(node, SequenceNode):
            raise self.fail(node, f"{what} must be a list of strings")
        return tuple(self.string(item, f"{what}: an item") for item in node.value)

    def boolean(self, node: Node, what: str) -> bool:
        if not isinstance(node, ScalarNode) or node.tag != BOOL:
            raise self.fail(node, f"{what} must be true or false")
        return str(node.value).lower() in ("true", "yes", "on")

    def integer(self, node: Node, what: str, least: int) -> int:
        if not isinstance(node, ScalarNode) or node.tag != INT:
            raise self.fail(node, f"{what} must be an integer")
        try:
            value = int(str(node.value).replace("_", ""), 10)
        except ValueError:
            raise self.fail(node, f"{what} must be a decimal integer") from None
        if value < least:
            raise self.fail(node, f"{what} must be at least {least}")
        return value

    def real(self, node: Node, what: str, least: float) -> float:
        if not isinstance(node, ScalarNode) or node.tag not in (INT, FLOAT):
            raise self.fail(node, f"{what} must be a number")
        try:
            value = float(str(node.value).replace("_", ""))
        except ValueError:
            raise self.fail(node, f"{what} must be a finite number") from None
        if not value >= least or value == float("inf"):
            raise self.fail(node, f"{what} must be a finite number, at least {least:g}")
        return value

    def optional_string(self, node: Node, what: str) -> str | None:
        if isinstance(node, ScalarNode) and node.tag == NULL:
            return None
        return self.string(node, what)
