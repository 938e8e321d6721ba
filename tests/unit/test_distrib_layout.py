"""Server root names and the platform -> binary root path table (spec section 7)."""

from __future__ import annotations

import pytest

from scipipe_tools.errors import InputError
from scipipe_tools.names import platforms
from scipipe_tools.names import serverlayout as layout


@pytest.mark.parametrize(
    ("platform", "expected"),
    [
        ("linux-64", "redhat/el7"),
        ("Linux-x86_64", "redhat/el7"),
        ("linux-aarch64", "redhat/el8-arm"),
        ("Linux aarch64", "redhat/el8-arm"),
        ("osx-64", "osx/10.9"),
        ("Darwin-x86_64", "osx/10.9"),
        ("osx-arm64", "osx/14-arm"),
        ("Darwin-arm64", "osx/14-arm"),
    ],
)
def test_binary_root_path(platform: str, expected: str) -> None:
    path = layout.binary_root_path(platform, "13.0.1")
    assert path == f"{expected}/conda-system/miniconda3-py38_4.9.2-13.0.1"


@pytest.mark.parametrize(("platform", "env"), [("win-64", "13.0.1"), ("linux-64", "a/b"),
                                               ("linux-64", ""), ("SunOS-sparc", "1")])  # fmt: skip
def test_binary_root_path_refuses(platform: str, env: str) -> None:
    with pytest.raises(InputError):
        layout.binary_root_path(platform, env)


def test_conda_platform() -> None:
    assert platforms.conda_platform("Linux", "x86_64") == "linux-64"
    assert platforms.conda_platform("Darwin", "arm64") == "osx-arm64"
    with pytest.raises(InputError, match="unsupported system"):
        platforms.conda_platform("Windows", "AMD64")


def test_names() -> None:
    assert layout.tarball("afw", "g1+2", "Linux64") == "afw-g1+2@Linux64.tar.gz"
    assert layout.sha256_of("afw-g1@Linux64.tar.gz") == "afw-g1@Linux64.tar.gz.sha256"
    assert layout.binary_manifest("afw", "g1", "Linux64") == "manifests/afw-g1@Linux64.manifest"
    assert layout.source_manifest("afw", "g1") == "manifests/afw-g1.manifest"
    assert layout.eupspkg("afw", "g1") == "products/afw-g1.eupspkg"
    assert layout.table("afw", "g1") == "tables/afw-g1.table"
    assert layout.env_file("w_2025_10") == "env/w_2025_10.env"
    assert layout.taglist_paths("w_2025_10") == ("tags/w_2025_10.list", "w_2025_10.list")
