"""Table files under attack (issue 13): linear time, bounded nesting, one language.

The timing tests run the real CLI in a subprocess with a generous timeout: a linear parser
takes well under a second on each input, an exponential or quadratic one never finishes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scipipe_tools.errors import InputError, Location
from scipipe_tools.eups.table import (
    MAX_DEPTH,
    Dependency,
    Table,
    TableContext,
    parse_condition,
    parse_table,
)

ENV = "envPrepend(PATH, ${PRODUCT_DIR}/bin)"
MB = 1 << 20


def _lines(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def _megabyte(line_block: list[str]) -> str:
    block = _lines(*line_block)
    return block * (MB // len(block) + 1)


# name -> (table text, expected lint exit code, expected text in stderr or show-table output)
PATHOLOGICAL: dict[str, tuple[str, int, str]] = {
    # issue 13: a 25-line table ending in a bad line took over 20 s (here 40 lines)
    "bad last line": (_lines(*[ENV] * 40, "setupRequired(base"), 2, "t.table:41:14"),
    "bad last line after dollars": (_lines(*["envSet(X, $a$b$c$d$e)"] * 40, "}"), 2, ":41:1"),
    "stray brace after comment lines": (_lines(*["  # x"] * 40, ENV, "}"), 2, ":42:1"),
    # a VALID table with an if block: every fast path fails, then the general parser
    "valid table with an if block": (
        _lines(
            "setupRequired(base)",
            *[ENV] * 40,
            "if (flavor == Linux64) {",
            "   setupRequired(linuxonly)",
            "}",
        ),
        0,
        "linuxonly",
    ),
    # quadratic in the length of a run of blanks
    "blanks then a bad character": (_lines("setupRequired(a)" + " " * 200_000 + "x"), 2, ":1:"),
    "blanks inside a legacy header": (
        _lines("File = Table" + " " * 200_000 + "b", "setupRequired(c)"),
        0,
        "required  c",
    ),
    "blanks after a legacy mark": (_lines("Group:" + " " * 200_000 + "x"), 2, ":1:"),
    # big tables: the fast path, the general parser, and an error at the very end
    "1 MB simple table": (_megabyte(["# c", "setupRequired(base)", ENV]), 0, "required  base"),
    "1 MB table with if blocks": (
        _megabyte(["setupRequired(base)", "if (flavor == Linux64) {", ENV, "}"]),
        0,
        "required  base",
    ),
    "1 MB table, bad last line": (
        _megabyte(["setupOptional(base)", ENV]) + "oops\n",
        2,
        "expected a command call",
    ),
    "1 MB condition": (
        _lines("if (" + " || ".join(["flavor == X"] * 80_000) + ") {", "setupRequired(a)", "}"),
        0,
        "",
    ),
}


# issue 14: the lines real EUPS skips and its condition language, read both ways.
# name -> (table text, lint exit code strictly, text in show-table --no-strict's output)
EUPS_PATHOLOGICAL: dict[str, tuple[str, int, str]] = {
    "1 MB of lines EUPS skips": (_megabyte(["oops, no command", "setupRequired(base)"]), 2,
                                 "required  base"),
    "a '${' without '}', 200,000 times": (
        _lines("if (" + "${" * 200_000 + ") {", "setupRequired(a)", "}", "setupRequired(b)"),
        2,
        "required  a",
    ),
    "a '}' and 100,000 'else'": (_lines("}" + " else" * 100_000 + " {", "setupRequired(b)"),
                                 2, "required  b"),
    "a call and 200,000 ')'": (_lines("a(" + ")" * 200_000 + " x", "setupRequired(b)"), 2,
                               "required  b"),
    "a pattern glued 100,000 times": (
        _lines("if (flavor =~ " + "a|" * 100_000 + ") {", "setupRequired(a)", "}"), 2, ""),
    "100,000 stray '}'": (_lines(*["}"] * 100_000, "setupRequired(b)"), 2, "required  b"),
    "a 1 MB condition of 'not' and 'and'": (
        _lines("if (not " + " and ".join(["flavor == X"] * 80_000) + ") {", "setupRequired(a)",
               "}"),
        0,
        "required  a",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(EUPS_PATHOLOGICAL))
def test_eups_readings_take_linear_time(name: str, tmp_path: Path) -> None:
    text, code, expected = EUPS_PATHOLOGICAL[name]
    path = tmp_path / "t.table"
    path.write_text(text)
    assert _scipipe("eups", "lint-table", str(path), timeout=60).returncode == code
    lenient = ("eups", "show-table", "--no-strict", "--flavor", "Linux64", str(path))
    show = _scipipe(*lenient, timeout=60)
    assert show.returncode == 0, show.stderr[-500:]
    assert expected in show.stdout


def _scipipe(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scipipe_tools", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize("name", list(PATHOLOGICAL))
def test_pathological_tables_parse_in_linear_time(name: str, tmp_path: Path) -> None:
    text, code, expected = PATHOLOGICAL[name]
    path = tmp_path / "t.table"
    path.write_text(text)
    lint = _scipipe("eups", "lint-table", str(path), timeout=60)
    assert lint.returncode == code, lint.stderr
    show = _scipipe("eups", "show-table", "--flavor", "Linux64", str(path), timeout=60)
    assert show.returncode == code, show.stderr
    if code:
        assert expected in lint.stderr
        assert len(show.stderr.splitlines()) <= 2  # error: ... and hint: ..., no traceback
        assert "Traceback" not in show.stderr
    else:
        assert expected in show.stdout


# --- nesting -----------------------------------------------------------------------


def _nested_ifs(depth: int) -> str:
    opens = [f"{' ' * min(i, MAX_DEPTH)}if (flavor == Linux64) {{" for i in range(depth)]
    return _lines(*opens, "setupRequired(deep)", *["}"] * depth)


def test_nesting_up_to_the_limit_parses_and_evaluates() -> None:
    t = parse_table(_nested_ifs(MAX_DEPTH), "t.table")
    assert [d.product for d in t.dependencies(TableContext("Linux64"))] == ["deep"]
    assert t.dependencies(TableContext("Darwin")) == []
    assert [c.product for c in t.all_commands() if isinstance(c, Dependency)] == ["deep"]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1000, 20_000])
def test_deeper_if_blocks_are_an_input_error_naming_the_line(depth: int) -> None:
    with pytest.raises(InputError) as info:
        parse_table(_nested_ifs(depth), "t.table")
    assert str(info.value.location) == f"t.table:{MAX_DEPTH + 1}:{MAX_DEPTH + 1}"
    assert info.value.message == f"blocks nested more than {MAX_DEPTH} deep"


def test_if_blocks_inside_a_legacy_group_count_too() -> None:
    text = _lines("Group:", "Flavor = Linux64", "Common:", _nested_ifs(MAX_DEPTH), "End:")
    with pytest.raises(InputError, match=f"nested more than {MAX_DEPTH} deep"):
        parse_table(text, "t.table")


@pytest.mark.parametrize(
    "cond",
    [
        "(" * 1000 + "flavor == Linux64" + ")" * 1000,
        "! " * 1000 + "flavor",  # ('!!!' is one word to EUPS)
        "not " * 1000 + "flavor",
        "! (" * 600 + "flavor" + ")" * 600,
    ],
)
def test_deep_conditions_are_an_input_error(cond: str) -> None:
    with pytest.raises(InputError) as info:
        parse_table(_lines(f"if ({cond}) {{", "}"), "t.table")
    assert str(info.value.location) == "t.table:1:4"
    assert f"nested more than {MAX_DEPTH} deep" in info.value.message
    assert len(info.value.message) < 200  # the condition is shortened, not repeated whole


def test_conditions_nested_up_to_the_limit_evaluate() -> None:
    cond = parse_condition("(" * (MAX_DEPTH - 1) + "flavor == Linux64" + ")" * (MAX_DEPTH - 1),
                           Location("t"))  # fmt: skip
    assert cond.evaluate(TableContext("Linux64"))
    cond = parse_condition("! " * (MAX_DEPTH - 1) + "flavor == Linux64", Location("t"))
    assert cond.evaluate(TableContext("Linux64")) is ((MAX_DEPTH - 1) % 2 == 0)


def test_long_chains_evaluate_without_recursion() -> None:
    terms = [f"flavor == F{i}" for i in range(20_000)]
    text = _lines("if (" + " || ".join(terms) + ") {", "setupRequired(a)", "}")
    t = parse_table(text, "t.table")
    assert [d.product for d in t.dependencies(TableContext("F19999"))] == ["a"]
    assert t.dependencies(TableContext("Linux64")) == []
    text = _lines("if (" + " && ".join(["flavor == A"] * 20_000) + ") {", "setupRequired(a)", "}")
    assert len(parse_table(text, "t.table").dependencies(TableContext("A"))) == 1


def test_many_legacy_flavors_evaluate() -> None:
    flavors = [f"Flavor = F{i}" for i in range(20_000)]
    t = parse_table(_lines("Group:", *flavors, "Common:", "setupRequired(a)", "End:"), "t.table")
    assert [d.product for d in t.dependencies(TableContext("F19999"))] == ["a"]
    assert t.dependencies(TableContext("Linux64")) == []


def test_a_regex_too_deep_for_python_is_an_input_error() -> None:
    pattern = "(" * 1000 + "x" + ")" * 1000
    # written in the table, EUPS reads the parentheses as parentheses: too deep
    with pytest.raises(InputError, match="nested more than") as info:
        parse_table(_lines(f'if (flavor =~ "{pattern}") {{', "}"), "t.table")
    assert str(info.value.location) == "t.table:1:4"
    # from the environment, it is a pattern: EUPS fails on it, so do we, with our error
    t = parse_table(_lines("if (flavor =~ ${P}) {", "setupRequired(a)", "}"), "t.table")
    with pytest.raises(InputError, match="bad regular expression") as info:
        t.dependencies(TableContext("Linux64", environ={"P": pattern}))
    assert str(info.value.location) == "t.table:1:4"


# --- one language ------------------------------------------------------------------


def _evaluated(t: Table, ctx: TableContext) -> object:
    try:
        return (t.commands(ctx), t.dependencies(ctx))
    except InputError as exc:  # where real EUPS fails evaluating a condition
        return ("error", str(exc))


def _result(text: str, *, fast: bool, strict: bool = True) -> object:
    """What a parser makes of ``text``: the whole Table, or the error it reports."""
    try:
        t = parse_table(text, "t.table", fast=fast, strict=strict, log_warnings=False)
    except InputError as exc:
        return ("error", str(exc), exc.hint)
    ctx = TableContext("Linux64", frozenset({"exact"}), environ={"V": "x"})
    return (t.flat, t.statements, t.warnings, _evaluated(t, TableContext()), _evaluated(t, ctx))


def assert_one_language(text: str) -> None:
    fast = _result(text, fast=True)
    full = _result(text, fast=False)
    assert fast == full
    lenient = _result(text, fast=True, strict=False)
    assert lenient == _result(text, fast=False, strict=False)
    if fast[0] != "error":
        # what reads strictly reads the same leniently
        assert lenient == fast
        t = parse_table(text, "t.table")
        if t.simple_deps is not None:  # the pairs the resolver reads agree with the parse
            assert not t.warnings
            assert [(p, k[0] in "Oo") for k, p in t.simple_deps] == [
                (d.product, d.optional) for d in t.dependencies()
            ]


@pytest.mark.parametrize(
    "text",
    [
        ";",
        ";\n",
        "  ;  # c\n",
        "setupRequired(a);\n;\n",
        "\u017fetupRequired(a)\n",  # long s: case-folds to 's' in a Unicode regex
        "setupOptional(\u212aa)\n",  # Kelvin sign
        "envSet(X, a)\n\u017fetenv(Y, b)\n",
        "setupRequired(a\u0660)\n",  # an Arabic-Indic digit
        "setupRequired(\u00b2)\n",
        "envSet(X, ${A-b})\n",
        "envSet(X, $?{A})\n",
        "envSet(X, $?)\n",
        "envSet(X,)\n",
        "envSet(X, a\rb)\n",
        "setupRequired(a)\r\nsetupRequired(b)\r\n",
        "setupRequired(a)\x0b\n",
        "setupRequired(a\u3000)\n",
        "# only a comment",
        "",
        "\n\n\n",
    ],
)
def test_fast_paths_and_the_general_parser_agree(text: str) -> None:
    assert_one_language(text)


def test_a_table_of_just_a_semicolon_is_a_line_eups_skips() -> None:
    with pytest.raises(InputError, match="real EUPS skips this line") as info:
        parse_table(";\n", "t.table")
    assert str(info.value.location) == "t.table:1:1"
    t = parse_table(";\n", "t.table", strict=False)
    assert t.commands(TableContext()) == []
    assert t.dependencies() == []
    assert [str(w.location) for w in t.warnings] == ["t.table:1:1"]


# Lines of every shape the fast paths and the general parser take, then mutated.
_LINES = [
    "",
    "# comment",
    "   # indented comment",
    "\t",
    ";",
    "setupRequired(base)",
    "setupOptional(afw)",
    "  SetupRequired( base ) ;",
    "SETUPOPTIONAL(x_1)  # why",
    "setupRequired(gsl >= 1.8 && < 1.15)",
    "setupOptional(doxygen 1.5.9 [>= 1.5.7.1])",
    "setupRequired(-j afw)",
    "setupRequired(pybind11 --external)",
    "envPrepend(PATH, ${PRODUCT_DIR}/bin)",
    "envAppend(MANPATH, ${PRODUCT_DIR}/man, ;)",
    "envSet(X, $?{HOME}/.cargo)",
    "envSet(X,${A-b}/c)",
    "pathAppend(P, $HOME)",
    "setenv(Y, a b)",
    "envUnset(FOO_DIR)",
    'envSet(MSG, "a, b")',
    "addAlias(ll, ls -l)",
    "if (flavor == Linux64) {",
    "if (type == exact) {",
    "} else if (flavor =~ Darwin.*) {",
    "} else {",
    "}",
    "Group:",
    "Flavor = Linux64",
    "Common:",
    "End:",
    "File = Table",
    # issue 14: EUPS's whole condition language, and lines EUPS skips or takes
    "if (not flavor == Linux64 and type == exact or ${V:-x} == x) {",
    "if (${V} == x && !type == build) {",
    "} else if (FLAVOR == DarwinX86 || TYPE == build) {",
    "IF (flavor == Darwin || (type == exact)) {",
    "} else { ",
    "} ELSE {",
    "if (flavor =~ Lin|ux) {",
    "if ((flavor == Linux64 || type == exact)) {",
    "frobnicate(x)",
    "sourceRequired(x)",
    "oops no command",
    'Qualifiers = "x"',
    "Action = setup",
    "envRemove(PATH, x)",
]
_NOISE = "()[]{}#;,$?\"' \t\n=<>!&|-_.:xX0\u017f\u212a\u00b2\u0660\r*^~"


@st.composite
def near_valid_tables(draw: st.DrawFn) -> str:
    text = "\n".join(draw(st.lists(st.sampled_from(_LINES), max_size=12)))
    text += draw(st.sampled_from(["", "\n"]))
    for _ in range(draw(st.integers(0, 3))):
        pos = draw(st.integers(0, len(text)))
        if text and draw(st.booleans()):
            text = text[:pos] + text[pos + 1 :]  # delete a character
        else:
            text = text[:pos] + draw(st.sampled_from(_NOISE)) + text[pos:]
    return text


@settings(max_examples=600, deadline=2000)
@given(near_valid_tables())
def test_every_table_parses_the_same_on_every_path(text: str) -> None:
    assert_one_language(text)


def test_show_table_json_of_a_semicolon_table(tmp_path: Path) -> None:
    path = tmp_path / "t.table"
    path.write_text(";\n")
    args = ("eups", "show-table", "--json", "--flavor", "Linux64", str(path))
    r = _scipipe(*args, "--no-strict", timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["dependencies"] == []
    assert (
        r.stderr == f"warning: {path}:1:1: line skipped, as real EUPS skips it "
        "('Unrecognized line'): ;\n"
    )
    assert _scipipe(*args, timeout=60).returncode == 2
