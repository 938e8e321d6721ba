"""Which environment a build runs in, and the record of which one built each build.

The choice (:func:`choose_env`), first match wins:

1. ``--env PREFIX``: a conda environment or a venv;
2. ``-e NAME``: ``ROOT/envs/NAME`` (``scipipe env create --root ROOT -n NAME``), else
   ``NAME`` under the conda root named environments are made in
   (``$SCIPIPE_CONDA_ROOT``, ``$MAMBA_ROOT_PREFIX``, the conda of ``$CONDA_EXE``),
   else under ``./conda`` (lsstinstall's default root);
3. the active ``$CONDA_PREFIX``;
4. the work root's environment: the one environment ``scipipe env create`` made in
   ``ROOT/envs/``;
5. none: the steps run in scipipe's own environment, as before (``--no-env`` asks
   for this).

The record, ``<build dir>/env/<build id>.json``, lists the environments that built
products of that build (one, unless a rerun used another) with what they held: the
prefix, the sha256 of the lock it was created from and the packages as an
``@EXPLICIT`` list (a venv's as ``name==version`` lines), the python, the EUPS state,
the activation's scripts and the names of the variables it set, and the products each
one built.  ``scipipe build env BUILD_ID`` prints it.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, Location, did_you_mean
from ..eupspkg.setupenv import BuildEnvironment
from ..infra.activate import describe, kind_of
from ..infra.files import write_atomic
from ..infra.prefix import STAMP, check_env_name, conda_root
from ..names import outputs

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class EnvRequest:
    """What the command line asked for."""

    #: ``--env PREFIX``
    prefix: Path | None = None
    #: ``-e NAME``
    name: str | None = None
    #: ``--no-env``
    none: bool = False


@dataclass(frozen=True)
class EnvChoice:
    """The environment a build runs in (``prefix`` None: scipipe's own) and why."""

    prefix: Path | None
    reason: str

    def __str__(self) -> str:
        return f"{self.prefix} ({self.reason})" if self.prefix else f"none ({self.reason})"

    def to_json(self) -> dict[str, str | None]:
        return {"prefix": str(self.prefix) if self.prefix else None, "chosen_by": self.reason}


def choose_env(request: EnvRequest, root: Path, environ: Mapping[str, str]) -> EnvChoice:
    """The environment of a build in work root ``root`` (see the module's documentation);
    an :class:`InputError` when the one chosen is not a conda environment or a venv."""
    choice = _choose(request, root, environ)
    if choice.prefix is not None:
        kind_of(choice.prefix)
    return choice


def _choose(request: EnvRequest, root: Path, environ: Mapping[str, str]) -> EnvChoice:
    given = [
        o
        for o, v in (("--env", request.prefix), ("-e", request.name), ("--no-env", request.none))
        if v
    ]
    if len(given) > 1:
        raise InputError(f"{' and '.join(given)} cannot be combined: choose one environment")
    if request.prefix is not None:
        return EnvChoice(request.prefix.absolute(), "--env")
    if request.name is not None:
        return EnvChoice(_named(request.name, root, environ), f"-e {request.name}")
    if request.none:
        return EnvChoice(None, "--no-env")
    active = environ.get("CONDA_PREFIX")
    if active:
        return EnvChoice(Path(active), "the active $CONDA_PREFIX")
    made = _made_in(root / "envs")
    if len(made) > 1:
        raise InputError(
            f"{len(made)} environments made by scipipe env create: "
            f"{', '.join(p.name for p in made)}",
            location=Location.of(root / "envs"),
            hint="choose one with -e NAME (or --env PREFIX, or --no-env)",
        )
    if made:
        return EnvChoice(made[0].absolute(), "the work root's environment")
    return EnvChoice(
        None,
        "no --env or -e, no active $CONDA_PREFIX, none in ROOT/envs: "
        "the steps run in scipipe's own environment",
    )


def _named(name: str, root: Path, environ: Mapping[str, str]) -> Path:
    check_env_name(name, "-e")
    roots = [root]
    with contextlib.suppress(InputError):  # no conda root configured: look elsewhere
        roots.append(conda_root())
    roots.append(Path.cwd() / "conda")
    places = list(dict.fromkeys(r.absolute() / "envs" for r in roots))
    for place in places:
        if (place / name).is_dir():
            return place / name
    known = sorted({p.name for place in places if place.is_dir() for p in place.iterdir()})
    near = did_you_mean(name, known)
    raise InputError(
        f"-e {name}: no such environment in {', '.join(str(p) for p in places)}",
        hint=near or "create it with scipipe env create -n NAME --root ROOT, or give --env PREFIX",
    )


def _made_in(envs: Path) -> list[Path]:
    if not envs.is_dir():
        return []
    return sorted(p for p in envs.iterdir() if (p / "conda-meta" / STAMP).is_file())


# -- the record --------------------------------------------------------------------------


def record_path(build_dir: Path, build_id: str) -> Path:
    return build_dir / outputs.RECORDS_DIR / outputs.record_name(build_id)


def describe_environment(choice: EnvChoice, benv: BuildEnvironment) -> dict[str, Any]:
    """One environment's entry in a record (without its products)."""
    a = benv.activation
    entry: dict[str, Any] = {
        "prefix": str(choice.prefix) if choice.prefix else None,
        "kind": a.kind if a is not None else "none",
        "chosen_by": choice.reason,
        "python": {
            "path": benv.python,
            "version": benv.python_version,
            "note": benv.python_note,
        },
        "eups": benv.eups.to_json(),
        "lock_sha256": None,
        "lock_matches": None,
        "explicit_sha256": None,
        "explicit": [],
    }
    if a is not None:
        contents = describe(a.prefix)
        entry.update(
            lock_sha256=contents.lock_sha256,
            lock_matches=contents.lock_matches,
            explicit_sha256=contents.listing_sha256,
            explicit=list(contents.listing),
            activation={
                "already_active": a.already_active,
                "scripts": list(a.scripts),
                "variables": list(a.changed),
            },
            **contents.extra,
        )
    return entry


class EnvRecord:
    """``<build dir>/env/<build id>.json``, kept up to date as products are built."""

    def __init__(self, build_dir: Path, build_id: str, entry: Mapping[str, Any]) -> None:
        self.path = record_path(build_dir, build_id)
        self.build_id = build_id
        self._lock = threading.Lock()
        data = _load(self.path)
        envs: list[dict[str, Any]] = data.get("environments", []) if data else []
        key = _identity(entry)
        mine = next((e for e in envs if _identity(e) == key), None)
        if mine is None:
            mine = {**entry, "products": []}
            envs.append(mine)
        else:
            products = mine.get("products", [])
            mine.clear()
            mine.update(entry, products=products)
        self._data = {
            "schema_version": SCHEMA_VERSION,
            "build_id": build_id,
            "generator": "scipipe_tools.sourcebuild.buildenv",
            "environments": envs,
        }
        self._mine = mine
        self._write()

    def built(self, product: str) -> None:
        with self._lock:
            if product not in self._mine["products"]:
                self._mine["products"].append(product)
                self._write()

    def _write(self) -> None:
        write_atomic(self.path, json.dumps(self._data, indent=1, sort_keys=True) + "\n")


def _identity(entry: Mapping[str, Any]) -> tuple[Any, ...]:
    return entry.get("prefix"), entry.get("kind"), entry.get("explicit_sha256")


def _load(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise InputError(f"unreadable build record: {exc}", location=Location.of(path)) from exc
    if not isinstance(data, dict) or not isinstance(data.get("environments"), list):
        raise InputError("not a build environment record", location=Location.of(path))
    return data


def read_record(build_dir: Path, build_id: str) -> dict[str, Any]:
    """The record of ``build_id``; an :class:`InputError` naming the recorded ones when
    there is none."""
    path = record_path(build_dir, build_id)
    data = _load(path)
    if data is None:
        known = sorted(p.stem for p in path.parent.glob("*.json")) if path.parent.is_dir() else []
        hint = did_you_mean(build_id, known) or (
            f"recorded builds: {', '.join(known)}" if known else "no build was recorded there"
        )
        raise InputError(
            f"no environment record for {build_id}", location=Location.of(path), hint=hint
        )
    return data


def render_record(data: Mapping[str, Any]) -> str:
    """A human summary of a record."""
    lines = []
    for e in data.get("environments", []):
        where = f"{e.get('kind')} {e['prefix']}" if e.get("prefix") else "scipipe's own environment"
        lines.append(f"{data.get('build_id')}: {where} ({e.get('chosen_by')})")
        if e.get("lock_sha256"):
            state = "matches it" if e.get("lock_matches") else "changed since"
            lines.append(f"  lock sha256:     {e['lock_sha256']} (the environment {state})")
        if e.get("explicit_sha256"):
            lines.append(
                f"  explicit sha256: {e['explicit_sha256']} "
                f"({len(e.get('explicit', [])) - 1} packages; --explicit prints them)"
            )
        py = e.get("python") or {}
        lines.append(f"  python:          {py.get('path')} ({py.get('version')})")
        if py.get("note"):
            lines.append(f"  note:            {py['note']}")
        eups = e.get("eups") or {}
        said = (
            f"EUPS_DIR={eups['eups_dir']}" if eups.get("state") == "real" else eups.get("problem")
        )
        lines.append(f"  eups:            {eups.get('state')}" + (f" ({said})" if said else ""))
        lines.append(f"  products:        {', '.join(e.get('products', [])) or '(none yet)'}")
    return "\n".join(lines) + "\n"


def explicit_text(data: Mapping[str, Any]) -> str:
    """The packages of a record's last environment, as the file they came from."""
    envs = data.get("environments", [])
    lines = envs[-1].get("explicit", []) if envs else []
    return "".join(f"{line}\n" for line in lines)
