"""EUPS distribution manifests: written, read back, and refused when malformed."""

from __future__ import annotations

import pytest

from scipipe_tools.distrib.manifest import DistManifest, DistRow, parse_dist_manifest
from scipipe_tools.errors import InputError

ROWS = (
    DistRow("utils", "Linux64", "g1", "utils.table", "utils/g1", "utils-g1@Linux64.tar.gz"),
    DistRow("base", "generic", "g2+3", "base-g2+3.table", "base/g2+3", "eupspkg:base-g2+3.eupspkg"),
)


def test_round_trip() -> None:
    m = DistManifest("base", "g2+3", ROWS)
    text = m.to_text()
    assert text.startswith("EUPS distribution manifest for base (g2+3). Version 1.0\n")
    back = parse_dist_manifest(text, "base.manifest")
    assert back == m
    assert [r.kind for r in back.rows] == ["binary", "source"]
    assert all(r.has_table for r in back.rows)


def test_reads_eups_written_rows() -> None:
    text = (
        "EUPS distribution manifest for base (V). Version 1.0\n"
        "# pkg flavor version tablefile installation_directory installID\n"
        "#------\n"
        "base generic V none base/V tarball:base-V@Linux64.tar.gz\n"
    )
    m = parse_dist_manifest(text)
    assert m.rows[0].kind == "binary" and not m.rows[0].has_table


def test_written_as_eups_distrib_create_writes_it() -> None:
    """Column for column what EUPS 2.2.15's ``Manifest.write`` produces (its widths, its
    comment header); only the tool named in the comments differs."""
    import datetime as dt

    rows = (
        DistRow("utils", "Linux64", "g086e0d8026", "utils-g086e0d8026.table", "utils/g086e0d8026",
                "utils-g086e0d8026@Linux64.tar.gz"),
        DistRow("afw", "Linux64", "gc47cc826f1+c91e26b771", "afw-gc47cc826f1+c91e26b771.table",
                "afw/gc47cc826f1+c91e26b771", "afw-gc47cc826f1+c91e26b771@Linux64.tar.gz"),
    )  # fmt: skip
    when = dt.datetime(2026, 12, 7, 17, 17, 15, tzinfo=dt.UTC)
    text = DistManifest("afw", "gc47cc826f1+c91e26b771", rows).to_text("root", when)
    lines = text.splitlines()
    assert lines[:4] == [
        "EUPS distribution manifest for afw (gc47cc826f1+c91e26b771). Version 1.0",
        "#",
        "# Creator:      root",
        "# Time:         2026/12/07 17:17:15 UTC",
    ]
    assert lines[4].startswith("# Eups version: ") and lines[5] == "#"
    assert lines[6:] == [
        "# pkg           flavor       version    tablefile                 installation_directory"
        "         installID",
        "#" + "-" * 105,
        "utils           Linux64      g086e0d8026 utils-g086e0d8026.table   utils/g086e0d8026     "
        "         utils-g086e0d8026@Linux64.tar.gz",
        "afw             Linux64      gc47cc826f1+c91e26b771 afw-gc47cc826f1+c91e26b771.table "
        "afw/gc47cc826f1+c91e26b771     afw-gc47cc826f1+c91e26b771@Linux64.tar.gz",
    ]


def test_reads_rows_as_eups_does() -> None:
    """No distId: EUPS searches the roots; trailing OPTIONAL/recurse fields are kept."""
    text = (
        "EUPS distribution manifest for a (1). Version 1.0\n"
        "b generic 2 none b/2\n"
        "a generic 1 a.table a/1 eupspkg:a-1.eupspkg OPTIONAL FALSE\n"
    )
    m = parse_dist_manifest(text)
    assert m.rows[0].dist_id == "search" and m.rows[0].kind == "other"
    assert m.rows[1].extras == ("OPTIONAL", "FALSE")
    assert parse_dist_manifest(m.to_text()).same_rows(m)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1 must read"),
        ("EUPS distribution base V\n", "line 1 must read"),
        ("EUPS distribution manifest for a (1). Version 1.0\na generic 1 none\n", "got 4 fields"),
        ("EUPS distribution manifest for a (1). Version 1.0\n", "last row must be a 1"),
        ("EUPS distribution manifest for a (1). Version 1.0\nb generic 2 none b/2 x\n",
         "last row must be a 1"),
        ("EUPS distribution manifest for a (1). Version 1.0\na generic 1 none a/1 x\n"
         "a generic 1 none a/1 x\n", "listed twice"),
    ],
)  # fmt: skip
def test_refuses(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        parse_dist_manifest(text, "m.manifest")
    assert str(info.value).startswith("m.manifest:")
