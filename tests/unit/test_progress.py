from __future__ import annotations

from pathlib import Path

from scipipe_tools.cli.common import App
from scipipe_tools.cli.console import RichProgress, progress_for
from scipipe_tools.progress import NULL
from scipipe_tools.testing import demo
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
        bar.advance("a")
        bar.advance("b")
        bar.finish()
        bar.advance("ignored after finish")


def test_no_bar_when_nobody_watches() -> None:
    # pytest's stderr is not a terminal; --json and -q never draw either
    for app in (App(), App(json=True), App(verbosity=-1)):
        with progress_for(app) as p:
            assert p is NULL
