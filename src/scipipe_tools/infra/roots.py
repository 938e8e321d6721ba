"""Distribution server roots: a local directory, an http(s) URL or an ``s3://bucket/prefix``
(S3-compatible object storage, see :mod:`.objectstore`), read the same way.

``EUPS_PKGROOT`` is a ``|``-separated list of roots searched in order.  A missing file
is a :class:`ResolutionError` (exit 3); a server that cannot be reached, after a couple
of quick retries with short timeouts, is a :class:`NetworkError` (exit 5).  Downloads
are atomic: a temporary sibling renamed into place.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
import urllib.parse
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, TypeVar

from ..errors import InputError, NetworkError, ResolutionError
from ..eups.taglist import TagList, parse_taglist
from ..names import serverlayout as layout
from ..text import decode
from .files import atomic_writer
from .http import USER_AGENT
from .objectstore import ObjectStore, is_s3_url, parse_s3_url

if TYPE_CHECKING:
    import http.client

log = logging.getLogger(__name__)

TIMEOUT = 10.0
RETRIES = 2
#: seconds before the first retry; doubled for each further one
RETRY_DELAY = 0.25
#: left as they are in URLs: EUPS versions hold "+", tarball names "@"
_SAFE = "/@+"
_RETRY_STATUS = frozenset({500, 502, 503, 504})
_HREF = re.compile(r"""href\s*=\s*["']?([^"'\s>]+)""", re.I)
T = TypeVar("T")


def split_pkgroot(value: str) -> list[str]:
    """The roots of an ``EUPS_PKGROOT`` value (``bin|src``), in order, blanks dropped."""
    return [part.strip() for part in value.split("|") if part.strip()]


def check_rel(rel: str) -> str:
    """A path inside a root: relative, without ``..`` (names come from manifests)."""
    p = PurePosixPath(rel)
    if not rel or p.is_absolute() or ".." in p.parts or "\\" in rel:
        raise InputError(f"refusing path {rel!r}: not a plain path inside the root")
    return rel


class Root(ABC):
    """One distribution server root."""

    def __init__(self, spec: str) -> None:
        self.spec = spec

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"

    def __str__(self) -> str:
        return self.spec

    @abstractmethod
    def url(self, rel: str) -> str:
        """Where ``rel`` is, for messages and for EUPS."""

    @abstractmethod
    def exists(self, rel: str) -> bool:
        """Whether the root has the file ``rel``."""

    @abstractmethod
    def read_bytes(self, rel: str) -> bytes:
        """The bytes of ``rel``; ResolutionError when missing, NetworkError when unreachable."""

    def read_text(self, rel: str) -> str:
        """The text of ``rel``; ResolutionError when missing, NetworkError when unreachable,
        InputError (at its line) when it is not UTF-8: every caller parses it."""
        return decode(self.read_bytes(rel), self.url(rel))

    @abstractmethod
    def fetch(self, rel: str, dest: Path) -> None:
        """Copy ``rel`` to ``dest`` atomically (a temporary sibling renamed into place)."""

    @abstractmethod
    def list_tags(self) -> list[str] | None:
        """The tags whose lists the root holds, or None when it cannot be listed."""


class Unreachable(NetworkError):
    """No answer from the server at all (refused, timed out, reset), after the retries."""


def _missing(root: Root, rel: str) -> ResolutionError:
    return ResolutionError(f"{root.url(rel)}: not found")


class LocalRoot(Root):
    """A root on the local file system (a path or a ``file://`` URL)."""

    def __init__(self, spec: str) -> None:
        super().__init__(spec)
        path = (
            urllib.parse.unquote(spec.removeprefix("file://")) if spec.startswith("file:") else spec
        )
        self.path = Path(path).expanduser().absolute()

    def url(self, rel: str) -> str:
        return str(self.path / check_rel(rel))

    def exists(self, rel: str) -> bool:
        return (self.path / check_rel(rel)).is_file()

    def read_bytes(self, rel: str) -> bytes:
        try:
            return (self.path / check_rel(rel)).read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise _missing(self, rel) from None
        except OSError as exc:
            raise ResolutionError(f"{self.url(rel)}: cannot read: {exc.strerror}") from exc

    def fetch(self, rel: str, dest: Path) -> None:
        src = self.path / check_rel(rel)
        try:
            with open(src, "rb") as fh, atomic_writer(dest, suffix=".part") as out:
                shutil.copyfileobj(fh, out, 1 << 20)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise _missing(self, rel) from None

    def list_tags(self) -> list[str] | None:
        if not self.path.is_dir():
            raise ResolutionError(f"{self.path}: no such directory")
        names = {p.stem for d in (self.path, self.path / "tags") for p in d.glob("*.list")}
        return sorted(names)


class HttpRoot(Root):
    """A root served over http(s): short timeouts, a couple of retries, then NetworkError."""

    def __init__(
        self,
        spec: str,
        *,
        timeout: float = TIMEOUT,
        retries: int = RETRIES,
        retry_delay: float = RETRY_DELAY,
    ) -> None:
        super().__init__(spec)
        self.base = spec.rstrip("/")
        self.timeout = timeout
        self.retries = max(0, retries)
        self.retry_delay = retry_delay

    def url(self, rel: str) -> str:
        return f"{self.base}/{urllib.parse.quote(check_rel(rel), safe=_SAFE)}"

    def _request(self, url: str, use: Callable[[http.client.HTTPResponse], T], method: str) -> T:
        """``use(response)`` for ``url``, retried on connection errors and 5xx answers."""
        import http.client  # deferred: heavy (http.client, ssl, email: only to go online)
        import urllib.request  # deferred: heavy

        req = urllib.request.Request(url, method=method, headers={"User-Agent": USER_AGENT})
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.retry_delay * 2 ** (attempt - 1))
                log.debug("retrying %s (attempt %d)", url, attempt + 1)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return use(resp)
            except urllib.error.HTTPError as exc:
                if exc.code in (404, 410):
                    raise ResolutionError(f"{url}: not found (HTTP {exc.code})") from None
                if exc.code not in _RETRY_STATUS:
                    raise NetworkError(f"{url}: HTTP {exc.code} {exc.reason}") from None
                last = exc
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                last = exc
        reason = getattr(last, "reason", None) or last
        raise Unreachable(
            f"{url}: cannot reach the server ({reason})",
            hint=f"tried {self.retries + 1} times; check the URL and the network",
        )

    def exists(self, rel: str) -> bool:
        try:
            return self._request(self.url(rel), lambda r: True, "HEAD")
        except ResolutionError:
            return False

    def read_bytes(self, rel: str) -> bytes:
        return self._request(self.url(rel), lambda r: r.read(), "GET")

    def fetch(self, rel: str, dest: Path) -> None:
        def save(resp: http.client.HTTPResponse) -> None:
            import http.client  # deferred: heavy (loaded by now: resp is one)

            with atomic_writer(dest, suffix=".part") as out:
                shutil.copyfileobj(resp, out, 1 << 20)
                length = resp.getheader("Content-Length")
                if length is not None and out.tell() != int(length):
                    raise http.client.IncompleteRead(b"", int(length) - out.tell())

        self._request(self.url(rel), save, "GET")

    def list_tags(self) -> list[str] | None:
        names: set[str] = set()
        listed = False
        for sub in ("", "tags/"):
            url = f"{self.base}/{sub}"
            try:
                html = self._request(url, lambda r: r.read(), "GET").decode(errors="replace")
            except Unreachable:
                raise  # no server there: nothing else will answer either
            except (ResolutionError, NetworkError) as exc:
                log.debug("cannot list %s: %s", url, exc)
                continue
            listed = True
            for href in _HREF.findall(html):
                name = PurePosixPath(urllib.parse.unquote(href.split("?")[0])).name
                if name.endswith(".list") and len(name) > len(".list"):
                    names.add(name.removesuffix(".list"))
        return sorted(names) if listed else None


