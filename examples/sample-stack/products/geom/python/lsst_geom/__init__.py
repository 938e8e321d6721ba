"""A tiny stand-in for lsst.geom: integer boxes."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Box2I"]


@dataclass(frozen=True)
class Box2I:
    """A box of pixels: ``width`` x ``height`` starting at (``x0``, ``y0``)."""

    x0: int
    y0: int
    width: int
    height: int

    @property
    def area(self) -> int:
        return self.width * self.height

    def contains(self, x: int, y: int) -> bool:
        return self.x0 <= x < self.x0 + self.width and self.y0 <= y < self.y0 + self.height
