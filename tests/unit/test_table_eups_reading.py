"""Tables as real EUPS 2.2.15 reads them (issue 14): its condition language, the lines
it skips, and the lenient reading resolve, build and setup use.  The expectations are
EUPS's (checked against the real client in tests/integration/test_eups_tables.py)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scipipe_tools.errors import InputError, Location
from scipipe_tools.eups.eupslines import eups_skipped_lines
from scipipe_tools.eups.table import TableContext, parse_condition, parse_table
from scipipe_tools.stack.setup import setup
from scipipe_tools.stack.stack import Stack

LINUX = TableContext("Linux64")
DARWIN = TableContext("DarwinX86")
EXACT = TableContext("Linux64", frozenset({"exact"}))
BUILD = TableContext("DarwinX86", frozenset({"build"}))


def holds(cond: str, ctx: TableContext, **environ: str) -> bool:
    c = parse_condition(cond, Location("t.table", 1, 4), strict=False)
    return c.evaluate(TableContext(ctx.flavor, ctx.types, environ=environ))


# (condition, context, environment, taken?): EUPS's documented forms and what they mean
FORMS = [
    # words besides symbols, lower case only
    ("flavor == Linux64 and type == exact", EXACT, {}, True),
    ("flavor == Linux64 and type == exact", LINUX, {}, False),
    ("flavor == Darwin or flavor == Linux64", LINUX, {}, True),
    ("not flavor == Linux64", LINUX, {}, False),
    ("not flavor == Linux64", DARWIN, {}, True),
    # FLAVOR and TYPE in any case (legacy tables write FLAVOR)
    ("FLAVOR == Linux64", LINUX, {}, True),
    ("TYPE == build", BUILD, {}, True),
    # type: membership, and only when some type is set; on the right it is a list
    ("type == exact", LINUX, {}, False),
    ("type != exact", LINUX, {}, True),
    ("type == exact", EXACT, {}, True),
    ("exact == type", EXACT, {}, False),
    # and/or group to the right, with one precedence: a && b || c is a && (b || c)
    ("flavor == Darwin && type == build || flavor == Linux64", LINUX, {}, False),
    ("flavor == Linux64 && type == build || type == exact", EXACT, {}, True),
    ("flavor == Linux || type == exact && type == build", EXACT, {}, False),
    # '!' and 'not' reach over the rest of the expression
    ("! flavor == Darwin && flavor == Darwin", LINUX, {}, True),
    ("type == exact && !flavor == DarwinX86", EXACT, {}, True),
    ("!(flavor == Linux64)", LINUX, {}, False),
    # ${VAR:-default}: the variable, else the default; an empty default or false is false
    ("${V:-x} == x", LINUX, {}, True),
    ("${V:-x} == x", LINUX, {"V": "y"}, False),
    ("${V:-false}", LINUX, {}, False),
    ("${V:-}", LINUX, {}, False),
    ("${V:-true}", LINUX, {}, True),
    ("${V}", LINUX, {"V": "1"}, True),
    ("${V}", LINUX, {"V": "0"}, False),
    ("${V}", LINUX, {"V": ""}, False),
    ("${W:-Linux64} == flavor", LINUX, {}, True),
    # numbers are numbers, other words text; True and False are booleans
    ("01 == 1", LINUX, {}, True),
    ("${N:-10} > 9", LINUX, {}, True),
    ("1.10 < 1.9", LINUX, {}, True),
    ("0", LINUX, {}, False),
    ("False", LINUX, {}, False),
    ("false", LINUX, {}, True),
    ("flavor", LINUX, {}, True),
    # =~ searches; quotes go
    ("flavor =~ inux", LINUX, {}, True),
    ("flavor !~ Darwin", LINUX, {}, True),
    ('flavor == "Linux64"', LINUX, {}, True),
    # a pattern ends where a character other than a letter, digit, '_', '.', '+' is
    ("flavor =~ Linux.*", TableContext("Linux"), {}, False),
]


@pytest.mark.parametrize(("cond", "ctx", "environ", "taken"), FORMS)
def test_documented_forms(
    cond: str, ctx: TableContext, environ: dict[str, str], taken: bool
) -> None:
    assert holds(cond, ctx, **environ) is taken


@pytest.mark.parametrize(
    ("cond", "flavor", "message"),
    [
        ("${V} == x", "Linux64", "${V} is not set"),
        ("(flavor == Linux64 || flavor == Linux)", "Linux64", "expects ')'"),
        ("flavor < 3", "Linux64", "cannot compare"),
    ],
)
def test_where_eups_fails_evaluating_so_do_we(cond: str, flavor: str, message: str) -> None:
    c = parse_condition(cond, Location("t.table", 7, 4), strict=False)
    with pytest.raises(InputError, match=re.escape(message)) as info:
        c.evaluate(TableContext(flavor, environ={}))
    assert str(info.value.location) == "t.table:7:4"
    assert "real EUPS fails here too" in info.value.message


def test_the_environment_of_conditions_is_the_process_one_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c = parse_condition("${SCIPIPE_T14:-no} == yes", Location("t"))
    monkeypatch.delenv("SCIPIPE_T14", raising=False)
    assert not c.evaluate(LINUX)
    monkeypatch.setenv("SCIPIPE_T14", "yes")
    assert c.evaluate(LINUX)


@pytest.mark.parametrize(
    ("cond", "message"),
    [
        ("flavor == Linux64 AND type == exact", "lower-case 'and'"),
        ("flavor = Linux64", "unexpected '='"),
        ("flavor == Linux64 &&!type == exact", "'&&!'"),
        ("flavor =~ ^Darwin", "takes '^' as the whole pattern"),
        ("flavor =~ Darwin|Linux", "matches 'Darwin' and stops reading at '|'"),
        ("flavor ==", "'==' needs a value"),
        ("(flavor == Linux64", "unbalanced parenthesis"),
        ("flavor == Linux64)", "unexpected ')'"),
        ("type == exact && (flavor == A || flavor == B)", "'||' inside parentheses"),
        ("", "empty condition"),
    ],
)
def test_what_eups_misreads_is_an_error_strictly_and_a_warning_leniently(
    cond: str, message: str
) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        parse_condition(cond, Location("t.table", 1, 4))
    warnings: list[str] = []
    parse_condition(cond, Location("t.table", 1, 4), strict=False, warnings=warnings)
    assert len(warnings) == 1 and "read as real EUPS reads it" in warnings[0]


def test_a_star_after_a_pattern_is_only_a_warning() -> None:
    text = "if (flavor =~ Linux.*) {\n  setupRequired(a)\n}\n"
    t = parse_table(text, "t.table")
    assert [str(w) for w in t.warnings] == [
        "t.table:1:4: condition 'flavor =~ Linux.*': real EUPS matches 'Linux.': '*' is not read"
    ]
    assert [d.product for d in t.dependencies(LINUX)] == ["a"]


# --- the lines EUPS skips ------------------------------------------------------------

LINES = """\
File = Table
Product = foo
Action = setup
Qualifiers = ""
setupRequired(base)
  SETUPOPTIONAL( afw ) ;  # a comment
