"""``scipipe distrib smoke``: the published binaries installed into a fresh stack over real
HTTP, each product set up and its Python package imported (issue 17, part 4)."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from scipipe_tools.distrib.smoke import python_package
from scipipe_tools.names import serverlayout as layout
from tests.support.httpserver import StaticServer

from . import test_distrib_server as published
from .conftest import Invoke
from .test_distrib_server import FLAVOR, TAG, Served

#: the sample stack built, published and served once for this module (a fixture)
served = published.served


@pytest.fixture(autouse=True)
def _no_env_roots(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EUPS_PKGROOT", raising=False)
    monkeypatch.delenv("EUPS_PATH", raising=False)


def smoke_args(root: str, *extra: str) -> list[str]:
    return ["distrib", "smoke", "-t", TAG, "--root", root, "--flavor", FLAVOR, *extra]


def test_published_products_install_set_up_and_import(
    scipipe: Invoke, served: Served, tmp_path: Path
) -> None:
    stack = tmp_path / "fresh"
    r = scipipe(*smoke_args(f"{served.url}/plain", "--stack", str(stack), "--json"),
                "lsst_demo", "utils", "pex_config")  # fmt: skip
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["ok"] is True and out["installed"] == len(served.manifest)
    by_name = {p["product"]: p for p in out["products"]}
    assert by_name["utils"]["argv"][1:] == ["-c", "import lsst_utils"]
    assert by_name["utils"]["version"] == served.manifest["utils"].version
    assert all(p["ok"] for p in out["products"])
    assert (stack / "ups_db").is_dir()  # a stack given with --stack is kept


def test_a_product_that_fails_to_load_is_named(
    scipipe: Invoke, served: Served, tmp_path: Path
) -> None:
    """utils' published tarball is replaced by one whose package raises on import (with
    its checksum, so the install takes it): the smoke test fails, exit 8, naming utils."""
    root = tmp_path / "root"
    shutil.copytree(served.plain, root)
    version = served.manifest["utils"].version
    name = layout.tarball("utils", version, FLAVOR)
    tarball = next(root.rglob(name))
    rebuilt = io.BytesIO()
    with tarfile.open(tarball) as src, tarfile.open(fileobj=rebuilt, mode="w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member) if member.isfile() else None
            if member.name.endswith("lsst_utils/__init__.py"):
                text = b"raise ImportError('broken on purpose')\n"
                member.size = len(text)
                data = io.BytesIO(text)
            dst.addfile(member, data)
    tarball.write_bytes(rebuilt.getvalue())
    digest = hashlib.sha256(rebuilt.getvalue()).hexdigest()
    sidecar = tarball.with_name(name + ".sha256")
    if sidecar.exists():
        sidecar.write_text(f"{digest}  {name}\n")
    with StaticServer(root) as server:
        r = scipipe(*smoke_args(server.url), "lsst_demo", "utils")
    assert r.code == 8, r.err
    assert "smoke test failed for utils" in r.err
    assert "broken on purpose" in r.err
    assert ("FAILED utils" in r.out and "ok     lsst_demo" not in r.out) or "FAILED" in r.out
    assert "the stack is kept for a look" in r.err


def test_a_custom_command_and_a_dry_run(scipipe: Invoke, served: Served, tmp_path: Path) -> None:
    cmd = '{python} -c \'import sys; print("{product}", "{version}"); sys.exit(0)\''
    r = scipipe(*smoke_args(f"{served.url}/plain", "--command", cmd, "--json"), "base")
    assert r.code == 0, r.err
    (only,) = json.loads(r.out)["products"]
    assert only["tail"] == [f"base {served.manifest['base'].version}"]
    stack = tmp_path / "never"
    r = scipipe(*smoke_args(f"{served.url}/plain", "--stack", str(stack), "--dry-run"), "base")
    assert r.code == 0, r.err
    assert "dry run: would install" in r.err and not stack.exists()


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "product"


def test_which_package_is_imported(tree: Path) -> None:
    assert python_package(tree, "utils") is None
    shim = "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n"
    for rel, text in [("lsst/__init__.py", shim), ("lsst/daf/__init__.py", shim),
                      ("lsst/daf/relation/__init__.py", ""),
                      ("lsst/daf/relation/sql/__init__.py", "")]:  # fmt: skip
        (tree / "python" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / "python" / rel).write_text(text)
    assert python_package(tree, "daf_relation") == "lsst.daf.relation"
    assert python_package(tree, "other") == "lsst.daf.relation"  # the first that is no shim
