"""Rich rendering of library progress on stderr."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

from ..progress import NULL, Progress
from .common import App


class RichProgress:
    """A transient progress bar on stderr; one task per phase."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bar

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

    def advance(self, item: str = "") -> None:
        if self._task is not None:
            self._bar.update(self._task, advance=1, item=item)

    def finish(self) -> None:
        if self._task is not None:
            self._bar.remove_task(self._task)
            self._task = None


class _Quiet:
    def __enter__(self) -> Progress:
        return NULL

    def __exit__(self, *exc: object) -> None:
        pass


def progress_for(app: App) -> RichProgress | _Quiet:
    """A progress renderer when a person watches stderr; otherwise one that draws nothing."""
    if app.quiet or app.json or not sys.stderr.isatty():
        return _Quiet()
    return RichProgress()
