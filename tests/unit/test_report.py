"""Build reports: status.yaml/json, JUnit XML, the summary table, the timeline page."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from scipipe_tools.sourcebuild.report import (
    COLOURS,
    TAIL_LINES,
    ProductReport,
    counts_line,
    format_failure,
    read_tail,
    render_junit,
    render_timeline,
    summary_table,
    write_junit,
    write_status,
    write_timeline,
)

SVG = "{http://www.w3.org/2000/svg}"
T0 = 1_700_000_000.0


def reports(tmp_path: Path) -> list[ProductReport]:
    logs = tmp_path / "logs"
    tail = [f"line {i}" for i in range(25)] + ["\x1b[31merror:\x1b[0m <afw> & \"quotes\" 'too'"]
    return [
        ProductReport("base", "1.0", "built", T0, T0 + 3.5, logs / "base.log", sha1="a" * 40),
        ProductReport("utils", "g123", "already-installed", T0 + 0.1, T0 + 0.1, sha1="b" * 40),
        ProductReport("sconsUtils", "g9", "installed-binary", T0 + 1, T0 + 2, logs / "s.log"),
        ProductReport(
            "afw",
            "g456+abc",
            "failed",
            T0 + 3.5,
            T0 + 10.25,
            logs / "afw.log",
            tail[-TAIL_LINES:],
            "command failed with exit code 2: make -j4\nmake: *** [all] Error 2",
            sha1="c" * 40,
        ),
        ProductReport("meas_base", "g7", "failed", T0 + 4, T0 + 5, None, [], "boom"),
        ProductReport("pipe_tasks", "g789", "skipped", detail="dependency afw failed"),
        ProductReport("other", "g8", "not-run", detail="not started: interrupted"),
    ]


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown status 'ok'"):
        ProductReport("afw", "1", "ok")


def test_status_yaml_is_lsst_builds(tmp_path: Path) -> None:
    yaml_path, json_path = write_status(tmp_path / "build", "b42", reports(tmp_path))
    assert yaml_path == tmp_path / "build" / "status.yaml"
    assert json_path == tmp_path / "build" / "status.json"
    text = yaml_path.read_text()
    assert text.startswith("# Build status in lsst_build's format")
    assert "build b42" in text.splitlines()[0]
    assert yaml.safe_load(text) == {
        "built": [
            {"name": "base", "sha1": "a" * 40, "version": "1.0"},
            {"name": "utils", "sha1": "b" * 40, "version": "g123"},
            {"name": "sconsUtils", "version": "g9"},
        ],
        "failed_at": {"name": "afw", "sha1": "c" * 40, "version": "g456+abc"},
    }
    # lsst_build's layout: block style, sorted keys
    assert "built:\n- name: base\n  sha1: " in text
    assert sorted(p.name for p in yaml_path.parent.iterdir()) == ["status.json", "status.yaml"]


def test_status_yaml_without_failure(tmp_path: Path) -> None:
    ok = [r for r in reports(tmp_path) if r.status in ("built", "already-installed")]
    yaml_path, json_path = write_status(tmp_path, None, ok)
    assert yaml.safe_load(yaml_path.read_text())["failed_at"] is None
    data = json.loads(json_path.read_text())
    assert data["ok"] is True and data["build_id"] is None


def test_status_json_has_every_product(tmp_path: Path) -> None:
    _, json_path = write_status(tmp_path, "b42", reports(tmp_path))
    text = json_path.read_text()
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"  # deterministic
    assert data["schema_version"] == 1
    assert data["build_id"] == "b42"
    assert data["ok"] is False
    assert data["counts"] == {
        "built": 1,
        "installed-binary": 1,
        "from-cache": 0,
        "already-installed": 1,
        "failed": 2,
        "skipped": 1,
        "not-run": 1,
    }
    assert data["failed_at"] == {"name": "afw", "version": "g456+abc", "sha1": "c" * 40}
    assert data["started"] == T0 and data["ended"] == T0 + 10.25 and data["seconds"] == 10.25
    by_name = {p["name"]: p for p in data["products"]}
    assert list(by_name) == [
        "base",
        "utils",
        "sconsUtils",
        "afw",
        "meas_base",
        "pipe_tasks",
        "other",
    ]
    afw = by_name["afw"]
    assert afw["status"] == "failed"
    assert afw["seconds"] == 6.75
    assert afw["log"] == str(tmp_path / "logs" / "afw.log")
    assert len(afw["tail"]) == 20 and afw["tail"][-1].endswith("'too'")
    assert afw["detail"].startswith("command failed")
    skipped = by_name["pipe_tasks"]
    assert skipped["started"] is None and skipped["seconds"] is None and skipped["log"] is None
    assert skipped["detail"] == "dependency afw failed"


def test_junit_parses_back(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    write_junit(path, reports(tmp_path), suite="b42")
    suite = ET.parse(path).getroot()
    assert suite.tag == "testsuite"
    assert suite.attrib == {
        "name": "b42",
        "tests": "7",
        "failures": "2",
        "errors": "0",
        "skipped": "2",
        "time": f"{3.5 + 1 + 6.75 + 1:.3f}",
    }
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == ["base", "utils", "sconsUtils", "afw", "meas_base", "pipe_tasks", "other"]
    assert {c.get("classname") for c in cases.values()} == {"build"}
    assert cases["utils"].get("time") == "0.000"  # already installed: a pass, no time
    assert cases["utils"].find("failure") is None and cases["utils"].find("skipped") is None
    assert cases["base"].get("time") == "3.500"

    failure = cases["afw"].find("failure")
    assert failure is not None
    assert failure.get("message") == "command failed with exit code 2: make -j4"
    text = failure.text or ""
    assert f"log: {tmp_path / 'logs' / 'afw.log'}" in text
    assert "line 6" in text and "line 5\n" not in text  # the last 20 lines
    # markup escaped, and control characters (ANSI colours) made printable
    assert "\\x1b[31merror:\\x1b[0m <afw> & \"quotes\" 'too'" in text
    empty = cases["meas_base"].find("failure")
    assert empty is not None and empty.get("message") == "boom"

    skipped = cases["pipe_tasks"].find("skipped")
    assert skipped is not None and skipped.get("message") == "dependency afw failed"
    not_run = cases["other"].find("skipped")
    assert not_run is not None and not_run.get("message") == "not started: interrupted"


def test_junit_survives_hostile_text() -> None:
    nasty = "a\x00b\x07c\ud800d ]]> </failure> &amp;"
    xml = render_junit([ProductReport("p", "1", "failed", detail=nasty, tail=[nasty])])
    failure = ET.fromstring(xml).find("testcase/failure")
    assert failure is not None
    assert failure.get("message") == "a\\x00b\\x07c\\ud800d ]]> </failure> &amp;"


def test_summary_table() -> None:
    rs = reports(Path("/b"))
    text = summary_table(rs)
    lines = text.splitlines()
    assert lines[0].split() == ["product", "version", "status", "seconds"]
    assert lines[1].split() == ["base", "1.0", "built", "3.5"]
    assert lines[4].split() == ["afw", "g456+abc", "failed", "6.8"]
    assert lines[6].split() == ["pipe_tasks", "g789", "skipped", "-"]
    # aligned: every column starts at the same place
    starts = {line.index(line.split()[2]) for line in lines[1:-1]}
    assert len(starts) == 1
    assert len({len(line) for line in lines[:-1]}) == 1  # seconds right-aligned
    assert lines[-1] == (
        "1 built, 1 installed from binaries, 1 already installed, 2 failed, 1 skipped, 1 not run"
    )
    assert counts_line(rs[:2]) == "1 built, 1 already installed"
    assert counts_line([]) == "no products"


def test_format_failure_is_lsst_builds_with_a_longer_tail(tmp_path: Path) -> None:
    afw = reports(tmp_path)[3]
    text = format_failure(afw)
    lines = text.splitlines()
    assert lines[:4] == [
        "*** error building product afw.",
        "*** command failed with exit code 2: make -j4",
        "*** make: *** [all] Error 2",
        f"*** log is in {tmp_path / 'logs' / 'afw.log'}",
    ]
    assert lines[4] == "*** last 20 lines:"
    assert lines[5] == ":::::  line 6"
    assert len(lines) == 25
    bare = format_failure(ProductReport("x", "1", "failed"))
    assert bare == "*** error building product x.\n"


def test_read_tail(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    log.write_text("".join(f"line {i} " + "x" * 200 + "\n" for i in range(2000)))
    tail = read_tail(log)
    assert len(tail) == 20 and tail[0].startswith("line 1980 ") and tail[-1].startswith("line 1999")
    short = tmp_path / "short.log"
    short.write_bytes(b"one\ntwo\xff\n")
    assert read_tail(short) == ["one", "two\ufffd"]
    assert read_tail(tmp_path / "missing.log") == []


def test_timeline_has_one_bar_per_product(tmp_path: Path) -> None:
    rs = reports(tmp_path)
    path = tmp_path / "timeline.html"
    write_timeline(path, rs, "build b42 <&>")
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>build b42 &lt;&amp;&gt;</title>" in page
    assert "<script" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    svg = ET.fromstring(page[page.index("<svg") : page.index("</svg>") + 6])
    bars = [el for el in svg.iter(f"{SVG}rect") if "bar" in (el.get("class") or "").split()]
    assert len(bars) == len(rs)
    colour = {(el.get("class") or "").split()[1]: el.get("fill") for el in bars}
    assert colour == {r.status: COLOURS[r.status] for r in rs}
    titles = {el.findtext(f"{SVG}title", "").split()[0]: el for el in bars}
    assert set(titles) == {r.name for r in rs}
    afw = titles["afw"]
    assert "afw g456+abc: failed, 6.8 s (+3.5 s to +10.2 s)" in afw.findtext(f"{SVG}title", "")
    base = titles["base"]
    width = float(afw.get("width") or 0) / float(base.get("width") or 1)
    assert width == pytest.approx(6.75 / 3.5, rel=0.02)  # bars to scale
    # never-run products are marked past the end of the time axis
    skip_x = float(titles["pipe_tasks"].get("x") or 0)
    assert skip_x > float(afw.get("x") or 0) + float(afw.get("width") or 0)
    labels = [t.text for t in svg.iter(f"{SVG}text")]
    assert "seconds" in labels and "10" in labels
    assert render_timeline(rs, "x") == render_timeline(rs, "x")


def test_timeline_of_nothing_run(tmp_path: Path) -> None:
    page = render_timeline([ProductReport("a", "1", "not-run")], "b1")
    svg = ET.fromstring(page[page.index("<svg") : page.index("</svg>") + 6])
    assert len([el for el in svg.iter(f"{SVG}rect") if "bar" in (el.get("class") or "")]) == 1
