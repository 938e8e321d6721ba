"""A product as a Python distribution: its ``pyproject.toml`` and its version.

The version is the one ``lsst-versions`` gives the commit (the package itself is asked,
so its rules are never copied here): a release tag on the commit gives that version
(``v29.0.0.rc2`` -> ``29.0.0rc2``); otherwise ``R.YYYY.WWCC`` from the nearest weekly
tag on the first-parent history and the number of commits since it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from ...errors import InputError, Location, ResolutionError

_NORMALIZE = re.compile(r"[-_.]+")


def normalize(name: str) -> str:
    """The PEP 503 normalized project name (``lsst_utils`` -> ``lsst-utils``)."""
    return _NORMALIZE.sub("-", name).lower()


@dataclass(frozen=True)
class Project:
    """What a ``pyproject.toml`` says about the distribution a product builds."""

    name: str
    #: whether ``version`` is dynamic (lsst-versions fills it in at build time)
    dynamic_version: bool
    static_version: str | None

    @property
    def normalized(self) -> str:
        return normalize(self.name)


def parse_pyproject(text: str, where: str) -> Project | None:
    """The ``[project]`` of a ``pyproject.toml``; None when it has none (a file that only
    configures tools, like sconsUtils', builds no distribution)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", location=Location.of(where)) from None
    project = data.get("project")
    if not isinstance(project, dict):
        return None
    name = project.get("name")
    if not isinstance(name, str) or not name:
        raise InputError("[project] has no 'name'", location=Location.of(where))
    dynamic = project.get("dynamic", [])
    version = project.get("version")
    return Project(
        name=name,
        dynamic_version=isinstance(dynamic, list) and "version" in dynamic,
        static_version=version if isinstance(version, str) else None,
    )


def lsst_version(checkout: Path, commit: str) -> str:
    """The version lsst-versions gives ``commit`` of the repository at ``checkout``."""
    import lsst_versions  # deferred: heavy (GitPython)

    try:
        return str(lsst_versions.find_lsst_version(checkout, commit))
    except Exception as exc:  # GitPython's and lsst-versions' errors have no common root
        raise ResolutionError(
            f"lsst-versions cannot version {commit[:12]} of {checkout}: {exc}"
        ) from exc


def is_public_version(version: str) -> bool:
    """Whether an index accepts ``version``: PEP 440, without a local part (``0+unknown``,
    what lsst-versions reports when it finds no history, never is)."""
    try:
        return Version(version).local is None
    except InvalidVersion:
        return False
