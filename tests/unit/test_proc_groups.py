"""proc's children never outlive their call: timeouts, interrupts, normal ends, scopes.

Every test starts a real child that forks, records the pids, and checks by pid that
they are gone (zombies count as gone) with a generous timeout.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scipipe_tools.errors import CommandError
from scipipe_tools.infra import proc
from scipipe_tools.sourcebuild.scheduler import Interrupted, Status, run_dag

from ..processes import GONE_TIMEOUT, alive, pids_in, wait_gone, wait_until

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups")

# A background child that keeps writing (to the step's output, or to nowhere), and its
# pid; then the shell waits for it.
FORK_AND_WAIT = 'sleep 300 & echo $! > "$1/bg.pid"; wait'
FORK_AND_LEAVE = 'sleep 300 </dev/null >/dev/null 2>&1 & echo $! > "$1/bg.pid"'
CHATTY_CHILD = (
    'sh -c \'echo $$ > "$0/bg.pid"; while :; do echo tick; sleep 0.1; done\' "$1" & '
    'echo $$ > "$1/sh.pid"; wait'
)
SILENT_CHILD = 'sleep 300 & echo $! > "$1/bg.pid"; echo $$ > "$1/sh.pid"; wait'
# The grandchild moves to a process group of its own (as coreutils ``timeout`` does).
ESCAPES_THE_GROUP = (
    f"{sys.executable} -c 'import os, time, sys; os.setpgid(0, 0); "
    'open(sys.argv[1] + "/bg.pid", "w").write(str(os.getpid())); time.sleep(300)\' "$1" & '
    'while [ ! -s "$1/bg.pid" ]; do sleep 0.02; done; wait'
)


@pytest.fixture
def marks(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "marks"
    path.mkdir()
    yield path
    for pid in pids_in(path):  # whatever a failing test left running
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def sh(script: str, marks: Path) -> list[str]:
    return ["sh", "-c", script, "sh", str(marks)]


def in_thread(fn: Callable[[], Any], timeout: float = GONE_TIMEOUT) -> Any:
    """``fn()`` in a thread; fails (instead of hanging the suite) when it does not end."""
    out: list[Any] = []

    def target() -> None:
        try:
            out.append(fn())
        except BaseException as exc:  # handed to the test
            out.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"did not return within {timeout} s"
    return out[0]


# -- proc.run ---------------------------------------------------------------------------


def test_run_leaves_nothing_behind(marks: Path) -> None:
    r = proc.run(sh(FORK_AND_LEAVE, marks))
    assert r.returncode == 0
    assert wait_gone(pids_in(marks)) == []
    assert proc.live_groups() == []


def test_run_does_not_wait_for_a_grandchild_holding_its_output(marks: Path) -> None:
    r = in_thread(lambda: proc.run(sh('sleep 300 & echo $! > "$1/bg.pid"; echo done', marks)))
    assert isinstance(r, proc.Result) and r.stdout == "done\n"
    assert wait_gone(pids_in(marks)) == []


def test_run_timeout_takes_the_group_down(marks: Path) -> None:
    err = in_thread(lambda: proc.run(sh(FORK_AND_WAIT, marks), timeout=2))
    assert isinstance(err, CommandError) and "timed out after 2 s" in str(err)
    assert len(pids_in(marks)) == 1
    assert wait_gone(pids_in(marks)) == []


def test_run_timeout_reaches_a_grandchild_in_a_group_of_its_own(marks: Path) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("the session sweep reads /proc")
    err = in_thread(lambda: proc.run(sh(ESCAPES_THE_GROUP, marks), timeout=2))
    assert isinstance(err, CommandError)
    assert len(pids_in(marks)) == 1
    assert wait_gone(pids_in(marks)) == []


def test_run_with_input_and_stdout_path(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    r = proc.run(["cat"], input="hello\n", stdout_path=out)
    assert r.returncode == 0 and out.read_text() == "hello\n"
    assert proc.run(["cat"], input=b"\x00\x01").stdout == "\x00\x01"
    with pytest.raises(CommandError, match="exit code 3"):
        proc.run(["sh", "-c", "echo oops >&2; exit 3"])


# -- proc.run_logged --------------------------------------------------------------------


def test_run_logged_timeout_takes_the_grandchild_down(marks: Path, tmp_path: Path) -> None:
    log = tmp_path / "step.log"
    code = in_thread(lambda: proc.run_logged(sh(CHATTY_CHILD, marks), log, timeout=2))
    assert code == -signal.SIGTERM
    assert len(pids_in(marks)) == 2
    assert wait_gone(pids_in(marks)) == []
    text = log.read_text()
    assert "] tick\n" in text and "*** timed out after 2 s" in text
    assert text.rstrip().endswith("exit code -15")


def test_run_logged_timeout_of_a_silent_step(marks: Path, tmp_path: Path) -> None:
    code = in_thread(lambda: proc.run_logged(sh(SILENT_CHILD, marks), tmp_path / "l", timeout=1))
    assert code == -signal.SIGTERM
    assert wait_gone(pids_in(marks)) == []


def test_run_logged_ends_with_its_first_process(marks: Path, tmp_path: Path) -> None:
    """A step that exits leaving a background child that holds its output: the call
    returns the step's status and the child is taken down."""
    script = (
        'sh -c \'echo $$ > "$0/bg.pid"; while :; do echo tick; sleep 0.1; done\' "$1" & '
        'while [ ! -s "$1/bg.pid" ]; do sleep 0.02; done; exit 5'
    )
    log = tmp_path / "step.log"
    code = in_thread(lambda: proc.run_logged(sh(script, marks), log))
    assert code == 5
    assert wait_gone(pids_in(marks)) == []
    assert log.read_text().rstrip().endswith("exit code 5")
    assert proc.live_groups() == []


