"""HTTP verbs (standard library only): reachability checks."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from ..redaction import redact

USER_AGENT = "scipipe-tools"


def status(url: str, *, timeout: float = 10.0) -> int | str:
    """The HTTP status of a HEAD request for ``url``, or why there is none."""
    if not url.startswith(("http://", "https://")):
        return "not an http(s) URL"
    import urllib.request  # deferred: heavy (http.client, ssl, email: only to go online)

    req = urllib.request.Request(url, method="HEAD", headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"unreachable ({reason})"


def statuses(
    urls: Iterable[str], *, workers: int = 8, timeout: float = 10.0
) -> dict[str, int | str]:
    """:func:`status` of many URLs, concurrently."""
    from concurrent.futures import ThreadPoolExecutor  # deferred: heavy

    todo = [u for u in dict.fromkeys(urls) if u.startswith(("http://", "https://"))]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = pool.map(lambda u: status(u, timeout=timeout), todo)
        return dict(zip(todo, results, strict=True))


def trace_requests(on: bool = True) -> None:
    """Trace every HTTP request and response header (``http.client``'s debug output,
    which PyGithub, requests and urllib all go through) to the ``scipipe_tools.infra.http``
    logger at debug level: on stderr with the rest of the log, never on stdout, and with
    credentials (``Authorization`` and the like) redacted like every other line."""

    import http.client  # deferred: heavy

    logger = logging.getLogger("scipipe_tools.infra.http")

    def to_log(*args: object, **_: object) -> None:
        logger.debug("%s", redact(" ".join(str(a) for a in args)))

    # http.client prints its trace with the module-level name ``print``
    setattr(http.client, "print", to_log)  # noqa: B010
    http.client.HTTPConnection.debuglevel = 1 if on else 0
