from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.env.spec import parse_spec, read_spec
from scipipe_tools.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def test_bundled_spec() -> None:
    spec = read_spec(ROOT / "envs" / "rubin-env-13.0.1.yaml")
    assert (spec.name, spec.version, spec.channels) == ("rubin-env", "13.0.1", ("conda-forge",))
    assert spec.specs() == ["rubin-env ==13.0.1"]
    assert spec.specs("developer") == ["rubin-env ==13.0.1", "rubin-env-developer ==13.0.1"]
    assert spec.platforms == ("linux-64", "linux-aarch64", "osx-64", "osx-arm64")
    assert spec.virtual("osx-arm64") == {"__osx": "11.0", "__unix": "0"}


def test_input_hash_follows_what_the_solve_sees() -> None:
    text = "name: e\nversion: '1'\nchannels: [c]\ndependencies: [a, b >=2]\n"
    spec = parse_spec(text)
    h = spec.input_hash("linux-64")
    assert h == parse_spec(text.replace("[a, b >=2]", "[b >=2, a]")).input_hash("linux-64")
    assert h != parse_spec(text.replace("b >=2", "b >=3")).input_hash("linux-64")
    assert h != spec.input_hash("osx-arm64")
    assert h != parse_spec(text.replace("[c]", "[extra, c]")).input_hash("linux-64")


@pytest.mark.parametrize(
    ("text", "where", "msg"),
    [
        (
            "name: e\nversion: '1'\nchannels: [c]\ndependencies: [a]\nchanels: [x]\n",
            "env.yaml:5:1",
            "unknown key 'chanels'",
        ),
        ("name: e\nversion: '1'\nchannels: [c]\n", "env.yaml:1", "missing 'dependencies'"),
        (
            "name: e\nversion: '1'\nchannels: [c]\ndependencies:\n  - a\n  - 'b = = 2'\n",
            "env.yaml:6:5",
            "invalid match spec",
        ),
        (
            "name: e\nversion: '1'\nchannels: [c]\ndependencies: [a]\nplatforms: [linux64]\n",
            "env.yaml:5:13",
            "unknown platform 'linux64'",
        ),
        (
            "name: e\nversion: '1'\nchannels: c\ndependencies: [a]\n",
            "env.yaml:3:11",
            "must be a list",
        ),
        ("name: [e\n", "env.yaml:2:1", "invalid YAML"),
    ],
)
def test_bad_specs(text: str, where: str, msg: str) -> None:
    with pytest.raises(InputError) as info:
        parse_spec(text, "env.yaml")
    assert str(info.value.location) == where and msg in info.value.message


def test_unknown_variant() -> None:
    spec = parse_spec("name: e\nversion: '1'\nchannels: [c]\ndependencies: [a]\n"
                      "variants: {developer: [d]}\n")  # fmt: skip
    with pytest.raises(InputError, match="no variant 'develper'") as info:
        spec.specs("develper")
    assert info.value.hint == "did you mean 'developer'?"


def test_the_feedstock_variants() -> None:
    """nosysroot replaces rubin-env (its '-rubin-env' entry); extras adds to it."""
    spec = read_spec(ROOT / "envs" / "rubin-env-13.0.1.yaml")
    assert spec.specs("nosysroot") == ["rubin-env-nosysroot ==13.0.1"]
    assert spec.specs("extras") == ["rubin-env ==13.0.1", "rubin-env-extras ==13.0.1"]
    assert spec.input_hash("linux-64", "nosysroot") != spec.input_hash("linux-64")


def test_a_variant_can_only_remove_a_dependency() -> None:
    text = "name: e\nversion: '1'\nchannels: [c]\ndependencies: [a]\nvariants: {v: [-b, c]}\n"
    with pytest.raises(InputError) as info:
        parse_spec(text)
    assert "removes 'b', which is not a dependency" in str(info.value)
    assert str(info.value.location) == "env.yaml:5:16"
