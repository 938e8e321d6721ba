"""``scipipe --help``, ``scipipe --version`` and ``lsstinstall --help`` start fast: they
import click and the CLI's own plumbing, none of the libraries the commands drive.

No timing here (benchmarks/bench_cli_start.py measures); what is imported is what the
start costs, and it cannot drift back unnoticed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

#: third-party libraries a command drives, each tens to hundreds of ms to import
DRIVEN = ("rattler", "rich", "yaml", "jinja2", "github", "boto3", "botocore", "conda_lock",
          "pydantic", "urllib3", "requests")  # fmt: skip
#: standard-library modules only some commands need
STDLIB = ("asyncio", "importlib.metadata", "email", "concurrent.futures", "tempfile",
          "hashlib", "json", "difflib")  # fmt: skip
#: the CLI's own layers below cli/ (plumbing aside: errors, redaction, infra.proc)
LIBRARY = ("scipipe_tools.env.solve", "scipipe_tools.env.create", "scipipe_tools.env.spec",
           "scipipe_tools.installer", "scipipe_tools.distrib",
           "scipipe_tools.yamlfile", "scipipe_tools.infra.lockfile", "scipipe_tools.eups")  # fmt: skip

ENTRY = {
    "scipipe": "from scipipe_tools.cli.app import cli as command",
    "lsstinstall": "from scipipe_tools.cli.lsstinstall import lsstinstall as command",
}


def imported(prog: str, *args: str, status: int = 0) -> set[str]:
    code = (
        "import sys\n"
        f"{ENTRY[prog]}\n"
        "from scipipe_tools.cli.app import run\n"
        f"code = run(command, {list(args)!r}, {prog!r})\n"
        "print(code, file=sys.stderr)\n"
        "import json\n"  # after the command: it is not among the command's imports
        "modules = sorted(m for m in sys.modules if m != 'json' and not m.startswith('json.'))\n"
        "print(json.dumps(modules), file=sys.stderr)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    code, modules = r.stderr.strip().splitlines()[-2:]
    assert code == str(status), r.stderr
    return set(json.loads(modules))


def heavy(modules: set[str], *, pathlib: bool = True, stdlib: bool = True) -> list[str]:
    names = [*DRIVEN, *LIBRARY, *(STDLIB if stdlib else ()), *(["pathlib"] if pathlib else [])]
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


@pytest.mark.parametrize("args", [["--help"], ["--version"]])
def test_scipipe_starts_without_any_library_it_drives(args: list[str]) -> None:
    assert heavy(imported("scipipe", *args)) == []


def test_lsstinstall_help_does_not_import_the_installer() -> None:
    # its options take paths (click.Path(path_type=Path)): pathlib is its own
    assert heavy(imported("lsstinstall", "--help"), pathlib=False) == []


def test_the_check_sees_what_a_command_imports(tmp_path: Path) -> None:
    """The probe is real: a command that reads locks imports their library."""
    missing = str(tmp_path / "missing.yml")
    loaded = heavy(imported("scipipe", "env", "diff", missing, missing, status=2))
    assert "scipipe_tools.infra.lockfile" in loaded and "yaml" in loaded


def test_env_commands_help_imports_no_environment_library() -> None:
    """(what they will drive loads when they run, after their py-rattler worker starts)"""
    for command in ("lock", "create", "diff"):
        loaded = imported("scipipe", "env", command, "--help")
        assert heavy(loaded, pathlib=False, stdlib=False) == [], command


def test_the_console_script_starts_a_worker_with_nothing_imported() -> None:
    """``scipipe env create|lock`` start their worker from :mod:`scipipe_tools.cli.start`,
    the console script's module: what it imports is what delays that start, and it is
    nothing but the spawning itself (no subprocess, typing, pathlib, click...)."""
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import scipipe_tools.cli.start\n"
        "new = sorted(set(sys.modules) - before)\n"
        "import json\n"
        "print(json.dumps(new))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(r.stdout) == [
        "__future__", "scipipe_tools", "scipipe_tools.cli", "scipipe_tools.cli.start",
        "scipipe_tools.env", "scipipe_tools.env.early", "scipipe_tools.infra",
        "scipipe_tools.infra.earlychild",
    ]  # fmt: skip
