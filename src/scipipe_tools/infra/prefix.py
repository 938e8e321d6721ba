"""What a conda prefix holds (``conda-meta/*.json``) and what a lock would change in it."""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, Location
from .files import write_atomic
from .lockfile import LockedPackage

_ENV_NAME = re.compile(r"^[A-Za-z0-9_.+\-]+$")


def conda_root(root: Path | None = None) -> Path:
    """Where named environments live (``<root>/envs/<name>``): ``root``, else
    ``$SCIPIPE_CONDA_ROOT``, ``$MAMBA_ROOT_PREFIX``, or the conda of ``$CONDA_EXE``."""
    if root is not None:
        return root
    for var in ("SCIPIPE_CONDA_ROOT", "MAMBA_ROOT_PREFIX"):
        if os.environ.get(var):
            return Path(os.environ[var])
    exe = os.environ.get("CONDA_EXE")
    if exe:
        return Path(exe).resolve().parent.parent
    raise InputError(
        "no conda root to put a named environment in",
        hint="pass --prefix DIR, or --root DIR (or set SCIPIPE_CONDA_ROOT)",
    )


def check_env_name(name: str, option: str | None = None) -> str:
    """A conda environment name: letters, digits and ``_.+-``; ``option`` names the flag
    it came from in the message."""
    if not _ENV_NAME.match(name):
        raise InputError(f"{option + ': ' if option else ''}invalid environment name {name!r}")
    return name


def env_prefix(name: str, root: Path | None = None) -> Path:
    return conda_root(root) / "envs" / check_env_name(name)


STAMP = "scipipe-env.stamp"  # in conda-meta/, not *.json: installers read those as records


def package_records(prefix: Path) -> list[str]:
    return sorted(p.name for p in (prefix / "conda-meta").glob("*.json"))


