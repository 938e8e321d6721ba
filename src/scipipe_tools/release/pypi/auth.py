"""Where an upload goes and with which credentials.

``--repository-url`` names the upload endpoint; ``--repository NAME`` names a section of
``.pypirc`` (its ``repository``, ``username``, ``password``).  ``TWINE_USERNAME`` and
``TWINE_PASSWORD`` override the file, as twine's own precedence has it.  The password is
registered with the redaction as soon as it is read, and reaches twine only through its
environment: never an argument, never printed.
"""

from __future__ import annotations

import configparser
import os
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ... import redaction
from ...errors import InputError, Location

PYPI_UPLOAD = "https://upload.pypi.org/legacy/"
PYPI_SIMPLE = "https://pypi.org/simple/"
TESTPYPI_UPLOAD = "https://test.pypi.org/legacy/"
TESTPYPI_SIMPLE = "https://test.pypi.org/simple/"


@dataclass(frozen=True)
class Target:
    """An index: where files are uploaded, where its simple index is read, and who uploads."""

    repository_url: str
    index_url: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def upload_env(self) -> dict[str, str]:
        """The environment that gives twine the credentials."""
        if self.username is None or self.password is None:
            raise InputError(
                f"no credentials to upload to {self.repository_url}",
                hint="set TWINE_USERNAME and TWINE_PASSWORD (for a PyPI token: __token__ and "
                "the token), or name a .pypirc section with --repository",
            )
        return {"TWINE_USERNAME": self.username, "TWINE_PASSWORD": self.password}


def default_index_url(repository_url: str) -> str:
    """The simple index that goes with an upload URL: PyPI's and TestPyPI's are known;
    for any other (pypiserver, devpi) ``<url>/simple/``."""
    if repository_url.rstrip("/") == PYPI_UPLOAD.rstrip("/"):
        return PYPI_SIMPLE
    if repository_url.rstrip("/") == TESTPYPI_UPLOAD.rstrip("/"):
        return TESTPYPI_SIMPLE
    return urllib.parse.urljoin(repository_url.rstrip("/") + "/", "simple/")


def _pypirc_section(path: Path, name: str) -> Mapping[str, str]:
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    except configparser.Error as exc:
        raise InputError(f"not a valid .pypirc: {exc}", location=Location.of(path)) from None
    if not parser.has_section(name):
        known = ", ".join(parser.sections()) or "none"
        raise InputError(f"no [{name}] section (sections: {known})", location=Location.of(path))
    return dict(parser.items(name))


def resolve_target(
    *,
    repository_url: str | None,
    repository: str | None,
    index_url: str | None,
    pypirc: Path | None,
    environ: Mapping[str, str] | None = None,
) -> Target:
    """The :class:`Target` of the options, the environment and ``.pypirc``."""
    env = os.environ if environ is None else environ
    section: Mapping[str, str] = {}
    if repository is not None:
        rc = pypirc or Path(env.get("HOME", "~")).expanduser() / ".pypirc"
        section = _pypirc_section(rc, repository)
        redaction.register(section.get("password"))
    if repository_url is None:
        repository_url = section.get("repository") or (
            PYPI_UPLOAD if repository in (None, "pypi") else None
        )
    if repository_url is None:
        raise InputError(f"the .pypirc section [{repository}] names no 'repository' URL")
    username = env.get("TWINE_USERNAME") or section.get("username")
    password = env.get("TWINE_PASSWORD") or section.get("password")
    redaction.register(password)
    return Target(
        repository_url=repository_url,
        index_url=index_url or default_index_url(repository_url),
        username=username,
        password=password,
    )
