"""The README's sample-stack commands work as written (past creating the venv).

They run verbatim in an empty directory whose ``.venv`` is this test run's environment:
the demo with its local conda channel, the lock and the environment, the source build,
then the publish and lsstinstall with ``--install``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def without_setup(command: str) -> str:
    """The command without ``python3 -m venv`` and ``pip install``: the test's venv has both."""
    parts = [p for p in command.strip().split(" && ")
             if not p.startswith(("python3 -m venv", ".venv/bin/pip install"))]  # fmt: skip
    return " && ".join(parts)


def test_the_first_command_installs_and_builds_the_sample_stack() -> None:
    first = blocks()[0].strip()
    assert first.startswith("python3 -m venv .venv && .venv/bin/pip install -e '.[demo]' && ")
    assert "\n" not in first  # one command
    assert blocks()[1].strip() == (
        "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest"
    )
    assert (ROOT / ".ci" / "run").read_text().count(blocks()[1].strip()) == 1


@pytest.mark.slow
def test_the_sample_stack_walkthrough_runs_as_written(tmp_path: Path) -> None:
    first, _, walkthrough, release = blocks()[:4]
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))
    env = {**os.environ, "SCIPIPE_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("CONDA_EXE", None)
    env.pop("EUPS_PATH", None)
    env.pop("EUPS_PKGROOT", None)
    lines = [*walkthrough.strip().splitlines(), *release.strip().splitlines()]
    for line in [without_setup(first), *lines]:
        r = subprocess.run(["sh", "-c", line], cwd=tmp_path, env=env, capture_output=True,
                           text=True, check=False)  # fmt: skip
        assert r.returncode == 0, f"{line}\n{r.stderr}"
    work = tmp_path / "_work"
    assert (work / "demo" / "rubin-env.conda-lock.yml").is_file()
    assert (work / "env" / "bin" / "eups").is_file()
    assert (work / "stack" / "build" / "status.yaml").is_file()
    exact = work / "home" / "conda" / "envs" / "lsst-scipipe-13.0.1-exact"
    installed = list((exact / "share" / "eups" / "ups_db" / "lsst_demo").glob("*.version"))
    assert len(installed) == 1
    assert (exact / "share" / "eups" / "ups_db" / "lsst_demo" / "w_2025_15.chain").is_file()
    # the release manager's weekly: every demo remote tagged, results.json written
    demo = work / "demo"
    tagged = subprocess.run(["git", "cat-file", "-p", "w.2026.48"], cwd=demo / "remotes" / "afw.git",
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "Version w.2026.48 release from w_2026_48/b4" in tagged
    # the officials ran last: results.json is the final 30.0.0's
    assert '"git_tag": "30.0.0"' in (demo / "release" / "build" / "results.json").read_text()
    site = demo / "release" / "changelog"
    assert (site / "html" / "w_2026_48.html").is_file() and (site / "CHANGELOG.md").is_file()
    assert "No tickets" not in (site / "html" / "w_2026_47.html").read_text()
