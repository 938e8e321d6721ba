"""Issue 19 benchmark: how long the CLI takes to start, against importing click.

Runs, as subprocesses, interleaved (the machines are shared and noisy), after a warm-up:

- the floor: ``python -c "import click"`` (start Python, import the CLI library: what any
  click command must at least do);
- ``scipipe --help`` and ``scipipe --version`` through the installed console script
  (the ``scipipe`` beside this interpreter: the entry point users run);
- ``lsstinstall --help`` (the installer's own console script).

Each is printed with its min and median; the target is at most 2x the floor's minimum
(minimum against minimum: the least disturbed run of each).  The last lines are one
``result_line`` per scipipe command, the very last the worse of the two.

    python -m benchmarks.bench_cli_start [--rounds 15]

Run it with the sources to measure first on the path (``PYTHONPATH=$PWD/src``): the
console script imports ``scipipe_tools`` from wherever the interpreter finds it.  The
commands run with bytecode caching on (``PYTHONDONTWRITEBYTECODE`` dropped), as an
installed package has it: the warm-up writes the ``__pycache__`` of whatever they import
(git ignores it).  Without it every start compiles every imported source file anew.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks._timing import min_median, result_line

TARGET = 2.0


def commands() -> dict[str, list[str]]:
    bindir = Path(sys.executable).parent
    return {
        "python -c 'import click' (floor)": [sys.executable, "-c", "import click"],
        "scipipe --help": [str(bindir / "scipipe"), "--help"],
        "scipipe --version": [str(bindir / "scipipe"), "--version"],
        "lsstinstall --help": [str(bindir / "lsstinstall"), "--help"],
    }


#: as installed: compiled bytecode cached and used
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(argv: list[str]) -> float:
    start = time.perf_counter()
    r = subprocess.run(argv, capture_output=True, check=False, env=ENV)
    elapsed = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {r.returncode}\n{r.stderr.decode()}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    cmds = commands()
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for argv in cmds.values():  # warm-up: page cache, .pyc files
        run(argv)
    for _ in range(args.rounds):
        for name, argv in cmds.items():
            times[name].append(run(argv))
    floor_name = next(iter(cmds))
    floor = min(times[floor_name])
    width = max(len(n) for n in cmds)
    for name, ts in times.items():
        ratio = "" if name == floor_name else f"   {min(ts) / floor:.2f}x the floor"
        print(f"{name:<{width}}  {min_median(ts)}{ratio}")
    print(f"(rounds: {args.rounds}, interleaved; median floor "
          f"{statistics.median(times[floor_name]) * 1000:.1f} ms)")  # fmt: skip
    lines = {name: result_line(f"cli start: {name}", floor, min(times[name]), TARGET)
             for name in ("scipipe --help", "scipipe --version")}  # fmt: skip
    worst = max(lines, key=lambda n: min(times[n]))
    for name, line in lines.items():
        if name != worst:
            print(line)
    print(lines[worst])
    return 0


if __name__ == "__main__":
    sys.exit(main())
