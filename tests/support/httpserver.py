"""A real static HTTP server on 127.0.0.1, for tests and benchmarks.

``with StaticServer(directory) as server:`` serves ``directory`` (with directory
listings, as a plain web server does) on an ephemeral port until the block ends;
``server.url`` is its base URL.  Faults can be injected per path, for a number of
requests or for good: an HTTP error status, or a connection dropped without an answer.
Every request is recorded (``server.requests``).
"""

from __future__ import annotations

import functools
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

#: Fault kinds: an HTTP status code as text ("500", "404", ...) or "drop".
DROP = "drop"


@dataclass
class _Fault:
    kind: str
    remaining: int | None  # None: for good


class _Handler(SimpleHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read stderr
        pass

    def _fault(self) -> bool:
        path = urllib.parse.unquote(self.path.split("?", 1)[0])
        kind = self.server.owner.take_fault(path, self.command)
        if kind is None:
            return False
        if kind == DROP:
            self.close_connection = True
            self.wfile.flush()
            self.connection.close()
            return True
        self.send_error(int(kind))
        return True

    def do_GET(self) -> None:
        if not self._fault():
            super().do_GET()

    def do_HEAD(self) -> None:
        if not self._fault():
            super().do_HEAD()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops bursts of parallel connections, and each
    # dropped SYN costs the client a one-second retransmit
    request_queue_size = 128
    owner: StaticServer


class StaticServer:
    """Serve ``directory`` over HTTP on 127.0.0.1 (an ephemeral port unless ``port``)."""

    def __init__(self, directory: Path, *, port: int = 0) -> None:
        self.directory = Path(directory).resolve()
        handler = functools.partial(_Handler, directory=str(self.directory))
        self._httpd = _Server(("127.0.0.1", port), handler)
        self._httpd.owner = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="static-http", daemon=True
        )
        self._lock = threading.Lock()
        self._faults: dict[str, _Fault] = {}
        #: (method, path) of every request, in arrival order
        self.requests: list[tuple[str, str]] = []

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, rel: str) -> str:
        return f"{self.url}/{rel.lstrip('/')}"

    def fail(self, rel: str, kind: str = "500", *, times: int | None = None) -> None:
        """Answer requests for ``rel`` with ``kind`` (a status code or ``"drop"``),
        the next ``times`` times or, when None, until :meth:`heal`."""
        if kind != DROP and not (kind.isascii() and kind.isdigit() and 400 <= int(kind) <= 599):
            raise ValueError(f"fault kind must be an HTTP error status or {DROP!r}: {kind!r}")
        with self._lock:
            self._faults["/" + rel.lstrip("/")] = _Fault(kind, times)

    def heal(self, rel: str | None = None) -> None:
        """Remove the fault on ``rel`` (all faults when None)."""
        with self._lock:
            if rel is None:
                self._faults.clear()
            else:
                self._faults.pop("/" + rel.lstrip("/"), None)

    def take_fault(self, path: str, method: str) -> str | None:
        with self._lock:
            self.requests.append((method, path))
            fault = self._faults.get(path)
            if fault is None:
                return None
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self._faults[path]
            return fault.kind

    def start(self) -> StaticServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> StaticServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
