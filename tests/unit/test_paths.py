"""The one cache root (issue 16): every cache of scipipe-tools is below it."""

from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.infra.paths import cache_root


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SCIPIPE_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    return tmp_path / "home"


def test_the_default_is_under_the_home_cache(home: Path) -> None:
    assert cache_root() == home / ".cache" / "scipipe-tools"
    assert cache_root("forge") == home / ".cache" / "scipipe-tools" / "forge"


def test_xdg_cache_home_moves_it(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert (
        cache_root("changelog", "ranges")
        == tmp_path / "xdg" / "scipipe-tools" / "changelog" / "ranges"
    )


def test_scipipe_cache_dir_wins(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("SCIPIPE_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine"
    monkeypatch.setenv("SCIPIPE_CACHE_DIR", "")  # empty: not set
    assert cache_root() == tmp_path / "xdg" / "scipipe-tools"
