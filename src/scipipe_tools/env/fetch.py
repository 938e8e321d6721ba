"""Conda package archives downloaded and verified before anything is installed.

py-rattler does not check a ``file://`` package against the hash in its record (a swapped
archive installs under the wrong name; see the tests), so scipipe checks every archive
itself: it streams the archive from its URL (``file://``, ``http://``, ``https://``) into
a temporary file while hashing it, compares the sha256 (and md5, when the lock has it) with
the lock, and only then renames it into a content-addressed cache,
``<cache>/archives/<sha256 or md5>/<file name>``.  Only archives from that cache reach the
installer.  A cache entry exists only if it was verified when written, so a hit needs no
download and no rehash.
"""

from __future__ import annotations

import hashlib
import time
import urllib.parse
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError, IntegrityError, NetworkError, ResolutionError
from ..infra.files import atomic_writer
from ..infra.lockfile import LockedPackage
from ..infra.progress import NULL, Progress

USER_AGENT = "scipipe-tools"
CHUNK = 4 << 20
TRIES = 3


@dataclass(frozen=True)
class Fetched:
    package: LockedPackage
    archive: Path
    #: False when the archive was already in the cache
    downloaded: bool


def file_name(url: str) -> str:
    name = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
    if not name.endswith((".conda", ".tar.bz2")):
        raise InputError(f"not a conda package URL (.conda or .tar.bz2): {url}")
    return name


def cache_path(cache: Path, package: LockedPackage) -> Path:
    key = package.sha256 or package.md5
    if not key:
        raise IntegrityError(
            f"{package.name} {package.version} ({package.platform}) has no sha256 or md5 "
            "in the lock: refusing to install what cannot be verified"
        )
    return cache / "archives" / key.lower() / file_name(package.url)


def _open(url: str, timeout: float) -> BinaryIO:
    import urllib.error  # deferred: heavy
    import urllib.request  # deferred: heavy (20 ms), only for http URLs

    scheme = urllib.parse.urlsplit(url).scheme
    if scheme == "file":
        path = urllib.request.url2pathname(urllib.parse.urlsplit(url).path)
        try:
            return open(path, "rb")
        except FileNotFoundError:
            raise ResolutionError(f"package not found: {url}") from None
        except OSError as exc:
            raise NetworkError(f"cannot read {url}: {exc.strerror or exc}") from exc
    if scheme not in ("http", "https"):
        raise InputError(f"unsupported URL scheme {scheme!r}: {url}")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        response: BinaryIO = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise ResolutionError(f"package not found (HTTP 404): {url}") from exc
        raise NetworkError(f"HTTP {exc.code} for {url}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise NetworkError(f"cannot reach {url}: {getattr(exc, 'reason', exc)}") from exc
    return response


def _download(package: LockedPackage, dest: Path, timeout: float) -> None:
    """Stream ``package.url`` to ``dest`` while hashing; verify, then rename into place.

    The strongest hash the lock has is checked: sha256, else md5.
    """
    kind, expected = ("sha256", package.sha256) if package.sha256 else ("md5", package.md5)
    digest = hashlib.new(kind, usedforsecurity=kind != "md5")
    with atomic_writer(dest, suffix=".part") as out, _open(package.url, timeout) as src:
        try:
            for chunk in iter(lambda: src.read(CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
        except OSError as exc:
            raise NetworkError(f"download of {package.url} failed: {exc}") from exc
        actual = digest.hexdigest()
        if (expected or "").lower() != actual:  # raised inside: the partial file goes
            raise IntegrityError(
                f"{package.name} {package.version}: {kind} mismatch for {package.url} "
                f"(lock: {(expected or '').lower()}, file: {actual}); refusing it, "
                "nothing installed"
            )


def fetch_one(package: LockedPackage, cache: Path, *, timeout: float = 60.0) -> Fetched:
    """The verified archive of ``package`` in ``cache``, downloading it if needed."""
    dest = cache_path(cache, package)
    if dest.is_file():
        return Fetched(package, dest, downloaded=False)
    for attempt in range(1, TRIES + 1):
        try:
            _download(package, dest, timeout)
            break
        except NetworkError:
            if attempt == TRIES:
                raise
            time.sleep(0.2 * 2**attempt)
    return Fetched(package, dest, downloaded=True)


def fetch_all(
    packages: Sequence[LockedPackage],
    cache: Path,
    *,
    jobs: int = 8,
    progress: Progress = NULL,
    timeout: float = 60.0,
) -> list[Fetched]:
    """Fetch and verify every package concurrently; the first failure stops the rest.

    Returns the results in the order of ``packages``.  What the cache has is taken as it
    is (verified when it was downloaded), without a thread; before anything is
    downloaded, the debris of killed downloads is cleared (:func:`clear_partials`).
    Nothing is installed here, so a failure leaves only verified archives in the cache.
    """
    # refuse unverifiable packages before any download
    paths = [cache_path(cache, package) for package in packages]
    if not packages:
        return []
    progress.start(len(packages), "fetching")
    results: dict[int, Fetched] = {}
    try:
        for i, (package, path) in enumerate(zip(packages, paths, strict=True)):
            if path.is_file():
                results[i] = Fetched(package, path, downloaded=False)
                progress.advance(package.name)
        if len(results) < len(packages):
            clear_partials(cache)
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures: dict[Future[Fetched], int] = {
                pool.submit(fetch_one, p, cache, timeout=timeout): i
                for i, p in enumerate(packages)
                if i not in results
            }
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    error = future.exception()
                    if error is not None:
                        for other in pending:
                            other.cancel()
                        raise error
                    fetched = future.result()
                    results[futures[future]] = fetched
                    progress.advance(fetched.package.name)
    finally:
        progress.finish()
    return [results[i] for i in range(len(packages))]


#: A ``.part`` file untouched this long belongs to no download still running.
STALE_PART_SECONDS = 24 * 3600


def clear_partials(cache: Path, *, older_than: float = STALE_PART_SECONDS) -> None:
    """Remove ``.part`` files that killed downloads left behind.

    The cache is shared by every environment, and another process may be downloading
    into it right now, so only files untouched for ``older_than`` seconds go.
    """
    cutoff = time.time() - older_than
    for part in (cache / "archives").glob("*/.*.part"):
        try:
            if part.stat().st_mtime < cutoff:
                part.unlink(missing_ok=True)
        except FileNotFoundError:
            pass  # finished (renamed) or removed meanwhile
