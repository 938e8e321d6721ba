from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.errors import InputError
from scipipe_tools.eups.table import (
    Alias,
    Dependency,
    EnvAction,
    OtherCommand,
    TableContext,
    expand,
    parse_table,
)
from scipipe_tools.stack.readers import read_table

LINUX = TableContext(flavor="Linux64")
MAC = TableContext(flavor="DarwinX86")


def deps(text: str, ctx: TableContext = LINUX, *, strict: bool = True) -> list[str]:
    return [str(d) for d in parse_table(text, "t.table", strict=strict).dependencies(ctx)]


def test_required_optional_and_versions() -> None:
    t = parse_table(
        "setupRequired(base)\n"
        "setupRequired(doxygen 1.5.9)\n"
        "setupRequired(gsl >= 1.8 && < 1.15)\n"
        "setupOptional(doxygen2 1.5.9 [>= 1.5.7.1])\n"
        "setupRequired(eups [> 2.0.2])\n",
        "x.table",
    )
    ds = t.dependencies()
    assert [(d.product, d.optional) for d in ds] == [
        ("base", False),
        ("doxygen", False),
        ("gsl", False),
        ("doxygen2", True),
        ("eups", False),
    ]
    assert ds[1].version == "1.5.9" and ds[1].expr is None
    assert ds[2].version is None and ds[2].expr is not None
    assert ds[2].accepts("1.10") and not ds[2].accepts("1.15")
    assert ds[3].version == "1.5.9" and str(ds[3].expr) == ">= 1.5.7.1"
    assert ds[3].accepts("1.6") and not ds[3].accepts("1.5")
    assert [d.line for d in ds] == [1, 2, 3, 4, 5]


def test_flags() -> None:
    d = parse_table(
        "setupRequired(-j afw -t w_2024_10 --vro=exact -r /x/y)\nsetupOptional(pybind11 --external)\n"
    ).dependencies()
    assert d[0].product == "afw" and d[0].just and d[0].tag == "w_2024_10"
    assert d[0].vro == "exact" and d[0].root == "/x/y"
    assert d[1].external and d[1].optional
    d2 = parse_table("setupRequired(afw -k --tag current)").dependencies()[0]
    assert d2.keep and d2.tag == "current"


def test_case_insensitive_commands_aliases_semicolons_comments() -> None:
    t = parse_table(
        "# a comment\n"
        "SetupRequired(base);  # trailing comment\n"
        "SETUPOPTIONAL(afwdata)\n"
        "pathPrepend(PATH, ${PRODUCT_DIR}/bin)\n"
        "pathAppend(MANPATH, ${PRODUCT_DIR}/man, ;)\n"
        "setenv(FOO, bar)\n"
        "unsetenv(FOO_DIR)\n"
        "addAlias(ll, ls -l, --color)\n"
        "print(stdout, hello)\n"
        "declareOptions(flavor=Linux)\n"
        "unsetupRequired(old)\n"
    )
    cmds = t.commands()
    assert isinstance(cmds[0], Dependency) and cmds[0].product == "base"
    assert cmds[2] == EnvAction("envPrepend", "PATH", "${PRODUCT_DIR}/bin", 4)
    assert cmds[3] == EnvAction("envAppend", "MANPATH", "${PRODUCT_DIR}/man", 5, ";")
    assert cmds[4] == EnvAction("envSet", "FOO", "bar", 6)
    assert cmds[5] == EnvAction("envUnset", "FOO_DIR", None, 7)
    assert cmds[6] == Alias("ll", "ls -l,--color", 8)
    assert cmds[7] == OtherCommand("print", ("stdout", "hello"), 9)
    assert isinstance(cmds[9], OtherCommand) and cmds[9].command == "unsetupRequired"


def test_quoted_args_and_hash_inside_parens() -> None:
    t = parse_table('envSet(MSG, "a, b")\nsetupRequired("afw -j")\n')
    env = t.env_actions()
    assert env[0].value == "a, b"
    assert t.dependencies()[0].just


def test_a_hash_starts_a_comment_even_inside_quotes_as_in_eups() -> None:
    # EUPS cuts the line at '#' and then skips it (an unrecognized line)
    text = 'envSet(MSG, "a, b # not a comment")\nsetupRequired(afw)\n'
    with pytest.raises(InputError, match="real EUPS skips this line") as info:
        parse_table(text, "t.table")
    assert str(info.value.location) == "t.table:1:1"
    t = parse_table(text, "t.table", strict=False)
    assert t.env_actions() == [] and deps(text, strict=False) == ["afw"]
    assert [str(w.location) for w in t.warnings] == ["t.table:1:1"]


