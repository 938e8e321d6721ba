"""docs/screenshots.py: the demo's release history gives a changelog with real content.

Plays the README's release walkthrough (four weeklies, 29.0.0, 30.0.0.rc1, 30.0.0) through
the script's own core, then checks in headless Chromium that the pages render, that their
tables have rows (no "No tickets"), and that the screenshots are real pictures.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.integration.test_changelog_html_chromium import _png_rows, _table

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("screenshots", ROOT / "docs" / "screenshots.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_demo_history_fills_the_changelog_and_the_screenshots(tmp_path: Path) -> None:
    shots = _script()
    chromium = shots.find_chromium()
    if chromium is None:
        pytest.skip("no Chromium binary found; install Debian's 'chromium' package")
    demo = shots.make_demo(tmp_path / "work")
    profile = tmp_path / "profile"

    site = demo / "release" / "changelog" / "html"
    index = _table(shots.dump_dom(chromium, profile, site / "index.html"), "releases")
    names = [cells[0] for _, cells in index.rows]
    assert names == ["~main", "w.2026.48", "w.2026.47", "w.2026.46", "w.2026.45"]
    for name in ("w_2026_46", "w_2026_47", "w_2026_48"):
        dom = shots.dump_dom(chromium, profile, site / f"{name}.html")
        tickets = _table(dom, "tickets")
        assert tickets.attrs.get("data-ready") == "true"
        assert len(tickets.rows) >= 5, name
        assert "No tickets" not in dom
    # the removed and the added product
    assert (
        "afwdata" in (site / "w_2026_47.html").read_text()
        and "Removed" in (site / "w_2026_47.html").read_text()
    )
    assert "Added" in (site / "w_2026_48.html").read_text()
    releases = demo / "release" / "changelog-releases" / "CHANGELOG.md"
    text = releases.read_text()
    assert "## 30.0.0" in text and "Includes v30.0.0.rc1." in text and "DM-45933" in text
    results = json.loads((demo / "release" / "build" / "results.json").read_text())
    assert (
        results["git_tag"] == "30.0.0"
        and results["final_release"] is True
        and set(results["steps"].values()) == {"done"}
    )

    for png in shots.shoot(chromium, demo, tmp_path / "out", profile):
        width, _height, rows = _png_rows(png.read_bytes())
        assert width == 1280
        assert len(set(rows)) > 100, f"{png.name}: blank page?"
