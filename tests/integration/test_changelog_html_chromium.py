"""The HTML changelog site in a real headless Chromium, from file:// (no server, no network).

Checks that the pages render, that changelog.js runs (it marks the tables it initialised
with data-ready="true"), that sorting and filtering work (driven through the URL fragment
``#sort=<column>:<asc|desc>&filter=<words>``, which the script honours on load), and that a
screenshot is a real, non-blank image.  Skipped only when no Chromium binary is found;
SCIPIPE_CHROMIUM names one explicitly.  Debian: ``apt-get install -y chromium``.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from scipipe_tools.changelog.render import render
from tests.unit.test_changelog_render import weekly_model

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
TIMEOUT = 45  # seconds per Chromium run; a run takes 1-3 s


def _find_chromium() -> str | None:
    explicit = os.environ.get("SCIPIPE_CHROMIUM")
    if explicit:
        return shutil.which(explicit) or (explicit if Path(explicit).is_file() else None)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    found = _find_chromium()
    if found is None:
        pytest.skip(
            "no Chromium binary found (tried SCIPIPE_CHROMIUM, "
            + ", ".join(CANDIDATES)
            + "); install Debian's 'chromium' package to run this test"
        )
    return found


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("changelog") / "site"
    render(weekly_model(), "html", out)
    return out


def _run(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [
        chromium,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def _dump_dom(chromium: str, tmp_path: Path, url: str) -> str:
    result = _run(chromium, tmp_path / "profile", "--dump-dom", url)
    assert "</html>" in result.stdout, result.stderr[-2000:]
    return result.stdout


class _Table(HTMLParser):
    """The attributes of one table (by id) and, per body row, its attributes and cell texts."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.attrs: dict[str, str | None] = {}
        self.headers: list[dict[str, str | None]] = []
        self.rows: list[tuple[dict[str, str | None], list[str]]] = []
        self.root: dict[str, str | None] = {}
        self._inside = 0
        self._in_body = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.root = found
        if tag == "table":
            if self._inside:
                self._inside += 1
            elif found.get("id") == self.table_id:
                self.attrs, self._inside = found, 1
            return
        if self._inside != 1:
            return
        if tag == "tbody":
            self._in_body = True
        elif tag == "th":
            self.headers.append(found)
        elif tag == "tr" and self._in_body:
            self.rows.append((found, []))
        elif tag == "td" and self._in_body:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._inside:
            self._inside -= 1
        elif tag == "tbody":
            self._in_body = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1][1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _table(dom: str, table_id: str) -> _Table:
    parser = _Table(table_id)
    parser.feed(dom)
    assert parser.attrs, f"no table #{table_id} in the dumped DOM"
    return parser


def test_index_renders_and_its_script_runs(chromium: str, site: Path, tmp_path: Path) -> None:
    dom = _dump_dom(chromium, tmp_path, (site / "index.html").as_uri())
    table = _table(dom, "releases")
    assert table.root.get("data-changelog-ready") == "true"
    assert table.attrs.get("data-ready") == "true"
    assert "js-ready" in (table.attrs.get("class") or "")
    assert [cells[0] for _, cells in table.rows] == ["~main", "w.2025.15", "w.2025.14"]
    assert [cells[3] for _, cells in table.rows] == ["1", "3", "0"]  # tickets
    assert "3 of 3 shown" in dom  # the filter's counter, written by the script
    assert '<button type="button">Release</button>' in dom  # headers became buttons


def test_release_page_sorts_and_filters(chromium: str, site: Path, tmp_path: Path) -> None:
    page = (site / "w_2025_15.html").as_uri()

    plain = _table(_dump_dom(chromium, tmp_path, page), "tickets")
    assert plain.attrs.get("data-ready") == "true"
    assert [cells[0] for _, cells in plain.rows] == ["DM-49210", "DM-9", "DM-10"]  # model order
    assert all("hidden" not in attrs for attrs, _ in plain.rows)
    assert '*negative* <diffim> sources & "others"' in plain.rows[0][1][1]

    # numeric ticket order (text order would put DM-10 before DM-9), then a filter
    dom = _dump_dom(chromium, tmp_path, page + "#sort=ticket:asc&filter=galsim")
    table = _table(dom, "tickets")
    assert table.attrs.get("data-sort-key") == "ticket"
    assert table.attrs.get("data-sort-dir") == "asc"
    assert [cells[0] for _, cells in table.rows] == ["DM-9", "DM-10", "DM-49210"]
    assert ["hidden" in attrs for attrs, _ in table.rows] == [False, True, True]
    assert table.headers[0].get("aria-sort") == "ascending"
    assert "1 of 3 shown" in dom

    dom = _dump_dom(chromium, tmp_path, page + "#sort=last-merge:desc")
    table = _table(dom, "tickets")
    assert [cells[3] for _, cells in table.rows] == [
        "2025-04-08T02:50:10Z",
        "2025-04-06T11:38:03Z",
        "2025-04-05T12:00:00Z",
    ]


def _png_rows(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the (still filtered) scanlines of an 8-bit RGB(A) PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6), (depth, color)
    stride = 1 + width * (3 if color == 2 else 4)
    raw = zlib.decompress(idat)
    assert len(raw) == stride * height
    return width, height, [raw[i : i + stride] for i in range(0, len(raw), stride)]


def test_screenshot_is_a_real_picture(chromium: str, site: Path, tmp_path: Path) -> None:
    shot = tmp_path / "release.png"
    _run(
        chromium,
        tmp_path / "profile",
        f"--screenshot={shot}",
        "--window-size=1280,900",
        (site / "w_2025_15.html").as_uri(),
    )
    assert shot.is_file()
    data = shot.read_bytes()
    assert len(data) > 10_000, f"screenshot is only {len(data)} bytes"
    width, height, rows = _png_rows(data)
    assert (width, height) == (1280, 900)
    # a blank page compresses to a handful of identical scanlines; text, tables and
    # colour bands make hundreds of different ones
    assert len(set(rows)) > 100, f"only {len(set(rows))} distinct scanlines: blank page?"
    assert len(set(b"".join(rows[::20]))) > 16, "too few distinct byte values: blank page?"
