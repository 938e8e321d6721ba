"""``loadLSST.sh`` and its hard links ``loadLSST.{ash,bash,zsh}`` (spec section 8, step 4)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from ..infra.files import write_atomic

LOAD_NAMES = ("loadLSST.sh", "loadLSST.ash", "loadLSST.bash", "loadLSST.zsh")

_TEMPLATE = """\
# Source this file to use the LSST Science Pipelines:  . {home}/loadLSST.sh
# Written by lsstinstall (scipipe-tools).  LSST_CONDA_ENV_NAME picks another environment:
# a name (in $LSST_CONDA_ROOT/envs) or, as for conda activate, a path.
LSST_CONDA_ROOT={root}
if [ -z "${{LSST_CONDA_ENV_NAME:-}}" ]; then LSST_CONDA_ENV_NAME={env}; fi
if [ -x "$LSST_CONDA_ROOT/bin/conda" ]; then
    # A conda installation: hook it into this shell, then activate the environment.
    __lsst_shell="$(basename "${{SHELL:-sh}}")"
    case "$__lsst_shell" in bash|zsh) ;; *) __lsst_shell=posix ;; esac
    eval "$("$LSST_CONDA_ROOT/bin/conda" "shell.$__lsst_shell" hook)"
    for __lsst_f in "$LSST_CONDA_ROOT"/etc/profile.d/*.sh; do
        case "$__lsst_f" in */mamba.sh) ;; *) [ -r "$__lsst_f" ] && . "$__lsst_f" ;; esac
    done
    conda activate "$LSST_CONDA_ENV_NAME"
    unset __lsst_shell __lsst_f
else
    # An environment made without conda (by scipipe-tools): activate it as conda would.
    case "$LSST_CONDA_ENV_NAME" in
        */*) CONDA_PREFIX="$LSST_CONDA_ENV_NAME" ;;
        *) CONDA_PREFIX="$LSST_CONDA_ROOT/envs/$LSST_CONDA_ENV_NAME" ;;
    esac
    CONDA_DEFAULT_ENV="$LSST_CONDA_ENV_NAME"
    PATH="$CONDA_PREFIX/bin:$PATH"
    export CONDA_PREFIX CONDA_DEFAULT_ENV PATH
    for __lsst_f in "$CONDA_PREFIX"/etc/conda/activate.d/*.sh; do
        [ -r "$__lsst_f" ] && . "$__lsst_f"
    done
    unset __lsst_f
fi
EUPS_PATH="${{EUPS_PATH:-$CONDA_PREFIX/share/eups}}"
EUPS_PKGROOT="$(cat "$CONDA_PREFIX/share/eups/pkgroot" 2>/dev/null)"
export EUPS_PATH EUPS_PKGROOT
"""


def load_script(home: Path, root: Path, env: str) -> str:
    """The script for environment ``env``: a name in ``root/envs``, or an absolute path."""
    quote = shlex.quote
    return _TEMPLATE.format(home=quote(str(home)), root=quote(str(root)), env=quote(env))


def write_load_scripts(home: Path, root: Path, env: str) -> list[Path]:
    """Write ``loadLSST.sh`` and hard-link the other names to it, unless it exists
    (lsstinstall leaves an existing one alone).  Returns what was written."""
    main = home / LOAD_NAMES[0]
    if main.exists():
        return []
    write_atomic(main, load_script(home, root, env))
    written = [main]
    for name in LOAD_NAMES[1:]:
        link = home / name
        if link.exists() or link.is_symlink():
            link.unlink()
        os.link(main, link)
        written.append(link)
    return written
