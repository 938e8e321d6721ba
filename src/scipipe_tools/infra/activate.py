"""What a process sees once an environment is activated, computed as data.

A conda prefix (``conda-meta/``) is activated as ``conda activate`` does it in a POSIX
shell: the prefix's ``bin`` takes the place of the active environment's on ``PATH``
(or goes first), ``CONDA_PREFIX``, ``CONDA_DEFAULT_ENV``, ``CONDA_SHLVL`` and
``CONDA_PROMPT_MODIFIER`` are set (the environment left is kept as
``CONDA_PREFIX_<n>``), the variables of ``conda-meta/state`` are exported, then every
``etc/conda/activate.d/*.sh`` is sourced, in name order, in one bash.  That bash prints
its environment (``env -0``) and the difference is the activation: scripts run once,
however many commands later run in the result.

A venv (``pyvenv.cfg``) is activated as its ``bin/activate`` does it: ``VIRTUAL_ENV``,
its ``bin`` first on ``PATH`` (in place of another venv's), no ``PYTHONHOME``.

Not done: the ``deactivate.d`` scripts of an environment that was active before.  A
prefix that is already the active ``$CONDA_PREFIX`` is taken as it is: its scripts ran
in the shell that activated it.

:func:`describe` says what a prefix holds, for the record of a build: its packages as
an ``@EXPLICIT`` list (a venv's as ``name==version`` lines) with their sha256, and the
hash of the lock ``scipipe env create`` made it from (from the stamp it leaves).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import InputError, Location, ScipipeError
from . import proc
from .prefix import STAMP, already_created, installed

Kind = Literal["conda", "venv"]

#: bash sets or changes these itself: never part of an activation
_SHELL_OWN = frozenset({"_", "SHLVL", "PWD", "OLDPWD"})
_MARK = "\0__scipipe_activated__\0"
# The script paths are arguments, never spliced into the text; the positional
# parameters are cleared so that the scripts see none, as under conda activate.
_SOURCE_ALL = (
    '__scipipe_scripts=("$@"); set --; '
    'for __scipipe_f in "${__scipipe_scripts[@]}"; do . "$__scipipe_f"; done; '
    "unset __scipipe_f __scipipe_scripts; "
    "printf '\\0__scipipe_activated__\\0'; env -0"
)
_PROBE = (
    "import json, sys; "
    "print(json.dumps([sys.executable, '.'.join(map(str, sys.version_info[:3]))]))"
)


@dataclass(frozen=True)
class Python:
    """An environment's interpreter: the command and what it says it is."""

    path: str
    #: ``3.11.9``; None when it did not run as a Python
    version: str | None
    #: why it is not usable, when it is not
    problem: str | None = None

    @property
    def works(self) -> bool:
        return self.version is not None

    def to_json(self) -> dict[str, str | None]:
        return {"path": self.path, "version": self.version, "problem": self.problem}


@dataclass(frozen=True)
class Activation:
    prefix: Path
    kind: Kind
    #: the whole environment once activated
    env: dict[str, str]
    #: the variables the activation set, changed or removed (sorted)
    changed: tuple[str, ...] = ()
    #: the ``activate.d`` scripts it sourced, relative to the prefix
    scripts: tuple[str, ...] = ()
    #: True when the prefix was already the active one (nothing was run)
    already_active: bool = False


def kind_of(prefix: Path) -> Kind:
    """``conda`` for a prefix with ``conda-meta/``, ``venv`` for one with ``pyvenv.cfg``."""
    if (prefix / "conda-meta").is_dir():
        return "conda"
    if (prefix / "pyvenv.cfg").is_file():
        return "venv"
    if not prefix.is_dir():
        raise InputError(
            "no such environment: the directory does not exist", location=Location.of(prefix)
        )
    raise InputError(
        "not an environment: no conda-meta/ (conda) and no pyvenv.cfg (venv)",
        location=Location.of(prefix),
        hint="give the prefix of a conda environment (scipipe env create makes one) or a venv",
    )


def conda_env_name(prefix: Path) -> str:
    """``CONDA_DEFAULT_ENV``: the name of an environment under ``envs/``, else its path."""
    return prefix.name if prefix.parent.name == "envs" else str(prefix)


