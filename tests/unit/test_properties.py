"""Property tests of the pure EUPS model (hypothesis)."""

from __future__ import annotations

import hashlib
import itertools
import os
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from scipipe_tools.errors import ScipipeError
from scipipe_tools.eups.buildid import parse_content_db
from scipipe_tools.eups.exclusions import parse_exclusions
from scipipe_tools.eups.graph import toposort, transitive_deps
from scipipe_tools.eups.manifest import parse_manifest
from scipipe_tools.eups.pkgversion import compute_versions, product_version
from scipipe_tools.eups.repos import parse_repos
from scipipe_tools.eups.table import parse_table
from scipipe_tools.eups.taglist import parse_taglist
from scipipe_tools.eups.versions import parse_expr, sort_key, vercmp

MULT = int(os.environ.get("SCIPIPE_HYPOTHESIS_MULT", "1"))

# Text that looks like the inputs often enough to reach deep into the parsers.
FRAGMENTS = [
    "setupRequired(",
    "setupOptional(",
    "envPrepend(",
    "envSet(",
    "if (",
    "} else {",
    "}",
    "{",
    ")",
    "(",
    "flavor == Linux64",
    " && ",
    " || ",
    "[",
    "]",
    ">= 1.2",
    "=",
    "==",
    "-j ",
    "-t ",
    "--vro",
    "${",
    "$?{",
    "PRODUCT_DIR}",
    "#",
    ";",
    "\n",
    " ",
    ",",
    '"',
    "'",
    "Group:",
    "Common:",
    "End:",
    "Flavor = ",
    "afw",
    "base",
    "1.0",
    "url:",
    "ref:",
    "lfs: true",
    "https://x/y.git",
    "BUILD=b1",
    "a" * 40,
    "\t",
    "EUPS distribution x version list. Version 1.0\n",
    "generic",
    ": ",
    "- ",
    "&",
    "|",
    "!",
    "~",
    "else if (",
    "type == exact",
]
inputish = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(FRAGMENTS), max_size=60).map("".join),
)


@settings(max_examples=400 * MULT, deadline=None)
@given(inputish)
def test_parsers_raise_only_our_errors(text: str) -> None:
    for parse in (
        lambda t: parse_table(t, "t.table"),
        lambda t: parse_repos(t, "repos.yaml"),
        lambda t: parse_manifest(t, "m.txt"),
        lambda t: parse_taglist(t, "x.list"),
        lambda t: parse_exclusions(t, "ex.txt"),
        lambda t: parse_expr(t),
        lambda t: parse_content_db(t),
    ):
        try:
            parse(text)
        except ScipipeError as exc:
            assert str(exc)  # a message, not an empty error
            assert "\n" not in exc.message


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 60), st.floats(0, 6), st.integers(0, 2**32 - 1))
def test_every_order_is_topological(n: int, density: float, seed: int) -> None:
    rng = random.Random(seed)
    names = [f"p{rng.randrange(10**6):06d}_{i}" for i in range(n)]
    rng.shuffle(names)  # names unrelated to the DAG's order
    graph = {
        names[i]: [names[j] for j in range(i) if rng.random() < density / max(i, 1)]
        for i in range(n)
    }
    levels = toposort(graph)
    order = [p for level in levels for p in level]
    assert sorted(order) == sorted(graph)
    pos = {p: k for k, p in enumerate(order)}
    level_of = {p: k for k, level in enumerate(levels) for p in level}
    for p, deps in graph.items():
        assert all(pos[d] < pos[p] for d in deps)
        # Kahn levels: a product sits one level above its deepest dependency
        assert level_of[p] == (max((level_of[d] for d in deps), default=-1) + 1)
    for level in levels:
        assert list(level) == sorted(level)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_versions_hash_the_transitive_closure(n: int, seed: int) -> None:
    rng = random.Random(seed)
    names = [f"p{i}" for i in range(n)]
    graph = {names[i]: [names[j] for j in range(i) if rng.random() < 0.2] for i in range(n)}
    shas = {p: hashlib.sha1(f"{seed}{p}".encode()).hexdigest() for p in names}
    versions = compute_versions(graph, shas)
    for p in names:
        closure = transitive_deps(graph, p)
        assert versions[p] == product_version(shas[p], {d: shas[d] for d in closure})


