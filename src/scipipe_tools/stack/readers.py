"""EUPS files read from disk (or, for repos.yaml, a server): the model's parsers on a file's text.

The model (:mod:`scipipe_tools.eups`) parses text and never reads; these read a file with
clear errors and hand its text to the parser.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError
from ..eups.exclusions import Exclusions, parse_exclusions
from ..eups.manifest import Manifest, parse_manifest
from ..eups.repos import Repos, parse_repos
from ..eups.table import Table, parse_table
from ..eups.taglist import TagList, parse_taglist
from ..infra.files import read_text
from ..infra.roots import open_root


def read_table(path: str | Path, *, strict: bool = True, log_warnings: bool | None = None) -> Table:
    """Read and parse a table file (see :func:`parse_table`)."""
    text = read_text(path, "table file")
    return parse_table(text, path, strict=strict, log_warnings=log_warnings)


def read_manifest(path: str | Path, *, strict: bool = False) -> Manifest:
    """:func:`parse_manifest` of the file at ``path``."""
    text = read_text(path, "manifest")
    return parse_manifest(text, path, strict=strict)


def load_manifest(ref: str | Path, versiondb: Path | None = None) -> Manifest:
    """A manifest by path, or by build id (``b8466``) from a versiondb checkout."""
    path = Path(ref)
    if not path.exists() and versiondb is not None and re.match(r"^b[0-9]+$", str(ref)):
        path = versiondb / "manifests" / f"{ref}.txt"
        if not path.exists():
            raise InputError(f"no manifest {ref} in {versiondb / 'manifests'}")
    elif not path.exists() and re.match(r"^b[0-9]+$", str(ref)):
        raise InputError(f"{ref}: no such file", hint="pass --versiondb DIR to look up build ids")
    return read_manifest(path)


def read_taglist(path: str | Path, expect_tag: str | None = None) -> TagList:
    text = read_text(path, "tag list")
    return parse_taglist(text, path, expect_tag)


def read_exclusions(path: str | Path) -> Exclusions:
    text = read_text(path, "exclusion map")
    return parse_exclusions(text, path)


def read_repos(path: str | Path) -> Repos:
    text = read_text(path, "repos file")
    return parse_repos(text, path)


def repos_source(spec: str | Path) -> str:
    """Where repos.yaml comes from, as recorded: a URL as given, a path made absolute."""
    text = str(spec).strip()
    if "://" in text:
        return text
    return str(Path(text).expanduser().absolute())


def fetch_repos_text(spec: str | Path) -> tuple[str, Repos]:
    """repos.yaml's text and what it holds, from a path, a ``file://``, http(s) or
    ``s3://`` URL; an :class:`InputError` naming the line when it is not a repos.yaml."""
    source = repos_source(spec)
    base, _, name = source.rpartition("/")
    text = open_root(base or "/").read_text(name)
    return text, parse_repos(text, source)


def load_repos(spec: str | Path) -> Repos:
    """repos.yaml from a path or an http(s) URL (``lsst/repos``' raw file)."""
    text = str(spec)
    if text.startswith(("http://", "https://")):
        base, _, name = text.rpartition("/")
        return parse_repos(open_root(base).read_text(name), text)
    return read_repos(spec)