def activate(prefix: Path, base: Mapping[str, str]) -> Activation:
    """``base`` as it is once ``prefix`` (a conda environment or a venv) is activated."""
    prefix = prefix.absolute()
    kind = kind_of(prefix)
    if kind == "venv":
        return _activate_venv(prefix, base)
    active = base.get("CONDA_PREFIX")
    if active and _same(Path(active), prefix):
        return Activation(prefix, kind, dict(base), already_active=True)
    env = dict(base)
    level = _int(base.get("CONDA_SHLVL"))
    if active and level >= 1:
        env[f"CONDA_PREFIX_{level}"] = active
    bin_dir = str(prefix / "bin")
    env["PATH"] = _put_first(base.get("PATH", ""), bin_dir, f"{active}/bin" if active else None)
    name = conda_env_name(prefix)
    env.update(
        CONDA_PREFIX=str(prefix),
        CONDA_DEFAULT_ENV=name,
        CONDA_SHLVL=str(level + 1),
        CONDA_PROMPT_MODIFIER=f"({name}) ",
    )
    env.update(_state_vars(prefix))
    scripts = sorted((prefix / "etc" / "conda" / "activate.d").glob("*.sh"))
    if scripts:
        env = _source(prefix, scripts, env)
    return Activation(
        prefix,
        kind,
        env,
        changed=_changed(base, env),
        scripts=tuple(str(s.relative_to(prefix)) for s in scripts),
    )


def _activate_venv(prefix: Path, base: Mapping[str, str]) -> Activation:
    env = dict(base)
    old = base.get("VIRTUAL_ENV")
    old_bin = f"{old}/bin" if old else None
    env["PATH"] = _put_first(base.get("PATH", ""), str(prefix / "bin"), old_bin)
    env["VIRTUAL_ENV"] = str(prefix)
    env.pop("PYTHONHOME", None)
    return Activation(prefix, "venv", env, changed=_changed(base, env))


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _int(value: str | None) -> int:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() else 0


def _put_first(path: str, entry: str, replacing: str | None) -> str:
    """``entry`` where ``replacing`` was on ``path`` (conda replaces the environment it
    leaves in place), else first; no other copy of it stays."""
    parts = [p for p in path.split(os.pathsep) if p and p != entry] if path else []
    if replacing and replacing in parts:
        i = parts.index(replacing)
        parts = [p for p in parts if p != replacing]
        parts.insert(i, entry)
    else:
        parts.insert(0, entry)
    return os.pathsep.join(parts)


def _state_vars(prefix: Path) -> dict[str, str]:
    """``conda env config vars``: ``{"env_vars": {...}}`` in ``conda-meta/state``."""
    path = prefix / "conda-meta" / "state"
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise InputError(f"unreadable: {exc}", location=Location.of(path)) from exc
    found = data.get("env_vars") if isinstance(data, dict) else None
    if not isinstance(found, dict):
        return {}
    return {str(k): str(v) for k, v in found.items()}


def _source(prefix: Path, scripts: Sequence[Path], env: Mapping[str, str]) -> dict[str, str]:
    """``env`` after sourcing ``scripts`` in order in one bash."""
    argv = ["bash", "-c", _SOURCE_ALL, "bash", *(str(s) for s in scripts)]
    result = proc.run(argv, env=env, input=b"", check=False, timeout=300)
    cut = result.stdout.rfind(_MARK)
    if result.returncode != 0 or cut < 0:
        detail = proc.tail(result.stderr).strip() or f"exit code {result.returncode}"
        raise ScipipeError(
            f"activating {prefix}: an etc/conda/activate.d script failed: {detail}",
            hint="source the environment's etc/conda/activate.d scripts in bash to see why",
        )
    after: dict[str, str] = {}
    for item in result.stdout[cut + len(_MARK) :].split("\0"):
        key, sep, value = item.partition("=")
        if sep and key:
            after[key] = value
    merged = {k: v for k, v in after.items() if k not in _SHELL_OWN}
    for k in _SHELL_OWN & env.keys():
        merged[k] = env[k]
    return merged