def test_run_logged_interrupted_takes_the_group_down(marks: Path, tmp_path: Path) -> None:
    """An interrupt in the calling thread (Ctrl-C, or the CLI's SIGTERM handler)."""

    def interrupt_when_started() -> None:
        wait_until(lambda: len(pids_in(marks)) == 2, GONE_TIMEOUT, "the step to start")
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    thread = threading.Thread(target=interrupt_when_started, daemon=True)
    thread.start()
    with pytest.raises(KeyboardInterrupt):
        proc.run_logged(sh(CHATTY_CHILD, marks), tmp_path / "step.log")
    thread.join()
    assert wait_gone(pids_in(marks)) == []
    assert "*** interrupted" in (tmp_path / "step.log").read_text()


# -- spawn, stop and the registry -------------------------------------------------------


def test_spawned_child_is_registered_until_stopped(marks: Path, tmp_path: Path) -> None:
    child = proc.spawn(sh(FORK_AND_WAIT, marks), stdout_path=tmp_path / "o",
                       stderr_path=tmp_path / "e")  # fmt: skip
    wait_until(lambda: len(pids_in(marks)) == 1, GONE_TIMEOUT, "the child to fork")
    assert child.pid in proc.live_groups()
    assert proc.stop(child) == -signal.SIGTERM
    assert child.pid not in proc.live_groups()
    assert wait_gone([child.pid, *pids_in(marks)]) == []


def test_stop_after_the_child_exited_takes_what_it_left(marks: Path, tmp_path: Path) -> None:
    child = proc.spawn(sh(FORK_AND_LEAVE, marks), stdout_path=tmp_path / "o",
                       stderr_path=tmp_path / "e")  # fmt: skip
    assert proc.wait(child, timeout=GONE_TIMEOUT) == 0
    assert alive(pids_in(marks)[0])
    assert proc.stop(child) == 0
    assert wait_gone(pids_in(marks)) == []


def test_wait_timeout_stops_the_child(marks: Path, tmp_path: Path) -> None:
    child = proc.spawn(sh(FORK_AND_WAIT, marks), stdout_path=tmp_path / "o",
                       stderr_path=tmp_path / "e")  # fmt: skip
    wait_until(lambda: len(pids_in(marks)) == 1, GONE_TIMEOUT, "the child to fork")
    with pytest.raises(CommandError, match="timed out"):
        proc.wait(child, timeout=0.5)
    assert wait_gone(pids_in(marks)) == [] and child.pid not in proc.live_groups()


