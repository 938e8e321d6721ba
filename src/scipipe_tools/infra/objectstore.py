"""S3-compatible object storage (AWS S3, GCS's XML API with HMAC keys, MinIO...): the gateway.

boto3 does the talking.  The endpoint is the one given, else whatever boto3 reads from the
standard environment and files (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_S3``, a profile's
``endpoint_url``), else AWS.  Credentials come from boto3's usual chain (environment,
``~/.aws/credentials``, a profile, an instance role); with none at all, requests go
unsigned, so a public bucket can still be read.  The secret key and the session token are
registered with :mod:`..redaction` before the first request, so no log line, trace or
error shows them, and no message names anything but ``s3://bucket/key`` and the endpoint.

Every object written here carries its SHA-256 as user metadata (``x-amz-meta-sha256``), is
sent with ``Content-MD5`` (the store refuses a body damaged on the way) and is verified
after the upload: the ETag the store answers must be the MD5 of what was sent (what a
single-part upload's ETag is), or, for a store whose ETags are not MD5s (KMS encryption),
the stored size and SHA-256 must be ours.  Reads check the stored SHA-256 when there is one.

Errors are the project's: a bad ``s3://`` URL is an InputError (2), a missing object or
bucket a ResolutionError (3), a store that cannot be reached or refuses us a NetworkError
(5), a checksum that does not match an IntegrityError (6).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from ..errors import InputError, IntegrityError, NetworkError, ResolutionError, ScipipeError
from ..redaction import register
from .files import atomic_writer

log = logging.getLogger(__name__)

SCHEME = "s3://"
TIMEOUT = 10.0
#: retries after the first attempt (connection errors, throttling, 5xx)
RETRIES = 2
#: connections kept to the store (uploads and downloads run in parallel)
POOL = 32
#: the user metadata key holding an object's SHA-256 (``x-amz-meta-sha256``)
SHA256_META = "sha256"
CHUNK = 1 << 20

#: AWS's rule for new buckets, and underscores (GCS allows them)
_BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]")
_MD5 = re.compile(r"[0-9a-f]{32}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
_NO_BUCKET = frozenset({"NoSuchBucket"})
_DENIED = frozenset(
    {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken",
     "InvalidToken", "AllAccessDisabled", "AccountProblem"}
)  # fmt: skip
_DIGEST = frozenset({"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"})
T = TypeVar("T")


@dataclass(frozen=True)
class S3Url:
    """``s3://bucket/key``; ``key`` is a prefix when the URL names a root ("" for the top)."""

    bucket: str
    key: str = ""

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.key}"

    def child(self, rel: str) -> S3Url:
        """The object ``rel`` under this prefix."""
        _check_key(rel, rel)
        return S3Url(self.bucket, f"{self.key}/{rel}" if self.key else rel)

    @property
    def dir_prefix(self) -> str:
        """The key prefix of everything under this URL (``key/``, or "" for the top)."""
        return f"{self.key}/" if self.key else ""

    def rel(self, key: str) -> str:
        """``key`` relative to this prefix."""
        return key.removeprefix(self.dir_prefix)


def is_s3_url(text: str) -> bool:
    return text.strip().lower().startswith(SCHEME)


def parse_s3_url(text: str) -> S3Url:
    """``s3://bucket[/prefix]``: an InputError naming what is wrong with anything else."""
    spec = text.strip()
    if not is_s3_url(spec):
        raise InputError(f"{spec!r}: not an s3:// URL")
    rest = spec[len(SCHEME) :]
    if any(c in rest for c in "?#"):
        raise InputError(f"{SCHEME}{rest.split('?')[0].split('#')[0]}: an s3:// URL takes no "
                         "query or fragment")  # fmt: skip
    bucket, _, key = rest.partition("/")
    if "@" in bucket:
        raise InputError(
            "an s3:// URL names no credentials",
            hint="credentials come from the environment or ~/.aws (AWS_ACCESS_KEY_ID, ...)",
        )
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise InputError(f"{SCHEME}{bucket}: not a bucket name (3-63 of a-z 0-9 . - _)")
    key = key.strip("/")
    if key:
        _check_key(key, spec)
    return S3Url(bucket, key)


