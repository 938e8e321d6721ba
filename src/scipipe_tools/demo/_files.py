"""Small helpers shared by the fixture modules."""

from __future__ import annotations

import json

import yaml

from ..infra.files import write_atomic

__all__ = ["write_atomic", "yaml_scalar"]


def yaml_scalar(value: object) -> str:
    """``value`` as a YAML scalar: plain when that reads back the same, else quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if yaml.safe_load(f"k: {text}") == {"k": text}:
        return text
    return json.dumps(text)  # a JSON string is a double-quoted YAML scalar
