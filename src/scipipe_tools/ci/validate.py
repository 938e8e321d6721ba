"""``scipipe ci validate``: the CI definitions of a repository, checked offline.

Four checks, each a finding list:

- ``jenkins``: ``jenkins-jobs test`` renders every job of ``ci/jenkins/jobs`` (with a
  throwaway configuration that never contacts a server);
- ``schema``: every workflow against the GitHub workflow JSON schema and every composite
  action against the action schema (check-jsonschema's vendored copies, no download);
- ``zizmor``: zizmor's audits at its default persona, offline;
- ``pins``: every ``uses:`` pinned to a full commit SHA (or a local ``./`` path).

The validators are the ``ci`` extra (``pip install 'scipipe-tools[ci]'``); one that is
missing is an error naming it.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import EXIT_COMMAND, InputError, ScipipeError
from ..infra import proc
from .pins import line_of, unpinned

CHECKS = ("jenkins", "schema", "zizmor", "pins")
JOBS_DIR = Path("ci") / "jenkins" / "jobs"
WORKFLOWS_DIR = Path(".github") / "workflows"
ACTIONS_DIR = Path("workflows")

#: A jenkins-jobs configuration for rendering only: no server is ever asked anything.
JJB_CONF = """\
[job_builder]
ignore_cache=True
keep_descriptions=False
allow_duplicates=False

