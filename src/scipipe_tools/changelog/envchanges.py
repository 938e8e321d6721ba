"""Third-party package changes between two releases' environments (``env/<tag>.env``).

A distribution root publishes each EUPS tag's exact environment next to its tag list;
the changelog lists what ``scipipe env diff`` would for two of them.  A tag without an
environment file gives None (not an empty list: "unknown", not "unchanged").
"""

from __future__ import annotations

import logging

from ..errors import ScipipeError
from ..infra.lockfile import Lock, diff_locks, parse_env
from ..infra.roots import Root
from ..names import serverlayout
from .model import PackageChange

log = logging.getLogger(__name__)


def read_tag_env(root: Root, eups_tag: str) -> Lock | None:
    """The environment published with ``eups_tag``, or None when there is none."""
    for rel in (serverlayout.env_file(eups_tag), f"../{serverlayout.env_file(eups_tag)}"):
        try:
            text = root.read_text(rel)
        except ScipipeError:
            continue
        try:
            return parse_env(text, root.url(rel))
        except ScipipeError as exc:
            log.warning("ignoring the environment of %s: %s", eups_tag, exc)
            return None
    return None


def package_changes(old: Lock | None, new: Lock | None) -> list[PackageChange] | None:
    """Packages added, removed or changed in version, by name (builds alone are left out)."""
    if old is None or new is None:
        return None
    d = diff_locks(old, new)
    out = [PackageChange(p.name, None, p.version) for p in d.added]
    out += [PackageChange(p.name, p.version, None) for p in d.removed]
    out += [
        PackageChange(b.name, a.version, b.version) for a, b in d.changed if a.version != b.version
    ]
    seen: dict[str, PackageChange] = {}
    for change in out:  # one line per name, whatever the platforms
        seen.setdefault(change.name, change)
    return sorted(seen.values(), key=lambda c: c.name)
