"""The one redaction of the program: no secret reaches a terminal, a log or an error.

:func:`redact` is applied wherever text leaves the process: every error message (the
error root calls it), the log handler, the HTTP trace, the tail of a child's output, the
build logs, and, as a last guard, the CLI's stdout and stderr (:class:`RedactingStream`).
It removes

* credentials in URLs of any scheme (``https://user:token@host`` -> ``https://***@host``);
* the values of credential headers, in plain or ``repr`` form (``Authorization: token x``,
  ``'Authorization': 'Bearer x'``, ``Proxy-Authorization``, ``Cookie``, ``X-*-Token``...);
* credential query parameters (``access_token=``, ``token=``, ``password=``, AWS
  signatures);
* every value registered as a secret (:func:`register`): the tokens the program reads from
  files, and the values of environment variables named like secrets
  (:func:`register_environment`), wherever they appear, even echoed back by a server.

Every pattern is a single left-to-right scan: linear in the text.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import IO, Any

MASK = "***"

#: Shorter values are too likely to be ordinary words or numbers to replace everywhere.
MIN_SECRET_LENGTH = 6

_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^/@\s'\"<>]+)@")
_HEADER_NAMES = (
    r"(?:proxy-)?authorization|cookie|set-cookie|private-token|x-api-key|api-key"
    r"|x-[a-z0-9-]*(?:token|secret|password|key)|x-amz-security-token"
)
#: ``Name: value`` up to the end of the line (or of a repr'd line: ``\r``, ``\n``, quote)
_HEADER_LINE = re.compile(
    r"(?i)(?:(?<=\\[rn])|(?<![A-Za-z0-9-]))(" + _HEADER_NAMES + r")([ \t]*+:[ \t]*+)(?!\*\*\*)"
    r"[^\r\n'\"\\]+"
)
#: ``'Name': 'value'`` as a dict of headers prints
_HEADER_ITEM = re.compile(
    r"(?i)(['\"](?:" + _HEADER_NAMES + r")['\"][ \t]*+:[ \t]*+)(['\"])(?!\*\*\*)[^'\"\r\n]*\2"
)
_QUERY = re.compile(
    r"(?i)([?&;](?:access_token|private_token|token|password|passwd|secret|client_secret"
    r"|api_key|apikey|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token)=)"
    r"(?!\*\*\*)[^&#\s'\"<>]+"
)
#: environment variables whose values are secrets
_SECRET_NAME = re.compile(
    r"(?i)(?:^|_)(?:TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?)"
    r"(?:$|_)"
)
_NOT_SECRET_NAME = re.compile(r"(?i)_(?:ID|PATH|FILE|DIR|URL|HOST|USER|NAME|SOCK|TYPE)$")

_lock = threading.Lock()
_secrets: set[str] = set()
_known: re.Pattern[str] | None = None


def register(value: str | None) -> None:
    """Treat ``value`` as a secret from now on (too short a value is ignored)."""
    global _known
    if value is None:
        return
    value = value.strip()
    if len(value) < MIN_SECRET_LENGTH or value in _secrets:
        return
    with _lock:
        _secrets.add(value)
        # longest first, so a secret that contains another is replaced whole
        ordered = sorted(_secrets, key=len, reverse=True)
        _known = re.compile("|".join(re.escape(s) for s in ordered))


def register_environment(env: Mapping[str, str]) -> None:
    """Register the values of variables named like secrets (``GITHUB_TOKEN``,
    ``JIRA_TOKEN``, ``AWS_SECRET_ACCESS_KEY``, ``TWINE_PASSWORD``...)."""
    for name, value in env.items():
        if _SECRET_NAME.search(name) and not _NOT_SECRET_NAME.search(name):
            register(value)


def forget_all() -> None:
    """Drop every registered secret (tests)."""
    global _known
    with _lock:
        _secrets.clear()
        _known = None


def redact(text: str) -> str:
    """``text`` with every credential and registered secret replaced by ``***``."""
    if not text:
        return text
    known = _known
    if known is not None:
        text = known.sub(MASK, text)
    if "://" in text:
        text = _URL_CREDENTIALS.sub(_url_userinfo, text)
    if ":" in text:
        text = _HEADER_LINE.sub(r"\1\2" + MASK, text)
        text = _HEADER_ITEM.sub(r"\1\2" + MASK + r"\2", text)
    if "=" in text:
        text = _QUERY.sub(r"\1" + MASK, text)
    return text


def _url_userinfo(m: re.Match[str]) -> str:
    """``user:password@`` in any scheme, and anything before ``@`` in http(s) (a token
    given as the user name); ``ssh://git@host`` names no secret and stays."""
    scheme, userinfo = m.group(1), m.group(2)
    if ":" in userinfo or scheme.lower().startswith("http"):
        return f"{scheme}{MASK}@"
    return m.group(0)


class RedactingStream:
    """A text stream that redacts what is written to it (the CLI's stdout and stderr)."""

    def __init__(self, inner: IO[str]) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        self._inner.write(redact(text))
        return len(text)

    def writelines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, flush, encoding...
        return getattr(self._inner, name)