def test_if_else_on_flavor_and_type() -> None:
    text = """
setupRequired(base)
if (flavor == DarwinX86 || flavor == Darwin) {
    envPrepend(DYLD_LIBRARY_PATH, ${PRODUCT_DIR}/lib)
    setupOptional(macdep)
} else if (flavor =~ Linux.*) {
    envPrepend(LD_LIBRARY_PATH, ${PRODUCT_DIR}/lib)
    if (type == exact) {
        setupRequired(exactdep -j 1.0)
    } else {
        setupRequired(exactdep 1.0 [>= 1.0])
    }
} else {
    setupRequired(other)
}
"""
    assert deps(text, LINUX) == ["base", "exactdep 1.0 [>= 1.0]"]
    assert deps(text, TableContext("Linux64", frozenset({"exact"}))) == ["base", "exactdep 1.0"]
    assert deps(text, MAC) == ["base", "macdep"]
    assert deps(text, TableContext("SunOS")) == ["base", "other"]
    t = parse_table(text)
    assert not t.flat
    assert len(list(t.all_commands())) == 7


def test_conditions() -> None:
    text = "if ((flavor != Linux64) && !(type == build)) {\n setupRequired(a)\n}\n"
    assert deps(text, LINUX) == []
    assert deps(text, MAC) == ["a"]
    assert deps(text, TableContext("Darwin", frozenset({"build"}))) == []
    quoted = 'if (flavor == "Linux64") {\n setupRequired(b)\n} else {\n setupRequired(c)\n}\n'
    assert deps(quoted, LINUX) == ["b"] and deps(quoted, MAC) == ["c"]


def test_and_or_inside_parentheses_fail_as_in_eups() -> None:
    # EUPS stops at the first term that decides, then finds no ')': it fails
    text = "if (type == exact && (flavor == Linux64 || flavor == Linux)) {\n setupRequired(a)\n}\n"
    with pytest.raises(InputError, match="'\\|\\|' inside parentheses") as info:
        parse_table(text, "t.table")
    assert str(info.value.location) == "t.table:1:4"
    exact = frozenset({"exact"})
    # read leniently, it works where EUPS does, and fails where EUPS fails
    assert deps(text, TableContext("Linux", exact), strict=False) == ["a"]
    assert deps(text, TableContext("Linux64"), strict=False) == []
    with pytest.raises(InputError, match="real EUPS fails here too") as info:
        deps(text, TableContext("Linux64", exact), strict=False)
    assert str(info.value.location) == "t.table:1:4"


def test_one_line_blocks_and_braces_on_their_own_lines_are_lines_eups_skips() -> None:
    one_line = 'if (flavor == "Linux64") { setupRequired(b) } else { setupRequired(c) }'
    with pytest.raises(InputError, match="real EUPS skips this line"):
        parse_table(one_line, "t.table")
    assert deps(one_line, LINUX, strict=False) == []
    # EUPS skips 'if (...)', '{', 'else' and '{', and ignores the '}': both set up
    split = "if (flavor == Linux64)\n{\n  setupRequired(b)\n}\nelse\n{\n  setupRequired(c)\n}\n"
    with pytest.raises(InputError, match=r"real EUPS skips this line \('Unexpected line'\)"):
        parse_table(split, "t.table")
    t = parse_table(split, "t.table", strict=False)
    assert [str(d) for d in t.dependencies(MAC)] == ["b", "c"]
    assert [w.location.line for w in t.warnings] == [1, 2, 4, 5, 6, 8]


def test_legacy_group_blocks() -> None:
    text = """File = Table
Product = foo
Group:
   Flavor = DarwinX86
   Flavor = Darwin
   Qualifiers = ""
Common:
   setupRequired(macdep)
End:
Group:
   Flavor = ANY
Common:
   setupRequired(always)
End:
"""
    assert deps(text, LINUX) == ["always"]
    assert deps(text, MAC) == ["macdep", "always"]


def test_expand_variables() -> None:
    env = {"PRODUCT_DIR": "/s/afw", "HOME": "/home/u"}
    assert expand("${PRODUCT_DIR}/lib", env.get) == "/s/afw/lib"
    assert expand("${MISSING-fallback}/x", env.get) == "fallback/x"
    assert expand("${MISSING}/x", env.get) == "/x"
    assert expand("$?{HOME}/.cargo", env.get) == "/home/u/.cargo"
    assert expand("$?{NOPE}/.cargo", env.get) is None


