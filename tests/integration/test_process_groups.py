"""Child processes never outlive the command: ``scipipe build`` with build steps that fork.

Each step's hook records the pids of everything it starts (its shell, a background
child, an orphaned grandchild whose parent already exited, a ``sleep``) and the
background processes append to a marker file.  After scipipe ends (a signal, or a
normal finish) every one of them must be gone and the marker must stop growing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scipipe_tools.demo.gitrepo import git
from scipipe_tools.demo.samplestack import Materialized, materialize
from scipipe_tools.infra import proc
from scipipe_tools.stack.stack import Stack

from ..processes import alive, pids_in, wait_gone, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups"),
]

FLAVOR = "Linux64"
#: Generous: the step must be running (clone + prepare first), the command must end.
START_TIMEOUT = 120.0
EXIT_TIMEOUT = 60.0

# The hook's build step: a background child and an orphan (its parent subshell exits at
# once) that keep appending to the marker; then a long sleep.  Each records its pid.
FORKING_BUILD = """\
build() {{
    echo $$ > "{marks}/$PRODUCT.step.pid"
    sh -c 'echo $$ > "{marks}/$0.child.pid"; while :; do echo tick >> "{marks}/$0.marker"; sleep 0.1; done' "$PRODUCT" &
    ( sh -c 'echo $$ > "{marks}/$0.orphan.pid"; while :; do echo tock >> "{marks}/$0.marker"; sleep 0.1; done' "$PRODUCT" & )
    sleep 600 &
    echo $! > "{marks}/$PRODUCT.sleep.pid"
    echo started
    wait $!
}}
"""

# A step that finishes at once but leaves a quiet background process behind.
LEAVES_A_DAEMON = """\
build() {{
    sh -c 'echo $$ > "{marks}/$0.orphan.pid"; while :; do echo tock >> "{marks}/$0.marker"; sleep 0.1; done' "$PRODUCT" </dev/null >/dev/null 2>&1 &
    echo $$ > "{marks}/$PRODUCT.step.pid"
    while [ ! -s "{marks}/$PRODUCT.marker" ]; do sleep 0.05; done
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
def cleanup() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Whatever a failing test leaves running is killed: scipipe's session, every pid."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for popen in started:
        if popen.poll() is None:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.wait()


def push_hook(stack: Materialized, product: str, text: str, tmp: Path) -> None:
    work = tmp / f"edit-{product}-{time.monotonic_ns()}"
    git(["clone", "-q", str(stack.remotes[product]), str(work)])
    (work / "ups" / "eupspkg.cfg.sh").write_text(text)
    git(["add", "-A"], cwd=work)
    git(["commit", "-q", "-m", "a build step that forks"], cwd=work)
    git(["push", "-q", "origin", "HEAD:main"], cwd=work)


def start_build(
    stack: Materialized, root: Path, products: list[str], cleanup: list[subprocess.Popen[bytes]]
) -> subprocess.Popen[bytes]:
    argv = proc.python_module("scipipe_tools", "build", *products, "--repos", stack.repos_yaml,
                              "--root", root, "-j", "2", "--exclusion-map", stack.exclusions or "",
                              "--flavor", FLAVOR)  # fmt: skip
    env = {**os.environ, **proc.child_pythonpath()}
    # A session of its own, so that the test can clean up after a failure; the signals
    # under test go to scipipe's pid alone, as a CI runner or ``kill`` sends them.
    with open(root.parent / "scipipe.stderr", "wb") as stderr:
        popen = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=stderr,
                                 start_new_session=True)  # fmt: skip
    cleanup.append(popen)
    return popen


def written(path: Path) -> bool:
    return path.is_file() and bool(path.read_text().strip())


def kill_leftovers(marks: Path) -> None:
    for pid in pids_in(marks):
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"]
)
def test_a_signal_takes_every_running_step_down(
    signum: int,
    code: int,
    own_stack: Materialized,
    marks: Path,
    tmp_path: Path,
    cleanup: list[subprocess.Popen[bytes]],
) -> None:
    products = ["afwdata", "utils"]  # no dependencies between them: both run at once
    for product in products:
        push_hook(own_stack, product, FORKING_BUILD.format(marks=marks), tmp_path)
    root = tmp_path / "work"
    scipipe = start_build(own_stack, root, products, cleanup)
    expected = [
        f"{p}.{what}.pid" for p in products for what in ("step", "child", "orphan", "sleep")
    ]
    wait_until(lambda: all(written(marks / f) for f in expected) or scipipe.poll() is not None,
               START_TIMEOUT, "every step to start")  # fmt: skip
    assert scipipe.poll() is None, (root.parent / "scipipe.stderr").read_text()
    pids = pids_in(marks)
    assert len(pids) == len(expected) and all(alive(p) for p in pids)

    os.kill(scipipe.pid, signum)
    try:
        scipipe.wait(timeout=EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"scipipe did not exit within {EXIT_TIMEOUT} s of {signum!r}")
    survivors = wait_gone(pids)
    assert survivors == [], f"still running after scipipe exited: {survivors}"
    stderr = (root.parent / "scipipe.stderr").read_text()
    assert scipipe.returncode == code, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    for product in products:
        marker = marks / f"{product}.marker"
        size = marker.stat().st_size
        time.sleep(0.5)
        assert marker.stat().st_size == size, f"{marker.name} still grows"
    # the executor's cleanup ran: no staging directory, no half-declared product
    for product in products:
        assert not list((root / "stack" / FLAVOR / product).glob(".*staging*"))
        assert Stack(root / "stack", FLAVOR).versions(product) == []


