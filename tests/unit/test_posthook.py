"""The EUPS post-install hook lsstinstall puts in ``site/distribInstallPostHook.py``."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from scipipe_tools.installer import posthook


def test_the_hook_is_standard_library_only() -> None:
    """EUPS imports the copied file in the user's environment, without scipipe_tools."""
    path = Path(posthook.__file__)
    spec = importlib.util.spec_from_file_location("distribInstallPostHook", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(module.distribInstallPostHook)
    assert "scipipe_tools" not in path.read_text().split('"""', 2)[2]


def test_python_shebangs_are_pointed_at_this_python(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    product = tmp_path / "Linux64" / "pipe_base" / "g123"
    bins = product / "bin"
    bins.mkdir(parents=True)
    built = bins / "pipe_base_run"
    built.write_text("#!/home/builder/conda/envs/x/bin/python3.13 -u\nprint('hi')\n")
    built.chmod(0o755)
    portable = bins / "portable"
    portable.write_text("#!/usr/bin/env python\nprint('hi')\n")
    shell = bins / "tool.sh"
    shell.write_text("#!/bin/bash\necho hi\n")
    binary = bins / "compiled"
    binary.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(range(256)))
    fake = tmp_path / "env" / "bin"
    fake.mkdir(parents=True)
    (fake / "python").write_text("#!/bin/sh\n")
    (fake / "python").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")

    posthook.distribInstallPostHook(str(product), verbose=0)

    assert built.read_text() == f"#!{fake / 'python'} -u\nprint('hi')\n"
    assert built.stat().st_mode & 0o777 == 0o755
    assert portable.read_text() == "#!/usr/bin/env python\nprint('hi')\n"
    assert shell.read_text() == "#!/bin/bash\necho hi\n"
    assert binary.read_bytes().startswith(b"\x7fELF")
    assert sorted(p.name for p in bins.iterdir()) == ["compiled", "pipe_base_run", "portable",
                                                      "tool.sh"]  # fmt: skip


def test_absolute_shared_library_links_become_relative(tmp_path: Path) -> None:
    lib = tmp_path / "product" / "lib"
    lib.mkdir(parents=True)
    (lib / "libfoo.so.1.5").write_bytes(b"\x7fELF")
    (lib / "libfoo.so").symlink_to("/build/machine/stack/lib/libfoo.so.1.5")
    (lib / "libbar.so").symlink_to("libfoo.so.1.5")
    (lib / "data.txt").symlink_to("/etc/hostname")
    posthook.distribInstallPostHook(str(tmp_path / "product"))
    assert os.readlink(lib / "libfoo.so") == "libfoo.so.1.5"
    assert (lib / "libfoo.so").read_bytes() == b"\x7fELF"
    assert os.readlink(lib / "libbar.so") == "libfoo.so.1.5"
    assert os.readlink(lib / "data.txt") == "/etc/hostname"  # not a shared library


def test_a_missing_product_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="install path is missing"):
        posthook.distribInstallPostHook(str(tmp_path / "nope"))
    assert sys.modules.get("scipipe_tools.installer.posthook") is posthook
