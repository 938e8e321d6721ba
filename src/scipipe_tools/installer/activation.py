"""A work root's activation scripts: ``ROOT/bin/setup.{sh,bash,zsh,csh}``.

As lsstsw's ``bin/setup.sh`` and ``bin/setup.csh``: sourcing one activates the root's
active environment (``ROOT/envs/NAME``) as ``conda activate`` would (its ``bin`` first on
``PATH``, ``CONDA_PREFIX``, its ``etc/conda/activate.d`` scripts for that shell), then
points EUPS at the root's stack (``EUPS_PATH=ROOT/stack``) and sets ``SCIPIPE_ROOT``, so
that ``scipipe build`` and ``scipipe setup`` work on the root with no option.

``scipipe deploy`` writes them; ``scipipe envconfig`` rewrites them for another
environment.  No conda is needed.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from ..errors import InputError, Location
from ..infra.files import write_atomic
from ..infra.prefix import check_env_name

#: script name -> its shell family
SCRIPTS = {"setup.sh": "sh", "setup.bash": "sh", "setup.zsh": "sh", "setup.csh": "csh"}

#: what a root's path may hold to be written into a csh script safely
_CSH_SAFE = re.compile(r"^[A-Za-z0-9_./@%+=:,~ -]+$")

_SH = """\
# Source this file to use the work root {root}:
#     . {root}/bin/setup.sh          # sh, bash, zsh
# Written by `scipipe deploy`; `scipipe envconfig -n NAME` rewrites it.
SCIPIPE_ROOT={root}
SCIPIPE_ENV={env}
CONDA_PREFIX="$SCIPIPE_ROOT/envs/$SCIPIPE_ENV"
CONDA_DEFAULT_ENV="$SCIPIPE_ENV"
PATH="$CONDA_PREFIX/bin:$PATH"
export SCIPIPE_ROOT SCIPIPE_ENV CONDA_PREFIX CONDA_DEFAULT_ENV PATH
__scipipe_activate() {{
    if [ -n "${{ZSH_VERSION:-}}" ]; then setopt localoptions nullglob; fi
    for __scipipe_f in "$CONDA_PREFIX"/etc/conda/activate.d/*.sh; do
        if [ -r "$__scipipe_f" ]; then . "$__scipipe_f"; fi
    done
    unset __scipipe_f
}}
__scipipe_activate
unset -f __scipipe_activate
EUPS_PATH="$SCIPIPE_ROOT/stack"
export EUPS_PATH
if [ -r "$SCIPIPE_ROOT/stack/pkgroot" ]; then
    EUPS_PKGROOT="$(cat "$SCIPIPE_ROOT/stack/pkgroot")"
    export EUPS_PKGROOT
fi
"""

_CSH = """\
# Source this file in csh or tcsh to use the work root {root}:
#     source {root}/bin/setup.csh
# Written by `scipipe deploy`; `scipipe envconfig -n NAME` rewrites it.
setenv SCIPIPE_ROOT '{root}'
setenv SCIPIPE_ENV '{env}'
setenv CONDA_PREFIX "${{SCIPIPE_ROOT}}/envs/${{SCIPIPE_ENV}}"
setenv CONDA_DEFAULT_ENV "${{SCIPIPE_ENV}}"
setenv PATH "${{CONDA_PREFIX}}/bin:${{PATH}}"
if ( $?nonomatch ) then
    set __scipipe_nonomatch
endif
set nonomatch
foreach __scipipe_f ( "${{CONDA_PREFIX}}"/etc/conda/activate.d/*.csh )
    if ( -r "$__scipipe_f" ) source "$__scipipe_f"
end
if ( ! $?__scipipe_nonomatch ) unset nonomatch
unset __scipipe_f __scipipe_nonomatch
setenv EUPS_PATH "${{SCIPIPE_ROOT}}/stack"
if ( -r "${{SCIPIPE_ROOT}}/stack/pkgroot" ) then
    setenv EUPS_PKGROOT "`cat '{root}/stack/pkgroot'`"
endif
rehash
"""

_ENV_LINE = re.compile(r"^SCIPIPE_ENV=(\S+)$", re.M)


def bin_dir(root: Path) -> Path:
    return root / "bin"


def check_root(root: Path) -> Path:
    """``root`` made absolute; refused when its path cannot be written into a csh script."""
    root = root.absolute()
    if not _CSH_SAFE.match(str(root)):
        raise InputError(
            "the work root's path has characters the activation scripts cannot quote "
            "(only letters, digits, spaces and _./@%+=:,~- are allowed)",
            location=Location.of(root),
        )
    return root


def render(root: Path, env: str) -> dict[str, str]:
    """Each script's text for environment ``env`` of ``root``."""
    root = check_root(root)
    check_env_name(env)
    sh = _SH.format(root=shlex.quote(str(root)), env=env)
    csh = _CSH.format(root=str(root), env=env)
    return {name: (csh if kind == "csh" else sh) for name, kind in SCRIPTS.items()}


def stale(root: Path, env: str) -> list[Path]:
    """The scripts that are missing or differ from what ``env`` needs."""
    out = []
    for name, text in render(root, env).items():
        path = bin_dir(root) / name
        try:
            if path.read_text(encoding="utf-8") == text:
                continue
        except OSError:
            pass
        out.append(path)
    return out


def write(root: Path, env: str) -> list[Path]:
    """Write the scripts that are missing or differ; the ones written."""
    texts = render(root, env)
    written = stale(root, env)
    for path in written:
        write_atomic(path, texts[path.name])
    return written


def active_env(root: Path) -> str | None:
    """The environment ``ROOT/bin/setup.sh`` activates, or None without one."""
    try:
        text = (bin_dir(root) / "setup.sh").read_text(encoding="utf-8")
    except OSError:
        return None
    found = _ENV_LINE.search(text)
    return found.group(1) if found else None