def _check_key(key: str, where: str) -> None:
    parts = key.split("/")
    if (
        not key
        or key.startswith("/")
        or any(p in ("", ".", "..") for p in parts)
        or "\\" in key
        or any(ord(c) < 0x20 or c == "\x7f" for c in key)
        or PurePosixPath(key).is_absolute()
    ):
        raise InputError(f"{where!r}: not a plain object path (no empty, . or .. parts)")


@dataclass(frozen=True)
class Digest:
    """What is sent: its size and checksums (hex)."""

    size: int
    md5: str
    sha256: str


def digest_bytes(data: bytes) -> Digest:
    return Digest(len(data), hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest())


def digest_file(path: Path) -> Digest:
    md5, sha, size = hashlib.md5(), hashlib.sha256(), 0
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            md5.update(chunk)
            sha.update(chunk)
            size += len(chunk)
    return Digest(size, md5.hexdigest(), sha.hexdigest())


@dataclass(frozen=True)
class ObjectInfo:
    """An object in the store.  ``sha256`` is known from a HEAD or GET (user metadata)."""

    key: str
    size: int
    etag: str
    sha256: str | None = None

    @property
    def md5(self) -> str | None:
        """The MD5 of the content, when the ETag is one (a single-part, unencrypted upload)."""
        return self.etag if _MD5.fullmatch(self.etag) else None

    def matches(self, digest: Digest) -> bool | None:
        """Whether this object holds ``digest``'s content; None when the listing cannot
        tell (no MD5 ETag and no SHA-256 known: ask with :meth:`ObjectStore.head`)."""
        if self.size != digest.size:
            return False
        if self.sha256 is not None:
            return self.sha256 == digest.sha256
        if self.md5 is not None:
            return self.md5 == digest.md5
        return None


class StoreUnreachable(NetworkError):
    """No answer from the object store at all (refused, timed out, reset), after retries."""


