"""Activating a conda prefix or a venv as ``conda activate`` / ``bin/activate`` do.

Prefixes are real directories shaped as conda and venv make them (``conda-meta/``,
``etc/conda/activate.d/*.sh``, ``pyvenv.cfg``); the scripts run in a real bash, the
venvs are made by ``python -m venv``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scipipe_tools.env import create
from scipipe_tools.errors import InputError, ScipipeError
from scipipe_tools.infra.activate import activate, describe, kind_of, probe_python, python_of


def conda_prefix(path: Path, scripts: dict[str, str] | None = None) -> Path:
    (path / "conda-meta").mkdir(parents=True)
    (path / "bin").mkdir()
    for name, text in (scripts or {}).items():
        script = path / "etc" / "conda" / "activate.d" / name
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(text)
    return path


def record(prefix: Path, name: str, version: str, **extra: str) -> Path:
    path = prefix / "conda-meta" / f"{name}-{version}-0.json"
    path.write_text(json.dumps({"name": name, "version": version, "build": "0", **extra}))
    return path


BASE = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent", "KEEP": "kept"}


def test_conda_activation_runs_the_scripts_in_order_once(tmp_path: Path) -> None:
    prefix = conda_prefix(
        tmp_path / "envs" / "rubin",
        {
            # name order, not creation order: 20 runs after 10 and sees what it set
            "20-second.sh": 'export SECOND="$FIRST+2"\nunset DROP_ME\nnot_exported=1\n',
            "10-first.sh": (
                'echo "noise on stdout"\nexport FIRST="1:$CONDA_PREFIX:$FROM_STATE"\n'
                "export MULTI='line one\nline two=x'\n"
            ),
            "notes.txt": "export NOT_A_SCRIPT=1\n",
        },
    )
    (prefix / "conda-meta" / "state").write_text(json.dumps({"env_vars": {"FROM_STATE": "s"}}))
    a = activate(prefix, {**BASE, "DROP_ME": "x"})
    assert a.kind == "conda" and not a.already_active
    assert a.scripts == ("etc/conda/activate.d/10-first.sh", "etc/conda/activate.d/20-second.sh")
    env = a.env
    assert env["PATH"] == f"{prefix}/bin:/usr/local/bin:/usr/bin:/bin"
    assert env["CONDA_PREFIX"] == str(prefix)
    assert env["CONDA_DEFAULT_ENV"] == "rubin" and env["CONDA_SHLVL"] == "1"
    assert env["CONDA_PROMPT_MODIFIER"] == "(rubin) "
    assert env["FIRST"] == f"1:{prefix}:s" and env["SECOND"] == f"1:{prefix}:s+2"
    assert env["MULTI"] == "line one\nline two=x"
    assert "DROP_ME" not in env and "not_exported" not in env and "NOT_A_SCRIPT" not in env
    assert env["KEEP"] == "kept" and "SHLVL" not in env and "_" not in env
    assert {"FIRST", "SECOND", "DROP_ME", "PATH", "CONDA_PREFIX", "FROM_STATE"} <= set(a.changed)
    assert "KEEP" not in a.changed


def test_conda_activation_replaces_the_active_environment_on_path(tmp_path: Path) -> None:
    old = conda_prefix(tmp_path / "old")
    new = conda_prefix(tmp_path / "new")
    base = {**BASE, "PATH": f"/a:{old}/bin:/b:{new}/bin", "CONDA_PREFIX": str(old),
            "CONDA_SHLVL": "1"}  # fmt: skip
    env = activate(new, base).env
    assert env["PATH"] == f"/a:{new}/bin:/b"
    assert env["CONDA_SHLVL"] == "2" and env["CONDA_PREFIX_1"] == str(old)
    assert env["CONDA_DEFAULT_ENV"] == str(new)  # not under envs/: named by its path


def test_an_already_active_environment_is_taken_as_it_is(tmp_path: Path) -> None:
    prefix = conda_prefix(tmp_path / "env", {"a.sh": "exit 3\n"})
    base = {**BASE, "CONDA_PREFIX": str(prefix), "FROM_ITS_SCRIPTS": "1"}
    a = activate(prefix, base)
    assert a.already_active and a.env == base and a.scripts == ()


def test_a_failing_activation_script_is_an_error_naming_the_environment(tmp_path: Path) -> None:
    prefix = conda_prefix(tmp_path / "env", {"a.sh": "echo broken >&2\nexit 3\n"})
    with pytest.raises(ScipipeError, match=rf"activating {prefix}: .*broken"):
        activate(prefix, BASE)


def test_not_an_environment(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        kind_of(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match="no conda-meta/"):
        activate(tmp_path / "plain", BASE)


def test_python_that_is_not_a_python_is_reported(tmp_path: Path) -> None:
    prefix = conda_prefix(tmp_path / "env")
    assert python_of(prefix, BASE) is None
    fake = prefix / "bin" / "python3"
    fake.write_text("#!/bin/sh\necho 'Python 3.13.7'\n")
    fake.chmod(0o755)
    py = python_of(prefix, BASE)
    assert py is not None and not py.works and "Python 3.13.7" in (py.problem or "")
    assert probe_python(sys.executable, dict(os.environ)).works


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path


def test_venv_activation(venv: Path) -> None:
    other = "/somewhere/else/venv"
    base = {**BASE, "PATH": f"/a:{other}/bin:/b", "VIRTUAL_ENV": other, "PYTHONHOME": "/x"}
    a = activate(venv, base)
    assert a.kind == "venv" and a.scripts == ()
    assert a.env["PATH"] == f"/a:{venv}/bin:/b" and a.env["VIRTUAL_ENV"] == str(venv)
    assert "PYTHONHOME" not in a.env
    py = python_of(venv, a.env)
    assert py is not None and py.works and py.path == str(venv / "bin" / "python")
    assert py.version == ".".join(map(str, sys.version_info[:3]))
    contents = describe(venv)
    assert contents.kind == "venv" and contents.listing[0].startswith("# python 3.")
    assert contents.lock_sha256 is None


def test_describe_lists_the_packages_as_an_explicit_file(tmp_path: Path) -> None:
    prefix = conda_prefix(tmp_path / "env")
    record(prefix, "zlib", "1.3", url="https://c/linux-64/zlib-1.3-0.conda", md5="ab" * 16)
    record(prefix, "abc", "2", url="https://c/noarch/abc-2-0.conda", sha256="cd" * 32)
    record(prefix, "local", "1")
    c = describe(prefix)
    assert c.listing == (
        "@EXPLICIT",
        "https://c/noarch/abc-2-0.conda#sha256:" + "cd" * 32,
        "# local-1-0: no URL recorded",
        "https://c/linux-64/zlib-1.3-0.conda#" + "ab" * 16,
    )
    assert c.listing_sha256 == hashlib.sha256(("\n".join(c.listing) + "\n").encode()).hexdigest()
    assert c.lock_sha256 is None and c.lock_matches is None


def test_describe_reads_the_lock_hash_env_create_stamped(tmp_path: Path) -> None:
    prefix = conda_prefix(tmp_path / "env")
    record(prefix, "abc", "2", url="https://c/abc-2-0.conda", md5="ab" * 16)
    records = sorted(p.name for p in (prefix / "conda-meta").glob("*.json"))
    stamp = {"lock_sha256": "f" * 64, "platform": "linux-64", "records": records}
    (prefix / "conda-meta" / create.STAMP).write_text(json.dumps(stamp))
    c = describe(prefix)
    assert c.lock_sha256 == "f" * 64 and c.lock_matches is True
    record(prefix, "added", "1")  # by hand, after the create
    assert describe(prefix).lock_matches is False
