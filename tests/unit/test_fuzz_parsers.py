"""Fuzzing the table and version parsers (issue 13, hypothesis).

Arbitrary text in: either a result or the project's own error (a ScipipeError with a
one-line message) out, never another exception, and every example within a generous
deadline that only an exponential or quadratic blow-up would miss.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from scipipe_tools.cli.app import cli, run
from scipipe_tools.errors import InputError, Location, ScipipeError
from scipipe_tools.eups.remap import parse_remap
from scipipe_tools.eups.table import TableContext, expand, parse_condition, parse_table
from scipipe_tools.eups.versions import check_version, parse_expr, sort_key, vercmp

MULT = int(os.environ.get("SCIPIPE_HYPOTHESIS_MULT", "1"))
DEADLINE = 2000  # ms per example: generous, for shared machines

# Digits that str.isdigit() or \d accept besides 0-9, and characters that Unicode
# case-folding maps onto ASCII letters (long s, Kelvin sign, dotless i, dotted I).
UNICODE_TRAPS = "\u00b2\u00b3\u00b9\u0660\u0663\u06f3\u0969\uff13\U0001d7d1\u017f\u212a\u0131\u0130"

TABLE_FRAGMENTS = [
    "setupRequired(", "setupOptional(", "SetupRequired(", "envPrepend(", "envSet(", "setenv(",
    "pathAppend(", "envUnset(", "addAlias(", "print(", "if (", "} else {", "} else if (", "}",
    "{", ")", "(", "flavor == Linux64", "type == exact", "flavor =~ Lin.*", " && ", " || ",
    " and ", " or ", "not ", "${V:-x}", "${V}", ":-", "FLAVOR", "} ELSE {", "IF (",
    "!", "[", "]", ">= 1.2", "=", "==", "< ", "-j ", "-t ", "--vro", "--external", "${",
    "$?{", "$", "PRODUCT_DIR}", "#", ";", "\n", "\r\n", " ", "  ", "\t", ",", '"', "'",
    "Group:", "Common:", "End:", "Flavor = ", "File = ", "afw", "base", "1.0", "X",
]  # fmt: skip
EXPR_FRAGMENTS = [
    "(", ")", ">=", "<=", "==", "<", ">", "=", "=>", "!=", " ", "&&", "||", " and ", " or ",
    "1", "1.2", "2.0-rc1", "1.2+3", "1.2m1", "g1234abc", "v26_0_0", "9" * 30,
]  # fmt: skip


def _mix(fragments: list[str], max_size: int) -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=max_size),
        st.text(alphabet=st.sampled_from("".join(fragments) + UNICODE_TRAPS), max_size=max_size),
        st.lists(st.sampled_from([*fragments, *UNICODE_TRAPS]), max_size=60).map("".join),
    )


tables = _mix(TABLE_FRAGMENTS, 400)
conditions = _mix(TABLE_FRAGMENTS, 200)
expressions = _mix(EXPR_FRAGMENTS, 200)
versions = st.one_of(
    st.text(max_size=30),
    st.text(alphabet="0123456789.-+_mprcg" + UNICODE_TRAPS, max_size=30),
)
CONTEXTS = [
    TableContext("Linux64"),
    TableContext("DarwinX86", frozenset({"exact"})),
    TableContext("Linux64", frozenset({"build"}), {"x": "1"}, environ={"V": "1"}),
]


def _our_error(exc: ScipipeError) -> None:
    assert exc.message
    assert "\n" not in str(exc)


@settings(max_examples=500 * MULT, deadline=DEADLINE)
@given(tables)
def test_tables_parse_evaluate_or_raise_our_error(text: str) -> None:
    for fast in (True, False):
        try:
            t = parse_table(text, "t.table", fast=fast)
        except ScipipeError as exc:
            _our_error(exc)
            continue
        assert t.statements is not None
        list(t.all_commands())
        for ctx in CONTEXTS:
            try:  # a condition fails where real EUPS fails evaluating it
                t.commands(ctx)
                t.dependencies(ctx)
                t.env_actions(ctx)
            except ScipipeError as exc:
                _our_error(exc)
        try:
            t.dependencies()
        except ScipipeError as exc:
            _our_error(exc)
        repr(t)


@settings(max_examples=500 * MULT, deadline=DEADLINE)
@given(conditions)
def test_conditions_parse_evaluate_or_raise_our_error(text: str) -> None:
    try:
        cond = parse_condition(text, Location("t.table", 1, 4))
    except ScipipeError as exc:
        _our_error(exc)
        return
    for ctx in CONTEXTS:
        try:
            assert cond.evaluate(ctx) in (True, False)
        except ScipipeError as exc:  # where real EUPS fails evaluating it
            _our_error(exc)
    repr(cond)


@settings(max_examples=500 * MULT, deadline=DEADLINE)
@given(st.one_of(tables, st.text(alphabet="${}?-:AB /", max_size=100)))
def test_expand_never_raises(text: str) -> None:
    env = {"A": "/a", "B": ""}
    out = expand(text, env.get)
    assert out is None or isinstance(out, str)


@settings(max_examples=500 * MULT, deadline=DEADLINE)
@given(versions, versions)
def test_vercmp_takes_any_text(a: str, b: str) -> None:
    c = vercmp(a, b)
    assert c in (-1, 0, 1)
    assert vercmp(b, a) == -c
    assert (sort_key(a) < sort_key(b)) == (c < 0 or (c == 0 and a < b))


@settings(max_examples=500 * MULT, deadline=DEADLINE)
@given(expressions, versions)
def test_version_expressions_parse_match_or_raise_our_error(text: str, version: str) -> None:
    try:
        check_version(version)
    except InputError as exc:
        _our_error(exc)
    try:
        expr = parse_expr(text, Location("argument EXPRESSION"))
    except ScipipeError as exc:
        _our_error(exc)
        return
    assert expr.matches(version) in (True, False)
    assert parse_expr(str(expr)).matches(version) == expr.matches(version)


@settings(max_examples=100 * MULT, deadline=None)  # a whole CLI run per example
@given(tables)
def test_lint_and_show_table_exit_0_or_2(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.table"
        path.write_text(text, encoding="utf-8", newline="")
        lint = run(cli, ["eups", "lint-table", str(path)], "scipipe")
        show = run(cli, ["eups", "show-table", "--flavor", "Linux64", str(path)], "scipipe")
    assert lint in (0, 2)
    # show-table also evaluates: a condition may fail there, as in real EUPS
    assert show == lint or (lint, show) == (0, 2)


REMAP_FRAGMENTS = [
    "afw", "base:1.0", ":", "::", "1.0", "None", "none", "any", "Any", "noreinstall",
    "dummy:1.0", "Linux64", "DarwinX86", "[create]", "[install]", "[", "]", "#", "verbose = 1",
    " ", "\t", "\n", "\r\n", "x" * 40,
]  # fmt: skip
remaps = st.lists(st.sampled_from(REMAP_FRAGMENTS) | st.text(max_size=5), max_size=60).map("".join)


@settings(max_examples=500 * MULT, deadline=DEADLINE)
@given(remaps, st.sampled_from(["install", "create"]))
def test_remap_parses_applies_or_raises_our_error(text: str, mode: str) -> None:
    try:
        r = parse_remap(text, "manifest.remap", mode)
    except ScipipeError as exc:
        _our_error(exc)
        assert str(exc).startswith("manifest.remap:")
        return
    for product in ("afw", "base", "x" * 40):
        out = r.apply(product, "1.0", "Linux64")
        assert out is None or all(out)
        r.no_reinstall(product, "1.0", "DarwinX86")


def test_remap_is_linear() -> None:
    text = "a:1 b:2 Linux64\n" * 200_000 + "[create]" * 50_000 + "#" + ":" * 200_000
    r = parse_remap(text, "m")
    assert r.apply("a", "1", "Linux64") == ("b", "2")
