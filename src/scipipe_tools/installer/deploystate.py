"""``ROOT/etc/deploy.json``: what ``scipipe deploy`` made a work root from.

Where repos.yaml came from (``scipipe build -u`` refreshes it from there), the versiondb's
URL, and for each environment in ``ROOT/envs`` what it was made from (a lock's sha256, a
tag's exact environment, a spec), so that a second deploy knows it has nothing to do.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, Location
from ..infra.files import write_atomic
from ..stack.readers import fetch_repos_text

SCHEMA_VERSION = 1


def state_path(root: Path) -> Path:
    return root / "etc" / "deploy.json"


@dataclass
class DeployState:
    repos_source: str | None = None
    versiondb_url: str | None = None
    #: environment name -> what it was made from (a key and a description)
    environments: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "generator": "scipipe deploy",
            "repos_source": self.repos_source,
            "versiondb_url": self.versiondb_url,
            "environments": self.environments,
        }


def read_state(root: Path) -> DeployState:
    """The root's record; an empty one when there is none."""
    path = state_path(root)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return DeployState()
    except (OSError, ValueError) as exc:
        raise InputError(f"unreadable deploy record: {exc}", location=Location.of(path)) from exc
    envs = data.get("environments") if isinstance(data, dict) else None
    if not isinstance(envs, dict):
        raise InputError("not a deploy record (no environments)", location=Location.of(path))
    return DeployState(data.get("repos_source"), data.get("versiondb_url"), envs)


def write_state(root: Path, state: DeployState) -> bool:
    """Write the record if it changed; whether it did."""
    path = state_path(root)
    text = json.dumps(state.to_json(), indent=1, sort_keys=True) + "\n"
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except OSError:
        pass
    write_atomic(path, text)
    return True


def refresh_repos(root: Path) -> tuple[Path, str, bool]:
    """``ROOT/repos.yaml`` fetched again from where ``scipipe deploy`` copied it
    (``build -u``, as lsstsw's ``rebuild -u``): its path, its source, whether it changed."""
    root = root.absolute()
    source = read_state(root).repos_source
    if source is None:
        raise InputError(
            "no recorded source for repos.yaml: this root was not made by scipipe deploy",
            location=Location.of(state_path(root)),
            hint="run scipipe deploy ROOT --repos URL|PATH once, or give --repos without -u",
        )
    text, _ = fetch_repos_text(source)
    dest = root / "repos.yaml"
    try:
        same = dest.read_text(encoding="utf-8") == text
    except OSError:
        same = False
    if not same:
        write_atomic(dest, text)
    return dest, source, not same
