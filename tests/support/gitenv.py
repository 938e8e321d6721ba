"""Git for tests: none of the user's or the system's configuration, a fixed identity."""

from __future__ import annotations

import os

import pytest

#: the identity tests commit and tag as unless they say otherwise
TEST_RUNNER = ("Test Runner", "tests@example.org")
BUILD_BOT = ("Build Bot", "build@example.org")


def isolate_git(
    monkeypatch: pytest.MonkeyPatch, identity: tuple[str, str] | None = TEST_RUNNER
) -> None:
    """No global or system git config for the test; ``identity`` (name, email) as the
    author and committer of what it commits (None: leave them unset)."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    if identity is not None:
        for role in ("AUTHOR", "COMMITTER"):
            monkeypatch.setenv(f"GIT_{role}_NAME", identity[0])
            monkeypatch.setenv(f"GIT_{role}_EMAIL", identity[1])
