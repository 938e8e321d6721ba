"""Small helpers shared by the fixture modules."""

from __future__ import annotations

import json

from .. import yamlfile
from ..errors import InputError
from ..infra.files import write_atomic

__all__ = ["write_atomic", "yaml_scalar"]


def yaml_scalar(value: object) -> str:
    """``value`` as a YAML scalar: plain when that reads back the same, else quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    try:
        plain = yamlfile.load(f"k: {text}", "<scalar>")[0] == {"k": text}
    except InputError:  # not even YAML as it is
        plain = False
    return text if plain else json.dumps(text)  # a JSON string is a double-quoted YAML scalar
