"""The real tools of ``../shared/tools``, built for the tests that use them as judges.

EUPS 2.2.15 (``eups``, ``setup``, ``eupspkg``, ``eups distrib``, the ``eups`` Python
module) and lsst_build (``lsst-build prepare|build``) are GPL source archives of public
releases; they are built into a temporary folder once a session, in seconds, and run as
clients of what scipipe writes.  Nothing of them is copied into the project.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SHARED_TOOLS = Path(__file__).resolve().parents[2] / "shared" / "tools"
EUPS_ARCHIVE = SHARED_TOOLS / "eups-2.2.15.tar.gz"


def lsst_build_archive() -> Path | None:
    found = sorted(SHARED_TOOLS.glob("lsst_build-*.tar.gz"))
    return found[-1] if found else None


def _unpack(archive: Path, dest: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    (top,) = [p for p in dest.iterdir() if p.is_dir()]
    return top


@dataclass(frozen=True)
class RealEups:
    """A built EUPS: run its commands with :meth:`run` against a stack of your choice."""

    prefix: Path
    userdata: Path

    @property
    def python_path(self) -> Path:
        """Where the ``eups`` Python module is (for ``PYTHONPATH``)."""
        return self.prefix / "python"

    def env(self, stack: Path | str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of a shell that sourced EUPS's ``setups.sh`` for ``stack``
        (``EUPS_PATH``; several stacks joined with ``:``)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EUPS_", "SETUP_"))}
        env.update(
            EUPS_PATH=str(stack),
            EUPS_USERDATA=str(self.userdata),
            EUPS_DIR=str(self.prefix),
            EUPS_SHELL="sh",
        )
        env.update(extra or {})
        return env

    def run(
        self,
        script: str,
        stack: Path | str,
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]:
        """``script`` in bash after ``source setups.sh`` (so ``setup`` works).

        ``setups.sh`` puts the stack EUPS was configured with (``--with-eups``) first on
        ``EUPS_PATH``, where ``eups declare`` would then write; ``EUPS_PATH`` is set back
        to ``stack`` after it, so the real client reads and writes only the test's stack.
        """
        setups = shlex.quote(str(self.prefix / "bin" / "setups.sh"))
        full = f"source {setups} && export EUPS_PATH={shlex.quote(str(stack))} && {script}"
        r = subprocess.run(
            ["bash", "-c", full],
            cwd=cwd,
            env=self.env(stack, env),
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
        if check and r.returncode != 0:
            raise AssertionError(
                f"real EUPS failed ({r.returncode}): {script}\n--- stdout\n{r.stdout}"
                f"\n--- stderr\n{r.stderr}"
            )
        return r

    def environ_after(
        self, script: str, stack: Path | str, *, cwd: Path | None = None
    ) -> dict[str, str]:
        """The whole environment of the shell once ``script`` has run (``env -0``)."""
        out = self.run(f"{script} && env -0", stack, cwd=cwd).stdout
        return dict(item.split("=", 1) for item in out.split("\0") if "=" in item)


def build_eups(dest: Path) -> RealEups:
    """Configure and install EUPS 2.2.15 under ``dest`` (about 2 seconds)."""
    src = _unpack(EUPS_ARCHIVE, dest / "src")
    prefix = dest / "eups"
    default_stack = dest / "default-stack"
    default_stack.mkdir(parents=True)
    python = os.path.realpath(sys.executable)  # a real interpreter, not a venv shim
    for argv in (
        [
            "./configure",
            f"--prefix={prefix}",
            f"--with-eups={default_stack}",
            f"--with-python={python}",
        ],
        ["make", "install"],
    ):
        r = subprocess.run(argv, cwd=src, capture_output=True, text=True, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"building EUPS failed: {argv}\n{r.stdout}\n{r.stderr}")
    userdata = dest / "userdata"
    userdata.mkdir()
    return RealEups(prefix, userdata)


@dataclass(frozen=True)
class LsstBuild:
    """lsst_build's ``lsst-build``, run with the real ``eups`` module on its path."""

    script: Path
    eups: RealEups

    def run(
        self, args: list[str], *, cwd: Path | None = None, stack: Path | str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = self.eups.env(stack)
        env["PYTHONPATH"] = os.pathsep.join(
            [
                str(self.script.parents[1] / "python"),
                str(self.eups.python_path),
                env.get("PYTHONPATH", ""),
            ]
        ).rstrip(os.pathsep)
        r = subprocess.run([sys.executable, str(self.script), *args], cwd=cwd, env=env,
                           capture_output=True, text=True, check=False, timeout=600)  # fmt: skip
        if check and r.returncode != 0:
            raise AssertionError(f"lsst-build {args} failed:\n{r.stdout}\n{r.stderr}")
        return r


def build_lsst_build(dest: Path, eups: RealEups) -> LsstBuild:
    archive = lsst_build_archive()
    assert archive is not None
    top = _unpack(archive, dest)
    return LsstBuild(top / "bin" / "lsst-build", eups)
