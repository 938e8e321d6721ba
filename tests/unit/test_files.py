from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.errors import InputError
from scipipe_tools.infra.files import read_text, write_atomic


def test_write_atomic_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.txt"
    write_atomic(target, "one\n")
    write_atomic(target, "two\n")
    assert target.read_text() == "two\n"
    assert [p.name for p in target.parent.iterdir()] == ["out.txt"]


def test_write_atomic_keeps_the_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old\n")
    with pytest.raises(TypeError):
        write_atomic(target, 123)  # type: ignore[arg-type]
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_read_text_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        read_text(tmp_path / "nope.txt", "manifest")
    assert (
        str(info.value) == f"{tmp_path}/nope.txt: cannot read manifest: No such file or directory"
    )


def test_write_atomic_gives_new_files_the_umask_mode_and_keeps_old_modes(tmp_path: Path) -> None:
    import os

    from scipipe_tools.infra.files import UMASK

    fresh = tmp_path / "fresh.txt"
    write_atomic(fresh, "x\n")
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~UMASK  # not mkstemp's 0600
    script = tmp_path / "run.sh"
    script.write_text("#!/bin/sh\n")
    os.chmod(script, 0o750)
    write_atomic(script, "#!/bin/sh\necho hi\n")
    assert script.stat().st_mode & 0o777 == 0o750
