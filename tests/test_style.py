"""The house style is part of the test suite: ruff and mypy --strict must pass."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "scipipe_tools"
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def check(argv: list[str]) -> None:
    r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    assert r.returncode == 0, f"{' '.join(argv)} failed:\n{r.stdout}\n{r.stderr}"


def test_ruff_lint() -> None:
    check([tool("ruff"), "check", "src", "tests", "benchmarks"])


def test_ruff_format() -> None:
    check([tool("ruff"), "format", "--check", "src", "tests", "benchmarks"])


def test_mypy_strict() -> None:
    check([tool("mypy"), "--strict", "src"])


def test_no_shell_true() -> None:
    hits = [p for p in (ROOT / "src").rglob("*.py") if "shell=True" in p.read_text()]
    assert hits == []


def test_messages_name_commands_not_python_apis() -> None:
    """An error or hint tells the user what to run or edit, never a library call
    (``create one with Stack.create``)."""
    import ast
    import re

    api = re.compile(
        r"\b[A-Z][A-Za-z]+\.(?!(?:md|txt|yaml|yml|json|table|list|py|cfg|sh|html|toml|lock|tar"
        r"|gz|bz2|conda|chain|version|tags|log|xml|svg|png|cfg)\b)[a-z_]+\b|\b[a-z_]+\(\)"
    )
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if "demo" in path.parts:
            continue
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = (
                node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            )
            texts = [kw.value for kw in node.keywords if kw.arg == "hint"]
            if name.endswith("Error"):
                texts += node.args[:1]
            for t in texts:
                for const in ast.walk(t):
                    text = const.value if isinstance(const, ast.Constant) else None
                    if isinstance(text, str) and api.search(text):
                        found.append(f"{path.relative_to(SRC)}:{const.lineno}: {text!r}")
    assert found == []


def test_digits_are_ascii() -> None:
    r"""``\d`` and ``str.isdigit`` also take ``²`` or ``٣``, which ``int()`` refuses or reads
    as 3: only ``[0-9]``, or ``isdigit`` after ``isascii`` on the same line (issue 13)."""
    hits = []
    for p in sorted((ROOT / "src").rglob("*.py")):
        for n, line in enumerate(p.read_text().splitlines(), 1):
            if (
                re.search(r"\.(isdigit|isdecimal|isnumeric)\(\)", line) and ".isascii()" not in line
            ) or re.search(r"""r["'].*\\d""", line):
                hits.append(f"{p.relative_to(ROOT)}:{n}: {line.strip()}")
    assert hits == []


def test_no_function_is_longer_than_80_lines() -> None:
    """Long work is a sequence of named steps, not one body of nested closures (issue 16)."""
    import ast

    long = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = node.end_lineno - node.lineno + 1 if node.end_lineno else 0
                if size > 80:
                    long.append(f"{path.relative_to(SRC)}:{node.lineno}: {node.name} ({size})")
    assert long == []
