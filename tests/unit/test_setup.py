"""``setup`` as data: version resolution, dependencies, environment, shell code."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scipipe_tools.errors import InputError, ResolutionError
from scipipe_tools.stack.setup import (
    parse_setup_string,
    render_shell,
    resolve_version,
    setup,
    setup_string,
    setup_var,
)
from scipipe_tools.stack.stack import Stack

WHEN = datetime(2024, 3, 1, tzinfo=UTC)
BASE_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/home/me"}

# afw's table as `eups expandtable` installs it: exact block first, -j on every dep.
AFW_TABLE = """\
if (type == exact) {
   setupRequired(base            -j 1.0)
   setupRequired(utils           -j 2.0)
} else {
   setupRequired(utils 2.0 [>= 2.0])
}
envPrepend(PATH, ${PRODUCT_DIR}/bin)
envPrepend(PYTHONPATH, ${PRODUCT_DIR}/python)
envSet(AFW_DATA, ${PRODUCTS}/data/${PRODUCT_NAME}-${PRODUCT_VERSION}-${PRODUCT_FLAVOR})
addAlias(afwdoc, less ${PRODUCT_DIR}/README)
"""


def add(
    stack: Stack, product: str, version: str, table: str | None, tags: tuple[str, ...] = ()
) -> Path:
    d = stack.product_dir(product, version)
    (d / "ups").mkdir(parents=True)
    if table is not None:
        (d / "ups" / f"{product}.table").write_text(table)
    stack.declare(product, version, d, declarer="t", declared=WHEN, tags=tags)
    return d


@pytest.fixture
def stack(tmp_path: Path) -> Stack:
    s = Stack.create(tmp_path / "stack", "Linux64")
    add(s, "base", "1.0", "envPrepend(PATH, ${PRODUCT_DIR}/bin)\n", ("current",))
    add(s, "base", "1.1", "envPrepend(PATH, ${PRODUCT_DIR}/bin)\n")
    add(
        s,
        "utils",
        "2.0",
        "setupRequired(base)\nenvPrepend(PYTHONPATH, ${PRODUCT_DIR}/python)\n",
        ("current",),
    )
    add(s, "afw", "g1", AFW_TABLE, ("current", "b5"))
    return s


def test_resolve_version(stack: Stack) -> None:
    assert resolve_version(stack, "afw") == "g1"
    assert resolve_version(stack, "base") == "1.0"  # current
    assert resolve_version(stack, "base", "1.1") == "1.1"
    stack.assign_tag("base", "1.1", "b5")
    assert resolve_version(stack, "base", tag="b5") == "1.1"
    # no version tagged b9: on down EUPS's VRO, to current
    assert resolve_version(stack, "base", tag="b9") == "1.0"
    stack.unassign_tag("base", "current")
    with pytest.raises(ResolutionError, match="base has 2 versions and none is tagged current"):
        resolve_version(stack, "base")
    with pytest.raises(
        ResolutionError, match="base has 2 versions and none is tagged b9 or current"
    ):
        resolve_version(stack, "base", tag="b9")
    with pytest.raises(ResolutionError) as exc:
        resolve_version(stack, "bas")
    assert exc.value.hint == "did you mean 'base'?"
    with pytest.raises(ResolutionError) as exc:
        resolve_version(stack, "base", "9")
    assert exc.value.hint == "declared versions: 1.0, 1.1"


def test_exact_block_sets_up_what_afw_was_built_with(stack: Stack) -> None:
    stack.assign_tag("base", "1.1", "current")  # exact wins over current
    r = setup(stack, "afw", environ=BASE_ENV)
    assert r.products == [("afw", "g1"), ("base", "1.0"), ("utils", "2.0")]
    root = stack.root / "Linux64"
    assert r.env["AFW_DIR"] == str(root / "afw" / "g1")
    assert r.env["SETUP_AFW"] == f"afw g1 -f Linux64 -Z {stack.root}"
    assert r.env["BASE_DIR"] == str(root / "base" / "1.0")
    assert r.env["PATH"] == f"{root}/afw/g1/bin:{root}/base/1.0/bin:/usr/bin:/bin"
    # utils was set up -j: its own setupRequired(base) did not run, its env did
    assert r.env["PYTHONPATH"] == f"{root}/afw/g1/python:{root}/utils/2.0/python"
    assert r.env["AFW_DATA"] == f"{stack.root}/data/afw-g1-Linux64"
    assert r.aliases == {"afwdoc": f"less {root}/afw/g1/README"}
    assert "HOME" not in r.env and "EUPS_PATH" not in r.env


def test_plain_tables_follow_the_tag_then_current(stack: Stack) -> None:
    r = setup(stack, "utils", environ=BASE_ENV)
    assert r.products == [("utils", "2.0"), ("base", "1.0")]
    stack.assign_tag("base", "1.1", "b5")
    stack.assign_tag("utils", "2.0", "b5")
    r = setup(stack, "utils", tag="b5", environ=BASE_ENV)
    assert r.products == [("utils", "2.0"), ("base", "1.1")]


def test_only_version_is_taken_and_ambiguity_is_an_error(stack: Stack) -> None:
    add(stack, "obs", "1", "setupRequired(cam)\n")
    add(stack, "cam", "7", "")
    assert setup(stack, "obs", environ={}).products == [("obs", "1"), ("cam", "7")]
    add(stack, "cam", "8", "")
    with pytest.raises(ResolutionError) as exc:
        setup(stack, "obs", environ={})
    assert str(exc.value).endswith(
        "obs/1/ups/obs.table:1: setupRequired(cam): cam has 2 versions and none is tagged current "
        "for Linux64"
    )


def test_missing_dependencies(stack: Stack) -> None:
    add(stack, "app", "1", "setupOptional(nothere)\nsetupRequired(base 1.0)\nsetupRequired(gone)\n")
    with pytest.raises(ResolutionError) as exc:
        setup(stack, "app", environ={})
    assert "app/1/ups/app.table:3: setupRequired(gone): gone is not declared" in str(exc.value)
    add(stack, "app2", "1", "setupRequired(base 7.0)\n")
    with pytest.raises(ResolutionError, match=r"app2.table:1: .*no version matching"):
        setup(stack, "app2", environ={})


def test_version_expressions_and_flags(stack: Stack) -> None:
    add(stack, "app", "1", "setupRequired(base >= 1.0)\nsetupRequired(eups [> 2.0])\n")
    # versionExpr: the highest match, before current (1.0), as EUPS's VRO has it
    assert setup(stack, "app", environ={}).products[1] == ("base", "1.1")
    # a -t tag comes first, whatever the expression
    stack.assign_tag("base", "1.0", "b5")
    assert setup(stack, "app", tag="b5", environ={}).products[1] == ("base", "1.0")
    add(stack, "app2", "1", "setupRequired(base > 1.0)\nsetupRequired(ext --external)\n")
    # eups and --external deps are not set up
    assert setup(stack, "app2", environ={}).products == [("app2", "1"), ("base", "1.1")]


def test_a_tag_missing_on_the_command_line_falls_back_to_current(stack: Stack) -> None:
    r = setup(stack, "base", tag="b9", environ={})
    assert r.products == [("base", "1.0")]
    assert r.messages == ["No versions of base are tagged b9; setup version is 1.0"]
    assert "echo 'No versions of base are tagged b9; setup version is 1.0' >&2" in render_shell(r)
    assert setup(stack, "afw", tag="b5", environ={}).messages == []


def test_env_commands(stack: Stack) -> None:
    table = "\n".join(
        [
            "envAppend(PATH, ${PRODUCT_DIR}/bin)",
            "envAppend(PATH, /bin)",  # already there: stays where it was
            "envPrepend(LIST, a;b, ;)",  # each piece goes first in turn, as in EUPS
            "envSet(WHERE, ${UPS_DIR})",
            "envSet(OPT, $?{NOT_SET}/x)",  # dropped: NOT_SET is unset
            "envSet(DEF, ${NOT_SET-fallback})",
            "envSet(HOME_TOO, ${HOME}/x)",
            "envSet(FIRST, ${EUPS_PATH[0]})",
            "envUnset(TOOL_DIR)",
            "envUnset(HOME)",  # EUPS only unsets the product's own directory
            'print(stderr, "hello")',
        ]
    )
    d = add(stack, "tool", "1", table + "\n")
    env = {**BASE_ENV, "LIST": "x", "EUPS_PATH": f"{stack.root}:/other"}
    r = setup(stack, "tool", environ=env)
    assert r.env["PATH"] == f"/usr/bin:/bin:{d}/bin"
    assert r.env["LIST"] == "b;a;x"
    assert r.env["WHERE"] == str(d / "ups")
    assert "OPT" not in r.env
    assert r.env["DEF"] == "fallback"
    assert r.env["HOME_TOO"] == "/home/me/x"
    assert r.env["FIRST"] == str(stack.root)
    assert "TOOL_DIR" not in r.env  # set, then unset: no change to the input
    assert "HOME" not in r.env
    assert r.messages == ["hello"]


def test_undefined_variable_names_its_line(stack: Stack) -> None:
    add(stack, "tool", "1", "envSet(A, 1)\nenvSet(B, ${NOPE}/x)\n")
    with pytest.raises(ResolutionError, match=r"tool.table:2: \$\{NOPE\} is not defined"):
        setup(stack, "tool", environ={})


def test_already_setup_dependencies_are_kept(stack: Stack) -> None:
    first = setup(stack, "base", environ=BASE_ENV)
    env = {**BASE_ENV, **{k: v for k, v in first.env.items() if v is not None}}
    r = setup(stack, "utils", environ=env)
    assert r.products == [("utils", "2.0")]  # base 1.0 is already set up: skipped
    assert "PATH" not in r.env


def test_repeated_setup_changes_nothing(stack: Stack) -> None:
    first = setup(stack, "utils", environ=BASE_ENV)
    env = {**BASE_ENV, **{k: v for k, v in first.env.items() if v is not None}}
    again = setup(stack, "utils", environ=env)
    # as in EUPS, the top level is unset up (with its dependencies) and set up again
    assert again.products == [("utils", "2.0"), ("base", "1.0")]
    assert again.env == {}


def test_switching_versions_unsets_up_the_old_one(stack: Stack) -> None:
    add(stack, "base", "2.0", "envPrepend(PATH, ${PRODUCT_DIR}/bin)\nenvSet(BASE_ONLY2, y)\n")
    old = setup(stack, "base", "1.1", environ=BASE_ENV)
    env = {**BASE_ENV, **{k: v for k, v in old.env.items() if v is not None}}
    new = setup(stack, "base", "2.0", environ=env)
    assert new.env["PATH"] == f"{stack.root}/Linux64/base/2.0/bin:/usr/bin:/bin"
    assert new.env["SETUP_BASE"].startswith("base 2.0 ")


def test_setup_variable_names_and_strings(tmp_path: Path) -> None:
    assert setup_var("afw", {}) == "SETUP_AFW"
    assert setup_var("afw", {"setup_afw": "x"}) == "setup_afw"
    value = setup_string("afw", "g1", "Linux64", tmp_path / "my stack")
    assert value == f"afw g1 -f Linux64 -Z {tmp_path}/my-+-stack"
    assert parse_setup_string(value) == ("afw", "g1", "Linux64", f"{tmp_path}/my stack")


def test_render_shell_quotes_and_unsets(stack: Stack) -> None:
    r = setup(stack, "base", environ={**BASE_ENV, "BASE_DIR": "/old", "SETUP_BASE": "base 0"})
    text = render_shell(r, "bash")
    assert text.startswith("# Generated by scipipe setup for bash: base 1.0 (Linux64)")
    assert f"export BASE_DIR='{stack.root}/Linux64/base/1.0'\n" in text
    from scipipe_tools.stack.setup import SetupResult

    odd = SetupResult([("x", "1")], {"A": "it's $HOME `x`", "B": None}, {"ll": "ls -l"})
    text = render_shell(odd, "zsh")
    assert "export A='it'\\''s $HOME `x`'\nunset B\nalias ll='ls -l'\n" in text
    out = subprocess.run(
        ["bash", "-c", text + 'printf %s "$A"'], capture_output=True, text=True, check=True
    ).stdout
    assert out == "it's $HOME `x`"
    with pytest.raises(InputError, match="unsupported shell 'fish'"):
        render_shell(odd, "fish")


def test_eval_in_bash_sets_the_environment(stack: Stack) -> None:
    r = setup(stack, "afw", environ={"PATH": "/usr/bin:/bin"})
    script = (
        render_shell(r, "bash") + 'printf "%s\\n" "$PATH" "$PYTHONPATH" "$AFW_DIR"; alias afwdoc'
    )
    out = subprocess.run(
        ["bash", "-c", "shopt -s expand_aliases\n" + script],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    root = stack.root / "Linux64"
    assert out[0] == f"{root}/afw/g1/bin:{root}/base/1.0/bin:/usr/bin:/bin"
    assert out[1] == f"{root}/afw/g1/python:{root}/utils/2.0/python"
    assert out[2] == str(root / "afw" / "g1")
    assert out[3] == f"alias afwdoc='less {root}/afw/g1/README'"


def test_product_without_table(stack: Stack) -> None:
    add(stack, "doc", "1", None)
    r = setup(stack, "doc", environ={})
    assert r.products == [("doc", "1")]
    assert set(r.env) == {"DOC_DIR", "SETUP_DOC"}


def test_implicit_products_are_set_up_when_declared(stack: Stack) -> None:
    add(stack, "implicitProducts", "1", "envSet(IMPLICIT, yes)\n", ("current",))
    r = setup(stack, "utils", environ={})
    assert ("implicitProducts", "1") in r.products
    assert r.env["IMPLICIT"] == "yes"


def test_setup_directory_pins_versions_over_expressions(tmp_path: Path) -> None:
    """``setup -r .`` of a source tree: g<sha> versions never satisfy ``>= 1.0``, so the
    build pins them, as lsst_build's --vro file does."""
    from scipipe_tools.errors import ResolutionError
    from scipipe_tools.stack.setup import setup_directory
    from scipipe_tools.stack.stack import Stack

    stack = Stack.create(tmp_path / "stack", "Linux64")
    utils = stack.product_dir("utils", "g1")
    (utils / "ups").mkdir(parents=True)
    (utils / "ups" / "utils.table").write_text("envPrepend(PYTHONPATH, ${PRODUCT_DIR}/python)\n")
    stack.declare("utils", "g1", utils, tags=["b1"])
    src = tmp_path / "src" / "base"
    (src / "ups").mkdir(parents=True)
    (src / "ups" / "base.table").write_text(
        "setupRequired(utils >= 1.0 && < 99)\nenvPrepend(PYTHONPATH, ${PRODUCT_DIR}/python)\n"
    )
    with pytest.raises(ResolutionError, match="no version matching"):
        setup_directory(stack, "base", "g2", src, environ={})
    # a -t tag goes before the table's expression, as in EUPS's VRO
    tagged = setup_directory(stack, "base", "g2", src, tag="b1", environ={})
    assert tagged.products == [("base", "g2"), ("utils", "g1")]
    r = setup_directory(stack, "base", "g2", src, environ={}, pins={"utils": "g1"})
    assert r.products == [("base", "g2"), ("utils", "g1")]
    assert r.env["PYTHONPATH"] == f"{src}/python:{utils}/python"  # prepended last
    assert r.env["BASE_DIR"] == str(src)
