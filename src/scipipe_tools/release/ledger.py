"""The per-repo result ledger of a tagging run (spec section 9, pain point 1).

Codekit writes tags one repo at a time with no record: a run that dies half-way is
recovered only by rerunning everything.  The ledger is an append-only JSON-lines file;
each successful write appends one line (flushed and fsynced before the next repo is
reported done), so a rerun knows exactly which repos are finished and re-reads only the
others.  A line is trusted only for what was asked again: the same forge, repo, tag,
commit, message and tagger (name and email; a line of an older ledger without them is
never trusted), so a rerun with another ``--user`` reads the tags and reports each
conflict.  A truncated last line (a kill mid-write) is ignored.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..forge.base import Tagger
from ..names import outputs

log = logging.getLogger(__name__)


_REQUIRED = ("forge", "repo", "tag", "sha", "message", "outcome")


def _tagger_of(raw: dict[str, object]) -> dict[str, str]:
    """The tagger of a ledger line; empty (never trusted) in a line of an older ledger."""
    return {k: str(raw.get(k) or "") for k in ("tagger_name", "tagger_email")}


@dataclass(frozen=True)
class Entry:
    forge: str
    repo: str
    tag: str
    sha: str
    message: str
    outcome: str
    tagger_name: str = ""
    tagger_email: str = ""

    def key(self) -> tuple[str, str, str]:
        return (self.forge, self.repo, self.tag)


def state_dir(env: dict[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/scipipe/release`` (default ``~/.local/state/scipipe/release``)."""
    e = os.environ if env is None else env
    base = e.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "scipipe" / "release"


def default_path(git_tag: str, build_id: str) -> Path:
    return state_dir() / outputs.tag_ledger_name(git_tag, build_id)


class Ledger:
    """Reads the entries of earlier runs; appends this run's (thread-safe)."""

    def __init__(self, path: Path, forge: str) -> None:
        self.path = path
        self.forge = forge
        self._lock = threading.Lock()
        self._fh: IO[str] | None = None
        self._done: dict[tuple[str, str, str], Entry] = {}
        self._load()

    def _load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        for lineno, line in enumerate(text.splitlines(), 1):
            try:
                raw = json.loads(line)
                entry = Entry(**{k: str(raw[k]) for k in _REQUIRED}, **_tagger_of(raw))
            except (ValueError, KeyError, TypeError, AttributeError):
                log.warning("%s:%d: ignoring an unreadable ledger line", self.path, lineno)
                continue
            if entry.forge == self.forge:
                self._done[entry.key()] = entry

    def done(self, repo: str, tag: str, sha: str, message: str, tagger: Tagger) -> bool:
        """Whether an earlier run recorded this exact tag (commit, message, tagger name
        and email) as written or in sync."""
        entry = self._done.get((self.forge, repo, tag))
        return (
            entry is not None
            and bool(entry.tagger_name)
            and (entry.sha, entry.message, entry.tagger_name, entry.tagger_email)
            == (sha, message, tagger.name, tagger.email)
        )

    def record(
        self, repo: str, tag: str, sha: str, message: str, tagger: Tagger, outcome: str
    ) -> None:
        entry = Entry(self.forge, repo, tag, sha, message, outcome, tagger.name, tagger.email)
        line = json.dumps(
            {**entry.__dict__, "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")},
            sort_keys=True,
        )
        with self._lock:
            if self._fh is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
            self._fh.write(line + "\n")
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._done[entry.key()] = entry

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None
