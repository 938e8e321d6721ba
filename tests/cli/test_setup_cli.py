"""``scipipe setup`` and the stack commands (list, tags, declare) on a real stack."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click
import pytest

from scipipe_tools.cli.app import run
from scipipe_tools.cli.eups.stack import declare_cmd, list_cmd, tags_cmd
from scipipe_tools.stack.stack import Stack

from .conftest import Invoke, Outcome

WHEN = datetime(2024, 3, 1, tzinfo=UTC)
Command = Callable[..., Outcome]


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Stack:
    s = Stack.create(tmp_path / "stack", "Linux64")
    for product, version, table, tags in [
        ("base", "1.0", "envPrepend(PATH, ${PRODUCT_DIR}/bin)\n", ["current", "b1"]),
        ("base", "1.1", "envPrepend(PATH, ${PRODUCT_DIR}/bin)\n", []),
        (
            "afw",
            "g1",
            "setupRequired(base)\nenvPrepend(PYTHONPATH, ${PRODUCT_DIR}/python)\n",
            ["b1"],
        ),
    ]:
        d = s.product_dir(product, version)
        (d / "ups").mkdir(parents=True)
        (d / "ups" / f"{product}.table").write_text(table)
        s.declare(product, version, d, declarer="t", declared=WHEN, tags=tags)
    monkeypatch.setenv("EUPS_PATH", f"{s.root}:/somewhere/else")
    monkeypatch.setenv("EUPS_FLAVOR", "Linux64")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    for var in ["PYTHONPATH", "SETUP_BASE", "SETUP_AFW", "BASE_DIR", "AFW_DIR"]:
        monkeypatch.delenv(var, raising=False)
    return s


@pytest.fixture
def command(capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    def invoke(cmd: click.Command, *args: str) -> Outcome:
        code = run(cmd, [str(a) for a in args], "scipipe eups")
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return invoke


def test_setup_prints_shell_code_that_bash_can_eval(scipipe: Invoke, stack: Stack) -> None:
    r = scipipe("setup", "afw", "-t", "b1", "--shell", "bash")
    assert r.code == 0, r.err
    root = stack.root / "Linux64"
    assert f"export AFW_DIR='{root}/afw/g1'\n" in r.out
    out = subprocess.run(
        ["bash", "-c", r.out + 'printf "%s\\n" "$PATH" "$PYTHONPATH" "$AFW_DIR" "$SETUP_BASE"'],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out == [
        f"{root}/base/1.0/bin:/usr/bin:/bin",
        f"{root}/afw/g1/python",
        f"{root}/afw/g1",
        f"base 1.0 -f Linux64 -Z {stack.root}",
    ]


def test_setup_json_and_explicit_version(scipipe: Invoke, stack: Stack) -> None:
    r = scipipe("setup", "base", "1.1", "--json")
    data = json.loads(r.out)
    assert data["products"] == [{"product": "base", "version": "1.1"}]
    assert data["env"]["PATH"] == f"{stack.root}/Linux64/base/1.1/bin:/usr/bin:/bin"
    assert data["flavor"] == "Linux64" and data["stack"] == str(stack.root)


def test_setup_errors(scipipe: Invoke, stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    r = scipipe("setup", "bse")
    assert r.code == 3
    assert r.err.splitlines() == [
        f"error: {stack.root}: bse is not declared for Linux64",
        "hint: did you mean 'base'?",
    ]
    r = scipipe("setup", "base", "--stack", str(stack.root.parent))
    assert r.code == 2 and "not an EUPS stack" in r.err
    monkeypatch.delenv("EUPS_PATH")
    r = scipipe("setup", "base")
    assert r.code == 2 and r.err.startswith("error: no stack given\nhint: pass --stack DIR")


def test_list_like_eups(command: Command, stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    r = command(list_cmd)
    assert r.out == (
        "afw                   g1         \tb1\n"
        "base                  1.0        \tb1 current\n"
        "base                  1.1        \n"
    )
    monkeypatch.setenv("SETUP_BASE", f"base 1.0 -f Linux64 -Z {stack.root}")
    assert command(list_cmd, "base").out == "   1.0        \tb1 current setup\n   1.1        \n"
    tagged = command(list_cmd, "-t", "current").out
    assert tagged == "base                  1.0        \tb1 current setup\n"
    data = json.loads(command(list_cmd, "afw", "--json").out)
    assert data == [{"product": "afw", "version": "g1", "tags": ["b1"], "setup": False}]
    bad = command(list_cmd, "-t", "b11")
    assert bad.code == 2 and "unknown tag 'b11'" in bad.err and "did you mean 'b1'?" in bad.err
    assert command(list_cmd, "nothing").code == 3
    # EUPS's own tags: latest is each product's newest version; stable, on nothing, lists nothing
    latest = command(list_cmd, "-t", "latest").out
    assert latest == "afw                   g1         \tb1\nbase                  1.1        \n"
    assert command(list_cmd, "-t", "stable").out == ""


def test_tags_and_clone(command: Command, stack: Stack) -> None:
    # as `eups tags`: EUPS's own tags, global.tags and the user's tag, one a line
    login = pwd.getpwuid(os.geteuid()).pw_name
    assert command(tags_cmd).out == f"b1\ncurrent\nlatest\nstable\nuser:{login}\n"
    assert json.loads(command(tags_cmd, "--json").out)[0] == "b1"
    dry = command(tags_cmd, "--clone", "b1", "w_2024_10", "--dry-run")
    assert dry.code == 0
    assert (
        dry.out
        == "afw                   g1         w_2024_10\nbase                  1.0        w_2024_10\n"
    )
    assert "would tag 2 products w_2024_10 (from b1)" in dry.err
    assert stack.tagged("w_2024_10") == {}
    done = command(tags_cmd, "--clone", "b1", "w_2024_10", "--json")
    assert json.loads(done.out)["assignments"] == {"afw": "g1", "base": "1.0"}
    assert stack.tagged("w_2024_10") == {"afw": "g1", "base": "1.0"}
    bad = command(tags_cmd, "--clone", "b1", "latest")
    assert bad.code == 2 and "reserved" in bad.err


def test_declare(command: Command, stack: Stack, tmp_path: Path) -> None:
    d = stack.product_dir("sims", "3")
    (d / "ups").mkdir(parents=True)
    (d / "ups" / "sims.table").write_text("")
    dry = command(declare_cmd, "sims", "3", "-r", str(d), "-t", "b2", "--dry-run")
    assert dry.code == 0
    assert (
        "PRODUCT = sims\nVERSION = 3\n" in dry.out and "   PROD_DIR = Linux64/sims/3\n" in dry.out
    )
    assert "would tag sims 3 b2" in dry.err
    assert not stack.is_declared("sims", "3")
    r = command(declare_cmd, "sims", "3", "-r", str(d), "-t", "b2")
    assert r.code == 0 and stack.tag_version("sims", "b2") == "3"
    missing = command(declare_cmd, "sims", "4", "-r", str(tmp_path / "nope"))
    assert missing.code == 2 and "not a directory" in missing.err
