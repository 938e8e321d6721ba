"""What a PyPI-compatible index holds: the files of a project, with their sha256.

Read from the simple repository API: the JSON form (PEP 691) when the index offers it
(pypi.org does), else the HTML form (PEP 503; pypiserver, devpi, Artifactory), whose
links carry the file's hash as a ``#sha256=`` fragment.  A project the index does not
know is an empty listing.  The index is read without credentials.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

from ...errors import NetworkError
from ...redaction import redact

USER_AGENT = "scipipe-tools"
ACCEPT = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"
TIMEOUT = 60.0


@dataclass(frozen=True)
class IndexFile:
    filename: str
    #: hex sha256, or None when the index names no hash
    sha256: str | None


def version_of(filename: str) -> str | None:
    """The version a distribution's file name carries (None: not an sdist or wheel)."""
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        return str(parse_sdist_filename(filename)[1])
    except (InvalidSdistFilename, InvalidWheelFilename):
        return None


def is_sdist(filename: str) -> bool:
    return filename.endswith((".tar.gz", ".zip"))


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.files: list[IndexFile] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag != "a" or self._href is None:
            return
        url, _, fragment = self._href.partition("#")
        name = "".join(self._text).strip() or urllib.parse.unquote(url.rsplit("/", 1)[-1])
        algo, _, digest = fragment.partition("=")
        self.files.append(IndexFile(name, digest.lower() if algo == "sha256" else None))
        self._href = None


def parse_html(text: str) -> list[IndexFile]:
    """The files a PEP 503 project page links to."""
    parser = _Links()
    parser.feed(text)
    parser.close()
    return parser.files


def parse_json(data: Mapping[str, object]) -> list[IndexFile]:
    """The files of a PEP 691 project page."""
    files = data.get("files")
    out: list[IndexFile] = []
    for f in files if isinstance(files, list) else []:
        if not isinstance(f, dict) or not isinstance(f.get("filename"), str):
            continue
        hashes = f.get("hashes")
        sha = hashes.get("sha256") if isinstance(hashes, dict) else None
        out.append(IndexFile(f["filename"], sha.lower() if isinstance(sha, str) else None))
    return out


def project_url(index_url: str, project: str) -> str:
    return index_url.rstrip("/") + "/" + urllib.parse.quote(project) + "/"


def project_files(index_url: str, project: str, *, timeout: float = TIMEOUT) -> list[IndexFile]:
    """Every file the index holds for ``project`` (its normalized name)."""
    url = project_url(index_url, project)
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": ACCEPT})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
            ctype = resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return []
        raise NetworkError(
            f"cannot read {redact(url)}: HTTP {exc.code} {exc.reason}",
            hint="is --index-url the simple index of the repository uploaded to?",
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise NetworkError(f"cannot read {redact(url)}: {reason}") from None
    text = body.decode("utf-8", errors="replace")
    if "json" in ctype:
        try:
            data = json.loads(text)
        except ValueError:
            raise NetworkError(f"{redact(url)}: the index answered with invalid JSON") from None
        return parse_json(data if isinstance(data, dict) else {})
    return parse_html(text)
