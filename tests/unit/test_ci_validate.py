"""``scipipe ci validate``: this repository passes; each check catches what it is for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import scipipe_tools.ci.validate as validate
from scipipe_tools.cli.app import cli, run

ROOT = Path(__file__).resolve().parents[2]
SHA = "11bd71901bbe5b1630ceea73d27597364c9af683"

BAD_WORKFLOW = """\
name: bad
on:
  workflow_call:
    inputs:
      who: {type: string, required: true}
permissions: {}
jobs:
  greet:
    runs-on: ubuntu-24.04
    permissions: {}
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - run: echo "hello ${{ inputs.who }}"
"""

BROKEN_WORKFLOW = """\
name: broken
on: push
permissions: {}
jobs:
  broken:
    runs-on: ubuntu-24.04
    stepz: []
"""

GOOD_ACTION = f"""\
name: ok
description: fine
runs:
  using: composite
  steps:
    - uses: actions/setup-python@{SHA}  # v5.3.0
"""

BAD_JOBS = """\
- job:
    name: broken
    project-type: pipeline
    pipeline-scm:
      scm: [no-such-scm]
      script-path: x.groovy
"""


def invoke(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(cli, ["ci", "validate", *args], "scipipe")
    out = capsys.readouterr()
    return code, out.out, out.err


def test_this_repository_validates(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = invoke(capsys, "--root", str(ROOT), "--json")
    report = json.loads(out)
    assert code == 0, out
    assert report["ok"] is True
    checks = {c["name"]: c for c in report["checks"]}
    assert list(checks) == ["jenkins", "schema", "zizmor", "pins"]
    assert all(
        c["files"] > 0 and c["skipped"] is None and not c["findings"] for c in checks.values()
    )


def test_each_check_finds_its_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "bad.yaml").write_text(BAD_WORKFLOW)
    (tmp_path / ".github" / "workflows" / "broken.yaml").write_text(BROKEN_WORKFLOW)
    (tmp_path / "workflows" / "ok").mkdir(parents=True)
    (tmp_path / "workflows" / "ok" / "action.yaml").write_text(GOOD_ACTION)
    (tmp_path / "ci" / "jenkins" / "jobs").mkdir(parents=True)
    (tmp_path / "ci" / "jenkins" / "jobs" / "bad.yaml").write_text(BAD_JOBS)
    code, out, err = invoke(capsys, "--root", str(tmp_path))
    assert code == 1
    lines = out.splitlines()
    assert ".github/workflows/bad.yaml:12: [pins] uses: actions/checkout@v4 is not pinned" in out
    assert any(
        ln.startswith(".github/workflows/bad.yaml:15: [zizmor] template-injection") for ln in lines
    ), out
    assert any(
        ln.startswith(".github/workflows/broken.yaml:6: [schema] $.jobs.broken") and "stepz" in ln
        for ln in lines
    ), out
    assert any(ln.startswith("ci/jenkins/jobs: [jenkins]") for ln in lines), out
    assert "workflows/ok" not in out
    # the summary table goes to stderr
    assert "zizmor" in err and "finding(s)" in err
    # one check at a time
    code, out, _ = invoke(capsys, "--root", str(tmp_path), "--check", "pins")
    assert code == 1 and out.count("\n") == 1


def test_nothing_to_validate_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = invoke(capsys, "--root", str(tmp_path))
    assert code == 2
    assert "nothing to validate" in err


def test_a_missing_validator_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(validate.sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    code, _, err = invoke(capsys, "--root", str(ROOT))
    assert code == 4
    assert "error: jenkins-jobs is not installed" in err
    assert "hint: pip install 'scipipe-tools[ci]'" in err
    # pins needs no external tool
    code, _, _ = invoke(capsys, "--root", str(ROOT), "--check", "pins")
    assert code == 0
