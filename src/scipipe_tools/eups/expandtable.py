"""``eups expandtable``: pin a table file to the versions a product was built with.

At install, EUPS rewrites the table: the last top-level block of setup commands becomes
``if (type == exact) { setupRequired(dep -j <version>) ... } else { <the original
commands, each with its version and [>= version]> }``, the exact branch listing every
transitive dependency.  Exact is the default setup type, so ``setup afw`` later sets up
exactly what afw was built against.  Other setup blocks are wrapped in
``if (type != exact) { ... }``.  Unlike EUPS, the exact block never lands inside an
``if`` block of the original table (EUPS puts it after the last setup line wherever it is).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

_SETUP = re.compile(r"(setupRequired|setupOptional)\(\"?([^\")]*)\"?\)", re.I)
_BLANK = re.compile(r"^\s*(#.*)?$")
INDENT = "   "


_VALUE_FLAGS = frozenset({"-t", "-r", "--tag", "--root", "--vro"})


def _rewrite(match: re.Match[str], versions: Mapping[str, str]) -> str:
    """``setupRequired(afw -j)`` -> ``setupRequired(afw -j g123 [>= g123])``."""
    cmd, words = match.group(1), match.group(2).split()
    product: str | None = None
    kept: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w in _VALUE_FLAGS:
            kept += words[i : i + 2]
            i += 2
            continue
        if w.startswith("-"):
            kept.append(w)
        elif product is None:
            product = w
        i += 1  # a version or [expression] after the product is replaced
    if product is None or product not in versions:
        return match.group(0)
    version = versions[product]
    return f"{cmd}({' '.join([product, *kept, version, f'[>= {version}]'])})"


def expand_table(
    text: str,
    exact: Sequence[tuple[str, str, bool]],
    versions: Mapping[str, str],
) -> str:
    """The installed table for ``text``.

    ``exact`` is every transitive dependency as ``(product, version, optional)`` in
    setup order; ``versions`` maps direct dependencies to the versions built against.
    """
    blocks: list[tuple[bool, int, list[str]]] = [(False, 0, [])]
    depth = 0
    pending: list[str] = []  # blank and comment lines: they go with what follows them
    for raw in text.splitlines():
        if _BLANK.match(raw):
            pending.append(raw.rstrip())
            continue
        line = re.sub(r"\s*#.*$", "", raw).rstrip()
        line = _SETUP.sub(lambda m: _rewrite(m, versions), line)
        is_setup = _SETUP.search(line) is not None
        if is_setup != blocks[-1][0] or (is_setup and blocks[-1][1] != depth):
            if is_setup:  # comments before a setup block stay outside it
                blocks[-1][2].extend(pending)
                pending = []
            blocks.append((is_setup, depth, pending))
        else:
            blocks[-1][2].extend(pending)
        pending = []
        blocks[-1][2].append(line)
        if not is_setup:
            depth += line.count("{") - line.count("}")
    blocks[-1][2].extend(pending)
    top_level = [i for i, (is_setup, d, _) in enumerate(blocks) if is_setup and d == 0]
    last = top_level[-1] if top_level else None
    out: list[str] = []
    for i, (is_setup, _d, lines) in enumerate(blocks):
        if not is_setup:
            out.extend(lines)
            continue
        lead = re.match(r"\s*", lines[0])
        pad = lead.group(0) if lead else ""
        if i == last:
            out.append(f"{pad}if (type == exact) {{")
            for product, version, optional in exact:
                cmd = "setupOptional" if optional else "setupRequired"
                out.append(f"{pad}{INDENT}{cmd}({product:<15} -j {version})")
            out.append(f"{pad}}} else {{")
        else:
            out.append(f"{pad}if (type != exact) {{")
        out.extend(f"{INDENT}{line}" for line in lines)
        out.append(f"{pad}}}")
    if last is None and exact:
        out.append("if (type == exact) {")
        for product, version, optional in exact:
            cmd = "setupOptional" if optional else "setupRequired"
            out.append(f"{INDENT}{cmd}({product:<15} -j {version})")
        out.append("}")
    return "\n".join(out).rstrip("\n") + "\n"
