"""``scipipe build --docs``: real Sphinx documentation of built products (BUILD_DOCS).

The sample stack's ``base`` is given a small Sphinx project in ``doc/`` whose conf.py
imports ``lsst_base`` (and through it ``lsst_utils``): it builds only in the build's
environment, with the product and its dependencies set up.  ``utils`` has no ``doc/``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from scipipe_tools.demo.gitrepo import git
from scipipe_tools.demo.samplestack import Materialized, materialize

from .conftest import Invoke

FLAVOR = "Linux64"

CONF = """\
import lsst_base  # only importable with base (and utils) set up, as the build had them

project = "The base product " + lsst_base.__name__
html_theme = "basic"
"""
INDEX = """\
The base product
================

It knows the interpreter's version.
"""


def build_args(stack: Materialized, root: Path, *extra: str) -> list[str]:
    return ["build", *extra, "--repos", str(stack.repos_yaml), "--root", str(root), "-j", "2",
            "--exclusion-map", str(stack.exclusions), "--flavor", FLAVOR, "--no-tests",
            "--no-env"]  # fmt: skip


def change(stack: Materialized, product: str, tmp: Path, write: dict[str, str],
           remove: tuple[str, ...] = ()) -> None:  # fmt: skip
    """Push a commit to ``product``'s remote that writes and removes files."""
    work = tmp / f"edit-{product}-{time.monotonic_ns()}"
    git(["clone", "-q", str(stack.remotes[product]), str(work)])
    for path, text in write.items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(text)
    if remove:
        git(["rm", "-rq", *remove], cwd=work)
    git(["add", "-A"], cwd=work)
    git(["commit", "-q", "-m", f"docs of {product}"], cwd=work)
    git(["push", "-q", "origin", "HEAD:main"], cwd=work)


@pytest.fixture
def stack(tmp_path: Path, examples_dir: Path) -> Materialized:
    """The sample stack with Sphinx docs in base and no doc/ in utils."""
    made = materialize(examples_dir / "sample-stack", tmp_path / "remotes", history=False)
    change(made, "base", tmp_path, {"doc/conf.py": CONF, "doc/index.rst": INDEX})
    change(made, "utils", tmp_path, {}, remove=("doc",))
    return made


def test_docs_are_built_in_the_build_environment(
    scipipe: Invoke, stack: Materialized, tmp_path: Path
) -> None:
    root = tmp_path / "work"
    # -p --docs: what would be documented, nothing built
    r = scipipe(*build_args(stack, root, "base"), "-p", "--docs")
    assert r.code == 0, r.err
    assert "docs: would build base; would skip (no doc/conf.py) utils" in r.err
    assert not (root / "build" / "docs").exists()

    r = scipipe(*build_args(stack, root, "base"), "--docs")
    assert r.code == 0, r.err
    html = root / "build" / "docs" / "base" / "index.html"
    assert "The base product lsst_base" in html.read_text()
    assert "docs: built base; skipped (no doc/conf.py) utils" in r.err
    assert f"wrote {html}" in r.err
    log = (root / "build" / "logs" / "base.docs.log").read_text()
    assert "-m sphinx -T -b html" in log and "exit code 0" in log
    assert not (root / "build" / "logs" / "utils.docs.log").exists()
    # the doctrees are kept out of the checkout: it stays clean
    assert git(["status", "--porcelain"], cwd=root / "sources" / "base") == ""

    # a rebuild with nothing to build still documents (the JSON says how it went)
    r = scipipe(*build_args(stack, root, "base"), "--docs", "--no-fetch", "--json")
    assert r.code == 0, r.err
    docs = {d["product"]: d["status"] for d in json.loads(r.out)["docs"]}
    assert docs == {"utils": "skipped", "base": "built"}


def test_a_broken_conf_py_fails_the_product(
    scipipe: Invoke, stack: Materialized, tmp_path: Path
) -> None:
    change(stack, "base", tmp_path, {"doc/conf.py": "raise RuntimeError('conf.py is broken')\n"})
    root = tmp_path / "work"
    r = scipipe(*build_args(stack, root, "base"), "--docs")
    assert r.code == 8, r.err
    log = root / "build" / "logs" / "base.docs.log"
    assert "*** error building the documentation of base." in r.err
    assert f"*** log is in {log}" in r.err
    assert "conf.py is broken" in r.err  # the log's last lines
    assert "error: the documentation of 1 product(s) failed to build: base" in r.err
    assert "docs: built none; skipped (no doc/conf.py) utils; failed base" in r.err
    # the build itself went well: its products are installed and reported
    status = json.loads((root / "build" / "status.json").read_text())
    assert {p["status"] for p in status["products"]} == {"built"}
    assert "conf.py is broken" in log.read_text()
    # Sphinx's saved traceback is kept in the build directory, not left in /tmp
    (saved,) = (root / "build" / "docs" / ".tmp" / "base").glob("sphinx-err-*.log")
    assert "conf.py is broken" in saved.read_text()


def test_without_docs_nothing_is_documented(
    scipipe: Invoke, stack: Materialized, tmp_path: Path
) -> None:
    root = tmp_path / "work"
    r = scipipe(*build_args(stack, root, "base"))
    assert r.code == 0, r.err
    assert not (root / "build" / "docs").exists()
    assert "docs:" not in r.err


def test_timeout_stops_a_docs_build(scipipe: Invoke, stack: Materialized, tmp_path: Path) -> None:
    change(stack, "base", tmp_path, {"doc/conf.py": "import time\ntime.sleep(60)\n"})
    root = tmp_path / "work"
    started = time.monotonic()
    r = scipipe(*build_args(stack, root, "base"), "--docs", "--timeout", "3")
    assert r.code == 8, r.err
    assert "*** base: its docs build timed out after 3 s" in r.err
    assert time.monotonic() - started < 50  # the sleeping conf.py was stopped
