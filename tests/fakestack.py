"""Small stacks of products whose build steps a test writes: git remotes and a repos.yaml.

Each product is a bare remote holding ``ups/<p>.table`` (its dependencies) and, when
given, ``ups/eupspkg.cfg.sh`` (its build steps, e.g. one that records ``$NJOBS``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from scipipe_tools.demo.gitrepo import Repo, file_url

SCIPIPE = str(Path(sys.executable).parent / "scipipe")


@dataclass(frozen=True)
class Product:
    deps: Sequence[str] = ()
    #: the text of ups/eupspkg.cfg.sh, if any
    cfg: str | None = None
    #: extra table lines after the dependencies
    table_extra: str = ""
    #: other files of the repository: path -> text
    files: Mapping[str, str] | None = None


def make_stack(root: Path, products: Mapping[str, Product]) -> Path:
    """One bare remote per product under ``root/remotes``; returns ``root/repos.yaml``."""
    root = root.resolve()
    remotes = root / "remotes"
    for name, p in products.items():
        work = Repo.init(root / "work" / name)
        table = "".join(f"setupRequired({d})\n" for d in p.deps) + p.table_extra
        work.write(f"ups/{name}.table", table)
        if p.cfg is not None:
            work.write("ups/eupspkg.cfg.sh", p.cfg)
        for path, text in (p.files or {}).items():
            work.write(path, text)
        work.commit(f"Initial import of {name}")
        Repo.init(remotes / f"{name}.git", bare=True)
        work.push_all(remotes / f"{name}.git")
    repos = root / "repos.yaml"
    repos.write_text("".join(f"{n}: {file_url(remotes / f'{n}.git')}\n" for n in products))
    return repos


class Lines:
    """Reads a process's stream in a thread: each line with the time it arrived."""

    def __init__(self, stream: object) -> None:
        self.lines: list[tuple[float, str]] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            with self._cond:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self._cond.notify_all()

    def wait_for(self, match: Callable[[str], bool], timeout: float) -> str | None:
        """The first line (from the start) that matches, waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for _, line in self.lines:
                    if match(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():  # no more lines will come
                    return None
                self._cond.wait(min(left, 0.1))

    def text(self) -> str:
        self._thread.join(10)
        return "\n".join(line for _, line in self.lines)


def stop(process: subprocess.Popen[str]) -> None:
    """End a scipipe started with ``start_new_session`` (and its build steps)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)


def environ(**extra: str) -> dict[str, str]:
    return {**os.environ, **extra}
