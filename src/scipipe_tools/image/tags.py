"""The tags an image of a stack gets, as Rubin tags its images.

``<eups_tag>`` and ``<eups_tag>-<UTC timestamp>``, each also with the OS prefix
(``al9-w_2025_02``); each extra tag (``w_latest``) bare and with the prefix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from ..errors import InputError

#: the OCI distribution spec's tag grammar
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_STAMP = re.compile(r"^[0-9]{8}T[0-9]{6}Z$")
DEFAULT_OS_PREFIX = "al9"


def utc_stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def check_tag(tag: str, what: str = "tag") -> str:
    if not _TAG.match(tag):
        raise InputError(f"{what} {tag!r} is not a valid image tag (letters, digits, '._-')")
    return tag


def image_tags(
    eups_tag: str, extra: Sequence[str] = (), os_prefix: str = DEFAULT_OS_PREFIX,
    stamp: str | None = None,
) -> list[str]:  # fmt: skip
    """Every tag, in a fixed order, no duplicates."""
    if stamp is not None and not _STAMP.match(stamp):
        raise InputError(f"--timestamp {stamp!r}: expected UTC YYYYMMDDTHHMMSSZ")
    names = [eups_tag] + ([f"{eups_tag}-{stamp}"] if stamp else []) + list(extra)
    out: list[str] = []
    for name in names:
        for tag in (name, f"{os_prefix}-{name}" if os_prefix else name):
            if tag not in out:
                out.append(check_tag(tag))
    return out
