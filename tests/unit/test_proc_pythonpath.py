"""A Python child imports this very copy of scipipe_tools (proc.child_pythonpath)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import scipipe_tools
from scipipe_tools.infra import proc


def test_the_first_entry_is_the_directory_that_holds_the_package() -> None:
    first = proc.child_pythonpath()["PYTHONPATH"].split(os.pathsep)[0]
    assert Path(first, "scipipe_tools", "__init__.py").is_file()
    assert Path(first).resolve() == Path(scipipe_tools.__file__).resolve().parents[1]


def test_a_child_with_it_and_nothing_else_imports_this_copy(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(proc.child_pythonpath())
    env["PYTHONPATH"] = env["PYTHONPATH"].split(os.pathsep)[0]
    code = "import scipipe_tools, sys; print(scipipe_tools.__file__)"
    # -I would drop PYTHONPATH too; -s keeps user site-packages out; run from elsewhere
    r = subprocess.run([sys.executable, "-s", "-c", code], env=env, cwd=tmp_path,
                       capture_output=True, text=True, check=True)  # fmt: skip
    assert Path(r.stdout.strip()).resolve() == Path(scipipe_tools.__file__).resolve()
