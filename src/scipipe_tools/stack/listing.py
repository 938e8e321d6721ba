"""``eups list``: the declared products of a stack with their tags, as rows.

The text layout is EUPS's ``app.printProducts``: ``%-21s `` name (left out when one
product is asked for, replaced by three spaces), ``%-10s `` version, then a tab and the
tags, with ``setup`` last when that version is the one set up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import InputError, Location, ResolutionError, did_you_mean
from .setup import parse_setup_string, setup_var
from .stack import Stack


@dataclass(frozen=True)
class Listed:
    product: str
    version: str
    tags: tuple[str, ...]
    setup: bool = False


def list_products(
    stack: Stack,
    product: str | None = None,
    tag: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[Listed]:
    """Rows for ``eups list [product] [-t tag]``, by name then EUPS version order.

    The tag may be any EUPS knows for the stack (:meth:`Stack.known_tags`), ``latest``
    (EUPS's pseudo tag for each product's newest version) or ``user:NAME`` (the chains
    named NAME, as EUPS stores them); a known tag on nothing lists nothing.
    """
    env = environ or {}
    chain = tag[len("user:") :] if tag is not None and tag.startswith("user:") else tag
    if tag is not None and chain is not None:
        known = stack.known_tags()
        if tag not in known and not stack.tagged(chain):
            raise InputError(
                f"unknown tag {tag!r}",
                location=Location(str(stack.db)),
                hint=did_you_mean(tag, known),
            )
    declared = stack.declared()
    names = [product] if product is not None else list(declared)
    rows: list[Listed] = []
    for name in names:
        setup_value = env.get(setup_var(name, env))
        active = parse_setup_string(setup_value) if setup_value else None
        versions = declared.get(name, [])
        for version in versions:
            tags = stack.tags_of(name, version)
            if tag == "latest" and version != versions[-1]:
                continue
            if tag not in (None, "latest") and chain not in tags:
                continue
            is_setup = (
                active is not None and active[1] == version and active[3] in (None, str(stack.root))
            )
            rows.append(Listed(name, version, tuple(tags), is_setup))
    if product is not None and not rows:
        what = f"{product} tagged {tag!r}" if tag else product
        raise ResolutionError(
            f"no product {what} in this stack for {stack.flavor}",
            location=Location(str(stack.root)),
            hint=did_you_mean(product, declared),
        )
    return rows


def format_list(rows: list[Listed], one_product: bool) -> str:
    lines = []
    for row in rows:
        head = "   " if one_product else f"{row.product:<21} "
        extra = [*row.tags, "setup"] if row.setup else list(row.tags)
        line = f"{head}{row.version:<10} "
        if extra:
            line += "\t" + " ".join(extra)
        lines.append(line)
    return "".join(line + "\n" for line in lines)