@pytest.mark.parametrize(
    ("text", "where", "msg"),
    [
        (
            "setupRequired(base)\nsetupRequird(afw)\n",
            "t.table:2:1",
            "unknown command 'setupRequird'",
        ),
        ("setupRequired(base\n", "t.table:1:14", "unbalanced parenthesis"),
        ("setupRequired(base))\n", "t.table:1:20", "unbalanced parenthesis"),
        ("  setupRequired(foo = 1.0)\n", "t.table:1:17", "invalid operator '='"),
        ("setupRequired()\n", "t.table:1:15", "missing product name"),
        ("setupRequired(-z foo)\n", "t.table:1:15", "unknown flag '-z'"),
        ("setupRequired(foo 1.0 >= 2)\n", "t.table:1:15", "expected '[expression]'"),
        ("setupRequired(foo [>= 2)\n", "t.table:1:15", "closing ']'"),
        ("envPrepend(PATH)\n", "t.table:1:1", "envPrepend takes"),
        ("envSet(1X, y)\n", "t.table:1:1", "invalid variable name"),
        ("envSet(X, ${FOO)\n", "t.table:1:1", "unterminated '${'"),
        ("if (flavor == Linux) {\nsetupRequired(a)\n", "t.table:2", "missing '}' at end of file"),
        ("}\n", "t.table:1:1", "'}' without a matching '{'"),
        ("else {\n}\n", "t.table:1:1", "'else' without a preceding 'if'"),
        ("if flavor {\n}\n", "t.table:1:4", "expected a '(condition)'"),
        ("if flavor == Linux {\n}\n", "t.table:1:11", "unexpected character '='"),
        ("if (flavor ==) {\n}\n", "t.table:1:4", "needs a value"),
        ('if (flavor =~ "[") {\n}\n', "t.table:1:4", "bad regular expression"),
        ("setupRequired base\n", "t.table:1:1", "expected a command call"),
        ("Group:\nCommon:\nsetupRequired(a)\n", "t.table:1:1", "without 'End:'"),
        ("Flavor = Linux\n", "t.table:1:1", "outside a Group"),
        ("envSet(X, 'abc)\n", "t.table:1:7", "unterminated quote"),
    ],
)
def test_errors_name_file_line_column(text: str, where: str, msg: str) -> None:
    with pytest.raises(InputError) as info:
        parse_table(text, "t.table")
    assert str(info.value.location) == where
    assert msg in info.value.message
    assert "\n" not in str(info.value)


def test_did_you_mean_hint() -> None:
    with pytest.raises(InputError) as info:
        parse_table("envPrepnd(PATH, x)\n", "t.table")
    assert info.value.hint == "did you mean 'envPrepend'?"


def test_read_table_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read table file"):
        read_table(tmp_path / "nope.table")


def test_parse_tiers_give_the_same_table() -> None:
    strict = (
        "# c\nsetupRequired(base)\nsetupOptional(afwdata)\nenvPrepend(PATH, ${PRODUCT_DIR}/bin)\n"
    )
    loose = "  SetupRequired( base ) ;\nsetupOptional(afwdata)  # data\n\tenvprepend(PATH, ${PRODUCT_DIR}/bin)\n"
    general = (
        "setupRequired(base)\nsetupOptional(afwdata [>= 1])\nenvPrepend(PATH, ${PRODUCT_DIR}/bin)\n"
    )
    t1, t2, t3 = (parse_table(t, "t.table") for t in (strict, loose, general))
    assert t1.simple_deps == [("Required", "base"), ("Optional", "afwdata")]
    assert t2.simple_deps == [("Required", "base"), ("Optional", "afwdata")]
    assert t3.simple_deps is None
    assert [(d.product, d.optional, d.line) for d in t1.dependencies()] == [
        ("base", False, 2),
        ("afwdata", True, 3),
    ]
    assert [(d.product, d.line) for d in t2.dependencies()] == [("base", 1), ("afwdata", 2)]
    assert t1.env_actions() == [EnvAction("envPrepend", "PATH", "${PRODUCT_DIR}/bin", 4)]
    assert t2.env_actions() == [EnvAction("envPrepend", "PATH", "${PRODUCT_DIR}/bin", 3)]
    # the objects handed out before and after the lazy parse are the same ones
    assert t1.commands()[0] is t1.dependencies()[0]
