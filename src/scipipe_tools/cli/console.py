"""Rendering of library progress on stderr: a rich bar for a person, plain lines for a log.

When stderr is a terminal, a transient rich progress bar.  When it is not (Jenkins,
GitHub Actions, ``2> file``), one plain, unpadded line per event as it happens (a phase
starts, a step starts, finishes or fails, with its duration and what the caller adds,
such as the log file) and, every ``SCIPIPE_PROGRESS_INTERVAL`` seconds (default 60; 0
turns it off), a still-running line that lists what runs.  ``SCIPIPE_PROGRESS`` forces a
style: ``bar``, ``plain`` or ``off``; ``-q`` is ``off``.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from types import TracebackType
from typing import Any

from ..errors import InputError
from ..infra.progress import NULL, Progress
from .common import App

#: seconds between still-running lines in plain mode
DEFAULT_INTERVAL = 60.0
INTERVAL_VAR = "SCIPIPE_PROGRESS_INTERVAL"
STYLE_VAR = "SCIPIPE_PROGRESS"
STYLES = ("auto", "bar", "plain", "off")


class RichProgress:
    """A transient progress bar on stderr; one task per phase."""

    def __init__(self) -> None:
        from rich.console import Console  # deferred: heavy (only on a terminal)
        from rich.progress import (  # deferred: heavy
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as Bar  # deferred: heavy

        self._bar = Bar(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[item]}"),
            console=Console(stderr=True),
            transient=True,
        )
        self._task: Any = None
        self._running: dict[str, str] = {}

    def __enter__(self) -> RichProgress:
        self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._bar.stop()

    def start(self, total: int, label: str) -> None:
        self._task = self._bar.add_task(label, total=total, item="")
        self._running = {}

    def begin(self, item: str, detail: str = "") -> None:
        self._running[item] = f"{item} ({detail})" if detail else item
        if self._task is not None:
            self._bar.update(self._task, item=self._now_running())

    def advance(self, item: str = "", detail: str = "", *, failed: bool = False) -> None:
        if self._task is None:
            return
        self._running.pop(item, None)
        if failed:
            self._bar.console.print(f"failed {item}: {detail}" if detail else f"failed {item}",
                                    markup=False, highlight=False)  # fmt: skip
        shown = self._now_running() if self._running else (f"{item}: {detail}" if detail else item)
        self._bar.update(self._task, advance=1, item=shown)

    def note(self, text: str) -> None:
        self._bar.console.print(text, markup=False, highlight=False)

    def finish(self) -> None:
        if self._task is not None:
            self._bar.remove_task(self._task)
            self._task = None
        self._running = {}

    def _now_running(self) -> str:
        return "running: " + ", ".join(self._running.values())


class PlainProgress:
    """One plain line per event on stderr, for logs; see the module's docstring.

    Safe to call from several threads.  The still-running lines come from a thread of
    its own while the context is entered.
    """

    def __init__(self, interval: float = DEFAULT_INTERVAL) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._label: str | None = None
        self._total = 0
        self._done = 0
        self._failed = 0
        self._since = 0.0
        #: begun and not yet advanced: item -> (when it began, its detail)
        self._running: dict[str, tuple[float, str]] = {}
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> PlainProgress:
        if self.interval > 0:
            self._ticker = threading.Thread(target=self._tick, name="progress", daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()

    def start(self, total: int, label: str) -> None:
        with self._lock:
            self._label, self._total, self._done, self._failed = label, total, 0, 0
            self._since = time.monotonic()
            self._running = {}
            self._emit(f"{label}: {total} to do")

    def begin(self, item: str, detail: str = "") -> None:
        with self._lock:
            self._running[item] = (time.monotonic(), detail)
            self._emit(f"{self._where()} started {item}" + (f" ({detail})" if detail else ""))

    def advance(self, item: str = "", detail: str = "", *, failed: bool = False) -> None:
        with self._lock:
            self._done += 1
            self._failed += failed
            began = self._running.pop(item, None)
            line = self._where()
            if began is not None:
                took = duration_text(time.monotonic() - began[0])
                line += f" failed {item} after {took}" if failed else f" finished {item} in {took}"
            else:
                line += f" failed {item}" if failed else f" {item}"
            self._emit(line.rstrip() + (f": {detail}" if detail else ""))

    def note(self, text: str) -> None:
        with self._lock:
            self._emit(text)

    def finish(self) -> None:
        with self._lock:
            if self._label is not None:
                took = duration_text(time.monotonic() - self._since)
                failed = f" ({self._failed} failed)" if self._failed else ""
                self._emit(f"{self._label}: {self._done} of {self._total} done in {took}{failed}")
            self._label, self._running = None, {}

    def still_running(self) -> None:
        """Print the still-running line now (the ticker's work; callable for tests)."""
        with self._lock:
            if self._label is None:
                return
            now = time.monotonic()
            line = f"{self._where()} still running after {duration_text(now - self._since)}"
            items = [
                f"{item} ({detail + ', ' if detail else ''}{duration_text(now - began)})"
                for item, (began, detail) in self._running.items()
            ]
            self._emit(line + (": " + ", ".join(items) if items else ""))

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self.still_running()

    def _where(self) -> str:
        return f"{self._label} [{self._done}/{self._total}]"

    @staticmethod
    def _emit(line: str) -> None:
        # sys.stderr when the line is written: a test runner may swap it
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def duration_text(seconds: float) -> str:
    """``4.2 s``, ``3 m 05 s``, ``1 h 02 m``: a duration for a log line."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} m {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} m"


class _Quiet:
    def __enter__(self) -> Progress:
        return NULL

    def __exit__(self, *exc: object) -> None:
        pass


def progress_for(app: App) -> RichProgress | PlainProgress | _Quiet:
    """The renderer for ``app``: a bar on a terminal, plain lines otherwise, none with -q."""
    style = os.environ.get(STYLE_VAR, "auto").strip().lower() or "auto"
    if style not in STYLES:
        raise InputError(
            f"${STYLE_VAR}={style!r} is not a progress style",
            hint=f"use one of: {', '.join(STYLES)}",
        )
    if app.quiet or style == "off":
        return _Quiet()
    if style == "bar" or (style == "auto" and sys.stderr.isatty()):
        return _Quiet() if app.json and style == "auto" else RichProgress()
    return PlainProgress(_interval())


def _interval() -> float:
    text = os.environ.get(INTERVAL_VAR, "").strip()
    if not text:
        return DEFAULT_INTERVAL
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (value >= 0 and math.isfinite(value)):
        raise InputError(
            f"${INTERVAL_VAR}={text!r} is not a number of seconds",
            hint="0 turns the still-running lines off",
        )
    return value
