"""Which linters a pyproject.toml asks for: rubin_workflows' determine-tooling rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.ci.linttools import determine_tooling
from scipipe_tools.errors import InputError


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (None, ("flake8", "none", "none")),
        ("", ("flake8", "none", "none")),
        ("[tool.black]\nline-length = 110\n[tool.isort]\nprofile = 'black'\n",
         ("flake8", "black", "isort")),
        ("[tool.ruff]\nline-length = 110\n[tool.ruff.lint]\nselect = ['E', 'I']\n"
         "[tool.ruff.format]\n", ("ruff", "ruff", "ruff")),
        ("[tool.ruff.lint]\nselect = ['E']\n[tool.isort]\n[tool.black]\n",
         ("ruff", "black", "isort")),
        # ruff's import sorting needs the select list to name "I" itself
        ("[tool.ruff.lint]\nselect = ['E', 'I001']\n", ("ruff", "none", "none")),
        # [tool.ruff] alone is not [tool.ruff.lint]
        ("[tool.ruff]\nline-length = 100\n", ("flake8", "none", "none")),
    ],
)  # fmt: skip
def test_rules(tmp_path: Path, toml: str | None, expected: tuple[str, str, str]) -> None:
    path = tmp_path / "pyproject.toml"
    if toml is not None:
        path.write_text(toml)
    t = determine_tooling(path)
    assert (t.lint, t.format, t.isort) == expected
    assert t.outputs() == [f"lint={expected[0]}", f"format={expected[1]}", f"isort={expected[2]}"]


def test_this_repository() -> None:
    t = determine_tooling(Path(__file__).resolve().parents[2] / "pyproject.toml")
    assert (t.lint, t.isort) == ("ruff", "ruff")


def test_bad_toml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.ruff]\nline-length = = 3\n")
    with pytest.raises(InputError, match=r"pyproject.toml:2: invalid TOML"):
        determine_tooling(path)