def _changed(before: Mapping[str, str], after: Mapping[str, str]) -> tuple[str, ...]:
    keys = before.keys() | after.keys()
    return tuple(sorted(k for k in keys if before.get(k) != after.get(k)))


# -- the interpreter ------------------------------------------------------------------


def python_of(prefix: Path, env: Mapping[str, str]) -> Python | None:
    """The environment's ``bin/python`` (else ``bin/python3``), as it runs in ``env``;
    None when it has neither."""
    for name in ("python", "python3"):
        path = prefix / "bin" / name
        if path.is_file() and os.access(path, os.X_OK):
            return probe_python(str(path), env)
    return None


def probe_python(path: str, env: Mapping[str, str]) -> Python:
    """Run ``path`` once: a Python prints its version; anything else is said why not."""
    try:
        r = proc.run([path, "-c", _PROBE], env=env, check=False, timeout=120)
    except ScipipeError as exc:
        return Python(path, None, str(exc))
    lines = r.stdout.strip().splitlines()
    try:
        exe, version = json.loads(lines[-1]) if lines else (None, None)
    except ValueError:
        exe = version = None
    if r.returncode != 0 or not isinstance(version, str) or not isinstance(exe, str):
        said = (lines[-1] if lines else r.stderr.strip()[-200:]) or f"exit code {r.returncode}"
        return Python(path, None, f"not a working Python (it printed {said!r})")
    return Python(path, version)


# -- what a prefix holds --------------------------------------------------------------


@dataclass(frozen=True)
class Contents:
    """A prefix's packages, as a build's record keeps them."""

    kind: Kind
    #: conda: the ``@EXPLICIT`` list (``url#md5``); venv: ``name==version`` lines
    listing: tuple[str, ...]
    #: sha256 of the lock ``scipipe env create`` made the prefix from, if it did
    lock_sha256: str | None = None
    #: False when packages were added or removed since that create
    lock_matches: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def listing_sha256(self) -> str:
        return hashlib.sha256(("\n".join(self.listing) + "\n").encode()).hexdigest()


def describe(prefix: Path) -> Contents:
    """What ``prefix`` holds (see the module's documentation)."""
    kind = kind_of(prefix)
    if kind == "venv":
        return _describe_venv(prefix)
    lines = ["@EXPLICIT"]
    for rec in sorted(installed(prefix).values(), key=lambda r: r.name):
        if rec.url is None:
            lines.append(f"# {rec.name}-{rec.version}-{rec.build}: no URL recorded")
        elif rec.md5:
            lines.append(f"{rec.url}#{rec.md5}")
        elif rec.sha256:
            lines.append(f"{rec.url}#sha256:{rec.sha256}")
        else:
            lines.append(rec.url)
    lock, matches = _stamp(prefix)
    return Contents("conda", tuple(lines), lock, matches)


def _stamp(prefix: Path) -> tuple[str | None, bool | None]:
    try:
        data = json.loads((prefix / "conda-meta" / STAMP).read_text("utf-8"))
    except (OSError, ValueError):
        return None, None
    digest, platform = data.get("lock_sha256"), data.get("platform")
    if not isinstance(digest, str) or not isinstance(platform, str):
        return None, None
    return digest, already_created(prefix, digest, platform) is not None


_VENV_VERSION = re.compile(r"^\s*version(?:_info)?\s*=\s*(\S+)\s*$", re.M)


def _describe_venv(prefix: Path) -> Contents:
    cfg = (prefix / "pyvenv.cfg").read_text("utf-8", errors="replace")
    m = _VENV_VERSION.search(cfg)
    import importlib.metadata  # deferred: heavy (zipfile, csv, email: for a venv's listing)

    paths = [str(p) for p in sorted((prefix / "lib").glob("python*/site-packages"))]
    found = {
        f"{d.metadata['Name']}=={d.version}"
        for d in importlib.metadata.distributions(path=paths)
        if d.metadata["Name"]
    }
    listing = (f"# python {m.group(1) if m else 'unknown'}", *sorted(found, key=str.lower))
    system = re.search(r"^\s*include-system-site-packages\s*=\s*true\s*$", cfg, re.M | re.I)
    return Contents("venv", listing, extra={"system_site_packages": bool(system)})
