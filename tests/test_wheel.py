"""What the wheel ships: the product, its package data, and no test fakes (issue 16)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    argv = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
            "-q", "-w", str(out), str(ROOT)]  # fmt: skip
    subprocess.run(argv, check=True, capture_output=True)
    (wheel,) = out.glob("scipipe_tools-*.whl")
    with zipfile.ZipFile(wheel) as z:
        return set(z.namelist())


@pytest.mark.parametrize(
    "fake", ["githubserver.py", "gitdaemon.py", "httpserver.py", "releaseworld.py", "stackgen.py"]
)
def test_no_test_fake_in_the_wheel(wheel_names: set[str], fake: str) -> None:
    assert [n for n in wheel_names if n.endswith("/" + fake)] == []


def test_no_tests_in_the_wheel(wheel_names: set[str]) -> None:
    assert [n for n in wheel_names if n.startswith("tests/")] == []


@pytest.mark.parametrize(
    "needed",
    [
        "scipipe_tools/eupspkg/eupspkg.sh",  # the build's verbs, package data
        "scipipe_tools/demo/samplestack.py",  # scipipe demo init
        "scipipe_tools/demo/channel.py",
        "scipipe_tools/cli/app.py",
    ],
)
def test_the_product_is_in_the_wheel(wheel_names: set[str], needed: str) -> None:
    assert needed in wheel_names


def test_templates_are_in_the_wheel(wheel_names: set[str]) -> None:
    assert any(n.startswith("scipipe_tools/templates/changelog/") for n in wheel_names)
