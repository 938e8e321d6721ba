"""A build whose tables have lines real EUPS skips (issue 14): ``scipipe build --prep-only``
writes the manifest real ``lsst-build prepare`` writes, byte for byte, and says which
lines it skipped, each once, naming file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.cli.app import cli, run
from tests.support.gitenv import isolate_git

from ..realtools import LsstBuild
from .test_prepare import make_stack

TABLES = {
    "top": (
        "setupRequired(mid)\n"
        "this line is not a command\n"
        "frobnicate(x)\n"
        "if (${WITH_EXTRA:-no} == yes) {\n"
        "    setupRequired(extra)\n"
        "} else {\n"
        "    setupOptional(opt)\n"
        "}\n"
    ),
    "mid": "setupRequired(base)\nsetupRequired(base2\n",
    "base": "",
    "opt": "",
    "extra": "",
}


def _unwrapped(text: str) -> str:
    """Without blanks: the log handler wraps long lines to the terminal's width."""
    return "".join(text.split())


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(monkeypatch, None)


@pytest.mark.parametrize("with_extra", [None, "yes"])
def test_prep_only_writes_the_manifest_lsst_build_writes(
    with_extra: str | None,
    lsst_build: LsstBuild,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if with_extra is not None:
        monkeypatch.setenv("WITH_EXTRA", with_extra)
    else:
        monkeypatch.delenv("WITH_EXTRA", raising=False)
    repos = make_stack(tmp_path, TABLES)
    theirs = tmp_path / "lsst-build"
    theirs.mkdir()
    (tmp_path / "eups-stack" / "ups_db").mkdir(parents=True)
    r = lsst_build.run(
        ["prepare", "--repos", repos.path, str(theirs), "top"], stack=tmp_path / "eups-stack"
    )
    assert "Unrecognized line: this line is not a command" in r.stderr
    root = tmp_path / "scipipe"
    args = ["build", "run", "--repos", repos.path, "--root", str(root), "--prep-only", "top"]
    capsys.readouterr()
    assert run(cli, [*args, "--flavor", "Linux64"], "scipipe") == 0
    err = _unwrapped(capsys.readouterr().err)
    manifest = (root / "build" / "manifest.txt").read_text()
    assert manifest == (theirs / "manifest.txt").read_text()
    assert ("extra" in manifest) == (with_extra == "yes")
    assert ("opt " in manifest) == (with_extra != "yes")
    sources = root / "sources"
    warnings = [
        f"{sources}/top/ups/top.table:2:1: line skipped, as real EUPS skips it "
        "('Unrecognized line'): this line is not a command",
        f"{sources}/top/ups/top.table:3:1: line skipped, as real EUPS skips it "
        "('Unexpected line'): frobnicate(x)",
        f"{sources}/mid/ups/mid.table:2:1: line skipped, as real EUPS skips it "
        "('Unrecognized line'): setupRequired(base2",
    ]
    assert err.count("WARNING") == 3
    for warning in warnings:
        assert err.count(_unwrapped(warning)) == 1, err
    # build plan over the same checkouts reads them the same way, and says so too
    assert run(cli, ["build", "plan", "top", "--sources", str(sources)], "scipipe") == 0
    err = _unwrapped(capsys.readouterr().err)
    assert all(err.count(_unwrapped(w)) == 1 for w in warnings), err
    # lint-table still reports each such table as bad
    lint = [
        "eups",
        "lint-table",
        str(sources / "top/ups/top.table"),
        str(sources / "mid/ups/mid.table"),
    ]
    assert run(cli, lint, "scipipe") == 2
    assert run(cli, [*lint[:2], "--no-strict", *lint[2:]], "scipipe") == 0
