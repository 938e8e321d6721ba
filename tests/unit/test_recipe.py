from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from scipipe_tools.errors import BuildError
from scipipe_tools.eupspkg import recipe


def ctx(src: Path, tmp: Path, **kw: object) -> recipe.BuildContext:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(src / "python")
    return recipe.BuildContext(
        "demo", "g1", "Linux64", src, tmp / "prefix", env, tmp / "logs" / "demo.log", **kw
    )  # type: ignore[arg-type]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_hook_file(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src / "ups" / "demo.table", "")
    write(
        src / "ups" / "eupspkg.cfg.sh",
        'build() { mkdir -p _build && echo "$PRODUCT $VERSION" > _build/v; }\n'
        'install() { mkdir -p "$PREFIX/ups" && cp _build/v "$PREFIX/v"; }\n',
    )
    c = ctx(src, tmp_path)
    assert recipe.build(c) is recipe.Kind.COPY
    assert (c.prefix / "v").read_text() == "demo g1\n"
    log = c.log.read_text().splitlines()
    assert all(re.match(r"^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z\] ", ln) for ln in log)
    assert any("no check() function" in ln for ln in log)  # check: not defined


def test_hook_check_failure_is_a_test_failure(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src / "ups" / "eupspkg.cfg.sh", 'check() { echo "1 test failed"; return 1; }\n')
    with pytest.raises(BuildError, match=r"\*\*\* Failed unit tests"):
        recipe.build(ctx(src, tmp_path))
    # and with tests off it installs by copying
    c = ctx(src, tmp_path, run_tests=False)
    recipe.build(c)
    assert (c.prefix / "ups" / "eupspkg.cfg.sh").exists()


def test_python_product(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src / "pyproject.toml", "[project]\nname='demo'\n")
    write(src / "python" / "demo_pkg" / "__init__.py", "def f():\n    return 42\n")
    write(
        src / "tests" / "test_demo.py",
        "import unittest\nimport demo_pkg\n\nclass T(unittest.TestCase):\n"
        "    def test(self):\n        self.assertEqual(demo_pkg.f(), 42)\n",
    )
    write(src / "ups" / "demo.table", "envPrepend(PYTHONPATH, ${PRODUCT_DIR}/python)\n")
    c = ctx(src, tmp_path)
    assert recipe.build(c) is recipe.Kind.PYTHON
    assert (c.prefix / "python" / "demo_pkg" / "__init__.py").exists()
    assert not list(c.prefix.rglob("__pycache__"))
    write(src / "tests" / "test_demo.py", "def test_fail():\n    assert 1 == 2\n")
    with pytest.raises(BuildError, match=r"demo: \*\*\* Failed unit tests"):
        recipe.build(ctx(src, tmp_path / "again"))


def test_a_failing_verb_fails_the_build(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src / "setup.py", "raise SystemExit('broken setup.py')\n")
    with pytest.raises(BuildError, match="demo: build failed with exit code 1"):
        recipe.build(ctx(src, tmp_path))
    assert "broken setup.py" in (tmp_path / "logs" / "demo.log").read_text()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_makefile(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(
        src / "Makefile",
        "all:\n\techo built > out.txt\n\techo $(version) > version.txt\n"
        "test:\n\techo ran > tested.txt\n"
        "install:\n\tmkdir -p $(prefix)/share && cp out.txt $(prefix)/share/\n",
    )
    c = ctx(src, tmp_path)
    assert recipe.build(c) is recipe.Kind.MAKE
    assert (c.prefix / "share" / "out.txt").read_text() == "built\n"
    # eupspkg runs make's default target and install, as `make prefix=... version=...`
    assert not (src / "tested.txt").exists()
    assert (src / "version.txt").read_text() == "g1\n"


def test_sconsutils_failure_markers(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src / "ups" / "demo.table", "")
    write(src / "tests" / ".tests" / "testFoo.py.failed", "")
    with pytest.raises(BuildError, match=r"testFoo\.py\.failed"):
        recipe.build(ctx(src, tmp_path))


def test_copy_kind_copies_the_tree_but_git(tmp_path: Path) -> None:
    """eupspkg copies a tree without a build system as it is; we leave out .git."""
    src = tmp_path / "src"
    write(src / "ups" / "demo.table", "")
    write(src / ".git" / "HEAD", "x")
    write(src / "python" / "__pycache__" / "x.pyc", "")
    write(src / ".hidden", "h")
    c = ctx(src, tmp_path)
    assert recipe.build(c) is recipe.Kind.COPY
    assert (c.prefix / "ups" / "demo.table").exists()
    assert not (c.prefix / ".git").exists()
    assert (c.prefix / "python" / "__pycache__" / "x.pyc").exists()
    assert (c.prefix / ".hidden").read_text() == "h"


def test_python_tests_without_pytest(tmp_path: Path) -> None:
    """A fresh machine has no pytest: the tests run with unittest."""
    import subprocess
    import sys

    venv = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    src = tmp_path / "src"
    write(src / "pyproject.toml", "[project]\nname='demo'\n")
    write(src / "python" / "demo_pkg" / "__init__.py", "X = 1\n")
    write(src / "tests" / "test_demo.py",
          "import unittest\nimport demo_pkg\n\nclass T(unittest.TestCase):\n"
          "    def test(self):\n        self.assertEqual(demo_pkg.X, 1)\n")  # fmt: skip
    c = ctx(src, tmp_path, python=str(venv / "bin" / "python"))
    recipe.build(c)
    assert "-m unittest discover -s tests" in c.log.read_text()
    write(src / "tests" / "test_demo.py",
          "import unittest\n\nclass T(unittest.TestCase):\n"
          "    def test(self):\n        self.assertEqual(1, 2)\n")  # fmt: skip
    with pytest.raises(BuildError, match="Failed unit tests"):
        recipe.build(ctx(src, tmp_path / "again", python=str(venv / "bin" / "python")))
