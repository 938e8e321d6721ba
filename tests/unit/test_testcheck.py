"""Did a product's tests run?  Read from real build logs (tests/golden/testcheck)."""

from __future__ import annotations

import time
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from scipipe_tools.eupspkg.testcheck import (
    Evidence,
    PytestSummary,
    parse_summary,
    pytest_files,
    read_log,
    refusal,
    scan_log,
)

LOGS = Path(__file__).resolve().parents[1] / "golden" / "testcheck"


def test_a_venv_made_with_copies_ran_the_tests() -> None:
    ev = read_log(LOGS / "utils-venv-copies.log")
    # scons, scons tests, scons install (--lf --lfnf=none: nothing to rerun)
    assert [s.counts for s in ev.pytest] == [
        {"passed": 149, "skipped": 1},
        {"passed": 149, "skipped": 1},
        {},
    ]
    assert ev.pytest_ran == 298 and ev.crashed_workers == ()
    assert refusal(ev, has_pytest_tests=True, has_tests=True) is None


def test_a_venv_made_with_symlinks_is_refused() -> None:
    ev = read_log(LOGS / "utils-venv-symlinks.log")
    assert ev.pytest_ran == 0 and len(ev.pytest) == 3
    assert ev.crashed_workers == ("gw0", "gw1")
    reason = refusal(ev, has_pytest_tests=True, has_tests=True)
    assert reason is not None and "gw0, gw1" in reason and "--copies" in reason


def test_single_tests_do_not_hide_an_empty_pytest_session() -> None:
    # sconsUtils' pySingles test ran (with the venv's pytest script), its pytest files not
    ev = read_log(LOGS / "sconsUtils-venv-symlinks.log")
    assert ev.singles == (("tests/testSingle.py", "passed"),)
    assert ev.pytest_ran == 0
    assert refusal(ev, has_pytest_tests=True, has_tests=True) is not None
    # the same evidence without the crash lines: still refused, for the empty sessions
    quiet = Evidence(ev.pytest, ev.singles, ())
    assert refusal(quiet, has_pytest_tests=True, has_tests=True) == (
        "no tests ran: pytest collected nothing although the product has test files"
    )


def test_a_product_without_pytest_files_passes_on_its_own_tests() -> None:
    ev = read_log(LOGS / "base.log")
    assert ev.pytest_ran == 0  # base has no test_*.py: pytest rightly collects nothing
    assert ("tests/testModuleImporter1", "passed") in ev.singles
    assert ("tests/testModuleImporter2.py", "passed") in ev.singles
    assert refusal(ev, has_pytest_tests=False, has_tests=True) is None
    assert refusal(Evidence(ev.pytest), has_pytest_tests=False, has_tests=True) == (
        "no tests ran although the product has tests"
    )


def test_cpp_and_pytest_tests_are_both_counted() -> None:
    ev = read_log(LOGS / "pex_exceptions.log")
    assert ev.singles == (("tests/test_Exception_1", "passed"),)
    assert ev.pytest_ran == 12 and ev.ran == 13


def test_summary_lines() -> None:
    assert parse_summary(
        "============== 6 failed, 65 passed, 11 skipped, 3 errors in 7.01s =============="
    ) == PytestSummary({"failed": 6, "passed": 65, "skipped": 11, "errors": 3})
    line = "============ 161 passed, 40 skipped, 6 warnings in 63.21s (0:01:03) ============"
    assert parse_summary(line) == PytestSummary({"passed": 161, "skipped": 40, "warnings": 6})
    assert parse_summary("1 error in 0.10s") == PytestSummary({"errors": 1})  # pytest -q
    assert parse_summary("= no tests ran, 1 warning in 0.2s =") == PytestSummary({"warnings": 1})
    assert parse_summary("3 deselected in 0.1s").ran == 0  # type: ignore[union-attr]
    assert parse_summary("2 xfailed, 1 xpassed in 1s").ran == 3  # type: ignore[union-attr]
    for not_one in ("", "Python linting completed successfully", "checked in 3s",
                    "6 tests passed in 2s", "1 passed in 2 s", "= 1 passed in 2s, fine =",
                    "\u0663 passed in 1s"):  # fmt: skip
        assert parse_summary(not_one) is None


def test_stamped_and_plain_lines_read_alike() -> None:
    plain = ["running tests/a... passed", "=== 2 passed in 1.0s ===", "[gw3] node down: boom"]
    stamped = [f"[2026-12-07T18:21:42.544554Z] {line}\n" for line in plain]
    assert scan_log(plain) == scan_log(stamped)
    assert scan_log(plain).crashed_workers == ("gw3",)


def test_pytest_files(tmp_path: Path) -> None:
    assert pytest_files(tmp_path) == []
    for name in ("test_a.py", "sub/b_test.py", "helper.py", "testModuleImporter2.py",
                 ".tests/test_out.py", "test_lib.cc"):  # fmt: skip
        (tmp_path / "tests" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "tests" / name).write_text("")
    assert [p.relative_to(tmp_path / "tests").as_posix() for p in pytest_files(tmp_path)] == [
        "sub/b_test.py",
        "test_a.py",
    ]


@given(st.lists(st.text(max_size=200), max_size=30))
def test_any_text_scans(lines: list[str]) -> None:
    ev = scan_log(lines)
    assert ev.ran >= 0


def test_long_hostile_lines_scan_in_linear_time() -> None:
    hostile = [
        " in " * 50_000 + "1s",
        "running " + "x... " * 50_000,
        "= " + "1 passed, " * 50_000 + "in 1s =",
        "[gw0] node down:" + "[gw0] " * 50_000,
    ]
    start = time.perf_counter()
    scan_log(hostile)
    assert time.perf_counter() - start < 5  # a hang or a quadratic blow-up only
