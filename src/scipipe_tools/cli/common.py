"""Shared CLI plumbing: the app context, output helpers, logging."""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass
from typing import Any, TextIO

import click

from ..redaction import redact


@dataclass
class App:
    json: bool = False
    debug: bool = False
    verbosity: int = 0

    @property
    def quiet(self) -> bool:
        return self.verbosity < 0


def get_app() -> App:
    ctx = click.get_current_context()
    app = ctx.find_object(App)
    if app is None:
        app = ctx.ensure_object(App)
    return app


def emit_json(data: Any) -> None:
    import json  # deferred: heavy (for the CLI's start: --help and --version need no JSON)

    click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def echo(text: str = "") -> None:
    click.echo(text)


def info(text: str) -> None:
    """A human message on stderr (suppressed by -q)."""
    if not get_app().quiet:
        click.echo(text, err=True)


def configure_logging(verbosity: int, debug: bool) -> None:
    level = logging.WARNING
    if verbosity >= 1:
        level = logging.INFO
    if verbosity >= 2 or debug:
        level = logging.DEBUG
    if verbosity < 0:
        level = logging.ERROR
    handler: logging.Handler
    if sys.stderr.isatty():
        from rich.console import Console  # deferred: heavy (only on a terminal)
        from rich.logging import RichHandler  # deferred: heavy

        handler = RichHandler(
            console=Console(stderr=True),
            show_time=False,
            show_path=debug,
            markup=False,
            rich_tracebacks=debug,
        )
    else:
        # A log file or a CI log: one line per message, never padded nor wrapped at 80
        # columns (rich's Console does both when it has no terminal to measure).
        handler = _StderrHandler()
        name = " %(name)s:" if debug else ""
        handler.setFormatter(logging.Formatter(f"%(levelname)-8s{name} %(message)s"))
    handler.addFilter(_redact_record)
    handler.addFilter(_OnceEach())
    logging.basicConfig(level=level, format="%(message)s", handlers=[handler], force=True)


class _StderrHandler(logging.StreamHandler[TextIO]):
    """A StreamHandler on whatever ``sys.stderr`` is when a record is written."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # under the handler's lock
        super().emit(record)


class _OnceEach(logging.Filter):
    """A warning says the same thing once per command.  A build reads a table many times
    (planning, its own build, each dependent's setup), and a line EUPS skips would
    otherwise be reported at every reading."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[tuple[int, str]] = set()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.levelno, record.getMessage())
        with self._lock:
            if key in self._seen:
                return False
            self._seen.add(key)
        return True


def _redact_record(record: logging.LogRecord) -> bool:
    """Every log line through the one redaction (the message with its arguments)."""
    record.msg, record.args = redact(record.getMessage()), None
    return True


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()


def columns(headers: list[str], rows: list[list[str]]) -> str:
    """Plain aligned columns (grep- and diff-friendly); the last column is not padded."""
    table = [headers, *rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
    lines = []
    for r in table:
        cells = [c.ljust(widths[i]) for i, c in enumerate(r[:-1])] + [r[-1]]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