def test_wait_with_a_timeout_wakes_on_the_exit_not_a_poll(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Popen.wait(timeout) polls, sleeping up to 50 ms between looks: that much late after
    # every worker's exit.  proc.wait sleeps on the exit itself (a pidfd) instead.
    child = proc.spawn([sys.executable, "-c", "import time; time.sleep(0.3)"],
                       stdout_path=tmp_path / "o", stderr_path=tmp_path / "e")  # fmt: skip
    naps: list[float] = []
    real_sleep, me = time.sleep, threading.get_ident()

    def sleep(seconds: float) -> None:
        if threading.get_ident() == me:
            naps.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    assert proc.wait(child, timeout=GONE_TIMEOUT) == 0
    assert naps == []


def test_scope_close_takes_its_children_down_but_not_older_ones(
    marks: Path, tmp_path: Path
) -> None:
    older = proc.spawn(["sleep", "300"], stdout_path=tmp_path / "o0", stderr_path=tmp_path / "e0")
    try:
        with proc.Scope() as scope:
            child = proc.spawn(sh(FORK_AND_WAIT, marks), stdout_path=tmp_path / "o",
                               stderr_path=tmp_path / "e")  # fmt: skip
            assert scope.members() == [child]
            wait_until(lambda: len(pids_in(marks)) == 1, GONE_TIMEOUT, "the child to fork")
        assert wait_gone([child.pid, *pids_in(marks)]) == []
        assert alive(older.pid) and older.pid in proc.live_groups()
    finally:
        proc.stop(older)


def test_a_stopped_scope_refuses_new_children_but_in_the_main_thread(tmp_path: Path) -> None:
    """Worker threads' work ends; the main thread unwinds, and its cleanup may need git."""
    with proc.Scope() as scope:
        scope.stop()
        assert proc.stopping()
        err = in_thread(lambda: proc.run(["true"]))
        assert isinstance(err, proc.Stopped)
        err = in_thread(lambda: proc.run_logged(["true"], tmp_path / "log"))
        assert isinstance(err, proc.Stopped)
        assert proc.run(["echo", "cleanup"]).stdout == "cleanup\n"
    assert not proc.stopping()
    assert in_thread(lambda: proc.run(["true"])).returncode == 0


def test_stop_escalates_to_sigkill(marks: Path, tmp_path: Path) -> None:
    """A group that ignores SIGTERM is killed after the grace period, without anyone
    waiting on it (a daemon thread does it)."""
    script = 'trap "" TERM; sleep 300 & echo $! > "$1/bg.pid"; wait; wait'
    with proc.Scope() as scope:
        child = proc.spawn(["sh", "-c", script, "sh", str(marks)], stdout_path=tmp_path / "o",
                           stderr_path=tmp_path / "e")  # fmt: skip
        wait_until(lambda: len(pids_in(marks)) == 1, GONE_TIMEOUT, "the child to fork")
        scope.stop()
        assert child.wait(timeout=GONE_TIMEOUT) == -signal.SIGKILL


# -- the build scheduler ----------------------------------------------------------------


def test_interrupted_run_dag_takes_the_running_steps_down(marks: Path, tmp_path: Path) -> None:
    """A KeyboardInterrupt in the caller's thread while a node runs a forking step: the
    node ends at once (its group is taken down) instead of running to completion."""

    def work(node: str, cores: int) -> str:
        if node == "slow":
            proc.run_logged(sh(CHATTY_CHILD, marks), tmp_path / "slow.log")
            return "built"
        wait_until(lambda: len(pids_in(marks)) == 2, GONE_TIMEOUT, "the slow step")
        return "built"

    def on_finish(result: Any) -> None:
        if result.name == "quick":
            raise KeyboardInterrupt

    def run() -> Any:
        return run_dag({"quick": [], "slow": []}, work, budget=2, on_finish=on_finish)

    err = in_thread(run)
    assert isinstance(err, Interrupted)
    assert err.results["slow"].status is Status.FAILED
    assert err.results["slow"].detail == "interrupted"
    assert wait_gone(pids_in(marks)) == []
    assert "*** stopped" in (tmp_path / "slow.log").read_text()
