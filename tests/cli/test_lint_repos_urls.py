"""``lint-repos --check-urls`` against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .conftest import Invoke


class Handler(BaseHTTPRequestHandler):
    def do_HEAD(self) -> None:
        self.send_response(200 if self.path.startswith("/lsst/") else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_check_urls(scipipe: Invoke, server: str, tmp_path: Path) -> None:
    f = tmp_path / "repos.yaml"
    f.write_text(
        f"afw: {server}/lsst/afw.git\n"
        f"gone: {server}/old/gone.git\n"
        "nohost: http://127.0.0.1:9/x.git\n"
    )
    r = scipipe("eups", "lint-repos", "--allow-scheme", "http", "--check-urls", f)
    assert r.code == 2
    errors = [line for line in r.err.splitlines() if line.startswith("error:")]
    assert errors[0] == f"error: {f}:2: gone: {server}/old/gone.git answers 404, not 200"
    assert errors[1].startswith(
        f"error: {f}:3: nohost: http://127.0.0.1:9/x.git answers unreachable"
    )
    assert len(errors) == 2
    # without --check-urls nothing goes over the network and the file is fine
    assert scipipe("eups", "lint-repos", "--allow-scheme", "http", f).code == 0
