from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from scipipe_tools.errors import LockedError
from scipipe_tools.infra.lock import StackLock

HOLD = """
import sys, time
from pathlib import Path
from scipipe_tools.infra.lock import StackLock
with StackLock(Path(sys.argv[1])):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_second_holder_is_refused_and_a_kill_releases(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(LockedError, match=f"pid {holder.pid}"), StackLock(tmp_path):
            pass
    finally:
        holder.kill()  # SIGKILL: no cleanup runs
        holder.wait()
    deadline = time.monotonic() + 5
    while True:
        try:
            with StackLock(tmp_path):
                break
        except LockedError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
