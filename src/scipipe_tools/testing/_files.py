"""Small file-writing helpers shared by the fixture modules."""

from __future__ import annotations

import json
import os
from pathlib import Path

import yaml


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary sibling, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def yaml_scalar(value: object) -> str:
    """``value`` as a YAML scalar: plain when that reads back the same, else quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if yaml.safe_load(f"k: {text}") == {"k": text}:
        return text
    return json.dumps(text)  # a JSON string is a double-quoted YAML scalar
