"""Timeouts that keep their logs: ``scipipe build --timeout/--total-timeout`` and SIGTERM.

A product of the sample stack gets a build step that never ends: it prints some lines,
starts a child that ignores SIGTERM, a child in a process group of its own, and sleeps.
The build must stop it (every one of those processes: checked by pid and by process
group once scipipe has returned), fail it with the reason, keep its log and print its
last lines, build the rest, and write status.json and junit.xml.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scipipe_tools.demo.samplestack import Materialized, materialize
from scipipe_tools.infra import proc

from ..processes import pids_in, wait_gone, wait_until
from .test_process_groups import kill_leftovers, push_hook

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc"),
]

FLAVOR = "Linux64"
#: generous: catches a hang, not a slow machine
RUN_TIMEOUT = 180.0

# base's build step: 30 lines, a child that ignores SIGTERM, a child in a process group
# of its own (job control), then a foreground sleep that never ends
HANGS = """\
build() {{
    echo $$ > "{marks}/$PRODUCT.step.pid"
    i=0; while [ $i -lt 30 ]; do i=$((i+1)); echo "hanging line $i"; done
    sh -c 'trap "" TERM; echo $$ > "$1/$2.stubborn.pid"; while :; do sleep 0.1; done' \\
        sh "{marks}" "$PRODUCT" &
    set -m
    sleep 1000 &
    echo $! > "{marks}/$PRODUCT.ownpgrp.pid"
    set +m
    while [ ! -s "{marks}/$PRODUCT.stubborn.pid" ]; do sleep 0.05; done
    echo "now hanging"
    sleep 1000
}}
"""


@pytest.fixture
def own_stack(tmp_path: Path, examples_dir: Path) -> Materialized:
    return materialize(examples_dir / "sample-stack", tmp_path / "remotes", history=False)


@pytest.fixture
def marks(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "marks"
    path.mkdir()
    yield path
    kill_leftovers(path)  # whatever a failing test left running


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    out: list[subprocess.Popen[bytes]] = []
    yield out
    for popen in out:
        if popen.poll() is None:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.wait()


def scipipe(
    stack: Materialized, root: Path, *args: str | os.PathLike[str]
) -> subprocess.Popen[bytes]:
    """``scipipe build ARGS`` in a session of its own; stdout and stderr to files."""
    argv = proc.python_module("scipipe_tools", "build", *args, "--repos", stack.repos_yaml,
                              "--root", root, "--exclusion-map", stack.exclusions or "",
                              "--flavor", FLAVOR, "--no-tests", "--no-env")  # fmt: skip
    env = {**os.environ, **proc.child_pythonpath()}
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / "out", "wb") as out, open(root.parent / "err", "wb") as err:
        return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True)  # fmt: skip


def finish(popen: subprocess.Popen[bytes], root: Path) -> tuple[int, str, str]:
    try:
        code = popen.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"scipipe build did not end within {RUN_TIMEOUT} s")
    return code, (root.parent / "out").read_text(), (root.parent / "err").read_text()


def group_members(pgid: int) -> list[int]:
    """The running processes of process group ``pgid`` (zombies are not running)."""
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if int(stat[2]) == pgid and stat[0] not in ("Z", "X", "x"):
                out.append(int(name))
    return out


def assert_nothing_left(marks: Path) -> None:
    """Every process the hanging step started is gone, and so are their groups."""
    pids = pids_in(marks)
    names = sorted(p.name for p in marks.glob("*.pid"))
    assert names == ["base.ownpgrp.pid", "base.step.pid", "base.stubborn.pid"]
    # SIGKILL was sent and the step's leader reaped before scipipe returned; a moment
    # for the kernel to finish the others off
    assert wait_gone(pids, timeout=2.0) == [], "a process of the step outlived scipipe"
    for pid in (int((marks / "base.step.pid").read_text()),
                int((marks / "base.ownpgrp.pid").read_text())):  # fmt: skip
        assert group_members(pid) == [], f"process group {pid} still has members"


def status_of(root: Path) -> dict[str, Any]:
    data = json.loads((root / "build" / "status.json").read_text())
    return {p["name"]: p for p in data["products"]}


def junit_of(root: Path) -> dict[str, ET.Element]:
    tree = ET.parse(root / "build" / "junit.xml")
    return {case.get("name", ""): case for case in tree.getroot().iter("testcase")}


def test_a_product_that_hangs_times_out_and_the_rest_is_built(
    own_stack: Materialized, marks: Path, tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    push_hook(own_stack, "base", HANGS.format(marks=marks), tmp_path)
    root = tmp_path / "work"
    started.append(scipipe(own_stack, root, "log", "pex_config", "-j", "2", "--timeout", "2"))
    code, out, err = finish(started[-1], root)
    assert code == 8, err
    assert_nothing_left(marks)

    products = status_of(root)
    base = products["base"]
    assert base["status"] == "failed" and base["timed_out"] is True
    assert "timed out after 2 s" in base["detail"]
    assert products["log"]["status"] == "skipped"  # depends on base, as for any failure
    assert products["log"]["detail"] == "dependency base failed"
    assert {products[p]["status"] for p in ("utils", "pex_config")} == {"built"}
    # the full log is kept, the reason at its end, and its last lines are printed
    log = Path(base["log"]).read_text()
    assert all(f"hanging line {i}\n" in log for i in range(1, 31))
    assert "now hanging" in log
    assert "*** base: timed out after 2 s: its build step was stopped" in log
    assert "*** error building product base." in err
    assert "*** base: timed out after 2 s (in its build step)" in err
    assert ":::::  " in err and "now hanging" in err
    assert "timed out after 2 s: its build step was stopped" in base["tail"][-1]
    case = junit_of(root)["base"].find("failure")
    assert case is not None and case.get("type") == "BuildTimeout"
    assert "timed out after 2 s" in (case.get("message") or "")
    assert "base" in out and "failed" in out  # the summary table


def test_the_total_timeout_stops_what_runs_and_reports_what_never_started(
    own_stack: Materialized, marks: Path, tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    push_hook(own_stack, "base", HANGS.format(marks=marks), tmp_path)
    root = tmp_path / "work"
    # clone first, so that the total timeout below is spent building
    started.append(scipipe(own_stack, root, "log", "pex_config", "-p"))
    code, _, err = finish(started[-1], root)
    assert code == 0, err
    # one product at a time: utils, then base (the longest chain), which hangs; when
    # the total timeout runs out, pex_config has not started
    started.append(scipipe(own_stack, root, "log", "pex_config", "-n", "-j", "1",
                           "--total-timeout", "12"))  # fmt: skip
    code, _, err = finish(started[-1], root)
    assert code == 8, err
    assert_nothing_left(marks)
    products = status_of(root)
    assert products["utils"]["status"] == "built"
    base = products["base"]
    assert base["status"] == "failed" and base["timed_out"] is True
    assert "the build's total timeout (12 s) ran out" in base["detail"]
    assert products["log"]["status"] == "skipped"
    not_run = products["pex_config"]
    assert not_run["status"] == "not-run" and not_run["started"] is None
    assert not_run["detail"] == "not started: the build's total timeout (12 s) ran out"
    skipped = junit_of(root)["pex_config"].find("skipped")
    assert skipped is not None and "total timeout" in (skipped.get("message") or "")
    assert "1 not built (not started: the build's total timeout (12 s) ran out)" in err
    assert "now hanging" in Path(base["log"]).read_text()


def test_sigterm_stops_the_build_and_still_writes_the_artifacts(
    own_stack: Materialized, marks: Path, tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    """As Jenkins' own timeout stops a job: SIGTERM to scipipe's pid alone."""
    push_hook(own_stack, "base", HANGS.format(marks=marks), tmp_path)
    root = tmp_path / "work"
    started.append(scipipe(own_stack, root, "log", "pex_config", "-j", "2"))
    log = root / "build" / "logs"
    wait_until(lambda: (marks / "base.stubborn.pid").is_file() or started[-1].poll() is not None,
               RUN_TIMEOUT, "base to hang")  # fmt: skip
    wait_until(lambda: any("now hanging" in p.read_text() for p in log.glob("base*"))
               or started[-1].poll() is not None, RUN_TIMEOUT, "base's log")  # fmt: skip
    assert started[-1].poll() is None, (root.parent / "err").read_text()
    os.kill(started[-1].pid, signal.SIGTERM)
    code, _, err = finish(started[-1], root)
    assert code == 143, err
    assert "interrupted" in err and "Traceback" not in err
    assert_nothing_left(marks)
    products = status_of(root)
    base = products["base"]
    assert base["status"] == "failed" and base["timed_out"] is False
    assert base["detail"].startswith("interrupted")
    assert "now hanging" in Path(base["log"]).read_text()
    assert products["log"]["status"] == "skipped"
    assert products["utils"]["status"] == "built"
    assert junit_of(root)["base"].find("failure") is not None
    assert "*** error building product base." in err