def already_created(prefix: Path, lock_digest: str, platform: str) -> int | None:
    """The number of packages if ``prefix`` was made from a lock with these exact bytes
    for ``platform`` and its package records have not changed since; else None.

    This lets a repeated ``env create`` finish without parsing the lock; anything that
    does not match (another lock, a package added or removed by hand) takes the full path.
    """
    try:
        data = json.loads((prefix / "conda-meta" / STAMP).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    records = package_records(prefix)
    if data == {"lock_sha256": lock_digest, "platform": platform, "records": records}:
        return len(records)
    return None


@dataclass(frozen=True, order=True)
class Installed:
    name: str
    version: str
    build: str
    sha256: str | None
    md5: str | None
    url: str | None
    meta: Path

    def matches(self, package: LockedPackage) -> bool:
        """Same package: name, version and build, and the same bytes where both know a hash."""
        if (self.name, self.version, self.build) != (package.name, package.version, package.build):
            return False
        if self.sha256 and package.sha256:
            return self.sha256.lower() == package.sha256.lower()
        if self.md5 and package.md5:
            return self.md5.lower() == package.md5.lower()
        return True


def installed(prefix: Path) -> dict[str, Installed]:
    """name -> the installed record, from ``<prefix>/conda-meta/*.json``."""
    meta = prefix / "conda-meta"
    out: dict[str, Installed] = {}
    if not meta.is_dir():
        return out
    for path in sorted(meta.glob("*.json")):
        try:
            data = json.loads(path.read_text("utf-8"))
            out[str(data["name"])] = Installed(
                str(data["name"]),
                str(data["version"]),
                str(data["build"]),
                data.get("sha256") or None,
                data.get("md5") or None,
                data.get("url") or None,
                path,
            )
        except (OSError, ValueError, KeyError) as exc:
            raise InputError(f"unreadable package record: {exc}",
                             location=Location.of(path)) from exc  # fmt: skip
    return out


@dataclass(frozen=True)
class Transaction:
    add: tuple[LockedPackage, ...]
    change: tuple[tuple[Installed, LockedPackage], ...]
    remove: tuple[Installed, ...]
    keep: tuple[Installed, ...]

    @property
    def empty(self) -> bool:
        return not (self.add or self.change or self.remove)

    @property
    def to_fetch(self) -> list[LockedPackage]:
        return [*self.add, *(new for _, new in self.change)]

    def to_json(self) -> dict[str, object]:
        def pkg(p: LockedPackage | Installed) -> dict[str, str]:
            return {"name": p.name, "version": p.version, "build": p.build}

        return {
            "add": [pkg(p) for p in self.add],
            "change": [{"from": pkg(a), "to": pkg(b)} for a, b in self.change],
            "remove": [pkg(p) for p in self.remove],
            "keep": len(self.keep),
        }


def plan_transaction(prefix: Path, packages: Sequence[LockedPackage]) -> Transaction:
    """What installing exactly ``packages`` into ``prefix`` would add, change and remove."""
    have = installed(prefix)
    want = {p.name: p for p in packages}
    add, change, keep = [], [], []
    for name, package in sorted(want.items()):
        current = have.get(name)
        if current is None:
            add.append(package)
        elif current.matches(package):
            keep.append(current)
        else:
            change.append((current, package))
    remove = [have[n] for n in sorted(have.keys() - want.keys())]
    return Transaction(tuple(add), tuple(change), tuple(remove), tuple(keep))


def record_origin(
    prefix: Path, packages: Iterable[LockedPackage], *, staging: bool = False
) -> None:
    """Record each package's lock URL, channel and hashes in its ``conda-meta`` file.

    The installer saw only our verified copies in the cache; the prefix should say where
    the packages really came from (``conda list --explicit`` prints these).  In a
    ``staging`` prefix, which nobody sees before it is complete (a failure removes it),
    the files are rewritten in place (:func:`rewrite_in_place`), else atomically.
    """
    write = rewrite_in_place if staging else write_atomic

    def one(package: LockedPackage) -> None:
        path = prefix / "conda-meta" / f"{package.name}-{package.version}-{package.build}.json"
        fields = {"url": package.url, "channel": package.url.rsplit("/", 2)[0]}
        if package.sha256:
            fields["sha256"] = package.sha256
        if package.md5:
            fields["md5"] = package.md5
        text = path.read_text("utf-8")
        spliced = _splice_top_level(text, fields)
        if spliced is None:  # not the installer's layout: parse and write it whole
            # not indented: only then does json use its C encoder (5x faster on these files)
            spliced = json.dumps({**json.loads(text), **fields}, sort_keys=True) + "\n"
        write(path, spliced)

    # One after another: 100 records take 8 ms so, and 15-30 ms in a pool of threads
    # (starting them and passing the GIL around costs more than the small reads and
    # writes they would overlap).
    for package in packages:
        one(package)


def _splice_top_level(text: str, fields: dict[str, str]) -> str | None:
    """``text`` with each top-level field's value replaced, if it is laid out as py-rattler
    writes a record (one top-level ``"key": value`` a line, indented by two spaces, each
    of ``fields`` there exactly once with a one-line value); None otherwise.

    A JSON string holds no raw newline, so a line starting with two spaces and a quote
    is a top-level key.  One scan finds every field's line; three times faster than
    parsing and writing the record whole."""
    found: dict[str, tuple[int, int]] = {}
    for m in _top_level_keys(tuple(fields)).finditer(text):
        key = m.group(1)
        if key in found:
            return None  # twice: not a layout to trust
        end = text.find("\n", m.end())
        if end < 0:
            return None
        found[key] = (m.end(), end)
    if len(found) != len(fields):
        return None
    parts, last = [], 0
    for key, (begin, end) in sorted(found.items(), key=lambda item: item[1]):
        old = text[begin:end]
        comma = "," if old.endswith(",") else ""
        try:
            json.loads(old[: len(old) - len(comma)])
        except ValueError:
            return None
        parts += [text[last:begin], json.dumps(fields[key]), comma]
        last = end
    parts.append(text[last:])
    return "".join(parts)


@functools.cache
def _top_level_keys(keys: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile('\n  "(' + "|".join(re.escape(k) for k in keys) + ')": ')


def rewrite_in_place(path: Path, text: str) -> None:
    """Overwrite ``path`` with ``text``, then cut it to length: not atomic.

    Four times faster than a rename over the file or a truncation before the write on
    ext4, whose replace heuristics (``auto_da_alloc``) write such a file out at once.
    """
    data = text.encode("utf-8")
    fd = os.open(path, os.O_WRONLY)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)
