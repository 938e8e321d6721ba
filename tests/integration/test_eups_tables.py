"""Tables as real EUPS reads them (issue 14, part 4), with real EUPS 2.2.15 as the judge.

For each table, our lenient reading (the one resolve, build and setup use) must skip the
lines real EUPS skips, and for every flavor, setup type and environment set up the same
products in the same order, or fail where EUPS fails.  Tables come from the documented
forms, from every error case of our parser, and from hypothesis.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scipipe_tools.errors import InputError
from scipipe_tools.eups.eupslines import eups_skipped_lines
from scipipe_tools.eups.table import Dependency, EnvAction, TableContext, expand, parse_table

from ..eupsjudge import Context, Reading, TableJudge
from ..realtools import RealEups

CONTEXTS = [
    Context(flavor, types, env)
    for flavor, types, env in itertools.product(
        ("Linux64", "DarwinX86", "Linux"),
        ((), ("exact",), ("build",), ("build", "exact")),
        ({}, {"V": "x", "N": "3"}, {"V": "", "W": "DarwinX86", "N": "10"}, {"V": "false"}),
    )
]


@pytest.fixture(scope="module")
def judge(real_eups: RealEups) -> Iterator[TableJudge]:
    j = TableJudge(real_eups.python_path)
    yield j
    j.close()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("eups-tables")


def ours(text: str, path: Path, contexts: list[Context]) -> Reading:
    """Our lenient reading in the judge's terms (or, when it fails, every context fails)."""
    try:
        table = parse_table(text, path, strict=False, log_warnings=False)
    except InputError as exc:
        return Reading((), tuple(f"InputError: {exc}" for _ in contexts), "")
    skipped = tuple(
        w.location.line or 0 for w in table.warnings if w.message.startswith("line skipped")
    )
    outcomes: list[tuple[tuple[str, tuple[str, ...], bool | None], ...] | str] = []
    for c in contexts:
        ctx = TableContext(c.flavor, frozenset(c.types), environ=dict(c.env or {}))
        try:
            cmds = table.commands(ctx)
        except InputError as exc:
            outcomes.append(f"InputError: {exc}")
            continue
        actions: list[tuple[str, tuple[str, ...], bool | None]] = []
        for cmd in cmds:
            if isinstance(cmd, Dependency):
                actions.append(("setupRequired", (cmd.product,), cmd.optional))
            elif isinstance(cmd, EnvAction) and cmd.command == "envSet":
                actions.append(("envSet", (cmd.var, cmd.value or ""), None))
            else:
                raise AssertionError(f"not generated here: {cmd}")
        outcomes.append(tuple(actions))
    return Reading(tuple(sorted(skipped)), tuple(outcomes), "")


