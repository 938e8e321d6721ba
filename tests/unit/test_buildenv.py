"""Which environment a build runs in, and the per-build record of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scipipe_tools.env import create
from scipipe_tools.errors import InputError
from scipipe_tools.sourcebuild.buildenv import (
    EnvChoice,
    EnvRecord,
    EnvRequest,
    choose_env,
    read_record,
    record_path,
    render_record,
)


def made_by_create(prefix: Path) -> Path:
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "conda-meta" / create.STAMP).write_text("{}")
    return prefix


@pytest.fixture(autouse=True)
def no_conda(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("CONDA_PREFIX", "CONDA_EXE", "SCIPIPE_CONDA_ROOT", "MAMBA_ROOT_PREFIX"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


def test_explicit_choices_win_and_do_not_combine(tmp_path: Path) -> None:
    root = tmp_path / "root"
    made_by_create(root / "envs" / "rubin")
    env = {"CONDA_PREFIX": "/active"}
    made_by_create(tmp_path / "rel" / "env")
    assert choose_env(EnvRequest(prefix=Path("rel/env")), root, env) == EnvChoice(
        (tmp_path / "rel" / "env").absolute(), "--env"
    )
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError, match="not an environment: no conda-meta/"):
        choose_env(EnvRequest(prefix=tmp_path / "plain"), root, env)
    assert choose_env(EnvRequest(none=True), root, env) == EnvChoice(None, "--no-env")
    with pytest.raises(InputError, match="--env and -e cannot be combined"):
        choose_env(EnvRequest(prefix=tmp_path, name="rubin"), root, env)


def test_named_environment_is_looked_for_where_env_create_and_lsstinstall_put_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    in_root = made_by_create(root / "envs" / "rubin")
    assert choose_env(EnvRequest(name="rubin"), root, {}).prefix == in_root.absolute()
    conda = tmp_path / "conda-root"
    made_by_create(conda / "envs" / "lsst-scipipe-10.0.0")
    monkeypatch.setenv("SCIPIPE_CONDA_ROOT", str(conda))
    got = choose_env(EnvRequest(name="lsst-scipipe-10.0.0"), root, {})
    assert got == EnvChoice(conda / "envs" / "lsst-scipipe-10.0.0", "-e lsst-scipipe-10.0.0")
    monkeypatch.delenv("SCIPIPE_CONDA_ROOT")
    made_by_create(tmp_path / "conda" / "envs" / "lsst-scipipe-9.0.0")  # ./conda
    assert choose_env(EnvRequest(name="lsst-scipipe-9.0.0"), root, {}).prefix == (
        tmp_path / "conda" / "envs" / "lsst-scipipe-9.0.0"
    )
    with pytest.raises(InputError, match="no such environment") as exc:
        choose_env(EnvRequest(name="rubim"), root, {})
    assert exc.value.hint == "did you mean 'rubin'?"
    with pytest.raises(InputError, match="invalid environment name"):
        choose_env(EnvRequest(name="../x"), root, {})


def test_defaults_active_conda_then_the_work_roots_environment_then_none(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    none = choose_env(EnvRequest(), root, {})
    assert none.prefix is None and "scipipe's own environment" in none.reason
    (root / "envs" / "not-made-by-create").mkdir(parents=True)
    assert choose_env(EnvRequest(), root, {}).prefix is None
    made = made_by_create(root / "envs" / "rubin")
    assert choose_env(EnvRequest(), root, {}) == EnvChoice(
        made.absolute(), "the work root's environment"
    )
    active = made_by_create(tmp_path / "active")
    got = choose_env(EnvRequest(), root, {"CONDA_PREFIX": str(active)})
    assert got == EnvChoice(active, "the active $CONDA_PREFIX")
    made_by_create(root / "envs" / "other")
    with pytest.raises(InputError, match="2 environments made by scipipe env create"):
        choose_env(EnvRequest(), root, {})


def entry(prefix: str, explicit_sha: str) -> dict[str, object]:
    return {"prefix": prefix, "kind": "conda", "chosen_by": "--env", "explicit_sha256": explicit_sha,
            "explicit": ["@EXPLICIT"], "python": {"path": "p", "version": "3"},
            "eups": {"state": "none"}, "lock_sha256": "l" * 64, "lock_matches": True}  # fmt: skip


def test_the_record_lists_each_environment_with_the_products_it_built(tmp_path: Path) -> None:
    build_dir = tmp_path / "build"
    rec = EnvRecord(build_dir, "b7", entry("/env", "a"))
    assert read_record(build_dir, "b7")["environments"][0]["products"] == []
    rec.built("utils")
    rec.built("base")
    rec.built("utils")
    # a rerun in the same environment adds to it; one in another environment adds that one
    EnvRecord(build_dir, "b7", entry("/env", "a")).built("afw")
    EnvRecord(build_dir, "b7", entry("/env", "b")).built("geom")
    data = read_record(build_dir, "b7")
    assert data["build_id"] == "b7" and data["schema_version"] == 1
    assert [(e["explicit_sha256"], e["products"]) for e in data["environments"]] == [
        ("a", ["utils", "base", "afw"]),
        ("b", ["geom"]),
    ]
    text = render_record(data)
    assert "b7: conda /env (--env)" in text and "lock sha256:     " + "l" * 64 in text
    assert (
        record_path(build_dir, "b7").read_text()
        == json.dumps(data, indent=1, sort_keys=True) + "\n"
    )


def test_asking_for_a_build_that_was_not_recorded(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no environment record for b3") as exc:
        read_record(tmp_path, "b3")
    assert exc.value.hint == "no build was recorded there"
    EnvRecord(tmp_path, "b30", entry("/env", "a"))
    with pytest.raises(InputError) as exc:
        read_record(tmp_path, "b3")
    assert exc.value.hint == "did you mean 'b30'?"
    record_path(tmp_path, "b4").write_text("[]")
    with pytest.raises(InputError, match="not a build environment record"):
        read_record(tmp_path, "b4")
