"""EUPS distrib post-install hook: ``site/distribInstallPostHook.py`` of an LSST stack.

EUPS imports this file from the stack's ``site/`` directory and calls
``distribInstallPostHook(prod_install_path, verbose)`` after it installs each product from
a distribution server.  Binary tarballs were built elsewhere, so:

- a script whose ``#!`` line names a python interpreter by absolute path is pointed at
  this environment's ``python`` (scripts using ``/usr/bin/env`` are left alone);
- a ``.so``/``.dylib`` symbolic link with an absolute target is made relative, so it
  stays inside the installed product.

This file is copied verbatim into stacks by ``lsstinstall``: standard library only.
"""

from __future__ import annotations

import os
import re
import shutil
import sys

__all__ = ["distribInstallPostHook"]

_SHEBANG = re.compile(rb"^#![ \t]*(\S+)")  # the interpreter; its arguments are kept
_SHARED = re.compile(r".*\.(so(\.[0-9.]+)?|dylib)$")
_BINARY_SUFFIXES = (".py", ".pyc", ".pyo", ".h", ".a", ".c", ".txt", ".html", ".so", ".dylib")


def fix_shebang(path: str, python: str, verbose: int = 0) -> bool:
    """Point an absolute ``#!.../python`` line at ``python``; True when the file changed."""
    if os.path.islink(path) or not os.path.isfile(path) or path.endswith(_BINARY_SUFFIXES):
        return False
    with open(path, "rb") as fh:
        head = fh.read(2)
        if head != b"#!":
            return False
        data = head + fh.read()
    match = _SHEBANG.match(data)
    if match is None:
        return False
    interpreter = match.group(1)
    if interpreter == b"/usr/bin/env" or b"python" not in os.path.basename(interpreter):
        return False
    new = b"#!" + python.encode() + data[match.end() :]
    if new == data:
        return False
    mode = os.stat(path).st_mode
    tmp = f"{path}.posthook-tmp"
    with open(tmp, "wb") as out:
        out.write(new)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    if verbose > 0:
        print(f"updating shebang for {path}", file=sys.stderr)
    return True


def fix_shared_link(path: str, verbose: int = 0) -> bool:
    """Make an absolute ``.so``/``.dylib`` symlink relative; True when it changed."""
    if not _SHARED.match(path) or not os.path.islink(path):
        return False
    target = os.readlink(path)
    if not os.path.isabs(target):
        return False
    relative = os.path.basename(target)
    tmp = f"{path}.posthook-tmp"
    os.symlink(relative, tmp)
    os.replace(tmp, path)
    if verbose > 0:
        print(f"making the link {path} -> {relative} relative", file=sys.stderr)
    return True


def distribInstallPostHook(prod_install_path: str, verbose: int = 0) -> None:
    """Called by EUPS after installing a product into ``prod_install_path``."""
    if not os.path.isdir(prod_install_path):
        raise RuntimeError(f"EUPS product install path is missing: {prod_install_path}")
    python = shutil.which("python") or shutil.which("python3") or sys.executable
    for root, _dirs, files in os.walk(prod_install_path):
        for name in files:
            path = os.path.join(root, name)
            fix_shared_link(path, verbose)
            fix_shebang(path, python, verbose)
