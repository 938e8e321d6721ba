"""pypiserver on 127.0.0.1 (a free port), as a subprocess: a real PyPI-compatible index
(the simple API with ``#sha256=`` links, twine uploads) for ``release pypi``.

Uploads need the user and password of an htpasswd file written here; reading does not.

    with PypiServer(tmp / "index") as index:
        ... --repository-url index.url  (TWINE_USERNAME=index.user, TWINE_PASSWORD=...)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType

from passlib.apache import HtpasswdFile

from scipipe_tools.errors import ScipipeError
from scipipe_tools.infra import proc

from .gitdaemon import _free_port

START_TIMEOUT = 30.0
USER = "uploader"
PASSWORD = "pypi-test-password-NEVER-PRINTED-42"


class PypiServer:
    def __init__(self, packages: Path) -> None:
        self.packages = packages
        self.port = 0
        self.user = USER
        self.password = PASSWORD
        self._proc: subprocess.Popen[bytes] | None = None
        self._logs: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        """The upload URL (pypiserver takes uploads at its root)."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def simple(self) -> str:
        return f"{self.url}simple/"

    def start(self) -> PypiServer:
        self.packages.mkdir(parents=True, exist_ok=True)
        self._logs = tempfile.TemporaryDirectory(prefix="pypiserver-")
        logs = Path(self._logs.name)
        htpasswd = HtpasswdFile(str(logs / "htpasswd"), new=True)
        htpasswd.set_password(self.user, self.password)
        htpasswd.save()
        for _ in range(5):  # the free port may be taken before the server binds it
            port = _free_port()
            popen = proc.spawn(
                [sys.executable, "-m", "pypiserver", "run", "-i", "127.0.0.1", "-p", str(port),
                 "-P", str(logs / "htpasswd"), "-a", "update", "--disable-fallback",
                 "--hash-algo", "sha256", "--server", "wsgiref", str(self.packages)],
                stdout_path=logs / f"out-{port}", stderr_path=logs / f"err-{port}",
            )  # fmt: skip
            if _wait_ready(popen, f"http://127.0.0.1:{port}/simple/"):
                self._proc, self.port = popen, port
                return self
            proc.stop(popen)
        err = sorted(logs.glob("err-*"))
        tail = err[-1].read_text(errors="replace")[-2000:] if err else ""
        self.stop()
        raise ScipipeError(f"pypiserver did not start:\n{tail}")

    def stop(self) -> None:
        if self._proc is not None:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
            proc.stop(self._proc)
            self._proc = None
        if self._logs is not None:
            self._logs.cleanup()
            self._logs = None

    def __enter__(self) -> PypiServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _wait_ready(popen: subprocess.Popen[bytes], url: str) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                return int(resp.status) == 200
        except OSError:
            time.sleep(0.1)
    return False
