"""A tiny stand-in for lsst.daf.base: PropertySet, an ordered multi-valued mapping."""

from __future__ import annotations

import lsst_base

__all__ = ["PropertySet"]


class PropertySet:
    def __init__(self) -> None:
        self._values: dict[str, list[object]] = {}

    def set(self, name: str, value: object) -> None:
        self._values[name] = [value]

    def add(self, name: str, value: object) -> None:
        self._values.setdefault(name, []).append(value)

    def get(self, name: str) -> object:
        """The last value of ``name``."""
        return self._values[name][-1]

    def getArray(self, name: str) -> list[object]:  # camelCase, as in the real API
        return list(self._values[name])

    def names(self) -> list[str]:
        return list(self._values)

    @classmethod
    def with_provenance(cls) -> PropertySet:
        """A PropertySet that records the interpreter that made it."""
        props = cls()
        props.set("PYTHON_VERSION", lsst_base.python_version())
        return props
