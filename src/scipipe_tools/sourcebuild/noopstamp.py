"""The no-op stamp: a shortcut for ``scipipe build ... --no-fetch`` when nothing changed.

After a ``--no-fetch`` build in which every product was already installed, the command
writes ``BUILD_DIR/.noop-stamp.json``: what decided the result and what the command
printed.  The next identical command (same arguments, working directory and environment)
checks the stamp before anything else is imported: every checkout's HEAD (read from
``.git/HEAD``, its loose ref or ``packed-refs``) must still be the recorded SHA, and every
other file the build read or wrote (repos.yaml, the tables, the stack's declarations and
tag files, the build's reports...) must still have the recorded size, times and inode.
Then it prints the recorded output and exits 0 without resolving anything.

Any doubt -- an unreadable or corrupt stamp, a HEAD the files do not settle (a linked
worktree, a symbolic ref, a reftable repository), a stack another build holds -- means
the ordinary path.  The stamp is only a shortcut, never an answer of its own.

Only the standard library: this runs before the command line's own modules are imported.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..infra import gitrefs

#: in the build directory
STAMP_NAME = ".noop-stamp.json"
#: the stamp's format; another one is ignored
FORMAT = 1
#: the stack's build lock (:mod:`..infra.lock`'s name)
LOCK_NAME = ".scipipe-build.lock"

Signature = list[int] | None

#: environment variables that do not change a build's result: the shortcut's own
_NOT_KEYED = frozenset({"SCIPIPE_DEBUG_NOOP"})


def run_key(argv: Sequence[str], cwd: str, environ: Mapping[str, str]) -> dict[str, Any]:
    """What must be equal for two commands to give the same result: the arguments, the
    working directory and the whole environment (hashed)."""
    seen = sorted((k, v) for k, v in environ.items() if k not in _NOT_KEYED)
    env = hashlib.sha256(json.dumps(seen).encode()).hexdigest()
    return {"format": FORMAT, "argv": list(argv), "cwd": cwd, "env": env}


def signature(path: str) -> Signature:
    """Size, modification and change times and inode; None: the path does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def write(
    build_dir: str,
    key: Mapping[str, Any],
    heads: Mapping[str, str],
    files: Iterable[str],
    lock: str,
    output: Mapping[str, Any],
) -> bool:
    """Record a no-op: ``heads`` maps git directories to their SHAs, ``files`` are
    stat-ed now, ``output`` is what to print again (``stdout``: text, ``stderr``: lines).
    False, and no stamp, when a HEAD cannot be read from the files or differs."""
    path = os.path.join(build_dir, STAMP_NAME)
    if any(gitrefs.read_head(gitdir) != sha for gitdir, sha in heads.items()):
        remove(build_dir)
        return False
    record = {
        "key": dict(key),
        "heads": dict(heads),
        "files": {f: signature(f) for f in files},
        "lock": lock,
        "output": dict(output),
    }
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(record, fh)
    os.replace(tmp, path)
    return True


def remove(build_dir: str) -> None:
    """Forget the stamp (a build that was not a plain no-op)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(build_dir, STAMP_NAME))


def check(build_dir: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
    """The recorded output if the stamp in ``build_dir`` holds for ``key`` now, else None.

    The stack's build lock is held (shared with nobody) while the files are compared."""
    try:
        with open(os.path.join(build_dir, STAMP_NAME), encoding="utf-8") as fh:
            record = json.load(fh)
        if record["key"] != key:
            return None
        return _holds(record)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _holds(record: dict[str, Any]) -> dict[str, Any] | None:
    fd = os.open(str(record["lock"]), os.O_RDWR)  # made by the build that wrote the stamp
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another build: the ordinary path
        for gitdir, sha in record["heads"].items():
            if gitrefs.read_head(gitdir) != sha:
                return None
        for path, sig in record["files"].items():
            if signature(path) != sig:
                return None
        output: dict[str, Any] = record["output"]
        if not isinstance(output["stdout"], str) or not isinstance(output["stderr"], list):
            return None
        return output
    finally:
        os.close(fd)  # drops the lock
