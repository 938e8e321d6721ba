"""``scipipe build`` in a CI log: stderr is a pipe, read while the build runs.

Lines come as events happen (a slow product's "started" line long before it ends), one
line per event, never padded nor wrapped at 80 columns, and a still-running line lists
what runs (its interval made small through ``SCIPIPE_PROGRESS_INTERVAL``).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.fakestack import SCIPIPE, Lines, Product, environ, make_stack, stop

#: waits (at most a minute) for the test to create the flag file, then builds
SLOW_CFG = """\
build() {{
    i=0
    while [ ! -e {flag} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
    [ -e {flag} ]
}}
"""
BAD_CFG = """\
build() {
    echo "compiler exploded" >&2
    exit 3
}
"""
#: a table line real EUPS skips: a warning naming the table's path, longer than 80 columns
SKIPPED_LINE = "this line is not a command\n"


def test_build_lines_appear_as_events_happen(tmp_path: Path) -> None:
    flag = tmp_path / "go"
    repos = make_stack(
        tmp_path,
        {
            "slow": Product(cfg=SLOW_CFG.format(flag=flag)),
            "bad": Product(cfg=BAD_CFG),
            "top": Product(["slow"], table_extra=SKIPPED_LINE),
        },
    )
    root = tmp_path / "work"
    argv = [SCIPIPE, "-v", "build", "top", "bad", "--repos", str(repos), "--root", str(root),
            "-j", "2", "--no-tests"]  # fmt: skip
    env = environ(SCIPIPE_PROGRESS_INTERVAL="0.3")
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env, start_new_session=True)  # fmt: skip
    err = Lines(process.stderr)
    out = Lines(process.stdout)
    try:
        started = err.wait_for(lambda line: "started slow" in line, timeout=120)
        assert started is not None, err.text()
        assert process.poll() is None and not flag.exists()  # slow is still running
        still = err.wait_for(lambda line: "still running" in line and "slow (" in line, 60)
        assert still is not None, err.text()
        flag.touch()
        process.wait(timeout=120)
    finally:
        flag.touch()
        stop(process)
    assert process.returncode == 8, err.text()  # bad failed: a BuildError
    lines = err.text().splitlines()
    logs = root / "build" / "logs"
    expect = [
        r"core budget 2: .*",
        r"building \[\d/3\] started slow \(1 job\)",
        r"building \[\d/3\] started bad \(1 job\)",
        rf"building \[\d/3\] failed bad after \d+\.\d s: .*; log: {logs}/bad\.log",
        r"building \[\d/3\] still running after \d+\.\d s: .*slow \(1 job, \d+\.\d s\).*",
        rf"building \[\d/3\] finished slow in \d+\.\d s: built; log: {logs}/slow\.log",
        r"building \[\d/3\] started top \(2 jobs\)",
        rf"building \[3/3\] finished top in \d+\.\d s: built; log: {logs}/top\.log",
        r"building: 3 of 3 done in \d+\.\d s \(1 failed\)",
    ]
    for pattern in expect:
        assert any(re.fullmatch(pattern, line) for line in lines), (pattern, lines)
    # events in the order they happened: bad's failure and slow's start before the end
    where = {p: next(i for i, line in enumerate(lines) if re.fullmatch(p, line)) for p in expect}
    assert where[expect[1]] < where[expect[4]] < where[expect[5]] < where[expect[6]]
    # one line each, never padded, and long ones whole (the table warning, the log paths)
    assert all(line == line.rstrip() for line in lines), lines
    table = root / "sources" / "top" / "ups" / "top.table"
    warning = [line for line in lines if f"{table}:2:1: line skipped" in line]
    assert warning and all(len(w) > 80 and w.startswith("WARNING  ") for w in warning)
    assert any(len(line) > 80 for line in lines if "finished slow" in line)
    assert "slow" in out.text()  # the summary table still goes to stdout
