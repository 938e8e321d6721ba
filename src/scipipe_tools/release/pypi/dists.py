"""Building, checking and uploading a product's distributions.

The build is the standard PEP 517 front end, ``python -m build --sdist --wheel``, run
with this interpreter.  By default without build isolation: an isolated build installs
the backend (setuptools, lsst-versions) from an index first, which a release host or a
test without network cannot do; the backend this tool depends on is used instead, and
``build`` still refuses to start when the project's ``build-system.requires`` is not
met.  ``isolation=True`` restores the isolated build.

Both files are made reproducible, so that a rebuild of the same commit has the same
sha256 and a rerun can compare what it would upload with what the index has:
``SOURCE_DATE_EPOCH`` is the commit's time (the wheel's zip entries take it), and the
sdist is rewritten with that mtime on every entry, no owner, sorted entries and a gzip
header without a time (setuptools writes the checkout's file times and the time of day).
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from ...infra import proc

#: seconds: a build that takes longer than this is hung
BUILD_TIMEOUT = 3600.0
UPLOAD_TIMEOUT = 1800.0


def build(checkout: Path, outdir: Path, *, epoch: int, isolation: bool = False) -> list[Path]:
    """Build the sdist and the wheel of ``checkout`` into ``outdir`` (made empty first)."""
    if outdir.exists():
        shutil.rmtree(outdir)
    outdir.mkdir(parents=True)
    argv = proc.python_module("build", "--sdist", "--wheel", "--outdir", outdir)
    if not isolation:
        argv.append("--no-isolation")
    argv.append(str(checkout))
    env = {
        "SOURCE_DATE_EPOCH": str(epoch),
        # lsst-versions' plugin logs one line per tag otherwise
        "LSST_VERSIONS_LOG_LEVEL": "WARNING",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    proc.run(argv, cwd=checkout, extra_env=env, timeout=BUILD_TIMEOUT)
    files = sorted(p for p in outdir.iterdir() if p.suffix in (".whl", ".gz", ".zip"))
    for f in files:
        if f.name.endswith(".tar.gz"):
            normalize_sdist(f, epoch)
    return files


def normalize_sdist(path: Path, epoch: int) -> None:
    """Rewrite the sdist at ``path`` reproducibly (atomically: a sibling, then replace)."""
    with tarfile.open(path, "r:gz") as src:
        members = []
        for m in src.getmembers():
            data = src.extractfile(m).read() if m.isfile() else None  # type: ignore[union-attr]
            members.append((m, data))
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as dst:
        for m, data in sorted(members, key=lambda md: md[0].name):
            m.mtime = epoch
            m.uid = m.gid = 0
            m.uname = m.gname = ""
            m.mode = 0o755 if (m.isdir() or m.mode & 0o111) else 0o644
            m.pax_headers = {}
            dst.addfile(m, None if data is None else io.BytesIO(data))
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as out, gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as gz:
        gz.write(raw.getvalue())
    os.replace(tmp, path)


def check(files: Sequence[Path]) -> None:
    """``twine check``: the metadata and the long description render on an index."""
    proc.run(proc.python_module("twine", "check", *files), timeout=600)


def upload(files: Sequence[Path], repository_url: str, credentials: Mapping[str, str]) -> None:
    """``twine upload`` of ``files``; the credentials go through the environment only."""
    argv = proc.python_module(
        "twine", "upload", "--non-interactive", "--disable-progress-bar",
        "--repository-url", repository_url, *files,
    )  # fmt: skip
    proc.run(argv, extra_env=dict(credentials), timeout=UPLOAD_TIMEOUT)
