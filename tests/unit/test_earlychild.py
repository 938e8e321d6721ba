"""A child started with ``os.posix_spawn`` before anything is imported
(:mod:`scipipe_tools.infra.earlychild`), then adopted by :mod:`scipipe_tools.infra.proc`:
it behaves as one ``proc.spawn`` started (own session, stdin a pipe, output in files,
waited for, stopped, taken down with the command's scope), and nothing is left behind.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from scipipe_tools.infra import earlychild, proc

#: a child that echoes its stdin as indented JSON (and waits for it: stdin open = alive)
MODULE = "json.tool"


@pytest.fixture(autouse=True)
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A TMPDIR of the test's own; and no child of proc's left registered after it."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    yield tmp
    assert proc.live_groups() == []


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_spawn_starts_the_module_in_its_own_session_with_private_files(private_tmp: Path) -> None:
    early = earlychild.spawn(MODULE, ["{workdir}/in", "{workdir}/out.json"], prefix="t-")
    try:
        workdir = Path(early.workdir)
        assert workdir.parent == private_tmp and workdir.name.startswith("t-")
        assert stat.S_IMODE(workdir.stat().st_mode) == 0o700
        assert early.argv == [sys.executable, "-m", MODULE,
                              f"{workdir}/in", f"{workdir}/out.json"]  # fmt: skip
        assert os.getsid(early.pid) == early.pid  # a session (and group) of its own
        environ = Path(f"/proc/{early.pid}/environ").read_bytes().split(b"\0")
        path = next(v for v in environ if v.startswith(b"PYTHONPATH="))
        assert path.split(b"=", 1)[1].split(b":")[0] == earlychild.src_root().encode()
    finally:
        os.close(early.stdin_fd)
        os.waitpid(early.pid, 0)


def test_an_adopted_child_reads_its_stdin_and_is_waited_for() -> None:
    early = earlychild.spawn(MODULE, [], prefix="t-")
    popen = proc.adopt(early)
    assert popen.poll() is None  # waits for its stdin
    assert popen.stdin is not None
    popen.stdin.write(b'{"a": [1]}')
    popen.stdin.close()
    assert proc.wait(popen, timeout=60) == 0
    assert popen.returncode == 0 and popen.poll() == 0
    assert (Path(early.workdir) / "stdout").read_text() == '{\n    "a": [\n        1\n    ]\n}\n'
    proc.finish(popen)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "subprocess is still running" ResourceWarning
        del popen


def test_an_adopted_child_that_fails_reports_its_status_and_stderr() -> None:
    early = earlychild.spawn(MODULE, [], prefix="t-")
    popen = proc.adopt(early)
    assert popen.stdin is not None
    popen.stdin.write(b"{not json")
    popen.stdin.close()
    assert proc.wait(popen, timeout=60) == 1
    assert "Expecting property name" in (Path(early.workdir) / "stderr").read_text()
    proc.finish(popen)


def test_stop_takes_an_adopted_child_down() -> None:
    early = earlychild.spawn(MODULE, [], prefix="t-")
    popen = proc.adopt(early)
    assert proc.stop(popen, grace=5) == -signal.SIGTERM
    assert not alive(early.pid)


def test_a_wait_that_times_out_takes_it_down() -> None:
    popen = proc.adopt(earlychild.spawn(MODULE, [], prefix="t-"))
    with pytest.raises(proc.CommandError, match="timed out"):
        proc.wait(popen, timeout=0.2)
    assert not alive(popen.pid)


def test_the_command_scope_takes_an_adopted_child_down() -> None:
    with proc.Scope() as scope:
        early = earlychild.spawn(MODULE, [], prefix="t-")
        popen = proc.adopt(early)
        scope.stop()
        deadline = time.monotonic() + 10
        while popen.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert popen.returncode == -signal.SIGTERM


def test_a_stopping_command_refuses_to_adopt_and_takes_the_child_down() -> None:
    raised: list[BaseException] = []
    with proc.Scope() as scope:
        scope.stop()
        early = earlychild.spawn(MODULE, [], prefix="t-")

        def adopt() -> None:  # another thread than the main one, which may still start
            try:
                proc.adopt(early)
            except BaseException as exc:
                raised.append(exc)

        thread = threading.Thread(target=adopt)
        thread.start()
        thread.join()
    assert len(raised) == 1 and isinstance(raised[0], proc.Stopped)
    assert not alive(early.pid)


def test_spawn_that_cannot_start_leaves_nothing(
    private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(private_tmp / "missing"))
    with pytest.raises(OSError):
        earlychild.spawn(MODULE, [], prefix="t-")
    monkeypatch.setenv("TMPDIR", str(private_tmp))
    monkeypatch.setattr(sys, "executable", str(private_tmp / "no-python"))
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(OSError):
        earlychild.spawn(MODULE, [], prefix="t-")
    assert list(private_tmp.iterdir()) == []  # its directory removed
    assert set(os.listdir("/proc/self/fd")) <= before  # and both ends of the pipe closed


def test_a_posix_spawn_without_sessions_is_an_os_error(
    private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(macOS before 10.15, old C libraries: the command then starts its worker itself.)"""

    def no_setsid(*args: object, **kwargs: object) -> int:
        raise NotImplementedError("setsid is not supported")

    monkeypatch.setattr(os, "posix_spawn", no_setsid)
    with pytest.raises(OSError, match="cannot start a session"):
        earlychild.spawn(MODULE, [], prefix="t-")
    assert list(private_tmp.iterdir()) == []
