"""Real local conda channels: real packages, real repodata, served as ``file://`` URLs.

A channel is declared as data, a list of :class:`PackageSpec`, and written by
:func:`make_channel`: every package is a real ``.conda`` (or ``.tar.bz2``) archive made
by py-rattler-build's ``assemble_package`` and the channel is indexed by py-rattler's
``index_fs``, so ``repodata.json`` carries real sha256/md5 sums that a solver and an
installer check.

Both libraries run in one child process (``python -m scipipe_tools.demo.channel build
SPEC.json ROOT``): py-rattler can crash at interpreter exit (the pyo3/tokio shutdown race,
see the peer survey), so the parent judges the child by what it wrote, and a crash after
everything is written is logged and tolerated.

- :func:`rubin_like_packages`: a small channel shaped like conda-forge around rubin-env
  (python 3.11-3.13, numpy builds per python, eups, pytest, cmake, cfitsio, the
  rubin-env metapackages), with virtual-package constraints, so a solver has real
  choices to make and a per-platform lock needs virtual packages.
- :func:`generated_packages`: a large seeded channel for benchmarks.

Archives are reproducible: the same specs give byte-for-byte the same packages (the
build time is fixed); only repodata's ``indexed_timestamp`` varies.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import random
import re
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from ..errors import CommandError, InputError, Location, ScipipeError, did_you_mean
from ..infra import proc
from ..names.platforms import SUPPORTED
from ._files import write_atomic

log = logging.getLogger(__name__)

#: The platforms a channel gets by default (``noarch`` is always added).
DEFAULT_SUBDIRS = SUPPORTED
#: Subdirs a :class:`PackageSpec` may name.
KNOWN_SUBDIRS = frozenset(
    {"noarch", "linux-64", "linux-aarch64", "linux-ppc64le", "osx-64", "osx-arm64", "win-64"}
)
#: The build time stamped into every package, fixed so archives are reproducible.
BUILD_TIME = datetime(2025, 1, 1, tzinfo=UTC)

ArchiveKind = Literal["conda", "tar.bz2"]
_EXTENSIONS: dict[str, str] = {"conda": ".conda", "tar.bz2": ".tar.bz2"}
_SPEC_FORMAT = 1

# conda's rules: lowercase names; no "-" or spaces in versions and build strings.
_NAME = re.compile(r"[a-z0-9_][a-z0-9_.\-]*")
_VERSION = re.compile(r"[A-Za-z0-9_.+!]+")
_BUILD = re.compile(r"[A-Za-z0-9_.+]+")


@dataclass(frozen=True)
class PackageSpec:
    """One package record to build: ``name-version-build`` in ``subdir``.

    ``depends`` and ``constrains`` are conda match specs (``"python >=3.13,<3.14"``,
    ``"__glibc >=2.17"``).  ``files`` maps paths inside the prefix to their text; paths
    under ``bin/`` are made executable.  Without ``files`` the package holds one marker
    file, ``share/scipipe-test-channel/<name>.txt``.  Without ``build`` the build string
    is conda-forge-shaped, ``h<7 hex digits>_<build_number>``, the digits a hash of the
    rest of the spec.
    """

    name: str
    version: str
    build_number: int = 0
    depends: tuple[str, ...] = ()
    subdir: str = "noarch"
    files: Mapping[str, str] | None = field(default=None, hash=False)
    constrains: tuple[str, ...] = ()
    build: str | None = None

    def __post_init__(self) -> None:
        # Lists are accepted for convenience; tuples keep the spec hashable.
        object.__setattr__(self, "depends", tuple(self.depends))
        object.__setattr__(self, "constrains", tuple(self.constrains))

    @property
    def build_string(self) -> str:
        if self.build is not None:
            return self.build
        return f"h{_digest(self._identity())}_{self.build_number}"

    def filename(self, archive: ArchiveKind = "conda") -> str:
        return f"{self.name}-{self.version}-{self.build_string}{_EXTENSIONS[archive]}"

    def payload(self) -> dict[str, str]:
        """The files the package installs: relative path -> text."""
        if self.files is not None:
            return dict(self.files)
        marker = f"{self.name} {self.version} {self.build_string} ({self.subdir})\n"
        return {f"share/scipipe-test-channel/{self.name}.txt": marker}

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "build": self.build_string,
            "build_number": self.build_number,
            "subdir": self.subdir,
            "depends": list(self.depends),
            "constrains": list(self.constrains),
            "files": self.payload(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PackageSpec:
        return cls(
            name=str(data["name"]),
            version=str(data["version"]),
            build_number=int(data["build_number"]),
            depends=tuple(str(d) for d in data["depends"]),
            subdir=str(data["subdir"]),
            files={str(k): str(v) for k, v in data["files"].items()},
            constrains=tuple(str(c) for c in data["constrains"]),
            build=str(data["build"]),
        )

    def _identity(self) -> str:
        files = sorted((self.files or {}).items())
        fields = [self.name, self.version, self.build_number, self.subdir, self.depends]
        return json.dumps([*fields, self.constrains, files])


def _digest(text: str, n: int = 7) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


# --------------------------------------------------------------------------- parent side


def make_channel(
    root: Path,
    packages: Sequence[PackageSpec],
    *,
    subdirs: Sequence[str] = DEFAULT_SUBDIRS,
    archive: ArchiveKind = "conda",
    timeout: float | None = 600,
) -> Path:
    """Build ``packages`` into a new indexed channel at ``root`` and return ``root``.

    Every subdir in ``subdirs`` and ``noarch`` gets a ``repodata.json``, empty or not.
    ``root`` must not exist or be an empty directory: the channel is built in a staging
    sibling and renamed into place, so a failure leaves no half-made channel.  Bad specs
    raise :class:`InputError` before anything is built; a failed build raises
    :class:`CommandError`.
    """
    all_subdirs = _subdirs(subdirs)
    _validate(packages, all_subdirs)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise InputError("a new channel needs an empty directory", location=Location.of(root))
    root.parent.mkdir(parents=True, exist_ok=True)
    spec = {
        "format": _SPEC_FORMAT,
        "archive": archive,
        "subdirs": list(all_subdirs),
        "packages": [p.to_json() for p in packages],
    }
    with tempfile.TemporaryDirectory(prefix=f".{root.name}.", dir=root.parent) as work:
        spec_path = Path(work) / "spec.json"
        staging = Path(work) / "channel"
        write_atomic(spec_path, json.dumps(spec, indent=1, sort_keys=True) + "\n")
        argv = proc.python_module(__name__, "build", spec_path, staging)
        started = time.monotonic()
        result = proc.run(argv, check=False, timeout=timeout, extra_env=proc.child_pythonpath())
        problems = check_channel(staging, packages, subdirs=all_subdirs, archive=archive)
        if result.returncode != 0:
            if result.returncode not in proc.CRASH_AT_EXIT or problems:
                raise CommandError(argv, result.returncode, proc.tail(result.stderr))
            log.warning(
                "channel builder exited with %s after writing the whole channel; tolerated "
                "(py-rattler's crash at interpreter exit)",
                proc.describe_exit(result.returncode),
            )
        elif problems:
            raise ScipipeError(
                f"channel builder exited 0 but the channel is incomplete: {problems[0]}"
                + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                location=Location.of(root),
            )
        if root.exists():
            root.rmdir()
        os.replace(staging, root)
    elapsed = time.monotonic() - started
    log.debug(
        "channel %s: %d packages in %.2f s %s", root, len(packages), elapsed, result.stdout.strip()
    )
    return root


def channel_url(root: Path) -> str:
    """The ``file://`` URL of the channel at ``root``."""
    return root.resolve().as_uri()


