"""Did a product's tests really run?  Evidence read from its build log.

sconsUtils reports a pytest session that ran nothing as a success ("Global pytest run
completed successfully - no tests ran", for pytest's exit code 5), and so does a session
whose pytest-xdist workers all died before running anything.  The second happens for
real: sconsUtils starts its workers with ``--tx=N*popen//python=<realpath of
sys.executable>``, and in a venv made with symlinks that real path is the base
interpreter, which lacks the venv's packages (``ModuleNotFoundError: No module named
'execnet'``, ``[gw0] node down``).  The product is then "built, tests passed" with not a
test run.

A product that has tests must show one of them running.  What counts, from the lines
sconsUtils and pytest print:

- a pytest summary (``=== 149 passed, 1 skipped in 8.96s ===``, with or without the
  ``=`` rules) that counts a test run: passed, failed, error, xfailed or xpassed;
- a test that sconsUtils runs on its own (C++ tests and ``pySingles``):
  ``running tests/testModuleImporter1... passed``.

A summary with "no tests ran" is not an error by itself: sconsUtils reruns pytest during
``scons install`` with ``--lf --lfnf=none``, which runs nothing when the earlier run
passed.  A crashed worker always is.

The log is read line by line; each line costs time linear in its length.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: what scipipe's build logs put before each line of a command's output
_STAMP = re.compile(r"\[[0-9]{4}-[0-9][0-9]-[0-9][0-9]T[0-9:.]+Z\] ")
_DURATION = re.compile(r"[0-9]+(?:\.[0-9]+)?s(?: \([0-9]+:[0-9][0-9]:[0-9][0-9]\))?")
_COUNT = re.compile(
    r"([0-9]+) (passed|failed|skipped|errors?|warnings?|deselected|xfailed|xpassed|rerun)"
)
_SINGLE = re.compile(r"running (\S+)\.\.\. (.*)")
_CRASH = re.compile(r"\[(gw[0-9]+)\] node down:.*|worker (gw[0-9]+) crashed.*")

_PLURAL = {"error": "errors", "warning": "warnings"}
#: the outcomes that mean a test was executed
_RAN = ("passed", "failed", "errors", "xfailed", "xpassed")


@dataclass(frozen=True)
class PytestSummary:
    """One pytest session's closing line."""

    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ran(self) -> int:
        return sum(self.counts.get(k, 0) for k in _RAN)


@dataclass(frozen=True)
class Evidence:
    """What a build log says about the tests that ran in it."""

    pytest: tuple[PytestSummary, ...] = ()
    #: tests sconsUtils ran one by one: (test, its outcome message)
    singles: tuple[tuple[str, str], ...] = ()
    #: pytest-xdist workers that died ("gw0", ...), each named once
    crashed_workers: tuple[str, ...] = ()

    @property
    def ran(self) -> int:
        """Tests executed, all sessions and single tests together."""
        return sum(s.ran for s in self.pytest) + len(self.singles)

    @property
    def pytest_ran(self) -> int:
        return sum(s.ran for s in self.pytest)


def parse_summary(line: str) -> PytestSummary | None:
    """The counts of a pytest closing line, or None when ``line`` is not one."""
    text = line.strip().strip("=").strip()
    head, sep, tail = text.rpartition(" in ")
    if not sep or not _DURATION.fullmatch(tail):
        return None
    counts: dict[str, int] = {}
    for part in head.split(", "):
        if part == "no tests ran":
            continue
        m = _COUNT.fullmatch(part)
        if m is None:
            return None
        key = _PLURAL.get(m.group(2), m.group(2))
        counts[key] = counts.get(key, 0) + int(m.group(1))
    return PytestSummary(counts)


def scan_log(lines: Iterable[str]) -> Evidence:
    """Read the tests' evidence from the lines of a build log (scipipe's, with its time
    stamps, or a product's own output without them)."""
    summaries: list[PytestSummary] = []
    singles: list[tuple[str, str]] = []
    crashed: dict[str, None] = {}
    for raw in lines:
        line = raw.rstrip("\r\n")
        stamp = _STAMP.match(line)
        if stamp:
            line = line[stamp.end() :]
        if line.startswith("running ") and not line.startswith("running global pytest"):
            m = _SINGLE.fullmatch(line.rstrip())
            if m and m.group(2):
                singles.append((m.group(1), m.group(2)))
            continue
        m = _CRASH.fullmatch(line.strip())
        if m:
            crashed[m.group(1) or m.group(2)] = None
            continue
        if " in " in line:
            summary = parse_summary(line)
            if summary is not None:
                summaries.append(summary)
    return Evidence(tuple(summaries), tuple(singles), tuple(crashed))


def read_log(path: Path) -> Evidence:
    with open(path, encoding="utf-8", errors="replace") as fh:
        return scan_log(fh)


def pytest_files(source: Path) -> list[Path]:
    """The files under ``source/tests`` that pytest collects by default (``test_*.py``,
    ``*_test.py``), outside sconsUtils' output folder ``tests/.tests``."""
    tests = source / "tests"
    if not tests.is_dir():
        return []
    found = [
        p
        for pattern in ("test_*.py", "*_test.py")
        for p in tests.rglob(pattern)
        if ".tests" not in p.relative_to(tests).parts
    ]
    return sorted(set(found))


def refusal(evidence: Evidence, *, has_pytest_tests: bool, has_tests: bool) -> str | None:
    """Why the tests of a product must not be taken as passed, or None when they may.

    ``has_pytest_tests``: the product has files pytest collects (:func:`pytest_files`);
    ``has_tests``: it has any test at all (a ``tests/SConscript``, say).
    """
    if evidence.crashed_workers:
        workers = ", ".join(evidence.crashed_workers)
        return (
            f"pytest workers crashed ({workers}): their tests did not run (a venv made with "
            "symlinks runs sconsUtils' workers in the base interpreter; make it with --copies)"
        )
    if has_pytest_tests and evidence.pytest_ran == 0:
        return "no tests ran: pytest collected nothing although the product has test files"
    if has_tests and evidence.ran == 0:
        return "no tests ran although the product has tests"
    return None