def test_a_finished_step_leaves_nothing_running(
    own_stack: Materialized, marks: Path, tmp_path: Path, cleanup: list[subprocess.Popen[bytes]]
) -> None:
    push_hook(own_stack, "afwdata", LEAVES_A_DAEMON.format(marks=marks), tmp_path)
    root = tmp_path / "work"
    scipipe = start_build(own_stack, root, ["afwdata"], cleanup)
    try:
        scipipe.wait(timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail("the build did not finish")
    assert scipipe.returncode == 0, (root.parent / "scipipe.stderr").read_text()
    pids = pids_in(marks)
    assert len(pids) == 2
    assert wait_gone(pids) == []
    assert len(Stack(root / "stack", FLAVOR).versions("afwdata")) == 1


# A command that holds children of every kind: the py-rattler worker (spawned, waiting
# for its job), a spawned child that forks, a fan-out of proc.run in a thread pool, and
# a child that proc did not start (as GitPython starts git).
HOLDING_COMMAND = """\
import subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click

from scipipe_tools.infra import proc
from scipipe_tools.cli.app import run
from scipipe_tools.env.worker import Started

marks = Path(sys.argv[1])
FORK = 'sleep 300 & echo $! > "$1/$2.pid"; wait'


@click.command()
def hold() -> None:
    with Started("solve"):
        proc.spawn(["sh", "-c", FORK, "sh", marks, "spawned"], stdout_path=marks / "o",
                   stderr_path=marks / "e")
        stray = subprocess.Popen(["sleep", "300"])
        (marks / "stray.pid").write_text(str(stray.pid))
        with ThreadPoolExecutor(2) as pool:
            fan = [pool.submit(proc.run, ["sh", "-c", FORK, "sh", marks, f"fan{i}"])
                   for i in range(2)]
            while not all((marks / f"fan{i}.pid").is_file()
                          and (marks / f"fan{i}.pid").read_text().strip() for i in range(2)):
                time.sleep(0.02)
            for pid in proc.live_groups():
                (marks / f"group-{pid}.pid").write_text(str(pid))
            (marks / "ready").write_text("ready")
            for f in fan:
                f.result()


sys.exit(run(hold, [], "hold"))
"""


@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)], ids=["SIGTERM", "SIGHUP"]
)
def test_a_signal_takes_down_workers_and_fan_outs(
    signum: int, code: int, marks: Path, tmp_path: Path, cleanup: list[subprocess.Popen[bytes]]
) -> None:
    script = tmp_path / "hold.py"
    script.write_text(HOLDING_COMMAND)
    env = {**os.environ, **proc.child_pythonpath()}
    with open(tmp_path / "stderr", "wb") as stderr:
        driver = subprocess.Popen([sys.executable, str(script), str(marks)], env=env,
                                  stdin=subprocess.DEVNULL, stderr=stderr,
                                  start_new_session=True)  # fmt: skip
    cleanup.append(driver)
    wanted = ["ready", "spawned.pid", "fan0.pid", "fan1.pid", "stray.pid"]
    wait_until(lambda: all(written(marks / f) for f in wanted) or driver.poll() is not None,
               START_TIMEOUT, "the command to start its children")  # fmt: skip
    assert driver.poll() is None, (tmp_path / "stderr").read_text()
    pids = pids_in(marks)
    assert len(pids) == 4 + 3 + 1  # 4 groups (worker, spawned, 2 fan-out), 3 forks, a stray
    os.kill(driver.pid, signum)
    try:
        driver.wait(timeout=EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the command did not exit within {EXIT_TIMEOUT} s of {signum!r}")
    assert wait_gone(pids) == []
    stderr_text = (tmp_path / "stderr").read_text()
    assert driver.returncode == code, stderr_text
    assert "interrupted" in stderr_text and "Traceback" not in stderr_text


def test_the_boundary_takes_down_what_a_command_left_running(marks: Path, tmp_path: Path) -> None:
    """A normal end, and an unexpected exception: no child survives the command."""
    import click

    from scipipe_tools.cli.app import run

    @click.command()
    @click.argument("how")
    def leave(how: str) -> None:
        proc.spawn(["sh", "-c", 'sleep 300 & echo $! > "$1/$2.pid"; wait', "sh", str(marks), how],
                   stdout_path=tmp_path / "o", stderr_path=tmp_path / "e")  # fmt: skip
        wait_until(lambda: written(marks / f"{how}.pid"), START_TIMEOUT, "the fork")
        if how == "crash":
            raise RuntimeError("a bug")

    assert run(leave, ["fine"], "leave") == 0
    assert run(leave, ["crash"], "leave") == 70
    pids = pids_in(marks)
    assert len(pids) == 2 and wait_gone(pids) == []
    assert proc.live_groups() == []
