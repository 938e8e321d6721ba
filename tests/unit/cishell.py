"""Run a CI definition's shell script as its engine does, against stub commands that log
their argv (and the environment variables a test asks about): what the script passes to
``scipipe`` and ``lsstinstall``, checked without running them."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

#: how each engine runs a script
JENKINS_SHELL = ("sh", "-e", "-c")
GITHUB_SHELL = ("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c")

#: a published tag, and the pkgroot lsstinstall writes for it
TAG = "w_2026_48"
PKGROOT = "https://eups.example/stack/redhat/el8/conda-system/13.0.1|https://eups.example/stack/src"
#: lsstinstall as a stub: the environment and its stack's pkgroot, where -p and -e put them
LSSTINSTALL = f"""
while [ $# -gt 0 ]; do case "$1" in -p) root="$2"; shift;; -e) name="$2"; shift;; esac; shift; done
mkdir -p "$root/envs/$name/share/eups"
echo '{PKGROOT}' > "$root/envs/$name/share/eups/pkgroot"
"""

LOGGER = """\
#!{python}
import json, os, sys
with open({log!r}, "a") as fh:
    fh.write(json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd(),
                          "env": {{k: os.environ.get(k) for k in {watch!r}}}}}) + "\\n")
"""


def sh_script(pipeline: Path, label: str) -> str:
    """The single-quoted script of the Jenkins ``sh`` step labelled ``label`` (a step
    or, with ``returnStdout``, a call whose output the pipeline reads)."""
    pattern = rf"sh[ (]label: '{re.escape(label)}',(?: returnStdout: true,)? script: '''(.*?)'''"
    found = re.findall(pattern, pipeline.read_text(), re.S)
    assert len(found) == 1, f"{pipeline.name}: {len(found)} sh steps labelled {label!r}"
    return str(found[0])


def run_script(
    tmp: Path,
    script: str,
    stubs: dict[str, str],
    *,
    shell: tuple[str, ...] = JENKINS_SHELL,
    watch: tuple[str, ...] = (),
    returncode: int = 0,
    **env: str,
) -> list[dict[str, object]]:
    """Run ``script`` in ``tmp`` with only ``env`` (and PATH, HOME) set and each stub on
    PATH: a command that logs its argv and the ``watch`` variables, then runs the given
    shell code.  Returns the stubs' records in call order; the script must exit with
    ``returncode``."""
    bindir = tmp / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    log = tmp / "argv.jsonl"
    logger = bindir / ".logger"
    logger.write_text(LOGGER.format(python=sys.executable, log=str(log), watch=list(watch)))
    logger.chmod(0o755)
    for name, then in stubs.items():
        stub = bindir / name
        stub.write_text(f'#!/bin/sh\n"{logger}" {name} "$@"\n{then}\n')
        stub.chmod(0o755)
    full = {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp), **env}
    r = subprocess.run([*shell, script], cwd=tmp, env=full, capture_output=True, text=True,
                       check=False, timeout=60)  # fmt: skip
    assert r.returncode == returncode, r.stdout + r.stderr
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


#: a step's env value that is one of the workflow's inputs
INPUT_EXPR = re.compile(r"^\$\{\{ inputs\.([A-Za-z0-9_-]+) \}\}$")


def real(command: str, module: str | None = None) -> str:
    """Stub code that runs the real ``command`` (``python -m module`` of this interpreter
    when it has the module, else the executable on PATH); skips the test without it."""
    if module is not None and importlib.util.find_spec(module) is not None:
        return f'exec "{sys.executable}" -m {module} "$@"'
    found = shutil.which(command)
    if found is None:
        pytest.skip(f"{command} is not installed")
    return f'exec "{found}" "$@"'


@dataclass
class StepsRun:
    records: list[dict[str, Any]]
    ran: list[str]  # the names of the steps run, in order
    failed: str | None  # the step that failed (the job stops there), or None
    output: str

    def argvs(self, command: str) -> list[list[str]]:
        return [r["argv"][1:] for r in self.records if r["argv"][0] == command]


def step_env(step: dict[str, Any], inputs: dict[str, str]) -> dict[str, str]:
    """A step's ``env:``, its ``${{ inputs.X }}`` values filled in from ``inputs``."""
    env = {}
    for key, value in (step.get("env") or {}).items():
        found = INPUT_EXPR.match(str(value))
        assert found or "${{" not in str(value), f"{key}: {value} is not a plain input"
        env[key] = inputs[found.group(1)] if found else str(value)
    return env


def run_steps(
    tmp: Path, steps: list[dict[str, Any]], inputs: dict[str, str], stubs: dict[str, str]
) -> StepsRun:
    """Run the ``run:`` steps of a job in order, as a runner does: each by bash in the
    workspace ``tmp/ws`` (or the step's working-directory), with its env and
    GITHUB_WORKSPACE; ``uses:`` steps are skipped (the checkout is the workspace as the
    test made it).  The job stops at the first step that fails."""
    work, bindir, log = tmp / "ws", tmp / "bin", tmp / "argv.jsonl"
    bindir.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)
    logger = bindir / ".logger"
    logger.write_text(LOGGER.format(python=sys.executable, log=str(log), watch=[]))
    logger.chmod(0o755)
    for name, then in stubs.items():
        stub = bindir / name
        stub.write_text(f'#!/bin/sh\n"{logger}" {name} "$@"\n{then}\n')
        stub.chmod(0o755)
    ran, output, failed = [], "", None
    for step in steps:
        if "run" not in step:
            continue
        ran.append(step.get("name", step["run"]))
        env = {"PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}", "HOME": str(tmp),
               "GITHUB_WORKSPACE": str(work), "GITHUB_OUTPUT": str(tmp / "output"),
               **step_env(step, inputs)}  # fmt: skip
        cwd = work / step.get("working-directory", ".")
        r = subprocess.run([*GITHUB_SHELL, step["run"]], cwd=cwd, env=env, capture_output=True,
                           text=True, check=False, timeout=300)  # fmt: skip
        output += r.stdout + r.stderr
        if r.returncode != 0:
            failed = ran[-1]
            break
    records = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return StepsRun(records, ran, failed, output)
