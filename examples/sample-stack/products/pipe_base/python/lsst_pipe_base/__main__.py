"""``pipe_base_run``: run a trivial task and print its result."""

from __future__ import annotations

import sys

from lsst_pipe_base import Task


class CountTask(Task):
    _DefaultName = "count"

    def run(self, *words: str) -> int:
        self.metadata.set("NWORDS", len(words))
        return len(words)


def main(argv: list[str]) -> int:
    print(f"count: {CountTask().run(*argv)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