version_text = st.one_of(
    st.text(alphabet="0123456789abcmprc._-+", min_size=1, max_size=14),
    st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}(-rc[0-9]{1,2})?(\+[0-9]{1,2})?", fullmatch=True),
    st.from_regex(r"g[0-9a-f]{10}(\+[0-9a-f]{10})?", fullmatch=True),
)


@settings(max_examples=500 * MULT, deadline=None)
@given(version_text, version_text, version_text)
def test_vercmp_is_a_total_order(a: str, b: str, c: str) -> None:
    assert vercmp(a, a) == 0
    assert vercmp(a, b) == -vercmp(b, a)
    if vercmp(a, b) <= 0 and vercmp(b, c) <= 0:
        assert vercmp(a, c) <= 0
    if vercmp(a, b) == 0 and vercmp(b, c) == 0:
        assert vercmp(a, c) == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(version_text, max_size=30))
def test_sorting_agrees_with_vercmp(versions: list[str]) -> None:
    ordered = sorted(versions, key=sort_key)
    for x, y in itertools.pairwise(ordered):
        assert vercmp(x, y) <= 0


# Well-formed table lines in the shapes the parser's fast paths take, and some they don't.
table_line = st.one_of(
    st.sampled_from(["", "# comment", "   # indented comment", "\t", "setupRequired(base) # why"]),
    st.builds(
        lambda cmd, sp, prod, tail: f"{sp}{cmd}({prod}){tail}",
        st.sampled_from(["setupRequired", "setupOptional", "SetupRequired", "SETUPOPTIONAL"]),
        st.sampled_from(["", "  ", "\t"]),
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True),
        st.sampled_from(["", ";", " ;", "  # comment", "\t"]),
    ),
    st.builds(
        lambda cmd, var, val, tail: f"{cmd}({var}, {val}){tail}",
        st.sampled_from(["envPrepend", "envAppend", "envSet", "pathPrepend", "setenv", "EnvSet"]),
        st.from_regex(r"[A-Z_][A-Z0-9_]{0,6}", fullmatch=True),
        st.sampled_from(
            ["${PRODUCT_DIR}/lib", "x", "$?{HOME}/.cargo", "${A-b}/c", "$HOME", "a b", "${X}${Y}"]
        ),
        st.sampled_from(["", ";", " # c"]),
    ),
    st.sampled_from(
        [
            "setupRequired(gsl >= 1.8 && < 1.15)",
            "setupOptional(doxygen 1.5.9 [>= 1.5.7.1])",
            "setupRequired(-j afw)",
            "setupRequired(pybind11 --external)",
            "envAppend(MANPATH, ${PRODUCT_DIR}/man, ;)",
            "envUnset(FOO_DIR)",
            'envSet(MSG, "a, b")',
            "addAlias(ll, ls -l)",
        ]
    ),
)


@settings(max_examples=300 * MULT, deadline=None)
@given(st.lists(table_line, max_size=20), st.booleans())
def test_fast_paths_agree_with_the_general_parser(lines: list[str], final_newline: bool) -> None:
    from scipipe_tools.eups.table import _parse_blocks

    text = "\n".join(lines) + ("\n" if final_newline else "")
    fast = parse_table(text, "t.table")
    slow = _parse_blocks(text, "t.table")
    assert fast.dependencies() == slow.dependencies()
    assert fast.commands() == slow.commands()
    if fast.simple_deps is not None:
        assert [(d.product, d.optional) for d in fast.dependencies()] == [
            (p, k[0] in "Oo") for k, p in fast.simple_deps
        ]
