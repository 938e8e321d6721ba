"""A Progress that records what it is told, for tests."""

from __future__ import annotations


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def start(self, total: int, label: str) -> None:
        self.events.append(("start", (total, label)))

    def begin(self, item: str, detail: str = "") -> None:
        self.events.append(("begin", (item, detail)))

    def advance(self, item: str = "", detail: str = "", *, failed: bool = False) -> None:
        self.events.append(("advance", item))
        if detail or failed:
            self.events.append(("detail", (item, detail, failed)))

    def note(self, text: str) -> None:
        self.events.append(("note", text))

    def finish(self) -> None:
        self.events.append(("finish", None))