def read_repodata(root: Path, subdir: str) -> dict[str, Any]:
    """``root/<subdir>/repodata.json``, parsed."""
    data: dict[str, Any] = json.loads((root / subdir / "repodata.json").read_text("utf-8"))
    return data


def repodata_records(repodata: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Filename -> record, from both ``packages`` (.tar.bz2) and ``packages.conda``."""
    return {**repodata.get("packages", {}), **repodata.get("packages.conda", {})}


def check_channel(
    root: Path,
    packages: Sequence[PackageSpec],
    *,
    subdirs: Sequence[str] = DEFAULT_SUBDIRS,
    archive: ArchiveKind = "conda",
) -> list[str]:
    """What is missing or wrong in the channel at ``root``; empty when it is complete.

    Complete means: each subdir (and ``noarch``) has a readable ``repodata.json`` listing
    exactly the expected archives, each present on disk with the size recorded.
    """
    expected: dict[str, set[str]] = {s: set() for s in _subdirs(subdirs)}
    for package in packages:
        expected.setdefault(package.subdir, set()).add(package.filename(archive))
    problems: list[str] = []
    for subdir, names in sorted(expected.items()):
        path = root / subdir / "repodata.json"
        try:
            records = repodata_records(read_repodata(root, subdir))
        except (OSError, ValueError) as exc:
            problems.append(f"{path}: unreadable ({exc.__class__.__name__})")
            continue
        problems += [f"{path}: {n} not listed" for n in sorted(names - records.keys())]
        problems += [f"{path}: unexpected {n}" for n in sorted(records.keys() - names)]
        for name in sorted(names & records.keys()):
            file = root / subdir / name
            size = file.stat().st_size if file.is_file() else None
            if size != records[name].get("size"):
                problems.append(f"{file}: missing or not the size repodata records")
    return problems


def _subdirs(subdirs: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({*subdirs, "noarch"}))


def _validate(packages: Sequence[PackageSpec], subdirs: Sequence[str]) -> None:
    for subdir in subdirs:
        if subdir not in KNOWN_SUBDIRS:
            raise InputError(
                f"unknown subdir {subdir!r}",
                location=Location("subdirs"),
                hint=_near(subdir, KNOWN_SUBDIRS),
            )
    seen: dict[tuple[str, str], int] = {}
    for i, p in enumerate(packages):
        where = Location(f"packages[{i}]")
        if not _NAME.fullmatch(p.name):
            raise InputError(f"{p.name!r} is not a conda package name", location=where)
        what = f"{p.name}: "
        if not _VERSION.fullmatch(p.version):
            raise InputError(f"{what}{p.version!r} is not a conda version", location=where)
        if not _BUILD.fullmatch(p.build_string):
            raise InputError(f"{what}{p.build_string!r} is not a build string", location=where)
        if p.build_number < 0:
            raise InputError(f"{what}negative build number {p.build_number}", location=where)
        if p.subdir not in subdirs:
            raise InputError(
                f"{what}subdir {p.subdir!r} is not one of the channel's {', '.join(subdirs)}",
                location=where,
                hint=_near(p.subdir, subdirs),
            )
        for spec in (*p.depends, *p.constrains):
            if not spec.strip() or spec != spec.strip():
                raise InputError(f"{what}bad match spec {spec!r}", location=where)
        for rel in p.payload():
            if "\\" in rel or {"", ".", ".."} & set(rel.split("/")):
                raise InputError(
                    f"{what}file path {rel!r} must be relative, inside the prefix",
                    location=where,
                )
        key = (p.subdir, p.filename())
        if key in seen:
            raise InputError(
                f"{what}{p.subdir}/{key[1]} is also packages[{seen[key]}]", location=where
            )
        seen[key] = i


def _near(word: str, candidates: Iterable[str]) -> str | None:
    return did_you_mean(word, sorted(candidates))


# --------------------------------------------------------------------------- channels


def _native(subdir: str, *, runtime: bool = True, glibc: str = "2.17") -> tuple[str, ...]:
    """The run dependencies conda-forge's compilers give a compiled package on ``subdir``:
    the OS floor as a virtual package, and the C/C++ runtime library."""
    if subdir.startswith("linux"):
        return (f"__glibc >={glibc},<3.0.a0", *(["libgcc >=14"] if runtime else []))
    if subdir.startswith("osx"):
        floor = "11.0" if subdir == "osx-arm64" else "10.13"
        return (f"__osx >={floor}", *(["libcxx >=19"] if runtime else []))
    return ()


def _stdlib(subdir: str) -> str:
    """What ``${{ stdlib("c") }}`` becomes in a run requirement on ``subdir``."""
    if subdir.startswith("linux"):
        return f"sysroot_{subdir} 2.17.*"
    return f"macosx_deployment_target_{subdir} {'11.0' if subdir == 'osx-arm64' else '10.13'}.*"


def _py_build(py: str, key: str, number: int = 0) -> str:
    """A build string for a python-specific build: ``py313h<hash>_0``."""
    return f"py{py.replace('.', '')}h{_digest(key)}_{number}"


#: rubin-env versions in :func:`rubin_like_packages`.
RUBIN_ENV_VERSIONS = ("12.1.0", "13.0.1")

#: Run requirements of ``rubin-env-nosysroot``, restricted to the packages in
#: :func:`rubin_like_packages`.  13.0.1's are copied from the feedstock recipe
#: (realdata/rubin-env/13.0.1-requirements.yaml); 12.1.0's are modelled on them.
_NOSYSROOT: dict[str, tuple[str, ...]] = {
    "12.1.0": (
        "cmake >=3.31",
        "eups >=2.2.14",
        "pytest >=8.3,<9",
        "cfitsio >=4.5",
        "numpy >=1.26",
        "python >=3.12,<3.13",
        "ruff >=0.14",
    ),
    "13.0.1": (
        "cmake >=4.1.1",
        "eups >=2.2.14",
        "pytest >=9.0.0,<10",
        "cfitsio 4.6.2.*",
        "numpy 2.3.*",
        "numpy",
        "python >=3.13,<3.14",
        "ruff ==0.14.5",
    ),
}
_RUBIN_BUILD_NUMBER = {"12.1.0": 0, "13.0.1": 6}


def rubin_like_packages(
    platforms: Sequence[str] = ("linux-64", "osx-arm64"),
) -> list[PackageSpec]:
    """A small conda-forge-like channel around rubin-env 12.1.0 and 13.0.1.

    Real names and real constraint shapes: python 3.11/3.12/3.13 (two 3.13 patch
    releases) with ``python_abi``; numpy 1.26.4 to 2.3.5 built per python version;
    eups, pytest and its dependencies, isort, pyflakes as noarch; cmake, ruff, cfitsio,
    libzlib and the C/C++ runtimes (libgcc on Linux, libcxx on macOS) per platform;
    ``rubin-env-nosysroot`` (per platform; its 13.0.1 pins are the recipe's),
    ``rubin-env`` (pins nosysroot exactly, adds the C stdlib package and python) and
    ``rubin-env-developer`` (noarch, pins ``rubin-env ==X``, adds isort and pyflakes) and
    ``rubin-env-extras`` (noarch, pins ``rubin-env ==X``, adds isort).

    Compiled packages depend on ``__glibc``/``__osx``; ``cmake 4.1.2`` on Linux needs
    ``__glibc >=2.28``, so rubin-env 13.0.1 solves on Linux only with glibc 2.28 or
    newer declared.  Every dependency is satisfiable on every platform in ``platforms``.
    """
    out: list[PackageSpec] = []
    noarch_py = ("python >=3.9",)
    out += [
        PackageSpec("eups", v, depends=("python >=3.9", "__unix"), files=_eups_files(v))
        for v in ("2.2.14", "2.2.15")
    ]
    pytest_deps = ("iniconfig >=1", "packaging >=20", "pluggy >=1.5,<2")
    out += [
        PackageSpec("pytest", "8.4.2", depends=("python >=3.9", *pytest_deps)),
        PackageSpec("pytest", "9.0.1", depends=("python >=3.10", *pytest_deps)),
        PackageSpec("iniconfig", "2.1.0", depends=noarch_py),
        PackageSpec("packaging", "25.0", depends=("python >=3.8",)),
        PackageSpec("pluggy", "1.6.0", depends=noarch_py),
        PackageSpec("isort", "6.1.0", depends=noarch_py),
        PackageSpec("pyflakes", "3.4.0", depends=noarch_py),
    ]
    for v in RUBIN_ENV_VERSIONS:
        out.append(
            PackageSpec(
                "rubin-env-developer",
                v,
                build_number=_RUBIN_BUILD_NUMBER[v],
                depends=(f"rubin-env =={v}", "isort >=6.1.0", "pyflakes >=3.4.0"),
            )
        )
        out.append(  # the feedstock's extras: more packages on top of rubin-env
            PackageSpec(
                "rubin-env-extras",
                v,
                build_number=_RUBIN_BUILD_NUMBER[v],
                depends=(f"rubin-env =={v}", "isort >=6.1.0"),
            )
        )
    for platform in platforms:
        if platform not in KNOWN_SUBDIRS - {"noarch", "win-64"}:
            raise InputError(f"rubin-env has no {platform!r} build", location=Location("platforms"))
        out += _rubin_like_platform(platform)
    return out


def _eups_files(version: str) -> dict[str, str]:
    # As the real eups package: its activation script puts the stack in the environment.
    return {
        "bin/eups": f'#!/bin/sh\necho "EUPS Version: {version}"\n',
        "share/eups/VERSION": f"{version}\n",
        "etc/conda/activate.d/eups_activate.sh": (
            'export EUPS_DIR="$CONDA_PREFIX/eups"\nexport EUPS_PATH="$CONDA_PREFIX/share/eups"\n'
        ),
    }


def _rubin_like_platform(p: str) -> list[PackageSpec]:
    native = _native(p)
    zlib = "libzlib >=1.3.1,<2.0a0"
    return [
        *_os_packages(p),
        PackageSpec("libzlib", "1.3.1", build_number=2, depends=native, subdir=p),
        *_pythons(p, native, zlib),
        *_numpys(p, native),
        *(PackageSpec("cfitsio", v, depends=(*native, zlib), subdir=p) for v in ("4.5.0", "4.6.2")),
        PackageSpec("cmake", "3.31.8", depends=(*native, zlib), subdir=p),
        PackageSpec("cmake", "4.1.2", depends=(*_native(p, glibc="2.28"), zlib), subdir=p),
        *(
            PackageSpec("ruff", v, depends=_native(p, runtime=False), subdir=p)
            for v in ("0.14.4", "0.14.5")
        ),
        *_rubin_envs(p),
    ]


def _os_packages(p: str) -> list[PackageSpec]:
    """The OS's own stdlib package (noarch on conda-forge, one per target platform) and
    the C++ runtime."""
    if p.startswith("linux"):
        return [
            *(
                PackageSpec(f"sysroot_{p}", v, build_number=18, subdir="noarch")
                for v in ("2.17", "2.28")
            ),
            *(
                PackageSpec("libgcc", v, depends=_native(p, runtime=False), subdir=p)
                for v in ("14.2.0", "15.1.0")
            ),
        ]
    floor = "11.0" if p == "osx-arm64" else "10.13"
    return [
        PackageSpec(f"macosx_deployment_target_{p}", floor, depends=(f"__osx >={floor}",)),
        *(
            PackageSpec("libcxx", v, depends=_native(p, runtime=False), subdir=p)
            for v in ("19.1.7", "20.1.8")
        ),
    ]


def _pythons(p: str, native: tuple[str, ...], zlib: str) -> list[PackageSpec]:
    out: list[PackageSpec] = []
    pythons = {"3.11": ["3.11.13"], "3.12": ["3.12.11"], "3.13": ["3.13.5", "3.13.7"]}
    for minor, versions in pythons.items():
        tag = f"cp{minor.replace('.', '')}"
        abi = f"python_abi {minor}.* *_{tag}"
        out.append(
            PackageSpec(
                "python_abi",
                minor,
                build_number=8,
                subdir=p,
                constrains=(f"python {minor}.* *_{tag}",),
                build=f"8_{tag}",
            )
        )
        for v in versions:
            deps = (*native, zlib, abi)
            out.append(
                PackageSpec(
                    "python",
                    v,
                    build_number=100,
                    depends=deps,
                    subdir=p,
                    files={"bin/python3": f"#!/bin/sh\necho 'Python {v}'\n"},
                    build=f"h{_digest(p + v + str(deps))}_100_{tag}",
                )
            )
    return out


def _numpys(p: str, native: tuple[str, ...]) -> list[PackageSpec]:
    out: list[PackageSpec] = []
    numpys = {"1.26.4": ("3.11", "3.12"), "2.1.3": ("3.11", "3.12", "3.13")}
    numpys |= {v: ("3.11", "3.12", "3.13") for v in ("2.2.6", "2.3.4", "2.3.5")}
    for v, minors in numpys.items():
        for minor in minors:
            tag = minor.replace(".", "")
            deps = (
                *native,
                f"python >={minor},<3.{int(minor.split('.')[1]) + 1}.0a0",
                f"python_abi {minor}.* *_cp{tag}",
            )
            out.append(
                PackageSpec(
                    "numpy", v, depends=deps, subdir=p, build=_py_build(minor, p + v + str(deps))
                )
            )
    return out


def _rubin_envs(p: str) -> list[PackageSpec]:
    out: list[PackageSpec] = []
    for v in RUBIN_ENV_VERSIONS:
        number = _RUBIN_BUILD_NUMBER[v]
        deps = _NOSYSROOT[v] + (() if p.startswith("linux") or v != "13.0.1" else ("libcxx 20.*",))
        nosysroot = PackageSpec(
            "rubin-env-nosysroot",
            v,
            build_number=number,
            depends=deps,
            subdir=p,
            # As rubin-env's activation hook: a shared stack first, when there is one.
            files={
                f"etc/conda/activate.d/rubin-env-{v}.sh": (
                    'if [ -n "${RUBIN_EUPS_PATH:-}" ]; then\n'
                    '    export EUPS_PATH="$RUBIN_EUPS_PATH:$EUPS_PATH"\nfi\n'
                )
            },
        )
        pin = f"rubin-env-nosysroot =={v} {nosysroot.build_string}"
        out.append(nosysroot)
        out.append(
            PackageSpec(
                "rubin-env", v, build_number=number, depends=(pin, _stdlib(p), "python"), subdir=p
            )
        )
    return out


def generated_packages(
    n_records: int,
    seed: int = 0,
    *,
    platforms: Sequence[str] = DEFAULT_SUBDIRS,
    max_versions: int = 30,
    avg_deps: float = 3,
    arch_fraction: float = 0.6,
) -> list[PackageSpec]:
    """Exactly ``n_records`` package records for benchmarks: ``pkg00000``, ``pkg00001``...

    Each name has 1 to ``max_versions`` versions and is compiled (one record per
    platform, depending on ``__glibc``/``__osx``) with probability ``arch_fraction``,
    else noarch.  A version depends on about ``avg_deps`` lower-numbered names (so the
    graph is acyclic), with conda-forge-shaped ranges (``>=1.2``, ``>=1.2,<2``,
    ``1.4.*``, bare names) whose floors rise with the version, the way newer releases
    need newer dependencies.  Every single constraint names an existing version.  The
    same arguments give the same packages.
    """
    if n_records < 1:
        raise InputError(f"a channel needs at least one record, not {n_records}")
    if max_versions < 1 or avg_deps < 0 or not 0 <= arch_fraction <= 1:
        raise InputError("max_versions >= 1, avg_deps >= 0, 0 <= arch_fraction <= 1 needed")
    rng = random.Random(seed)
    plats = tuple(platforms)
    out: list[PackageSpec] = []
    made: list[tuple[str, list[str]]] = []  # (name, versions oldest first)
    while len(out) < n_records:
        name = f"pkg{len(made):05d}"
        left = n_records - len(out)
        arch = bool(plats) and rng.random() < arch_fraction and left >= len(plats)
        per_version = len(plats) if arch else 1
        count = max(1, min(rng.randint(1, max_versions), left // per_version))
        versions = _version_series(rng, count)
        for j, version in enumerate(versions):
            depends = _draw_depends(rng, made, (j + 1) / count, avg_deps)
            for subdir in plats if arch else ("noarch",):
                out.append(
                    PackageSpec(
                        name,
                        version,
                        depends=(*_native(subdir, runtime=False), *depends),
                        subdir=subdir,
                    )
                )
        made.append((name, versions))
    return out


def _version_series(rng: random.Random, count: int) -> list[str]:
    major, minor, patch = rng.randint(0, 3), rng.randint(0, 9), 0
    out = [f"{major}.{minor}.{patch}"]
    while len(out) < count:
        roll = rng.random()
        if roll < 0.1:
            major, minor, patch = major + 1, 0, 0
        elif roll < 0.4:
            minor, patch = minor + 1, 0
        else:
            patch += 1
        out.append(f"{major}.{minor}.{patch}")
    return out


def _draw_depends(
    rng: random.Random, made: Sequence[tuple[str, list[str]]], age: float, avg_deps: float
) -> tuple[str, ...]:
    count = min(len(made), rng.randint(0, round(2 * avg_deps)))
    out: list[str] = []
    for index in sorted(rng.sample(range(len(made)), count)):
        dep, versions = made[index]
        # Newer releases (age near 1) need newer dependencies.
        floor_at = min(len(versions) - 1, int(age * rng.random() * len(versions)))
        floor = versions[floor_at]
        major, minor, _ = floor.split(".")
        form = rng.random()
        if form < 0.15:
            out.append(dep)
        elif form < 0.5:
            out.append(f"{dep} >={floor}")
        elif form < 0.85:
            out.append(f"{dep} >={floor},<{int(major) + 1}")
        else:
            out.append(f"{dep} {major}.{minor}.*")
    return tuple(out)


# --------------------------------------------------------------------------- child side


def _build(spec_path: Path, root: Path) -> int:
    """Write and index the channel that ``spec_path`` describes (runs in the child)."""

    from rattler import MatchSpec  # deferred: heavy
    from rattler.exceptions import InvalidMatchSpecError  # deferred: heavy
    from rattler.index import index_fs  # deferred: heavy
    from rattler_build import ArchiveType, FileEntry, assemble_package  # deferred: heavy

    spec = json.loads(spec_path.read_text("utf-8"))
    if spec.get("format") != _SPEC_FORMAT:
        raise SystemExit(f"{spec_path}: unsupported spec format {spec.get('format')!r}")
    archive: ArchiveKind = spec["archive"]
    archive_type = ArchiveType.Conda if archive == "conda" else ArchiveType.TarBz2
    started = time.monotonic()
    for subdir in spec["subdirs"]:
        (root / subdir).mkdir(parents=True, exist_ok=True)
    packages = [PackageSpec.from_json(p) for p in spec["packages"]]
    for i, package in enumerate(packages):
        # rattler-build stores match specs unparsed; a solver would trip over them later.
        for text in (*package.depends, *package.constrains):
            try:
                MatchSpec(text)
            except InvalidMatchSpecError as exc:
                raise SystemExit(
                    f"packages[{i}]: {package.name}: bad match spec {text!r}: {exc}"
                ) from exc
    with tempfile.TemporaryDirectory(prefix="scipipe-channel-files-") as scratch:
        for i, package in enumerate(packages):
            # Flat source files mapped to their paths: cheaper than a tree per package.
            entries = []
            for k, (rel, text) in enumerate(sorted(package.payload().items())):
                source = Path(scratch) / f"{i}-{k}"
                source.write_text(text, encoding="utf-8")
                source.chmod(0o755 if rel.startswith("bin/") else 0o644)
                entries.append(FileEntry.from_paths(source, rel))
            output = assemble_package(
                name=package.name,
                version=package.version,
                target_platform=package.subdir,
                build_string=package.build_string,
                output_dir=root / package.subdir,
                files=entries or None,
                depends=list(package.depends),
                constrains=list(package.constrains),
                build_number=package.build_number,
                noarch="generic" if package.subdir == "noarch" else None,
                summary=f"{package.name} (scipipe_tools.demo.channel)",
                license="BSD-3-Clause",
                archive_type=archive_type,
                timestamp=BUILD_TIME,
                compression_level=1,
                compression_threads=1,
                detect_prefix=False,
            )
            if output.path.name != package.filename(archive):
                raise SystemExit(f"rattler-build wrote {output.path.name}, not the expected name")
            for entry in entries:
                entry.source.unlink()
    built = time.monotonic()
    asyncio.run(index_fs(root, write_zst=False, write_shards=False))
    scratch_dir = root / ".tmp"  # index_fs leaves its (empty) scratch directory behind
    if scratch_dir.is_dir() and not any(scratch_dir.iterdir()):
        scratch_dir.rmdir()
    summary = {
        "packages": len(packages),
        "build_seconds": round(built - started, 3),
        "index_seconds": round(time.monotonic() - built, 3),
    }
    print(json.dumps(summary, sort_keys=True), flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scipipe_tools.demo.channel",
        description="Build a local conda channel from a JSON spec (see make_channel).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build and index the channel")
    build.add_argument("spec", type=Path, help="spec JSON written by make_channel")
    build.add_argument("root", type=Path, help="channel directory to write")
    args = parser.parse_args(argv)
    return _build(args.spec, args.root)


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything is written; skip interpreter teardown, where py-rattler's runtime can
    # crash (the parent would tolerate that, but there is no need to provoke it).
    os._exit(code)
