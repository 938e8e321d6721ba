"""``scipipe release pypi`` on real products (../shared/realdata bundles) against a real
pypiserver on 127.0.0.1: build, check, upload, install with pip; a rerun uploads nothing;
a version the index has with other files is refused with exit 6."""

from __future__ import annotations

import json
import subprocess
import venv
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scipipe_tools import redaction
from scipipe_tools.cli.app import cli, run
from tests.support.pypiserver import PypiServer

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"
#: utils and pex_config build (setuptools + lsst-versions); sconsUtils' pyproject.toml
#: only configures tools; base has none
PRODUCTS = ("sconsUtils", "base", "utils", "pex_config")


def git(repo: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
           "GIT_AUTHOR_DATE": "2025-03-01T12:00:00Z", "GIT_COMMITTER_DATE": "2025-03-01T12:00:00Z",
           "PATH": "/usr/bin:/bin"}  # fmt: skip
    out = subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    return out.stdout.decode().strip()


@dataclass
class World:
    root: Path
    manifest: Path
    repos: Path
    heads: dict[str, str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    if not (REALDATA / "repos").is_dir():
        pytest.skip(f"real data not available: {REALDATA}")
    root = tmp_path_factory.mktemp("pypi-world")
    heads = {}
    for p in PRODUCTS:
        up = root / "upstream" / p
        subprocess.run(["git", "clone", "--quiet", str(REALDATA / "repos" / f"{p}.bundle"),
                        str(up)], check=True, capture_output=True)  # fmt: skip
        if p in ("utils", "pex_config"):  # a commit after the weekly
            (up / "NOTES.txt").write_text("after the weekly\n")
            git(up, "add", "NOTES.txt")
            git(up, "commit", "-q", "-m", "A commit after w.2025.07")
        heads[p] = git(up, "rev-parse", "HEAD")
    manifest = root / "manifest.txt"
    manifest.write_text("# product SHA1 Version\nBUILD=b9001\n" + "".join(
        f"{p:<25} {heads[p]}  g{heads[p][:10]}\n" for p in PRODUCTS))  # fmt: skip
    repos = root / "repos.yaml"
    repos.write_text("".join(f"{p}: file://{root / 'upstream' / p}\n" for p in PRODUCTS))
    return World(root, manifest, repos, heads)


@pytest.fixture
def index(tmp_path: Path) -> Iterator[PypiServer]:
    with PypiServer(tmp_path / "packages") as server:
        yield server


#: the machine's own wheelhouse (its pip configuration's file index): the dependencies
#: of what the test installs from its index, offline
LOCAL_WHEELS = Path("/opt/pypi/simple")


def fresh_venv(path: Path) -> Path:
    venv.create(path, with_pip=True, system_site_packages=False)
    return path / "bin" / "python"


def pip(py: Path, *args: str) -> None:
    env = {"PATH": "/usr/bin:/bin", "PIP_CONFIG_FILE": "/dev/null",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}  # fmt: skip
    subprocess.run([str(py), "-m", "pip", "install", "-q", *args], check=True, env=env)


@dataclass
class Outcome:
    code: int
    out: str
    err: str


@pytest.fixture
def scipipe(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
            world: World, index: PypiServer) -> Callable[..., Outcome]:  # fmt: skip
    """``scipipe --json release pypi`` of the world's manifest to the index, in-process
    behind the real error boundary; ``password=False``: no credentials in the environment."""

    def invoke(work: Path, *extra: str, password: bool = True, json_: bool = True) -> Outcome:
        monkeypatch.setenv("TWINE_USERNAME", index.user if password else "")
        monkeypatch.setenv("TWINE_PASSWORD", index.password if password else "")
        args = [*(["--json"] if json_ else []), "release", "pypi",
                "--manifest", str(world.manifest), "--repos", str(world.repos),
                "--work-dir", str(work), "--repository-url", index.url, *extra]  # fmt: skip
        code = run(cli, args, "scipipe")
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return invoke


Scipipe = Callable[..., Outcome]


def by_product(output: str) -> dict[str, dict[str, Any]]:
    return {p["product"]: p for p in json.loads(output)["products"]}


def test_publish_install_rerun(scipipe: Scipipe, index: PypiServer, tmp_path: Path) -> None:
    work = tmp_path / "work"
    first = scipipe(work)
    assert first.code == 0, first.out + first.err
    got = by_product(first.out)
    assert got["base"]["outcome"] == "skipped" and got["base"]["detail"] == "no pyproject.toml"
    assert got["sconsUtils"]["detail"] == "pyproject.toml has no [project] table"
    # lsst-versions: one commit after the commit of w.2025.07 (also w.2025.08-11 in utils,
    # w.2025.08 in pex_config); 29 and 28: the newest major release not containing it
    assert (got["utils"]["project"], got["utils"]["version"]) == ("lsst-utils", "29.2025.1101")
    assert got["pex_config"]["version"] == "28.2025.801"
    for p in ("utils", "pex_config"):
        assert got[p]["outcome"] == "uploaded"
        assert sorted(f["action"] for f in got[p]["files"]) == ["upload", "upload"]
    assert sorted(x.name for x in (tmp_path / "packages").iterdir()) == [
        "lsst_pex_config-28.2025.801-py3-none-any.whl", "lsst_pex_config-28.2025.801.tar.gz",
        "lsst_utils-29.2025.1101-py3-none-any.whl", "lsst_utils-29.2025.1101.tar.gz",
    ]  # fmt: skip
    assert index.password not in first.out + first.err

    # pip installs what was uploaded, from the index (and from nowhere else), and it imports
    py = fresh_venv(tmp_path / "venv")
    pip(py, "--no-deps", "--index-url", index.simple,
        "lsst-utils==29.2025.1101", "lsst-pex-config==28.2025.801")  # fmt: skip
    shown = subprocess.run([str(py), "-c", "import importlib.metadata as m;"
                            "print(m.version('lsst-utils'), m.version('lsst-pex-config'))"],
                           check=True, capture_output=True, text=True)  # fmt: skip
    assert shown.stdout.split() == ["29.2025.1101", "28.2025.801"]
    if not LOCAL_WHEELS.is_dir():
        pytest.skip(f"no local wheels ({LOCAL_WHEELS}) for lsst.pex.config's numpy: no import")
    pip(py, "--index-url", LOCAL_WHEELS.as_uri(), "numpy", "pyyaml")
    imported = subprocess.run([str(py), "-c", "import lsst.pex.config as c; print(c.__file__)"],
                              check=True, capture_output=True, text=True)  # fmt: skip
    assert imported.stdout.startswith(str(tmp_path / "venv"))

    # a rerun (even from a fresh work directory: the builds are reproducible) uploads nothing
    for rerun_work in (work, tmp_path / "fresh"):
        before = {x.name: x.stat().st_mtime_ns for x in (tmp_path / "packages").iterdir()}
        again = scipipe(rerun_work)
        assert again.code == 0, again.err
        got = by_product(again.out)
        assert [got[p]["outcome"] for p in ("utils", "pex_config")] == ["present", "present"]
        assert got["utils"]["built"] is (rerun_work != work)
        after = {x.name: x.stat().st_mtime_ns for x in (tmp_path / "packages").iterdir()}
        assert after == before


def test_other_files_for_the_version_are_refused(
    scipipe: Scipipe, index: PypiServer, tmp_path: Path
) -> None:
    # the index already has lsst-utils 29.2025.1101's sdist, with other content
    (tmp_path / "packages").mkdir(exist_ok=True)
    (tmp_path / "packages" / "lsst_utils-29.2025.1101.tar.gz").write_bytes(b"not ours")
    result = scipipe(tmp_path / "work", "--product", "utils", "--product", "pex_config")
    assert result.code == 6, result.err
    assert "refusing to upload" in result.err and "lsst-utils 29.2025.1101" in result.err
    # nothing was uploaded, not even the products without a conflict
    assert [x.name for x in (tmp_path / "packages").iterdir()] == ["lsst_utils-29.2025.1101.tar.gz"]


def test_dry_run_uploads_nothing_and_needs_no_password(
    scipipe: Scipipe, index: PypiServer, tmp_path: Path
) -> None:
    result = scipipe(tmp_path / "work", "--product", "pex_config", "--dry-run",
                 password=False)  # fmt: skip
    assert result.code == 0, result.err
    assert by_product(result.out)["pex_config"]["outcome"] == "would-upload"
    assert list((tmp_path / "packages").iterdir()) == []


def test_without_credentials_nothing_is_built(
    scipipe: Scipipe, index: PypiServer, tmp_path: Path
) -> None:
    result = scipipe(tmp_path / "work", "--product", "utils", password=False)
    assert result.code == 2, result.err
    assert "TWINE_PASSWORD" in result.err
    assert not (tmp_path / "work").exists()


def test_a_pypirc_password_is_redacted(
    world: World,
    index: PypiServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A password read from .pypirc is in no variable named like a secret: it is registered
    with the redaction when read, so even an index URL that echoes it prints ``***``."""
    redaction.forget_all()
    monkeypatch.delenv("TWINE_USERNAME", raising=False)
    monkeypatch.delenv("TWINE_PASSWORD", raising=False)
    pypirc = tmp_path / "pypirc"
    pypirc.write_text(f"[local]\nrepository = {index.url}\nusername = {index.user}\n"
                      f"password = {index.password}\n")  # fmt: skip
    args = ["release", "pypi", "--manifest", str(world.manifest), "--repos", str(world.repos),
            "--work-dir", str(tmp_path / "work"), "--product", "pex_config", "--dry-run",
            "--repository", "local", "--pypirc", str(pypirc),
            "--index-url", f"http://127.0.0.1:1/{index.password}/"]  # fmt: skip
    code = run(cli, args, "scipipe")
    captured = capsys.readouterr()
    assert code == 5, captured.err  # the index cannot be read: port 1
    assert "http://127.0.0.1:1/***/" in captured.err
    assert index.password not in captured.out + captured.err
