"""Progress reporting, as a callback the library calls and the CLI renders.

Library code never prints: long operations take a :class:`Progress` and report to it.
The CLI passes one that draws a rich progress bar on stderr; everything else gets
:data:`NULL`.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, total: int, label: str) -> None:
        """A new phase of ``total`` steps begins."""

    def advance(self, item: str = "") -> None:
        """One step of the current phase is done (``item`` names it)."""

    def finish(self) -> None:
        """The current phase is over."""


class NullProgress:
    def start(self, total: int, label: str) -> None:
        pass

    def advance(self, item: str = "") -> None:
        pass

    def finish(self) -> None:
        pass


NULL: Progress = NullProgress()
