"""The changelog overrides file: what lsst_git_changelog kept in its ``conf.py``.

::

    # changelog-overrides.yaml
    first_tag: w.2020.01            # the series starts here (earlier tags are ignored)
    discard_tag: [w.2021.07]        # broken tags, left out of the series
    skip_products: ["testdata_*", "*_testdata"]   # fnmatch patterns (these are the default)
    patch_merges:                   # pull requests whose merge is not on the branch
      - url: https://github.com/lsst/afw/pull/123
        product: afw
        ticket: DM-12345
        oid: 0123456789abcdef0123456789abcdef01234567   # the commit that carries it
        date: 2021-03-04T05:06:07Z

Errors name ``file:line``.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import yamlfile
from ..errors import InputError, Location, did_you_mean
from ..infra.files import read_text
from ..yamlfile import STR, TIMESTAMP, MappingNode, Node, ScalarNode, SequenceNode

KEYS = ("first_tag", "discard_tag", "skip_products", "patch_merges")
PATCH_KEYS = ("url", "product", "ticket", "oid", "date")
DEFAULT_SKIP = ("testdata_*", "*_testdata")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_TICKET = re.compile(r"^(DM|SP)-[0-9]+$", re.I)
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?$")


@dataclass(frozen=True)
class PatchMerge:
    url: str
    product: str
    ticket: str
    oid: str
    date: str


@dataclass(frozen=True)
class Overrides:
    first_tag: str | None = None
    discard_tag: tuple[str, ...] = ()
    skip_products: tuple[str, ...] = DEFAULT_SKIP
    patch_merges: tuple[PatchMerge, ...] = field(default_factory=tuple)

    def skips(self, product: str) -> bool:
        return any(fnmatch.fnmatchcase(product, pat) for pat in self.skip_products)


def _str(node: Node, where: Location, what: str) -> str:
    if not isinstance(node, ScalarNode) or node.tag != STR:
        raise InputError(f"{what} must be a string", location=where)
    return str(node.value)


_at = yamlfile.at


def _str_list(node: Node, path: str, what: str) -> tuple[str, ...]:
    if not isinstance(node, SequenceNode):
        raise InputError(f"{what} must be a list", location=_at(path, node))
    return tuple(_str(item, _at(path, item), f"{what} entries") for item in node.value)


def _patch(node: Node, path: str) -> PatchMerge:
    where = _at(path, node)
    if not isinstance(node, MappingNode):
        raise InputError("a patch_merges entry must be a mapping", location=where)
    values: dict[str, str] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value) if isinstance(key_node, ScalarNode) else "?"
        if key not in PATCH_KEYS:
            raise InputError(
                f"patch_merges: unknown key {key!r}",
                hint=did_you_mean(key, PATCH_KEYS),
                location=_at(path, key_node),
            )
        if key == "date" and isinstance(value_node, ScalarNode) and value_node.tag == TIMESTAMP:
            values[key] = str(value_node.value)  # YAML reads an unquoted date as a timestamp
            continue
        values[key] = _str(value_node, _at(path, value_node), f"patch_merges.{key}")
    missing = [k for k in PATCH_KEYS if k not in values]
    if missing:
        raise InputError(f"patch_merges entry lacks {', '.join(missing)}", location=where)
    if not _SHA.match(values["oid"]):
        raise InputError("patch_merges.oid must be a 40-digit SHA1", location=where)
    if not _TICKET.match(values["ticket"]):
        raise InputError("patch_merges.ticket must look like DM-12345", location=where)
    if not _DATE.match(values["date"]):
        raise InputError("patch_merges.date must be YYYY-MM-DD[THH:MM:SSZ]", location=where)
    values["ticket"] = values["ticket"].upper()
    return PatchMerge(**values)


def parse_overrides(text: str | bytes, path: str | Path = "overrides.yaml") -> Overrides:
    p = str(path)
    root = yamlfile.compose(text, p)
    if root is None:
        return Overrides()
    if not isinstance(root, MappingNode):
        raise InputError("expected a mapping of overrides", location=_at(p, root))
    out: dict[str, object] = {}
    for key_node, value_node in root.value:
        key = str(key_node.value) if isinstance(key_node, ScalarNode) else "?"
        if key not in KEYS:
            raise InputError(
                f"unknown key {key!r}", hint=did_you_mean(key, KEYS), location=_at(p, key_node)
            )
        if key == "first_tag":
            out[key] = _str(value_node, _at(p, value_node), key)
        elif key == "patch_merges":
            if not isinstance(value_node, SequenceNode):
                raise InputError("patch_merges must be a list", location=_at(p, value_node))
            out[key] = tuple(_patch(item, p) for item in value_node.value)
        else:
            out[key] = _str_list(value_node, p, key)
    return Overrides(**out)  # type: ignore[arg-type]


def read_overrides(path: str | Path) -> Overrides:
    return parse_overrides(read_text(path, "changelog overrides"), path)