class ObjectStore:
    """One S3 endpoint: head, get, download, put (verified), list, delete.

    The boto3 client is made at the first request (boto3 is slow to import) and shared by
    threads (boto3 clients are thread-safe).
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        timeout: float = TIMEOUT,
        retries: int = RETRIES,
        pool: int = POOL,
    ) -> None:
        if endpoint is not None and not endpoint.startswith(("http://", "https://")):
            raise InputError(f"object store endpoint {endpoint!r}: not an http(s) URL")
        self._endpoint = endpoint
        self.timeout = timeout
        self.retries = max(0, retries)
        self.pool = pool
        self._client: Any = None
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        """Where requests go (for messages)."""
        return str(self.client.meta.endpoint_url)

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def _make_client(self) -> Any:
        import boto3  # deferred: heavy
        from botocore import UNSIGNED  # deferred: heavy
        from botocore.config import Config  # deferred: heavy

        session = boto3.session.Session()
        creds = session.get_credentials()
        extra: dict[str, Any] = {}
        if creds is None:
            log.debug("no AWS credentials found: requests to the object store go unsigned")
            extra["signature_version"] = UNSIGNED
        else:
            frozen = creds.get_frozen_credentials()
            register(frozen.secret_key)
            register(frozen.token)
        config = Config(
            connect_timeout=self.timeout,
            read_timeout=max(self.timeout, 60.0),
            retries={"max_attempts": self.retries + 1, "mode": "standard"},
            max_pool_connections=self.pool,
            # We send Content-MD5 and check the ETag ourselves.  boto3's default extra
            # checksums (CRC32 in a chunked trailer) are refused by some S3-compatible
            # stores, GCS's XML API among them.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            user_agent_extra="scipipe-tools",
            **extra,
        )
        try:
            return session.client("s3", endpoint_url=self._endpoint, config=config)
        except ValueError as exc:  # a malformed endpoint
            raise InputError(f"object store endpoint {self._endpoint!r}: {exc}") from None

    # --- errors --------------------------------------------------------------------

    def _call(self, url: S3Url | str, fn: Callable[[], T]) -> T:
        """``fn()``, with boto3's exceptions turned into the project's."""
        from botocore import exceptions as bx  # deferred: heavy

        try:
            return fn()
        except ScipipeError:
            raise
        except bx.ClientError as exc:
            raise self._client_error(url, exc) from None
        except (bx.ConnectionError, bx.HTTPClientError) as exc:
            raise StoreUnreachable(
                f"{url}: cannot reach the object store at {self._where()} ({type(exc).__name__})",
                hint=f"tried {self.retries + 1} times; check --s3-endpoint / AWS_ENDPOINT_URL "
                "and the network",
            ) from None
        except (bx.NoCredentialsError, bx.PartialCredentialsError) as exc:
            raise InputError(
                f"{url}: incomplete AWS credentials ({type(exc).__name__})",
                hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in "
                "~/.aws/credentials (for GCS: HMAC keys)",
            ) from None
        except bx.ParamValidationError as exc:
            raise InputError(f"{url}: {exc}") from None
        except bx.BotoCoreError as exc:
            raise NetworkError(f"{url}: object store error: {exc}") from None

    def _where(self) -> str:
        try:
            return self.endpoint
        except ScipipeError:
            return str(self._endpoint)

    def _client_error(self, url: S3Url | str, exc: Any) -> ScipipeError:
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = str(err.get("Message", "") or code)
        if code in _NO_BUCKET:
            bucket = url.bucket if isinstance(url, S3Url) else url
            return ResolutionError(f"{SCHEME}{bucket}: no such bucket at {self._where()}")
        if code in _MISSING or status == 404:
            return ResolutionError(f"{url}: not found")
        if code in _DIGEST:
            return IntegrityError(f"{url}: the store refused the upload: {code}: {message}")
        if code in _DENIED or status == 403:
            return NetworkError(
                f"{url}: access denied by the object store ({code})",
                hint="check the credentials (AWS_ACCESS_KEY_ID, a profile; GCS: HMAC keys) "
                "and the bucket's permissions",
            )
        return NetworkError(f"{url}: object store error: HTTP {status} {code}: {message}")

    # --- verbs ---------------------------------------------------------------------

    def head(self, url: S3Url) -> ObjectInfo | None:
        """The object's size, ETag and SHA-256 (when it carries one); None when missing."""
        try:
            resp = self._call(url, lambda: self.client.head_object(Bucket=url.bucket, Key=url.key))
        except ResolutionError:
            return None
        return _info(url.key, resp)

    def get(self, url: S3Url) -> bytes:
        """The object's bytes, checked against its SHA-256 when it carries one."""

        def read() -> tuple[bytes, dict[str, Any]]:
            resp = self.client.get_object(Bucket=url.bucket, Key=url.key)
            return resp["Body"].read(), resp

        data, resp = self._call(url, read)
        info = _info(url.key, resp)
        if len(data) != info.size:
            raise NetworkError(f"{url}: short read ({len(data)} of {info.size} bytes)")
        if info.sha256 is not None and hashlib.sha256(data).hexdigest() != info.sha256:
            raise IntegrityError(f"{url}: content does not match its stored sha256")
        return data

    def download(self, url: S3Url, dest: Path) -> None:
        """The object into ``dest`` atomically (a temporary sibling renamed into place)."""

        def save() -> None:
            resp = self.client.get_object(Bucket=url.bucket, Key=url.key)
            info = _info(url.key, resp)
            sha, size = hashlib.sha256(), 0
            with atomic_writer(dest, suffix=".part") as out:
                for chunk in resp["Body"].iter_chunks(CHUNK):
                    out.write(chunk)
                    sha.update(chunk)
                    size += len(chunk)
                if size != info.size:
                    raise NetworkError(f"{url}: short read ({size} of {info.size} bytes)")
                if info.sha256 is not None and sha.hexdigest() != info.sha256:
                    raise IntegrityError(f"{url}: content does not match its stored sha256")

        self._call(url, save)

    def put(self, url: S3Url, source: Path | bytes, digest: Digest | None = None) -> ObjectInfo:
        """Upload ``source`` (a file or bytes) to ``url``, verified; the stored object."""
        if digest is None:
            digest = digest_file(source) if isinstance(source, Path) else digest_bytes(source)
        md5_b64 = base64.b64encode(bytes.fromhex(digest.md5)).decode()

        def send() -> dict[str, Any]:
            args: dict[str, Any] = {
                "Bucket": url.bucket,
                "Key": url.key,
                "ContentLength": digest.size,
                "ContentMD5": md5_b64,
                "Metadata": {SHA256_META: digest.sha256},
            }
            if isinstance(source, Path):
                with open(source, "rb") as body:
                    resp: dict[str, Any] = self.client.put_object(Body=body, **args)
                    return resp
            resp = self.client.put_object(Body=source, **args)
            return resp

        resp = self._call(url, send)
        etag = str(resp.get("ETag", "")).strip('"').lower()
        if _MD5.fullmatch(etag):
            if etag != digest.md5:
                raise IntegrityError(
                    f"{url}: the stored object's MD5 {etag} is not what was sent ({digest.md5})"
                )
            return ObjectInfo(url.key, digest.size, etag, digest.sha256)
        stored = self.head(url)  # an ETag that is no MD5: check size and sha256
        if stored is None or stored.size != digest.size or stored.sha256 != digest.sha256:
            raise IntegrityError(f"{url}: the stored object is not what was sent")
        return stored

    def list(self, url: S3Url, *, recursive: bool = True) -> Iterator[ObjectInfo]:
        """The objects under ``url`` as a prefix (``key/...``); only its direct children
        unless ``recursive``.  Keys are full keys; see :meth:`S3Url.rel`."""
        prefix = url.dir_prefix

        def pages() -> list[dict[str, Any]]:
            args: dict[str, Any] = {"Bucket": url.bucket, "Prefix": prefix}
            if not recursive:
                args["Delimiter"] = "/"
            paginator = self.client.get_paginator("list_objects_v2")
            return list(paginator.paginate(**args))

        for page in self._call(url, pages):
            for obj in page.get("Contents", ()):
                etag = str(obj.get("ETag", "")).strip('"').lower()
                yield ObjectInfo(str(obj["Key"]), int(obj.get("Size", 0)), etag)

    def delete(self, url: S3Url) -> None:
        """Remove the object (nothing happens when it is not there)."""
        self._call(url, lambda: self.client.delete_object(Bucket=url.bucket, Key=url.key))

    def check_bucket(self, url: S3Url) -> None:
        """ResolutionError when the bucket does not exist; NetworkError when unreachable."""
        try:
            self._call(url, lambda: self.client.head_bucket(Bucket=url.bucket))
        except ResolutionError:
            raise ResolutionError(
                f"{SCHEME}{url.bucket}: no such bucket at {self._where()}"
            ) from None


def _info(key: str, resp: dict[str, Any]) -> ObjectInfo:
    meta = {str(k).lower(): str(v) for k, v in (resp.get("Metadata") or {}).items()}
    sha = meta.get(SHA256_META, "").lower()
    etag = str(resp.get("ETag", "")).strip('"').lower()
    return ObjectInfo(
        key, int(resp.get("ContentLength", 0)), etag, sha if _SHA256.fullmatch(sha) else None
    )
