"""Where scipipe-tools keeps what it can make again: the one cache root.

``$SCIPIPE_CACHE_DIR``, else ``$XDG_CACHE_HOME/scipipe-tools``, else
``~/.cache/scipipe-tools`` (README, ``scipipe env create``).  Each user of the cache
has a folder of its own below it (packages and repodata at the top, as they always
were; ``forge/`` for the plain-git forge's repositories, ``changelog/`` for the
changelog's clones and walked ranges).
"""

from __future__ import annotations

import os
from pathlib import Path

#: the cache root's folder under ``$XDG_CACHE_HOME``
CACHE_NAME = "scipipe-tools"


def cache_root(*parts: str) -> Path:
    """The cache root, or ``parts`` below it; nothing is created."""
    env = os.environ.get("SCIPIPE_CACHE_DIR")
    if env:
        root = Path(env)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = Path(base) / CACHE_NAME
    return root.joinpath(*parts)
