"""``scipipe env lock|create`` start their py-rattler worker from the entry point, before
click and the CLI import (issue 19); nothing else starts one, the lock is the same byte
for byte, and the worker never outlives the command, however it ends.

The entry point runs in a child Python that records, for every worker started, its op
and whether click was imported yet; ``TMPDIR`` is the test's own, so the worker's files
and command line (its result file is in TMPDIR) can be looked for afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scipipe_tools.cli.start import early_op
from scipipe_tools.demo.channel import channel_url
from scipipe_tools.infra import proc

from .test_env_cli import locked, private_cache, write_spec  # noqa: F401  (fixtures)


@pytest.fixture
def made(request: pytest.FixtureRequest) -> Path:
    """test_env_cli's lock, made in this process (no early worker: not through the entry
    point)."""
    lock: Path = request.getfixturevalue("locked")
    return lock


RUN = """
import json, sys
record = sys.argv[1]
def note(op):
    with open(record, "a") as f:
        f.write(json.dumps([op, "click" in sys.modules]) + "\\n")
from scipipe_tools.cli import start
spawn = start.spawn_early
def spawning(op):
    note(op)
    return spawn(op)
start.spawn_early = spawning
from scipipe_tools.env import worker
init = worker.Started.__init__
def starting(self, op, early=None):
    if early is None:  # a worker started by the command itself
        note(op)
    init(self, op, early)
worker.Started.__init__ = starting
sys.argv = ["scipipe", *sys.argv[2:]]
try:
    start.main()
except SystemExit as exc:
    sys.exit(exc.code)
"""


def run_entry(tmp_path: Path, *args: str) -> tuple[int, list[list[object]]]:
    code, workers, _ = run_entry_out(tmp_path, *args)
    return code, workers


def run_entry_out(tmp_path: Path, *args: str) -> tuple[int, list[list[object]], str]:
    """Exit status of ``scipipe ARGS`` and the workers it started; checks none is left."""
    tmp = tmp_path / "tmpdir"
    tmp.mkdir(exist_ok=True)
    record = tmp_path / "workers.jsonl"
    record.unlink(missing_ok=True)
    env = {**os.environ, "TMPDIR": str(tmp), **proc.child_pythonpath()}
    r = subprocess.run([sys.executable, "-c", RUN, str(record), *args], env=env,
                       capture_output=True, text=True, check=False, timeout=120)  # fmt: skip
    assert "Traceback" not in r.stderr, r.stderr
    assert list(tmp.iterdir()) == [], "the worker's files outlived the command"
    assert running_with(str(tmp)) == [], "a worker outlived the command"
    lines = record.read_text().splitlines() if record.exists() else []
    return r.returncode, [json.loads(line) for line in lines], r.stdout


def running_with(text: str) -> list[int]:
    """Processes whose command line mentions ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in cmdline:
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize(
    ("argv", "op"),
    [
        (["env", "lock", "s.yaml"], "solve"),
        (["-q", "--json", "env", "lock", "s.yaml", "-p", "linux-64"], "solve"),
        (["env", "lock", "s.yaml", "--check"], None),
        (["env", "lock", "--help"], None),
        (["env", "create", "--lock", "l.yml", "-p", "NEW"], "install"),
        (["env", "create", "--lock", "l.yml", "--prefix=NEW"], "install"),
        (["env", "create", "--lock", "l.yml", "-p", "NEW", "--dry-run"], None),
        (["env", "create", "--lock", "l.yml", "-n", "NEW"], None),
        (["env", "create", "--lock", "l.yml", "-p", "OLD"], None),
        (["env", "diff", "a", "b"], None),
        (["--help"], None),
        (["--version"], None),
        (["build", "--no-fetch"], None),
        (["env"], None),
        ([], None),
    ],
)
def test_early_op_guesses_only_commands_sure_to_need_a_worker(
    argv: list[str], op: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "OLD" / "conda-meta").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert early_op(argv) == op


def test_lock_starts_its_worker_before_click_and_writes_the_same_lock(
    made: Path, tmp_path: Path
) -> None:
    out = tmp_path / "again.conda-lock.yml"
    spec = made.parent / "rubin-env-13.0.1.yaml"
    code, workers, stdout = run_entry_out(tmp_path, "--json", "env", "lock", str(spec),
                                          "-o", str(out))  # fmt: skip
    assert code == 0
    # one worker, started before click was imported
    assert workers == [["solve", False]]
    # the whole report reaches the pipe, however the process exits
    assert json.loads(stdout)["written"][0] == str(out)
    assert out.read_bytes() == made.read_bytes()


def test_create_starts_its_worker_early_and_installs(made: Path, tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    code, workers = run_entry(tmp_path, "-q", "env", "create", "--lock", str(made),
                              "-p", str(prefix), "--platform", "linux-64")  # fmt: skip
    assert code == 0
    assert workers == [["install", False]]
    assert any((prefix / "conda-meta").glob("*.json"))


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["env", "lock", "--help"],
        ["env", "diff", "LOCK", "LOCK"],
        ["env", "lock", "SPEC", "--check", "-o", "LOCK"],
    ],
)
def test_other_commands_start_no_worker(args: list[str], made: Path, tmp_path: Path) -> None:
    spec = made.parent / "rubin-env-13.0.1.yaml"
    args = [{"LOCK": str(made), "SPEC": str(spec)}.get(a, a) for a in args]
    code, workers = run_entry(tmp_path, *args)
    assert code == 0
    assert workers == []


@pytest.mark.parametrize("how", ["bad spec", "usage error", "unknown variant"])
def test_a_command_failing_after_an_early_start_leaves_no_worker(
    how: str, tmp_path: Path, conda_channel: Path
) -> None:
    spec = write_spec(tmp_path / "envs" / "e.yaml", [channel_url(conda_channel)])
    args = ["env", "lock", str(spec)]
    if how == "bad spec":
        spec.write_text("name: [unclosed\n")
    elif how == "usage error":
        args.append("--no-such-option")
    else:
        args += ["--variant", "nonesuch"]
    code, workers = run_entry(tmp_path, *args)
    assert code == 2
    assert workers == [["solve", False]]
