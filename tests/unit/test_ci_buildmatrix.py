"""The build matrix file: the repository's own, and errors that name file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.ci.buildmatrix import parse_build_matrix, read_build_matrix
from scipipe_tools.errors import InputError

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
rubin_env: 13.0.1
platforms:
  - {name: linux-64, runner: ubuntu-24.04, image: img:9, label: docker, eups_flavor: Linux64}
  - {name: osx-arm64, runner: macos-14, label: mac, eups_flavor: Darwin}
canonical:
  products: [lsst_distrib, lsst_ci]
"""


def test_the_repository_matrix_loads() -> None:
    m = read_build_matrix(ROOT / "ci" / "build-matrix.yaml")
    assert [p.name for p in m.platforms] == ["linux-64", "linux-aarch64", "osx-arm64"]
    assert m.products == ("lsst_distrib", "lsst_ci", "lsst_extras")
    assert m.canonical_platform == "linux-64"
    assert m.canonical_label == "snowflake-0"
    assert m.rubin_env == "13.0.1"
    # the rubin-env version the matrix names has a spec in envs/
    assert (ROOT / "envs" / f"rubin-env-{m.rubin_env}.yaml").is_file()


def test_defaults_and_selection() -> None:
    m = parse_build_matrix(GOOD, "m.yaml")
    assert m.canonical_platform == "linux-64"
    assert m.canonical_label == "docker"
    assert m.platforms[1].image is None
    assert [p.name for p in m.select(("osx-arm64",))] == ["osx-arm64"]
    assert len(m.select(())) == 2
    with pytest.raises(InputError, match="no platform 'osx-arm46'") as info:
        m.select(("osx-arm46",))
    assert info.value.hint == "did you mean 'osx-arm64'?"


@pytest.mark.parametrize(
    ("text", "where", "message", "hint"),
    [
        (GOOD.replace("rubin_env", "rubinenv"), "m.yaml:1", "unknown key 'rubinenv'",
         "did you mean 'rubin_env'?"),
        (GOOD.replace("name: osx-arm64", "name: osx-arm46"), "m.yaml:4",
         "unknown conda platform 'osx-arm46'", "did you mean 'osx-arm64'?"),
        (GOOD.replace("eups_flavor: Darwin", "eups_flavor: Darwn"), "m.yaml:4",
         "unknown flavor 'Darwn'", "did you mean 'Darwin'?"),
        (GOOD.replace("name: osx-arm64", "name: linux-64"), "m.yaml:4", "listed twice", None),
        (GOOD + "  platform: linux-46\n", "m.yaml:7", "is not one of the platforms",
         "did you mean 'linux-64'?"),
        (GOOD.replace("  products: [lsst_distrib, lsst_ci]", "  products: []"), "m.yaml:6",
         "at least one product", None),
        (GOOD.replace(", label: mac", ""), "m.yaml:4", "missing 'label'", None),
        ("platforms: [\n", "m.yaml:2", "invalid YAML", None),
        ("", "m.yaml", "empty file", None),
    ],
)  # fmt: skip
def test_errors_name_the_line(text: str, where: str, message: str, hint: str | None) -> None:
    with pytest.raises(InputError) as info:
        parse_build_matrix(text, "m.yaml")
    assert str(info.value).startswith(where + ":") or str(info.value).startswith(where + " ")
    assert message in str(info.value)
    assert info.value.hint == hint