oops, not a command
frobnicate(x)
sourceRequired(x)
setupRequired(base
;
if (flavor == Linux64) {
} else if (flavor =~ Darwin) {
} else {
}
IF (flavor == Linux64) {
}
} else { \n\
} else { # mac
if (flavor == Linux64)
{
else
envSet(MSG, "a # b")
Group:
  Flavor = Linux64
Common:
End:
Common:
\u017fetupRequired(a)
envRemove(PATH, x)
"""


def test_eups_skipped_lines() -> None:
    assert eups_skipped_lines(LINES) == {
        7: "Unrecognized line",
        8: "Unexpected line",
        9: "Ignoring unsupported directive",
        10: "Unrecognized line",
        11: "Unrecognized line",
        18: "Unrecognized line",  # a blank after the '{' of an else: EUPS's pattern fails
        19: "Unrecognized line",  # the same after the comment is cut
        20: "Unexpected line",  # 'if' read as a command
        21: "Unrecognized line",
        22: "Unrecognized line",
        23: "Unrecognized line",  # cut at '#'
        28: "Unrecognized line",  # Common: outside a Group:
        29: "Unexpected line",
        30: "Unexpected line",  # envRemove is no EUPS command
    }


def test_lenient_reading_skips_them_with_a_warning_naming_file_and_line() -> None:
    text = "setupRequired(base)\n  oops\nfrobnicate(x)\nsetupOptional(afw)\n"
    with pytest.raises(InputError) as info:
        parse_table(text, "ups/t.table")
    assert str(info.value) == "ups/t.table:2:3: expected a command call like oops(...)"
    assert info.value.hint is not None and "real EUPS skips this line" in info.value.hint
    t = parse_table(text, "ups/t.table", strict=False, log_warnings=False)
    assert [(d.product, d.optional) for d in t.dependencies()] == [("base", False), ("afw", True)]
    assert [str(w) for w in t.warnings] == [
        "ups/t.table:2:3: line skipped, as real EUPS skips it ('Unrecognized line'): oops",
        "ups/t.table:3:1: line skipped, as real EUPS skips it ('Unexpected line'): frobnicate(x)",
    ]


def test_lines_we_could_read_but_eups_skips_are_skipped_too() -> None:
    # EUPS reads the trailing blank as part of the line: '} else { ' is no block line, so
    # 'c' lands in the if block
    text = "if (flavor == Linux64) {\n  setupRequired(b)\n} else { \n  setupRequired(c)\n}\n"
    with pytest.raises(InputError, match=r"t.table:3:1: real EUPS skips this line"):
        parse_table(text, "t.table")
    t = parse_table(text, "t.table", strict=False, log_warnings=False)
    assert [d.product for d in t.dependencies(LINUX)] == ["b", "c"]
    assert t.dependencies(DARWIN) == []


def test_a_stray_brace_and_an_open_block_are_read_as_eups_does() -> None:
    text = "setupRequired(a)\n}\nif (flavor == Linux64) {\n  setupRequired(b)\n"
    with pytest.raises(InputError, match="without a matching"):
        parse_table(text, "t.table")
    t = parse_table(text, "t.table", strict=False, log_warnings=False)
    assert [d.product for d in t.dependencies(LINUX)] == ["a", "b"]
    assert [w.location.line for w in t.warnings] == [2, 4]


def test_lenient_reading_logs_its_warnings(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        parse_table("oops\n", "t.table", strict=False)
        parse_table("oops\n", "u.table", strict=False, log_warnings=False)
    assert [r.getMessage() for r in caplog.records] == [
        "t.table:1:1: line skipped, as real EUPS skips it ('Unrecognized line'): oops"
    ]


def test_what_eups_fails_on_fails_either_way() -> None:
    for text in ("File = Foo\n", "Action = build\n", "Flavor = Linux64\nsetupRequired(a)\n"):
        for strict in (True, False):
            with pytest.raises(InputError):
                parse_table(text, "t.table", strict=strict)


# --- setup reads leniently, with the session's environment -----------------------------


def test_setup_skips_what_eups_skips_and_sees_the_session_environment(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    stack = Stack.create(tmp_path / "stack", "Linux64")
    when = datetime(2024, 3, 1, tzinfo=UTC)
    tables = {
        "base": "envPrepend(PATH, ${PRODUCT_DIR}/bin)\n",
        "gpu": "",
        "tool": (
            "setupRequired(base)\n"
            "this is not a command\n"
            "if (${TOOL_GPU:-no} == yes) {\n"
            "    setupRequired(gpu)\n"
            "}\n"
        ),
    }
    for product, table in tables.items():
        d = stack.product_dir(product, "1")
        (d / "ups").mkdir(parents=True)
        (d / "ups" / f"{product}.table").write_text(table)
        stack.declare(product, "1", d, declarer="t", declared=when, tags=("current",))
    with caplog.at_level(logging.WARNING):
        r = setup(stack, "tool", environ={"PATH": "/bin"})
    assert [p for p, _ in r.products] == ["tool", "base"]
    table = stack.product_dir("tool", "1") / "ups" / "tool.table"
    assert f"{table}:2:1: line skipped, as real EUPS skips it" in caplog.text
    r = setup(stack, "tool", environ={"PATH": "/bin", "TOOL_GPU": "yes"})
    assert [p for p, _ in r.products] == ["tool", "base", "gpu"]
