"""moto's standalone S3 server on 127.0.0.1 (a free port), in a thread: the real S3
protocol for the real boto3 client, with a recorder in front of it.

The recorder keeps every request's method and object key in order, and can refuse every
object PUT after the first N (``fail_puts_after``: an upload interrupted midway) or damage
the bodies of PUTs (``corrupt_puts``).  moto keeps its buckets in the process, so each
server starts by resetting them.

    with S3Server() as s3:
        s3.create_bucket("pkgs")
        ... endpoint_url=s3.endpoint ...
"""

from __future__ import annotations

import io
import logging
import os
import threading
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

#: what the test clients sign with (moto accepts any)
ACCESS_KEY = "AKIASCIPIPETESTKEY01"
SECRET_KEY = "scipipe-test-secret/NEVER-PRINTED-0123456789"
SESSION_TOKEN = "scipipe-test-session-token-NEVER-PRINTED-abcdef"

_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Access Denied (the test's recorder refuses this PUT)</Message></Error>"
)

StartResponse = Callable[..., Any]


def use_test_credentials(monkeypatch: pytest.MonkeyPatch, tmp: Path) -> None:
    """boto3 configured by the standard environment only: the test keys, no ``AWS_*``
    of the machine and no ``~/.aws`` files (the endpoint is the caller's to set)."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp / "no-aws-credentials"))


class S3Server:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        #: refuse every object PUT after this many (None: never)
        self.fail_puts_after: int | None = None
        #: flip a byte of every object PUT's body before moto sees it
        self.corrupt_puts = False
        self._puts = 0
        self._lock = threading.Lock()
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.endpoint = ""

    def __enter__(self) -> S3Server:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            "127.0.0.1", 0, self._recorder(app), threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.endpoint = f"http://127.0.0.1:{self._server.server_port}"
        req = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:  # moto keeps state per process
            resp.read()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._thread.join(timeout=10)

    # --- the recorder ------------------------------------------------------------------

    def _recorder(self, app: Any) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
        def record(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
            method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
            is_object_put = method == "PUT" and path.strip("/").count("/") >= 1
            with self._lock:
                refuse = False
                if is_object_put:
                    self._puts += 1
                    refuse = self.fail_puts_after is not None and self._puts > self.fail_puts_after
                self.requests.append(("PUT-REFUSED" if refuse else method, path))
            if refuse:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                environ["wsgi.input"].read(length)
                start_response(
                    "403 Forbidden",
                    [("Content-Type", "application/xml"), ("Content-Length", str(len(_DENIED)))],
                )
                return [_DENIED]
            if is_object_put and self.corrupt_puts:
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = bytearray(environ["wsgi.input"].read(length))
                if body:
                    body[0] ^= 0xFF
                environ["wsgi.input"] = io.BytesIO(bytes(body))
            return app(environ, start_response)  # type: ignore[no-any-return]

        return record

    # --- looking at it -----------------------------------------------------------------

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Every key under ``prefix`` (relative to it), sorted."""
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return sorted(
            obj["Key"].removeprefix(prefix) for page in pages for obj in page.get("Contents", ())
        )

    def read(self, bucket: str, key: str) -> bytes:
        data: bytes = self.client().get_object(Bucket=bucket, Key=key)["Body"].read()
        return data

    def put(self, bucket: str, key: str, data: bytes, **extra: Any) -> None:
        self.client().put_object(Bucket=bucket, Key=key, Body=data, **extra)

    def object_puts(self, bucket: str, prefix: str = "") -> list[str]:
        """The keys PUT so far (under ``prefix``, relative to it), in the order they came."""
        start = f"/{bucket}/{prefix}"
        with self._lock:
            return [p.removeprefix(start) for m, p in self.requests
                    if m == "PUT" and p.startswith(start) and p != f"/{bucket}"]  # fmt: skip

    def forget_requests(self) -> None:
        with self._lock:
            self.requests.clear()
            self._puts = 0
