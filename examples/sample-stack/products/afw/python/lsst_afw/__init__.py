"""A tiny stand-in for lsst.afw: images with metadata."""

from __future__ import annotations

import os
from pathlib import Path

import lsst_log
from lsst_daf_base import PropertySet
from lsst_geom import Box2I

__all__ = ["Image", "read_test_image"]

log = lsst_log.get_logger("afw.image")


class Image:
    def __init__(self, rows: list[list[float]]) -> None:
        self.rows = rows
        self.metadata = PropertySet()

    @property
    def bbox(self) -> Box2I:
        return Box2I(0, 0, len(self.rows[0]) if self.rows else 0, len(self.rows))

    def pixel(self, x: int, y: int) -> float:
        return self.rows[y][x]


def read_test_image(name: str) -> Image:
    """Read ``name`` from afwdata, which must be set up (``$AFWDATA_DIR``)."""
    path = Path(os.environ["AFWDATA_DIR"]) / "data" / name
    log.debug("reading %s", path)
    rows = [
        [float(v) for v in line.split()]
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    image = Image(rows)
    image.metadata.set("FILENAME", name)
    return image
