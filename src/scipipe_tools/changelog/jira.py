"""Ticket summaries from JIRA's REST API, cached on disk; everything works without it.

``GET <base>/rest/api/2/issue/<KEY>?fields=summary`` for each ticket not in the cache
(``<cache>/<KEY>.json``), a few at a time.  A token (``JIRA_TOKEN`` in the environment)
is sent as a bearer token; it is never logged.  A ticket JIRA does not know (404) is
cached as unknown; a server that cannot be reached is reported once and the summaries
stay empty, so a changelog never fails for want of JIRA.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..infra.files import write_atomic
from ..infra.http import USER_AGENT
from ..redaction import register

log = logging.getLogger(__name__)

DEFAULT_URL = "https://rubinobs.atlassian.net"
TIMEOUT = 10.0


class Jira:
    def __init__(
        self,
        base_url: str,
        cache_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        jobs: int = 4,
        timeout: float = TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.cache_dir = cache_dir
        self._token = (os.environ if env is None else env).get("JIRA_TOKEN") or None
        register(self._token)
        self.jobs = jobs
        self.timeout = timeout
        self.fetched = 0
        self._down = False

    def __repr__(self) -> str:
        return f"Jira({self.base_url!r})"

    def _cached(self, key: str) -> tuple[bool, str | None]:
        try:
            data = json.loads((self.cache_dir / f"{key}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return False, None
        summary = data.get("summary") if isinstance(data, dict) else None
        return True, summary if isinstance(summary, str) else None

    def _fetch(self, key: str) -> str | None:
        if self._down:
            return None
        url = f"{self.base_url}/rest/api/2/issue/{key}?fields=summary"
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            with urllib.request.urlopen(
                urllib.request.Request(url, headers=headers), timeout=self.timeout
            ) as resp:
                data = json.load(resp)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                write_atomic(self.cache_dir / f"{key}.json", json.dumps({"summary": None}))
                return None
            log.warning("JIRA %s: HTTP %s; going on without summaries", self.base_url, exc.code)
            self._down = True
            return None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            log.warning("JIRA %s unreachable (%s); going on without summaries", self.base_url,
                        reason)  # fmt: skip
            self._down = True
            return None
        summary = data.get("fields", {}).get("summary") if isinstance(data, dict) else None
        summary = summary if isinstance(summary, str) else None
        self.fetched += 1
        write_atomic(self.cache_dir / f"{key}.json", json.dumps({"summary": summary}))
        return summary

    def summaries(self, keys: Iterable[str]) -> dict[str, str]:
        """Summaries of the tickets that have one (cached first, then fetched)."""
        out: dict[str, str] = {}
        todo: list[str] = []
        for key in sorted(set(keys)):
            hit, summary = self._cached(key)
            if hit:
                if summary:
                    out[key] = summary
            else:
                todo.append(key)
        if todo:
            with ThreadPoolExecutor(max_workers=max(1, self.jobs)) as pool:
                for key, summary in zip(todo, pool.map(self._fetch, todo), strict=True):
                    if summary:
                        out[key] = summary
        return out