[jenkins]
url=http://127.0.0.1:9/
query_plugins_info=False
"""


class MissingToolError(ScipipeError):
    exit_code = EXIT_COMMAND


@dataclass(frozen=True)
class Finding:
    check: str
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: [{self.check}] {self.message}"


@dataclass
class CheckResult:
    name: str
    files: int
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass(frozen=True)
class Inputs:
    root: Path
    workflows: tuple[Path, ...]
    actions: tuple[Path, ...]
    jobs_dir: Path | None

    def rel(self, path: Path | str) -> str:
        p = Path(path)
        try:
            return str(p.resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(p)


def find_inputs(root: Path) -> Inputs:
    if not root.is_dir():
        raise InputError(f"{root}: no such directory")
    wdir = root / WORKFLOWS_DIR
    workflows = sorted([*wdir.glob("*.yaml"), *wdir.glob("*.yml")])
    adir = root / ACTIONS_DIR
    actions = sorted([*adir.glob("*/action.yaml"), *adir.glob("*/action.yml")])
    jobs = root / JOBS_DIR
    jobs_dir = jobs if jobs.is_dir() and any(jobs.rglob("*.yaml")) else None
    if not workflows and not actions and jobs_dir is None:
        raise InputError(
            f"{root}: nothing to validate (no {WORKFLOWS_DIR}/*.yaml, "
            f"{ACTIONS_DIR}/*/action.yaml or {JOBS_DIR}/*.yaml)"
        )
    return Inputs(root, tuple(workflows), tuple(actions), jobs_dir)


def tool(name: str) -> str:
    """A validator's executable: beside this Python first (a venv that is not activated),
    then on PATH."""
    here = Path(sys.executable).parent / name
    if here.is_file():
        return str(here)
    found = shutil.which(name)
    if found is None:
        raise MissingToolError(
            f"{name} is not installed (scipipe ci validate needs jenkins-job-builder, "
            "check-jsonschema and zizmor)",
            hint="pip install 'scipipe-tools[ci]'",
        )
    return found


def render_jenkins(jobs_dir: Path, out: Path) -> proc.Result:
    """``jenkins-jobs test`` of every job under ``jobs_dir`` into ``out`` (one XML file per
    job, in folders as the job names say)."""
    with tempfile.TemporaryDirectory(prefix="scipipe-jjb-") as tmp:
        conf = Path(tmp) / "jenkins_jobs.ini"
        conf.write_text(JJB_CONF, encoding="utf-8")
        argv = [
            tool("jenkins-jobs"),
            "--conf",
            str(conf),
            "-l",
            "error",
            "test",
            "--config-xml",
            "-r",
            str(jobs_dir),
            "-o",
            str(out),
        ]
        return proc.run(argv, check=False, extra_env={"HOME": tmp, "XDG_CACHE_HOME": tmp})


def check_jenkins(inputs: Inputs) -> CheckResult:
    if inputs.jobs_dir is None:
        return CheckResult("jenkins", 0, skipped=f"no {JOBS_DIR}")
    files = sorted(inputs.jobs_dir.rglob("*.yaml"))
    result = CheckResult("jenkins", len(files))
    with tempfile.TemporaryDirectory(prefix="scipipe-jjb-out-") as out:
        res = render_jenkins(inputs.jobs_dir, Path(out))
        rendered = [p for p in Path(out).rglob("*") if p.is_file()]
        if res.returncode != 0:
            lines = [ln for ln in (res.stderr or res.stdout).splitlines() if ln.strip()]
            message = lines[-1] if lines else f"exit code {res.returncode}"
            result.findings.append(
                Finding("jenkins", inputs.rel(inputs.jobs_dir), None, message.strip())
            )
        elif not rendered:
            result.findings.append(
                Finding("jenkins", inputs.rel(inputs.jobs_dir), None, "no job was rendered")
            )
    return result


def _schema_run(inputs: Inputs, schema: str, files: tuple[Path, ...]) -> list[Finding]:
    if not files:
        return []
    argv = [
        tool("check-jsonschema"),
        "--builtin-schema",
        schema,
        "-o",
        "json",
        *(str(f) for f in files),
    ]
    res = proc.run(argv, check=False)
    try:
        report: dict[str, Any] = json.loads(res.stdout)
    except ValueError:
        if res.returncode == 0:
            return []
        message = (res.stderr or res.stdout).strip().splitlines()
        return [Finding("schema", schema, None, message[-1] if message else "failed")]
    findings = []
    for err in report.get("errors", []):
        best = err.get("best_deep_match") or err.get("best_match") or err
        path = Path(err.get("filename", ""))
        line = line_of(path, best.get("path", "$")) if path.is_file() else None
        msg = f"{best.get('path', '$')}: {best.get('message', err.get('message', ''))}"
        findings.append(Finding("schema", inputs.rel(path), line, msg))
    for err in report.get("parse_errors", []):
        where = err.get("filename", schema)
        findings.append(Finding("schema", inputs.rel(where), None, str(err.get("message", err))))
    return findings


def check_schema(inputs: Inputs) -> CheckResult:
    files = len(inputs.workflows) + len(inputs.actions)
    result = CheckResult("schema", files)
    result.findings += _schema_run(inputs, "vendor.github-workflows", inputs.workflows)
    result.findings += _schema_run(inputs, "vendor.github-actions", inputs.actions)
    return result


def check_zizmor(inputs: Inputs) -> CheckResult:
    files = (*inputs.workflows, *inputs.actions)
    result = CheckResult("zizmor", len(files))
    if not files:
        result.skipped = "no workflows"
        return result
    argv = [
        tool("zizmor"),
        "--offline",
        "--no-progress",
        "--format",
        "json",
        *(str(f) for f in files),
    ]
    res = proc.run(argv, check=False, cwd=inputs.root)
    try:
        report = json.loads(res.stdout)
    except ValueError:
        tail = (res.stderr or res.stdout).strip().splitlines()
        message = tail[-1] if tail else f"exit code {res.returncode}"
        result.findings.append(Finding("zizmor", ".", None, message))
        return result
    for item in report:
        if item.get("ignored"):
            continue
        path, line, note = ".", None, ""
        locations = item.get("locations") or []
        primary = next(
            (loc for loc in locations if loc.get("symbolic", {}).get("kind") == "Primary"),
            locations[0] if locations else None,
        )
        if primary is not None:
            key = primary.get("symbolic", {}).get("key", {})
            path = str(key.get("Local", {}).get("verbatim_path", path))
            row = primary.get("concrete", {}).get("location", {}).get("start_point", {})
            line = int(row["row"]) + 1 if "row" in row else None
            note = primary.get("symbolic", {}).get("annotation", "")
        sev = item.get("determinations", {}).get("severity", "")
        msg = f"{item.get('ident')}: {item.get('desc')}" + (f" ({note})" if note else "")
        msg += f" [{sev.lower()}]" if sev else ""
        result.findings.append(Finding("zizmor", inputs.rel(inputs.root / path), line, msg))
    if res.returncode not in (0, 10, 11, 12, 13, 14) and not result.findings:
        result.findings.append(Finding("zizmor", ".", None, f"exit code {res.returncode}"))
    return result


def check_pins(inputs: Inputs) -> CheckResult:
    files = [*inputs.workflows, *inputs.actions]
    result = CheckResult("pins", len(files))
    for use in unpinned(files):
        result.findings.append(
            Finding(
                "pins",
                inputs.rel(use.path),
                use.line,
                f"uses: {use.value} is not pinned to a full commit SHA (owner/repo@<40 hex>)",
            )
        )
    return result


RUNNERS: dict[str, Callable[[Inputs], CheckResult]] = {
    "jenkins": check_jenkins,
    "schema": check_schema,
    "zizmor": check_zizmor,
    "pins": check_pins,
}


def validate(root: Path, checks: tuple[str, ...] = CHECKS) -> list[CheckResult]:
    """Run ``checks`` over the CI definitions under ``root``."""
    for name in checks:
        if name not in RUNNERS:
            raise InputError(f"unknown check {name!r} (checks: {', '.join(CHECKS)})")
    inputs = find_inputs(root)
    # every needed validator is looked up first: a missing one fails before any runs
    needs = {"jenkins": "jenkins-jobs", "schema": "check-jsonschema", "zizmor": "zizmor"}
    for name in checks:
        if name in needs:
            tool(needs[name])
    results = []
    for name in checks:
        start = time.monotonic()
        res = RUNNERS[name](inputs)
        res.seconds = time.monotonic() - start
        results.append(res)
    return results
