"""Reproducible git: fixed identities, a fake clock, no user or system config.

A commit's SHA depends on its author, committer, dates and parents as well as its tree,
so everything here pins those down.  Two runs that make the same calls get the same SHAs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..infra import proc

#: 2025-01-02T09:00:00Z: the first commit of every fixture repository.
EPOCH = 1735808400

#: ``-c`` options for every git call: reproducible and never waiting on a signer or gc.
CONFIG_ARGS: tuple[str, ...] = (
    "-c",
    "init.defaultBranch=main",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "tag.gpgsign=false",
    "-c",
    "gc.auto=0",
    "-c",
    "maintenance.auto=false",
    "-c",
    "core.autocrlf=false",
)


@dataclass(frozen=True)
class Identity:
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


DEVELOPER = Identity("Vera Rubin", "vera@lsst-sample.example")
#: GitHub records itself as the committer of the merges it makes for pull requests.
GITHUB = Identity("GitHub", "noreply@github.com")


class FakeClock:
    """A clock that only moves forward, by ``step`` seconds each :meth:`tick`."""

    def __init__(self, start: int = EPOCH, step: int = 3600) -> None:
        if step <= 0:
            raise ValueError("step must be positive")
        self.now = start
        self.step = step

    def tick(self) -> int:
        self.now += self.step
        return self.now

    def stamp(self) -> str:
        """The current time in git's internal date format (``<epoch> +0000``)."""
        return f"{self.now} +0000"


def base_env() -> dict[str, str]:
    """Our environment without any GIT_* variable, and with git's config isolated.

    Dropping GIT_* matters when the tests run inside a git hook, which sets GIT_DIR and
    GIT_INDEX_FILE for the outer repository.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_MERGE_AUTOEDIT="no",
        GIT_EDITOR=":",
        LC_ALL="C",
    )
    return env


def identity_env(
    date: str, author: Identity = DEVELOPER, committer: Identity | None = None
) -> dict[str, str]:
    committer = committer or author
    return {
        "GIT_AUTHOR_NAME": author.name,
        "GIT_AUTHOR_EMAIL": author.email,
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_NAME": committer.name,
        "GIT_COMMITTER_EMAIL": committer.email,
        "GIT_COMMITTER_DATE": date,
    }


def git(
    args: list[str],
    *,
    cwd: Path | None = None,
    date: str = f"{EPOCH} +0000",
    author: Identity = DEVELOPER,
    committer: Identity | None = None,
    input: str | bytes | None = None,
) -> str:
    """Run ``git <args>`` reproducibly and return its stdout without the final newline."""
    env = base_env()
    env.update(identity_env(date, author, committer))
    result = proc.run(["git", *CONFIG_ARGS, *args], cwd=cwd, env=env, input=input)
    return result.stdout.rstrip("\n")


def file_url(path: Path) -> str:
    """``file://`` URL of a local repository."""
    return path.resolve().as_uri()


class Repo:
    """A repository made by the fixtures, with its own :class:`FakeClock`.

    Every call that makes an object (commit, merge, tag) ticks the clock first, so the
    history's dates strictly increase.
    """

    def __init__(self, path: Path, clock: FakeClock | None = None) -> None:
        self.path = path
        self.clock = clock or FakeClock()

    @classmethod
    def init(cls, path: Path, *, bare: bool = False, clock: FakeClock | None = None) -> Repo:
        path.mkdir(parents=True, exist_ok=True)
        git(["init", "-q", *(["--bare"] if bare else []), str(path)])
        return cls(path, clock)

    def git(
        self,
        *args: str,
        author: Identity = DEVELOPER,
        committer: Identity | None = None,
        input: str | bytes | None = None,
        tick: bool = False,
    ) -> str:
        if tick:
            self.clock.tick()
        return git(
            list(args),
            cwd=self.path,
            date=self.clock.stamp(),
            author=author,
            committer=committer,
            input=input,
        )

    def write(self, relpath: str, text: str, *, append: bool = False) -> Path:
        """Write (or append to) a file in the work tree."""
        target = self.path / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a" if append else "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        return target

    def commit(self, message: str, *, author: Identity = DEVELOPER) -> str:
        """Stage everything and commit it; return the new commit's SHA."""
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message, author=author, tick=True)
        return self.rev_parse("HEAD")

    def checkout(self, ref: str, *, create: bool = False) -> None:
        self.git("checkout", "-q", *(["-b"] if create else []), ref)

    def merge_no_ff(
        self,
        branch: str,
        message: str,
        *,
        author: Identity = DEVELOPER,
        committer: Identity | None = None,
    ) -> str:
        """Merge ``branch`` into the current branch with a merge commit; return its SHA."""
        self.git(
            "merge",
            "-q",
            "--no-ff",
            "-m",
            message,
            branch,
            author=author,
            committer=committer,
            tick=True,
        )
        return self.rev_parse("HEAD")

    def tag(
        self, name: str, message: str, ref: str = "HEAD", *, tagger: Identity = DEVELOPER
    ) -> None:
        """Create the annotated tag ``name`` (the tagger is git's committer)."""
        self.git("tag", "-a", "-m", message, name, ref, author=tagger, tick=True)

    def rev_parse(self, ref: str) -> str:
        return self.git("rev-parse", "--verify", "-q", f"{ref}^{{commit}}")

    def push_all(self, remote: Path) -> None:
        """Push every branch and tag to ``remote`` (a path or URL)."""
        self.git(
            "push",
            "-q",
            str(remote),
            "+refs/heads/*:refs/heads/*",
            "+refs/tags/*:refs/tags/*",
        )
