"""The one error root of scipipe-tools.

Library code raises these; only the CLI boundary (``cli.app.main``) prints them and
exits with :attr:`ScipipeError.exit_code`.  The exit codes are part of the public
interface and are documented in the README.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .redaction import redact

if TYPE_CHECKING:  # pathlib is not needed to start the CLI
    from pathlib import Path

#: Documented exit codes (README, "Exit codes").
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INPUT = 2
EXIT_RESOLUTION = 3
EXIT_COMMAND = 4
EXIT_NETWORK = 5
EXIT_INTEGRITY = 6
EXIT_LOCKED = 7
EXIT_BUILD = 8
EXIT_INTERNAL = 70
#: Stopped by a signal: 128 + its number, as a shell reports a command it killed.
EXIT_HANGUP = 129  # SIGHUP
EXIT_INTERRUPTED = 130  # SIGINT (Ctrl-C)
EXIT_TERMINATED = 143  # SIGTERM (kill, a CI abort)


@dataclass(frozen=True)
class Location:
    """A place in an input file: ``path:line[:column]`` (1-based), or a key path."""

    path: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        text = self.path
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        return text

    @classmethod
    def of(cls, path: str | Path, line: int | None = None, column: int | None = None) -> Location:
        return cls(str(path), line, column)


class ScipipeError(Exception):
    """Root of every error scipipe-tools reports to a user."""

    exit_code: int = EXIT_FAILURE

    def __init__(
        self, message: str, *, hint: str | None = None, location: Location | None = None
    ) -> None:
        # redacted here, once: whatever prints or records an error never sees a secret,
        # not even one a server echoed back into the text
        message = redact(message)
        super().__init__(message)
        self.message = message
        self.hint = None if hint is None else redact(hint)
        self.location = location

    def __str__(self) -> str:
        if self.location is not None:
            return f"{self.location}: {self.message}"
        return self.message


class InputError(ScipipeError):
    """Malformed user input: a file that does not parse, a bad argument value."""

    exit_code = EXIT_INPUT


class ResolutionError(ScipipeError):
    """The inputs parse but do not fit together: a missing product, a cycle, an unknown tag."""

    exit_code = EXIT_RESOLUTION


class CommandError(ScipipeError):
    """An external command failed."""

    exit_code = EXIT_COMMAND

    def __init__(
        self,
        argv: list[str],
        returncode: int,
        stderr_tail: str = "",
        *,
        hint: str | None = None,
    ) -> None:
        msg = f"command failed with exit code {returncode}: {shlex.join(argv)}"
        if stderr_tail.strip():
            msg += "\n" + stderr_tail.rstrip()
        super().__init__(msg, hint=hint)
        self.argv = [redact(a) for a in argv]
        self.returncode = returncode
        self.stderr_tail = redact(stderr_tail)


class NetworkError(ScipipeError):
    """A remote (git server, HTTP server, API) could not be reached or refused us."""

    exit_code = EXIT_NETWORK


class IntegrityError(ScipipeError):
    """A checksum or hash did not match: the artifact is refused."""

    exit_code = EXIT_INTEGRITY


class LockedError(ScipipeError):
    """Another process holds the lock on a stack or work directory."""

    exit_code = EXIT_LOCKED


class BuildError(ScipipeError):
    """One or more products failed to build."""

    exit_code = EXIT_BUILD


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A ``did you mean X?`` hint for the nearest candidate, or None."""
    import difflib  # deferred: heavy (for the CLI's start: only an error needs it)

    match = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"did you mean {match[0]!r}?" if match else None


def at(place: str, message: str) -> str:
    """``place: message``, without saying the place twice when the message (an error
    from a layer below) already starts with it."""
    return (
        message if message.startswith(f"{place}: ") or message == place else f"{place}: {message}"
    )
