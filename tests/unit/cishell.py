"""Run a CI definition's shell script as its engine does, against stub commands that log
their argv (and the environment variables a test asks about): what the script passes to
``scipipe`` and ``lsstinstall``, checked without running them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

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
    fh.write(json.dumps({{"argv": sys.argv[1:],
                          "env": {{k: os.environ.get(k) for k in {watch!r}}}}}) + "\\n")
"""


def sh_script(pipeline: Path, label: str) -> str:
    """The single-quoted script of the Jenkins ``sh`` step labelled ``label``."""
    pattern = rf"sh label: '{re.escape(label)}', script: '''(.*?)'''"
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
