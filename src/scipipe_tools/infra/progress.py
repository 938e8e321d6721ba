"""Progress reporting, as a callback the library calls and the CLI renders.

Library code never prints: long operations take a :class:`Progress` and report to it.
The CLI passes one that draws a rich progress bar when stderr is a terminal, one that
prints a plain line per event when it is not (CI logs), or :data:`NULL`.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def start(self, total: int, label: str) -> None:
        """A new phase of ``total`` steps begins."""

    def begin(self, item: str, detail: str = "") -> None:
        """Work on ``item`` (a step of the current phase) started (``detail``: "4 jobs").

        Optional for a phase: steps that are only ever advanced are fine.  A begun item
        is running until :meth:`advance` names it.
        """

    def advance(self, item: str = "", detail: str = "", *, failed: bool = False) -> None:
        """One step of the current phase is done (``item`` names it; ``detail`` says how,
        e.g. "built; log: build/logs/afw.log"; ``failed`` when it did not succeed)."""

    def note(self, text: str) -> None:
        """A line worth showing while the work goes on (how the work is shared out)."""

    def finish(self) -> None:
        """The current phase is over."""


class NullProgress:
    def start(self, total: int, label: str) -> None:
        pass

    def begin(self, item: str, detail: str = "") -> None:
        pass

    def advance(self, item: str = "", detail: str = "", *, failed: bool = False) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def finish(self) -> None:
        pass


NULL: Progress = NullProgress()
