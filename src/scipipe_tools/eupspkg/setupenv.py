"""The environment a product builds in.

Once per build, :func:`prepare` makes the environment every product starts from, as
lsstsw's shell has it: the build's environment activated (see
:mod:`scipipe_tools.infra.activate`), ``CC``/``CXX`` as eupspkg exports them
(``${CC:-cc}``, ``${CXX:-c++}``), and EUPS as its ``setups.sh`` leaves it when the
environment has one (``EUPS_DIR``, its ``bin`` on ``PATH`` and ``python`` on
``PYTHONPATH``, ``SETUP_EUPS``), with ``EUPS_PATH`` the stack being built.  Then, per
product, :func:`build_env` applies ``setup -r .`` with the exact dependency versions.

sconsUtils turns its EUPS integration on when ``import eups`` works; :class:`EupsState`
says whether it does, by asking the interpreter the build uses.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ScipipeError
from ..infra import proc
from ..infra.activate import Activation, Python, activate, python_of
from ..stack.setup import setup_directory
from ..stack.stack import Stack

_EUPS_PROBE = """\
import json
try:
    import eups
except Exception as exc:
    print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
else:
    try:
        version = eups.version()
    except Exception:
        version = None
    print(json.dumps({"file": eups.__file__, "version": version}))
"""


@dataclass(frozen=True)
class EupsState:
    """Whether the build has EUPS, as sconsUtils will find it (``import eups``)."""

    #: where ``import eups`` found the module; None when it did not
    module: str | None
    eups_dir: str | None = None
    version: str | None = None
    #: why there is no EUPS, when ``EUPS_DIR`` says there should be
    problem: str | None = None

    @property
    def real(self) -> bool:
        return self.module is not None

    def __str__(self) -> str:
        if self.real:
            where = f"EUPS_DIR={self.eups_dir}" if self.eups_dir else f"module {self.module}"
            return f"real ({where}{', eups ' + self.version if self.version else ''})"
        return f"none ({self.problem})" if self.problem else "none"

    def to_json(self) -> dict[str, str | None]:
        return {
            "state": "real" if self.real else "none",
            "eups_dir": self.eups_dir,
            "module": self.module,
            "version": self.version,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class BuildEnvironment:
    """What every product of one build starts from."""

    env: dict[str, str]
    #: the interpreter for byte-compiling and tests
    python: str
    eups: EupsState
    activation: Activation | None = None
    #: the environment's own interpreter, as probed (None: no environment, or it has none)
    env_python: Python | None = None
    python_version: str | None = None

    @property
    def python_note(self) -> str | None:
        """Why the environment's python is not the one used, when it is not."""
        if self.activation is None:
            return None
        if self.env_python is None:
            return f"the environment has no bin/python; using {self.python}"
        if not self.env_python.works:
            return f"{self.env_python.path} is {self.env_python.problem}; using {self.python}"
        return None

    def header(self) -> list[str]:
        """Lines that open each product's build log."""
        a = self.activation
        where = f"{a.kind} {a.prefix}" if a is not None else "none (scipipe's own environment)"
        lines = [
            f"environment: {where}",
            f"python: {self.python} ({self.python_version or 'version unknown'})",
        ]
        if self.python_note:
            lines.append(f"note: {self.python_note}")
        lines.append(f"eups: {self.eups}")
        return lines


def prepare(prefix: Path | None, base: Mapping[str, str], stack: Path) -> BuildEnvironment:
    """The environment of a build into ``stack`` run in ``prefix`` (None: in ``base``)."""
    activation = activate(prefix, base) if prefix is not None else None
    env = dict(activation.env if activation is not None else base)
    env_python = python_of(activation.prefix, env) if activation is not None else None
    if env_python is not None and env_python.works:
        python, version = env_python.path, env_python.version
    else:
        python, version = sys.executable, platform.python_version()
    for var, default in (("CC", "cc"), ("CXX", "c++")):  # eupspkg: export CC=${CC:-cc}
        if not env.get(var):
            env[var] = default
    eups = _eups(env, stack, python)
    return BuildEnvironment(env, python, eups, activation, env_python, version)


def _eups(env: dict[str, str], stack: Path, python: str) -> EupsState:
    """Set ``env`` up as EUPS's ``setups.sh`` does, for ``stack``; say what sconsUtils
    will find."""
    env["EUPS_PATH"] = str(stack)
    eups_dir = env.get("EUPS_DIR") or None
    problem = None
    if eups_dir is not None:
        if (Path(eups_dir) / "python" / "eups" / "__init__.py").is_file():
            env["EUPS_SHELL"] = "sh"
            env["PATH"] = _prepend(env.get("PATH"), os.path.join(eups_dir, "bin"))
            env["PYTHONPATH"] = _prepend(env.get("PYTHONPATH"), os.path.join(eups_dir, "python"))
            env["SETUP_EUPS"] = f"eups LOCAL:{eups_dir.replace(' ', '-+-')} -f (none) -Z (none)"
        else:
            problem = f"EUPS_DIR={eups_dir} holds no python/eups"
    try:
        r = proc.run([python, "-c", _EUPS_PROBE], env=env, check=False, timeout=120)
        said = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError, ScipipeError) as exc:
        return EupsState(None, eups_dir, problem=problem or f"cannot ask {python}: {exc}")
    if not isinstance(said, dict) or not isinstance(said.get("file"), str):
        error = said.get("error") if isinstance(said, dict) else None
        if eups_dir is not None and problem is None:
            problem = f"import eups failed with EUPS_DIR={eups_dir}: {error}"
        return EupsState(None, eups_dir, problem=problem)
    version = said.get("version")
    return EupsState(said["file"], eups_dir, version if isinstance(version, str) else None)


def _prepend(path: str | None, entry: str) -> str:
    parts = [p for p in (path or "").split(os.pathsep) if p]
    return os.pathsep.join([entry, *(p for p in parts if p != entry)])


def build_env(
    stack: Stack,
    product: str,
    version: str,
    source: Path,
    deps: Sequence[tuple[str, str]],
    tag: str,
    base: Mapping[str, str],
) -> dict[str, str]:
    """``base`` with the product's own source table applied and every dependency set up
    at the version built against (``deps``: all transitive ones)."""
    env = dict(base)
    result = setup_directory(stack, product, version, source, tag=tag, environ=env, pins=dict(deps))
    for var, value in result.env.items():
        if value is None:
            env.pop(var, None)
        else:
            env[var] = value
    return env
