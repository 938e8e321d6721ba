"""HTTP verbs (standard library only): reachability checks."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

USER_AGENT = "scipipe-tools"


def status(url: str, *, timeout: float = 10.0) -> int | str:
    """The HTTP status of a HEAD request for ``url``, or why there is none."""
    if not url.startswith(("http://", "https://")):
        return "not an http(s) URL"
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
    todo = [u for u in dict.fromkeys(urls) if u.startswith(("http://", "https://"))]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = pool.map(lambda u: status(u, timeout=timeout), todo)
        return dict(zip(todo, results, strict=True))
