"""A tiny stand-in for lsst.pex.config: typed fields and site defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["Config", "Field", "load_defaults"]


class Field:
    """A typed configuration attribute with a default."""

    def __init__(self, doc: str, dtype: type, default: Any = None) -> None:
        self.doc = doc
        self.dtype = dtype
        self.default = default
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return instance.__dict__.get(self.name, self.default)

    def __set__(self, instance: Any, value: Any) -> None:
        if not isinstance(value, self.dtype):
            raise TypeError(f"{self.name}: expected {self.dtype.__name__}, got {value!r}")
        instance.__dict__[self.name] = value


class Config:
    def to_dict(self) -> dict[str, Any]:
        fields = [n for n, v in vars(type(self)).items() if isinstance(v, Field)]
        return {name: getattr(self, name) for name in fields}


def load_defaults(directory: str | None = None) -> dict[str, str]:
    """Read ``defaults.cfg`` from ``directory`` or ``$PEX_CONFIG_DEFAULTS``."""
    path = Path(directory or os.environ["PEX_CONFIG_DEFAULTS"]) / "defaults.cfg"
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values
