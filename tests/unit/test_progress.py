from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest

from scipipe_tools.cli.common import App, configure_logging
from scipipe_tools.cli.console import (
    INTERVAL_VAR,
    STYLE_VAR,
    PlainProgress,
    RichProgress,
    duration_text,
    progress_for,
)
from scipipe_tools.demo import demo
from scipipe_tools.errors import InputError
from scipipe_tools.infra.progress import NULL
from tests.recorder import Recorder


def test_demo_init_reports_progress(tmp_path: Path, examples_dir: Path) -> None:
    rec = Recorder()
    d = demo.init(examples_dir / "sample-stack", tmp_path / "d", progress=rec)
    advanced = sorted(str(item) for kind, item in rec.events if kind == "advance")
    assert advanced == d.stack.products
    assert rec.events[0] == ("start", (1, "making git remotes"))
    assert ("start", (11, "cloning")) in rec.events and rec.events[-1] == ("finish", None)


def test_rich_progress_phases() -> None:
    with RichProgress() as bar:
        bar.start(2, "phase")
        bar.begin("a", "2 jobs")
        bar.note("a note")
        bar.advance("a", "built")
        bar.advance("b", "broke", failed=True)
        bar.finish()
        bar.advance("ignored after finish")


def test_the_renderer_follows_stderr_and_the_options(monkeypatch: pytest.MonkeyPatch) -> None:
    # pytest's stderr is not a terminal: plain lines, also with --json (stdout is JSON)
    monkeypatch.delenv(STYLE_VAR, raising=False)
    monkeypatch.delenv(INTERVAL_VAR, raising=False)
    for app in (App(), App(json=True)):
        renderer = progress_for(app)
        assert isinstance(renderer, PlainProgress) and renderer.interval == 60
    # -q never prints progress
    with progress_for(App(verbosity=-1)) as p:
        assert p is NULL
    monkeypatch.setenv(STYLE_VAR, "off")
    assert not isinstance(progress_for(App()), PlainProgress | RichProgress)
    monkeypatch.setenv(STYLE_VAR, "bar")
    assert isinstance(progress_for(App()), RichProgress)
    monkeypatch.setenv(STYLE_VAR, "plain")
    monkeypatch.setenv(INTERVAL_VAR, "0.5")
    renderer = progress_for(App())
    assert isinstance(renderer, PlainProgress) and renderer.interval == 0.5
    monkeypatch.setenv(INTERVAL_VAR, "soon")
    with pytest.raises(InputError, match="SCIPIPE_PROGRESS_INTERVAL='soon' is not a number"):
        progress_for(App())
    monkeypatch.setenv(STYLE_VAR, "fancy")
    with pytest.raises(InputError, match="not a progress style"):
        progress_for(App())


def test_plain_progress_prints_a_line_per_event(capsys: pytest.CaptureFixture[str]) -> None:
    with PlainProgress(interval=0) as p:
        p.start(3, "building")
        p.note("core budget 2: up to 2 products at once, NJOBS 1-2")
        p.begin("base", "2 jobs")
        p.advance("base", "built; log: /b/logs/base.log")
        p.begin("afw", "1 job")
        p.begin("geom", "1 job")
        p.still_running()
        p.advance("afw", "make failed; log: /b/logs/afw.log", failed=True)
        p.advance("geom")
        p.finish()
        p.still_running()  # no phase: nothing
    lines = capsys.readouterr().err.splitlines()
    patterns = [
        r"building: 3 to do",
        r"core budget 2: up to 2 products at once, NJOBS 1-2",
        r"building \[0/3\] started base \(2 jobs\)",
        r"building \[1/3\] finished base in \d+\.\d s: built; log: /b/logs/base\.log",
        r"building \[1/3\] started afw \(1 job\)",
        r"building \[1/3\] started geom \(1 job\)",
        r"building \[1/3\] still running after \d+\.\d s: "
        r"afw \(1 job, \d+\.\d s\), geom \(1 job, \d+\.\d s\)",
        r"building \[2/3\] failed afw after \d+\.\d s: make failed; log: /b/logs/afw\.log",
        r"building \[3/3\] finished geom in \d+\.\d s",
        r"building: 3 of 3 done in \d+\.\d s \(1 failed\)",
    ]
    assert len(lines) == len(patterns), lines
    for line, pattern in zip(lines, patterns, strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)


def test_plain_progress_steps_that_only_advance(capsys: pytest.CaptureFixture[str]) -> None:
    p = PlainProgress(interval=0)
    p.start(2, "downloading")
    p.advance("afw-1.0.tar.gz")
    p.advance("geom-1.0.tar.gz", "checksum mismatch", failed=True)
    p.finish()
    assert capsys.readouterr().err.splitlines()[1:3] == [
        "downloading [1/2] afw-1.0.tar.gz",
        "downloading [2/2] failed geom-1.0.tar.gz: checksum mismatch",
    ]


def test_the_still_running_line_comes_on_its_own(capsys: pytest.CaptureFixture[str]) -> None:
    with PlainProgress(interval=0.05) as p:
        p.start(1, "building")
        p.begin("afw", "2 jobs")
        deadline = time.monotonic() + 30
        while "still running" not in capsys.readouterr().err and time.monotonic() < deadline:
            time.sleep(0.02)
        assert time.monotonic() < deadline
        p.advance("afw", "built")
        p.finish()


def test_durations_read_well() -> None:
    assert [duration_text(s) for s in (0.04, 59.94, 60, 61.4, 3599, 3600, 7322)] == [
        "0.0 s", "59.9 s", "1 m 00 s", "1 m 01 s", "59 m 59 s", "1 h 00 m", "2 h 02 m",
    ]  # fmt: skip


def test_log_lines_are_not_padded_nor_wrapped(capsys: pytest.CaptureFixture[str]) -> None:
    # stderr is not a terminal here, as in a CI log
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    configure_logging(1, False)
    try:
        message = "a warning naming " + "/a/long/path" * 12 + " and more"
        logging.getLogger("scipipe_tools.test").warning(message)
        logging.getLogger("scipipe_tools.test").info("short")
    finally:
        root.handlers[:] = saved[1]
        root.setLevel(saved[0])
    assert capsys.readouterr().err.splitlines() == [f"WARNING  {message}", "INFO     short"]
