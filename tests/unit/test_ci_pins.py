"""Every uses: pinned: the check itself, and this repository's workflows and actions."""

from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.ci.pins import Use, line_of, unpinned, uses_of
from scipipe_tools.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
SHA = "11bd71901bbe5b1630ceea73d27597364c9af683"


@pytest.mark.parametrize(
    ("value", "pinned"),
    [
        (f"actions/checkout@{SHA}", True),
        (f"github/codeql-action/init@{SHA}", True),
        ("./workflows/setup-scipipe", True),
        ("$/workflows/setup-scipipe", True),
        ("$/.github/workflows/python-lint.yaml", True),
        ("docker://alpine@sha256:" + "a" * 64, True),
        ("actions/checkout@v4", False),
        ("actions/checkout@main", False),
        (f"actions/checkout@{SHA[:39]}", False),
        (f"actions/checkout@{SHA.upper()}", False),
        ("actions/checkout", False),
        ("docker://alpine:3.20", False),
        (f"owner/repo/.github/workflows/x.yaml@{SHA}", True),
    ],
)
def test_pinned(value: str, pinned: bool) -> None:
    assert Use(Path("w.yaml"), 1, value).pinned is pinned


def test_finds_uses_of_jobs_steps_and_actions(tmp_path: Path) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text(
        "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n"
        "      - uses: actions/checkout@v4\n      - run: echo\n"
        f"      - uses: actions/cache@{SHA}\n"
        "  b:\n    uses: org/repo/.github/workflows/x.yaml@main\n"
    )
    action = tmp_path / "action.yaml"
    action.write_text("name: a\nruns:\n  using: composite\n  steps:\n    - uses: x/y@v1\n")
    assert [(u.line, u.value) for u in uses_of(wf)] == [
        (6, "actions/checkout@v4"),
        (8, f"actions/cache@{SHA}"),
        (10, "org/repo/.github/workflows/x.yaml@main"),
    ]
    assert [(u.path.name, u.line) for u in unpinned([wf, action])] == [
        ("wf.yaml", 6),
        ("wf.yaml", 10),
        ("action.yaml", 5),
    ]


def test_every_use_in_this_repository_is_pinned() -> None:
    files = [
        *(ROOT / ".github" / "workflows").glob("*.y*ml"),
        *(ROOT / "workflows").glob("*/action.yaml"),
    ]
    assert len(files) >= 8
    assert unpinned(files) == []
    # and every third-party action carries its version in a comment
    for f in files:
        for line in f.read_text().splitlines():
            if line.lstrip().startswith(("uses:", "- uses:")) and "@" in line:
                assert "  # v" in line, f"{f.name}: {line.strip()} has no version comment"


def test_line_of_a_json_path(tmp_path: Path) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text(
        "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: a\n      - run: b\n"
    )
    assert line_of(wf, "$.jobs.a.steps[1]") == 7
    assert line_of(wf, "$.jobs.a") == 4
    assert line_of(wf, "$.jobs.nope.steps") == 3
    assert line_of(wf, "$") == 1


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    wf = tmp_path / "wf.yaml"
    wf.write_text("on: push\njobs: [\n")
    with pytest.raises(InputError, match=r"wf.yaml:3:1: invalid YAML"):
        list(uses_of(wf))
