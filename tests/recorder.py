"""A Progress that records what it is told, for tests."""

from __future__ import annotations


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def start(self, total: int, label: str) -> None:
        self.events.append(("start", (total, label)))

    def advance(self, item: str = "") -> None:
        self.events.append(("advance", item))

    def finish(self) -> None:
        self.events.append(("finish", None))
