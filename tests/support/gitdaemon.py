"""A real ``git daemon`` on 127.0.0.1, for tests and benchmarks of git over the network.

``with GitDaemon(base) as daemon:`` serves every repository under ``base`` (read and
write: ``--export-all --enable=receive-pack``) on a free port until the block ends;
``daemon.url_for("lsst/afw.git")`` is ``git://127.0.0.1:<port>/lsst/afw.git``.
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from scipipe_tools.errors import ScipipeError
from scipipe_tools.infra import proc

#: Seconds to wait for the daemon to accept connections.
START_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GitDaemon:
    """``git daemon`` serving ``base_path`` on 127.0.0.1 (a free port unless ``port``)."""

    def __init__(self, base_path: Path, *, port: int | None = None) -> None:
        self.base_path = Path(base_path).resolve()
        self._wanted_port = port
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._logs: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        """``git://127.0.0.1:<port>``: the base of every repository's URL."""
        return f"git://127.0.0.1:{self.port}"

    def url_for(self, relpath: str) -> str:
        """The URL of the repository at ``base_path/relpath``."""
        return f"{self.url}/{relpath.lstrip('/')}"

    def start(self) -> GitDaemon:
        self.base_path.mkdir(parents=True, exist_ok=True)
        self._logs = tempfile.TemporaryDirectory(prefix="git-daemon-")
        last = ""
        # a free port can be taken between our probe and the daemon's bind: try again
        for _ in range(1 if self._wanted_port else 5):
            port = self._wanted_port or _free_port()
            err = Path(self._logs.name) / f"stderr-{port}"
            popen = proc.spawn(
                [
                    "git",
                    "daemon",
                    "--reuseaddr",
                    "--export-all",
                    "--enable=receive-pack",
                    "--informative-errors",
                    "--listen=127.0.0.1",
                    f"--port={port}",
                    f"--base-path={self.base_path}",
                ],
                stdout_path=Path(self._logs.name) / f"stdout-{port}",
                stderr_path=err,
            )
            if _wait_listening(popen, port):
                self._proc, self.port = popen, port
                return self
            _stop(popen)
            lines = err.read_text(errors="replace").strip().splitlines()
            last = lines[-1] if lines else last
        self._logs.cleanup()
        self._logs = None
        raise ScipipeError(f"git daemon did not start: {last or 'no error output'}")

    def stop(self) -> None:
        if self._proc is not None:
            _stop(self._proc)
            self._proc = None
        if self._logs is not None:
            self._logs.cleanup()
            self._logs = None

    def __enter__(self) -> GitDaemon:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _wait_listening(popen: subprocess.Popen[bytes], port: int) -> bool:
    """Whether the daemon accepts connections on ``port`` before it exits or times out."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.02)
    return False


def _stop(popen: subprocess.Popen[bytes]) -> None:
    if popen.stdin is not None:
        popen.stdin.close()
    proc.stop(popen)  # the daemon and the children it forked for connections
