"""The one redaction: every form a credential takes in output, idempotent, linear."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scipipe_tools import redaction
from scipipe_tools.errors import CommandError, ScipipeError
from scipipe_tools.redaction import redact, register, register_environment

SECRET = "s3cr3t-Value-0123456789"


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    redaction.forget_all()
    yield
    redaction.forget_all()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://user:tok@github.com/lsst/afw", "https://***@github.com/lsst/afw"),
        (
            "git+ssh://me:pw@host/x.git and http://a@b/c",
            "git+ssh://***@host/x.git and http://***@b/c",
        ),
        ("Authorization: token abc123", "Authorization: ***"),
        ("proxy-authorization:Basic dXNlcjpwYXNz", "proxy-authorization:***"),
        (
            "send: b'GET / HTTP/1.1\\r\\nAuthorization: Bearer abc\\r\\nAccept: */*\\r\\n'",
            "send: b'GET / HTTP/1.1\\r\\nAuthorization: ***\\r\\nAccept: */*\\r\\n'",
        ),
        (
            "{'Authorization': 'token abc', 'Accept': 'json'}",
            "{'Authorization': '***', 'Accept': 'json'}",
        ),
        ('{"authorization": "token abc"}', '{"authorization": "***"}'),
        ("Cookie: session=abc; other=1", "Cookie: ***"),
        ("X-GitHub-Token: abc", "X-GitHub-Token: ***"),
        ("GET /x?access_token=abc&page=2", "GET /x?access_token=***&page=2"),
        (
            "https://s3/b/k?X-Amz-Signature=abcd&X-Amz-Credential=AK/x",
            "https://s3/b/k?X-Amz-Signature=***&X-Amz-Credential=***",
        ),
        ("nothing to hide: Authorizations are fine", "nothing to hide: Authorizations are fine"),
        ("header: x-ratelimit-remaining: 4999", "header: x-ratelimit-remaining: 4999"),
    ],
)
def test_forms(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert redact(expected) == expected


def test_registered_secrets_anywhere() -> None:
    register(SECRET)
    register("short")  # too short to replace everywhere
    assert redact(f"server said: bad token {SECRET}!") == "server said: bad token ***!"
    assert redact("a short word") == "a short word"


def test_environment_names() -> None:
    register_environment(
        {
            "GITHUB_TOKEN": "ghp_abcdefgh",
            "JIRA_TOKEN": "jira-123456",
            "AWS_SECRET_ACCESS_KEY": "aws/secret/key",
            "TWINE_PASSWORD": "pypi-pass-1",
            "AWS_ACCESS_KEY_ID": "AKIAPUBLICID",
            "SSH_AUTH_SOCK": "/tmp/ssh-agent.sock",
            "GITHUB_TOKEN_PATH": "/home/me/.token",
            "HOME": "/home/me",
        }
    )
    text = "ghp_abcdefgh jira-123456 aws/secret/key pypi-pass-1 AKIAPUBLICID /home/me/.token"
    assert redact(text) == "*** *** *** *** AKIAPUBLICID /home/me/.token"


def test_errors_are_redacted_when_made() -> None:
    register(SECRET)
    e = ScipipeError(f"GitHub said {SECRET}", hint=f"use {SECRET}")
    assert SECRET not in str(e) and SECRET not in (e.hint or "")
    c = CommandError(["git", "clone", f"https://x:{SECRET}@h/r"], 128, f"fatal: {SECRET}")
    assert SECRET not in str(c) and SECRET not in " ".join(c.argv) + c.stderr_tail


def test_log_lines_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    from scipipe_tools.cli.common import configure_logging

    configure_logging(0, True)
    register(SECRET)
    handler = logging.getLogger().handlers[0]
    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "token %s at %s", (SECRET, "https://u:p@h"), None
    )
    assert handler.filter(record)
    assert record.getMessage() == "token *** at https://***@h"


@settings(max_examples=400, deadline=1000)
@given(st.text(alphabet=st.sampled_from("Authorization:'\" \\rn=&?@/:tokenX*"), max_size=200))
def test_fuzz_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


def test_linear_on_hostile_text() -> None:
    """No pattern backtracks: 200 KB of near-matches are handled in one pass each."""
    import time

    samples = ["Authorization" * 20000, "a://" * 50000, "?token" * 30000, "'Cookie': '" * 20000,
               "Authorization: " + " " * 100000 + "x"]  # fmt: skip
    small = [s[: len(s) // 16] for s in samples]
    t0 = time.perf_counter()
    for s in small:
        redact(s)
    t_small = time.perf_counter() - t0
    t0 = time.perf_counter()
    for s in samples:
        redact(s)
    t_big = time.perf_counter() - t0
    assert t_big < max(t_small, 0.002) * 16 * 8  # linear: 16x the text, far from 256x


def test_build_logs_and_command_errors_are_redacted(tmp_path: Path) -> None:
    """A build step that prints a secret (a token in its environment, a URL with a
    password) writes neither into its log; a failing command's error tail neither."""
    from scipipe_tools.infra import proc

    register(SECRET)
    log = tmp_path / "step.log"
    script = f'echo "token={SECRET}"; echo "clone https://me:pw@host/r.git"; exit 3'
    assert proc.run_logged(["sh", "-c", script], log) == 3
    text = log.read_text()
    assert SECRET not in text and "me:pw" not in text
    assert "token=***" in text and "https://***@host/r.git" in text
    with pytest.raises(CommandError) as info:
        proc.run(["sh", "-c", script])
    assert SECRET not in str(info.value) and "token=***" in str(info.value)