def same(judge: TableJudge, path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    real = judge.read(path, CONTEXTS)
    mine = ours(text, path, CONTEXTS)
    assert mine.skipped == real.skipped, (text, real.warnings)
    for ctx, a, b in zip(CONTEXTS, mine.outcomes, real.outcomes, strict=True):
        if isinstance(a, str) or isinstance(b, str):  # both fail, or neither
            assert isinstance(a, str) and isinstance(b, str), (text, ctx, a, b)
        else:
            assert a == b, (text, ctx)


def _if(cond: str, *body: str) -> str:
    return "\n".join([f"if ({cond}) {{", *body, "}"]) + "\n"


# --- the documented forms ------------------------------------------------------------

# EUPS's manual (doc/eups.tex), its VersionParser grammar (expr: term, expr || term,
# expr && term, 'or'/'and' accepted; term: prim OP prim; prim: int, string, name,
# '(' expr ')'), its release notes ('!' or 'not', ${var:-val}), and what expandtable and
# legacy UPS tables write.
DOCUMENTED = [
    "FLAVOR == DarwinX86",
    "FLAVOR == Linux || FLAVOR == Linux64",
    "flavor == Linux64",
    "flavor != Linux64",
    'flavor == "Linux64"',
    "type == exact",
    "type != exact",
    "TYPE == build",
    "exact == type",
    "flavor == Linux64 && type == exact",
    "flavor == Linux64 and type == exact",
    "flavor == Darwin or flavor == Linux",
    "flavor == Darwin || flavor == DarwinX86 || flavor == Linux64",
    "flavor == Linux64 && type == build || type == exact",
    "flavor == Darwin && type == build || flavor == Linux",
    "flavor == Linux || type == exact && type == build",
    "!flavor == Linux64",
    "! flavor == Linux64",
    "not flavor == Linux64",
    "not flavor == Linux64 && type == exact",
    "type == exact && !flavor == DarwinX86",
    "(flavor == Linux64)",
    "(flavor == Linux64) && (type == exact)",
    "!(flavor == Linux64)",
    "(flavor == Linux64 || flavor == Linux)",
    "(flavor != Linux64 && type == exact)",
    "((flavor != Linux64) && !(type == build))",
    "flavor =~ Linux",
    "flavor =~ Linux.*",
    "flavor =~ inux",
    "flavor !~ Darwin",
    "${V:-x} == x",
    "${V:-false}",
    "${V:-}",
    "${V:-true}",
    "${V}",
    "${V} == x",
    "${W:-Linux64} == flavor",
    "${N:-10} > 5",
    "${N:-10} < 5",
    "${N:-3} >= 3 && flavor == Linux64",
    "10 > 9",
    "1.10 < 1.9",
    "01 == 1",
    "True",
    "False",
    "0",
    "1",
    "flavor",
    "",
]


@pytest.mark.parametrize("cond", DOCUMENTED)
def test_documented_conditions_evaluate_as_real_eups(
    cond: str, judge: TableJudge, workdir: Path
) -> None:
    text = "setupRequired(base)\n" + _if(cond, "setupRequired(yes)") + "setupOptional(after)\n"
    same(judge, workdir / "doc.table", text)
    chain = (
        f"if ({cond}) {{\n  setupRequired(one)\n}} else if (flavor == Linux) {{\n"
        "  setupRequired(two)\n} else {\n  setupOptional(three)\n}\n"
    )
    same(judge, workdir / "chain.table", chain)


LEGACY = [
    "File = Table\nProduct = foo\nGroup:\n  Flavor = DarwinX86\n  Flavor = Linux64\n"
    '  Qualifiers = ""\nCommon:\n  setupRequired(a)\nEnd:\nsetupRequired(b)\n',
    "Group:\n  Flavor = ANY\nCommon:\n  setupRequired(a)\nEnd:\n",
    "Group:\n  Flavor = NULL\nCommon:\n  setupRequired(a)\nEnd:\nsetupOptional(b)\n",
    "Group:\nCommon:\n  setupRequired(a)\nEnd:\nsetupOptional(b)\n",
    'Group:\n  Flavor = "Linux64"\n  Flavor = Linux\nCommon:\n  setupRequired(a)\nEnd:\n',
    'Action = setup\nsetupRequired(a)\nQualifiers = "build"\n',
]


@pytest.mark.parametrize("text", LEGACY)
def test_legacy_tables_read_as_real_eups(text: str, judge: TableJudge, workdir: Path) -> None:
    same(judge, workdir / "legacy.table", text)


# --- every error case: recoverable exactly where EUPS skips the line -----------------

ERROR_CASES = [
    "setupRequired(base)\nsetupRequird(afw)\n",
    "setupRequired(base\nsetupRequired(afw)\n",
    "setupRequired(base))\n",
    "  setupRequired(foo = 1.0)\n",
    "setupRequired()\n",
    "setupRequired(-z foo)\n",
    "setupRequired(foo 1.0 >= 2)\n",
    "setupRequired(foo [>= 2)\n",
    "envPrepend(PATH)\nsetupRequired(a)\n",
    "envSet(1X, y)\nsetupRequired(a)\n",
    "envSet(X, ${FOO)\nsetupRequired(a)\n",
    "if (flavor == Linux64) {\nsetupRequired(a)\n",
    "setupRequired(a)\n}\nsetupRequired(b)\n",
    "else {\nsetupRequired(a)\n}\n",
    "if flavor {\nsetupRequired(a)\n}\n",
    "if flavor == Linux64 {\nsetupRequired(a)\n}\n",
    "if (flavor ==) {\nsetupRequired(a)\n}\n",
    'if (flavor =~ "[") {\nsetupRequired(a)\n}\n',
    "setupRequired base\nsetupRequired(a)\n",
    "Group:\nCommon:\nsetupRequired(a)\n",
    "Flavor = Linux64\nsetupRequired(a)\n",
    "envSet(X, 'abc)\nsetupRequired(a)\n",
    "oops this is junk\nsetupRequired(a)\n",
    "frobnicate(x)\nsetupRequired(a)\n",
    "sourceRequired(x)\nsetupRequired(a)\n",
    "Common:\nsetupRequired(a)\nEnd:\n",
    "setupRequired(a) junk\nsetupRequired(b)\n",
    "\u017fetupRequired(a)\nsetupRequired(b)\n",
    "{\nsetupRequired(a)\n}\n",
    ";\nsetupRequired(a)\n",
    "setupRequired(a);;\n",
    'envSet(MSG, "a, b # not a comment")\nsetupRequired(a)\n',
    'if (flavor == "Linux64") { setupRequired(b) } else { setupRequired(c) }\nsetupRequired(d)\n',
    "if (flavor == Linux64)\n{\n  setupRequired(b)\n}\nelse\n{\n  setupRequired(c)\n}\n",
    "if (flavor == Linux64) {\n  setupRequired(b)\n} else { \n  setupRequired(c)\n}\n",
    "if (flavor == Linux64) {\n  setupRequired(b)\n} else { # mac\n  setupRequired(c)\n}\n",
    "IF (flavor == Linux64) {\n  setupRequired(b)\n} ELSE {\n  setupRequired(c)\n}\n",
    "File = Foo\nsetupRequired(a)\n",
    "Action = build\nsetupRequired(a)\n",
    "Product = foo\nsetupRequired(a)\n",
    "if (flavor == Linux64 AND type == exact) {\n  setupRequired(a)\n}\n",
    "if (flavor =~ ^Darwin) {\n  setupRequired(a)\n}\n",
    "if (flavor =~ Darwin|Linux) {\n  setupRequired(a)\n}\n",
    "if (flavor == Linux64 &&!type == exact) {\n  setupRequired(a)\n}\n",
    "if (flavor = Linux64) {\n  setupRequired(a)\n}\n",
    "if (flavor == Linux64)) {\n  setupRequired(a)\n}\n",
    "if ((flavor == Linux64) {\n  setupRequired(a)\n}\n",
    "if (${UNSET} == x) {\n  setupRequired(a)\n}\n",
    "if (type == exact && (flavor == Linux64 || flavor == Linux)) {\n setupRequired(a)\n}\n",
    "setupRequired(a)\n}\nif (flavor == Linux64) {\n  setupRequired(b)\n",
    "if (flavor < 3) {\n  setupRequired(a)\n}\n",
]


@pytest.mark.parametrize("text", ERROR_CASES)
def test_error_cases_fail_or_skip_as_real_eups(text: str, judge: TableJudge, workdir: Path) -> None:
    """Each case: what strict reading says, and that the lenient reading skips exactly the
    lines EUPS skips and otherwise reads what EUPS reads, or fails where EUPS reads a line
    (then lint reports it either way)."""
    path = workdir / "err.table"
    path.write_text(text, encoding="utf-8")
    real = judge.read(path, CONTEXTS)
    if real.skipped:  # a line real EUPS skips is an error when reading strictly
        with pytest.raises(InputError):
            parse_table(text, path, strict=True)
    try:
        table = parse_table(text, path, strict=False, log_warnings=False)
    except InputError as exc:
        # failing leniently: only on a line EUPS reads (it fails there, or means another
        # thing than the text says), never on one it skips
        assert exc.location is not None and exc.location.line not in real.skipped, real
        return
    assert table is not None
    same(judge, path, text)


def test_the_lines_eups_skips_are_the_ones_we_find(judge: TableJudge, workdir: Path) -> None:
    from ..unit.test_table_eups_reading import LINES

    path = workdir / "lines.table"
    path.write_text(LINES, encoding="utf-8")
    assert judge.read(path, CONTEXTS[:1]).skipped == tuple(sorted(eups_skipped_lines(LINES)))


# --- values: the expansions EUPS's commands do ------------------------------------

VALUES = ["${HOME}/bin", "${NOPE-/x}/bin", "${NOPE:-/x}/bin", "${HOME:-/x}/bin",
          "$?{NOPE}/bin", "$?{HOME}/bin", "plain", "a${HOME}b"]  # fmt: skip


def test_value_expansion_is_eups_for_one_reference(real_eups: RealEups) -> None:
    """``${VAR}``, ``$?{VAR}`` (unset: the line is dropped), ``${VAR-default}``; EUPS reads
    ``${VAR:-default}`` in a value as the variable ``VAR:``, so it is always the default."""
    script = (
        "import json, os, sys\nfrom eups.table import Action\n"
        "os.environ.clear(); os.environ['HOME'] = '/home/me'\n"
        "a = Action('t', 'envSet', ['X', 'v'], {})\n"
        "print(json.dumps([a.expandEnvironmentalVariable(v) for v in json.loads(sys.argv[1])]))"
    )
    r = subprocess.run(
        [sys.executable, "-c", script, json.dumps(VALUES)],
        env={"PYTHONPATH": str(real_eups.python_path)},
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    env = {"HOME": "/home/me"}
    assert [expand(v, env.get) for v in VALUES] == json.loads(r.stdout)


# --- generated tables ---------------------------------------------------------------

PRODUCTS = ["base", "utils", "afw", "geom", "cuda"]
# left: mostly what the context decides; right: mostly the values it takes
LEFT = [
    "flavor", "flavor", "flavor", "FLAVOR", "Flavor", "type", "type", "TYPE",
    "${V:-x}", "${W:-Linux64}", "${N:-10}", "${V:-}", "${V:-false}", "${V}",
    "Linux64", "exact", "1", "0", "01", "True", "False", "true", "x",
]  # fmt: skip
RIGHT = [
    "Linux64", "Linux64", "DarwinX86", "Linux", '"Linux64"', "exact", "exact", "build",
    "x", "3", "10", "1", "Lin", "inux", "Darwin", "1.10", "flavor", "type", "${N:-10}",
    "1_0", "\u0663", "+3",
]  # fmt: skip
CMP = ["==", "==", "==", "!=", "!=", "=~", "!~", "<", "<=", ">", ">="]
BOOL = [" || ", " && ", " or ", " and ", "||", "&&"]
JUNK_LINES = [
    "oops this is junk", "frobnicate(x)", "sourceRequired(x)", "setupRequired(base",
    "Common:", "End:", "\u017fetupRequired(a)", "setupRequired(a) junk", ";",
    "envRemove(PATH, /x)", "{", "else {", "Product = x", "setupRequired(a);;",
]  # fmt: skip


@st.composite
def conditions(draw: st.DrawFn, depth: int = 0) -> str:
    n = draw(st.integers(1, 3))
    parts = []
    for _ in range(n):
        kind = draw(st.integers(0, 9))
        if kind <= 5 or depth >= 2:
            lhs = draw(st.sampled_from(LEFT))
            if draw(st.integers(0, 4)):
                op = draw(st.sampled_from(CMP))
                sep = draw(st.sampled_from([" ", " ", ""]))
                term = f"{lhs}{sep}{op}{sep}{draw(st.sampled_from(RIGHT))}"
                if op in ("=~", "!~") and draw(st.integers(0, 4)) == 0:
                    term += draw(st.sampled_from([".*", "*", "|x"]))
            else:
                term = lhs
        elif kind <= 7:
            term = f"({draw(conditions(depth + 1))})"
        else:
            term = draw(st.sampled_from(["!", "! ", "not "])) + draw(conditions(depth + 1))
        parts.append(term)
    out = parts[0]
    for p in parts[1:]:
        out += draw(st.sampled_from(BOOL)) + p
    return out


@st.composite
def command_lines(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 9))
    indent = draw(st.sampled_from(["", "  ", "\t"]))
    if kind <= 5:
        cmd = draw(st.sampled_from(["setupRequired", "setupOptional", "SetupRequired"]))
        tail = draw(st.sampled_from(["", ";", "  # why", " ;"]))
        return f"{indent}{cmd}({draw(st.sampled_from(PRODUCTS))}){tail}"
    if kind <= 6:
        return f"{indent}envSet(X{draw(st.integers(0, 3))}, v{draw(st.integers(0, 9))})"
    return indent + draw(st.sampled_from(JUNK_LINES))


@st.composite
def bodies(draw: st.DrawFn) -> list[str]:
    # EUPS loses the branch structure around an empty block: keep one command in each
    lines = draw(st.lists(command_lines(), max_size=3))
    lines.insert(
        draw(st.integers(0, len(lines))), "  setupRequired(" + draw(st.sampled_from(PRODUCTS)) + ")"
    )
    return lines


@st.composite
def tables(draw: st.DrawFn) -> str:
    out: list[str] = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.integers(0, 5))
        if kind <= 2:
            out.append(draw(command_lines()))
        elif kind <= 4:
            out.append(f"if ({draw(conditions())}) {{")
            out += draw(bodies())
            for _ in range(draw(st.integers(0, 2))):
                out.append(f"}} else if ({draw(conditions())}) {{")
                out += draw(bodies())
            if draw(st.booleans()):
                out.append("} else {")
                out += draw(bodies())
            out.append("}")
        else:
            out.append("Group:")
            for _ in range(draw(st.integers(0, 2))):
                fl = draw(st.sampled_from(["Linux64", "DarwinX86", "ANY", "NULL", "Linux"]))
                out.append(f"  Flavor = {fl}")
            out.append("Common:")
            out += draw(bodies())
            out.append("End:")
    return "\n".join(out) + "\n"


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=tables())
def test_generated_tables_read_as_real_eups(text: str, judge: TableJudge, workdir: Path) -> None:
    same(judge, workdir / "gen.table", text)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(cond=conditions())
def test_generated_conditions_evaluate_as_real_eups(
    cond: str, judge: TableJudge, workdir: Path
) -> None:
    text = _if(cond, "setupRequired(yes)") + "setupOptional(after)\n"
    same(judge, workdir / "cond.table", text)
