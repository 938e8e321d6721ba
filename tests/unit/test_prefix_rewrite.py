"""prefix.rewrite_in_place: the new text exactly, shorter or longer than the old."""

from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.infra.prefix import rewrite_in_place


@pytest.mark.parametrize("old,new", [("x" * 1000, "short"), ("short", "é" * 5000), ("", "a")])
def test_the_file_holds_the_new_text_exactly(tmp_path: Path, old: str, new: str) -> None:
    path = tmp_path / "record.json"
    path.write_text(old, "utf-8")
    inode = path.stat().st_ino
    rewrite_in_place(path, new)
    assert path.read_text("utf-8") == new
    assert path.stat().st_ino == inode  # in place: no new file renamed over it
