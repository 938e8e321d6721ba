"""``scipipe envconfig``: a work root's environments, which built what, the active one.

The environments are ``ROOT/envs/*`` (what ``scipipe deploy`` and ``scipipe env create
--root ROOT`` make); the active one is the one ``ROOT/bin/setup.sh`` activates; which
environment built each build is in ``ROOT/build/env/<build id>.json``
(:mod:`..sourcebuild.buildenv`).  Switching rewrites the activation scripts
(:mod:`.activation`), as lsstsw's ``envconfig`` does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, Location, did_you_mean
from ..names import outputs
from ..sourcebuild.buildenv import read_record
from . import activation
from .deploystate import read_state


@dataclass(frozen=True)
class EnvRow:
    name: str
    prefix: Path
    active: bool
    made_from: str | None
    #: the builds it built, oldest first
    builds: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "prefix": str(self.prefix),
            "active": self.active,
            "made_from": self.made_from,
            "builds": list(self.builds),
        }


def build_dir(root: Path) -> Path:
    return root / "build"


def _build_order(build_id: str) -> tuple[int, str]:
    digits = build_id.lstrip("b")
    return (int(digits) if digits.isascii() and digits.isdigit() else -1, build_id)


def builds_by_prefix(root: Path) -> dict[str, list[str]]:
    """Environment prefix -> the build ids whose record names it (unreadable records
    are skipped: ``scipipe build env ID`` reports them)."""
    out: dict[str, list[str]] = {}
    records = build_dir(root) / outputs.RECORDS_DIR
    paths = sorted(records.glob("*.json"), key=lambda p: _build_order(p.stem))
    for path in paths if records.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            envs = data["environments"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        for e in envs if isinstance(envs, list) else []:
            prefix = e.get("prefix") if isinstance(e, dict) else None
            if isinstance(prefix, str):
                out.setdefault(str(Path(prefix).resolve()), []).append(path.stem)
    return out


def environments(root: Path) -> list[EnvRow]:
    """The root's environments, by name."""
    root = root.absolute()
    envs = root / "envs"
    active = activation.active_env(root)
    state = read_state(root).environments
    built = builds_by_prefix(root)
    names = (
        sorted(p.name for p in envs.iterdir() if (p / "conda-meta").is_dir())
        if envs.is_dir()
        else []
    )
    return [
        EnvRow(
            name,
            envs / name,
            name == active,
            state.get(name, {}).get("made_from"),
            tuple(built.get(str((envs / name).resolve()), [])),
        )
        for name in names
    ]


def env_of_build(root: Path, build_id: str) -> str:
    """The name of the root's environment that built ``build_id`` (the last one, when a
    rerun used another)."""
    root = root.absolute()
    data = read_record(build_dir(root), build_id)
    envs = (root / "envs").resolve()
    prefixes = [e.get("prefix") for e in data.get("environments", [])]
    for prefix in reversed([p for p in prefixes if isinstance(p, str)]):
        path = Path(prefix).resolve()
        if path.parent == envs:
            return path.name
    said = ", ".join(str(p) for p in prefixes) or "no environment"
    raise InputError(
        f"{build_id} was built with {said}, not an environment of {root}/envs",
        location=Location.of(build_dir(root) / outputs.RECORDS_DIR / outputs.record_name(build_id)),
    )


def switch(root: Path, name: str) -> bool:
    """Make ``name`` the active environment: rewrite the activation scripts.  Whether
    anything changed."""
    root = root.absolute()
    known = [row.name for row in environments(root)]
    if name not in known:
        raise InputError(
            f"no environment {name!r} in {root}/envs",
            hint=did_you_mean(name, known) or f"the root has: {', '.join(known) or 'none'}",
        )
    return bool(activation.write(root, name))
