"""Which Python linters and formatters a package uses, from its ``pyproject.toml``.

The rules of rubin_workflows' ``formatting`` workflow (``bin/determine-tooling``):

- lint: ``ruff`` when ``[tool.ruff.lint]`` exists, else ``flake8``;
- format: ``ruff`` when ``[tool.ruff.format]`` exists, ``black`` when ``[tool.black]``
  does, else ``none``;
- isort: ``ruff`` when ``"I"`` is in ``tool.ruff.lint.select``, ``isort`` when
  ``[tool.isort]`` exists, else ``none``.

A package without ``pyproject.toml`` gets flake8 and nothing else.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, Location
from ..infra.files import read_text


@dataclass(frozen=True)
class Tooling:
    lint: str
    format: str
    isort: str

    def outputs(self) -> list[str]:
        """``key=value`` lines for ``$GITHUB_OUTPUT``."""
        return [f"lint={self.lint}", f"format={self.format}", f"isort={self.isort}"]


def _get(data: dict[str, Any], dotted: str) -> Any:
    node: Any = data
    for key in dotted.split("."):
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def decide(data: dict[str, Any]) -> Tooling:
    lint = "ruff" if _get(data, "tool.ruff.lint") is not None else "flake8"
    if _get(data, "tool.ruff.format") is not None:
        fmt = "ruff"
    elif _get(data, "tool.black") is not None:
        fmt = "black"
    else:
        fmt = "none"
    select = _get(data, "tool.ruff.lint.select")
    if isinstance(select, list) and "I" in select:
        isort = "ruff"
    elif _get(data, "tool.isort") is not None:
        isort = "isort"
    else:
        isort = "none"
    return Tooling(lint, fmt, isort)


_AT = re.compile(r"\(at line ([0-9]+), column ([0-9]+)\)")


def determine_tooling(pyproject: Path) -> Tooling:
    """The tooling of the package whose ``pyproject.toml`` is ``pyproject`` (may be absent)."""
    if not pyproject.exists():
        return decide({})
    text = read_text(pyproject, "pyproject.toml")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _AT.search(str(exc))
        line = int(m.group(1)) if m else None
        message = _AT.sub("", str(exc)).strip()
        raise InputError(
            f"invalid TOML: {message}", location=Location(str(pyproject), line)
        ) from exc
    return decide(data)