class S3Root(Root):
    """A root in an S3-compatible bucket: ``s3://bucket/prefix``.

    The endpoint and credentials are boto3's (``AWS_ENDPOINT_URL``, ``~/.aws``...) unless
    a :class:`ObjectStore` is given.  Objects are downloaded whole and checked against
    the SHA-256 they carry (what ``scipipe distrib publish --to`` stores with them).
    """

    def __init__(
        self,
        spec: str,
        *,
        store: ObjectStore | None = None,
        timeout: float = TIMEOUT,
        retries: int = RETRIES,
    ) -> None:
        super().__init__(spec.strip().rstrip("/"))
        self.base = parse_s3_url(spec)
        self.store = store or ObjectStore(timeout=timeout, retries=retries)

    def url(self, rel: str) -> str:
        return str(self.base.child(check_rel(rel)))

    def exists(self, rel: str) -> bool:
        return self.store.head(self.base.child(check_rel(rel))) is not None

    def read_bytes(self, rel: str) -> bytes:
        return self.store.get(self.base.child(check_rel(rel)))

    def fetch(self, rel: str, dest: Path) -> None:
        self.store.download(self.base.child(check_rel(rel)), dest)

    def list_tags(self) -> list[str] | None:
        self.store.check_bucket(self.base)
        names: set[str] = set()
        for sub in (self.base, self.base.child("tags")):
            for obj in self.store.list(sub, recursive=False):
                name = sub.rel(obj.key)
                if name.endswith(".list") and len(name) > len(".list"):
                    names.add(name.removesuffix(".list"))
        return sorted(names)


def open_root(spec: str, *, timeout: float = TIMEOUT, retries: int = RETRIES) -> Root:
    """A :class:`Root` for a directory, ``file://`` URL, http(s) URL or ``s3://`` URL."""
    spec = spec.strip()
    if not spec:
        raise InputError("empty distribution root")
    if spec.startswith(("http://", "https://")):
        return HttpRoot(spec, timeout=timeout, retries=retries)
    if is_s3_url(spec):
        return S3Root(spec, timeout=timeout, retries=retries)
    if "://" in spec and not spec.startswith("file://"):
        raise InputError(
            f"unsupported distribution root {spec!r}: use a directory, http(s) or s3://"
        )
    return LocalRoot(spec)


def find_taglist(root: Root, tag: str) -> TagList | None:
    """The root's list for ``tag`` (``tags/<tag>.list``, else ``<tag>.list``), or None.

    A list whose line 1 names another tag is an InputError naming the file and line.
    """
    for rel in layout.taglist_paths(tag):
        try:
            text = root.read_text(rel)
        except ResolutionError:
            continue
        return parse_taglist(text, root.url(rel), expect_tag=tag)
    return None


def read_taglist(root: Root, tag: str) -> TagList:
    """The root's list for ``tag``; ResolutionError when the root has none."""
    found = find_taglist(root, tag)
    if found is None:
        raise ResolutionError(
            f"unknown tag {tag!r}: no {tag}.list in {root}",
            hint=f"`scipipe distrib list {root}` shows the tags it has",
        )
    return found
