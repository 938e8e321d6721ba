"""The pure parts of locking: conflicts explained, channels ordered, locks checked, files named."""

from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.env.solve import (
    check_lock,
    check_platforms,
    conflict_chain,
    default_lock_path,
    effective_channels,
    explicit_path,
    unsatisfiable,
    with_channels,
)
from scipipe_tools.env.spec import parse_spec
from scipipe_tools.errors import InputError, ResolutionError
from scipipe_tools.infra.lockfile import Lock, depends_mapping, normalize_depends, parse_explicit

SPEC = parse_spec(
    "name: rubin-env\nversion: 13.0.1\nchannels: [conda-forge]\n"
    "dependencies: ['rubin-env ==13.0.1']\nvariants: {developer: ['rubin-env-developer']}\n"
    "platforms: [linux-64, osx-arm64]\n",
    "envs/rubin-env-13.0.1.yaml",
)

# rattler 0.28's words, as it printed them for the test channel.
GLIBC = """Cannot solve the request because of: rubin-env ==13.0.1 cannot be installed because there are no viable options:
└─ rubin-env 13.0.1 would require
   └─ rubin-env-nosysroot ==13.0.1 h8653921_6, which cannot be installed because there are no viable options:
      └─ rubin-env-nosysroot 13.0.1 would require
         └─ cmake >=4.1.1, which cannot be installed because there are no viable options:
            └─ cmake 4.1.2 would require
               └─ __glibc >=2.28,<3.0.a0, for which no candidates were found.
"""

# Asking for numpy 1.26.* with rubin-env 13.0.1, which pins numpy 2.3.*.
NUMPY = """Cannot solve the request because of: rubin-env ==13.0.1 cannot be installed because there are no viable options:
└─ rubin-env 13.0.1 would require
   └─ rubin-env-nosysroot ==13.0.1 h8653921_6, which cannot be installed because there are no viable options:
      └─ rubin-env-nosysroot 13.0.1 would require
         └─ numpy 2.3.*, for which no candidates were found.
"""

# rubin-env-developer 13.0.1 with rubin-env 12.1.0.
DEVELOPER = """Cannot solve the request because of: rubin-env-developer ==13.0.1 cannot be installed because there are no viable options:
└─ rubin-env-developer 13.0.1 would require
   └─ rubin-env ==13.0.1, for which no candidates were found.
"""


def test_conflict_chain_follows_the_tree_to_the_missing_package() -> None:
    chain, names = conflict_chain(GLIBC)
    assert chain == [
        "rubin-env ==13.0.1",
        "rubin-env-nosysroot ==13.0.1 h8653921_6",
        "cmake >=4.1.1",
        "__glibc >=2.28,<3.0.a0",
    ]
    assert names == ["rubin-env", "rubin-env-nosysroot", "cmake", "__glibc"]


def test_conflict_chains_of_incompatible_requests() -> None:
    chain, names = conflict_chain(NUMPY)
    assert chain[-1] == "numpy 2.3.*" and "numpy" in names
    chain, names = conflict_chain(DEVELOPER)
    assert chain == ["rubin-env-developer ==13.0.1", "rubin-env ==13.0.1"]
    assert names == ["rubin-env-developer", "rubin-env"]


def test_unsatisfiable_is_one_line_with_the_tree_as_hint() -> None:
    error = unsatisfiable(SPEC, "linux-64", ["rubin-env ==13.0.1"], GLIBC)
    assert isinstance(error, ResolutionError) and error.exit_code == 3
    text = str(error)
    assert "\n" not in text
    assert text.startswith("envs/rubin-env-13.0.1.yaml: linux-64: cannot solve rubin-env ==13.0.1:")
    assert "cmake >=4.1.1 -> __glibc >=2.28,<3.0.a0" in text
    assert "[conflicting: rubin-env, rubin-env-nosysroot, cmake, __glibc]" in text
    assert error.hint is not None and "no candidates were found" in error.hint


def test_unsatisfiable_unknown_package() -> None:
    message = "Cannot solve the request because of: No candidates were found for nosuchpkg *.\n"
    text = str(unsatisfiable(SPEC, "osx-arm64", ["nosuchpkg"], message))
    assert "nosuchpkg * (no such package)" in text and "[conflicting: nosuchpkg]" in text


def test_extra_channels_come_first_and_override_replaces() -> None:
    assert effective_channels(["conda-forge"], ["file:///a", "conda-forge"]) == (
        "file:///a",
        "conda-forge",
    )
    assert effective_channels(["conda-forge"], ["file:///a"], override=True) == ("file:///a",)
    with pytest.raises(InputError, match="no channels"):
        with_channels(SPEC, effective_channels(["conda-forge"], [], override=True))


def test_platforms_default_to_the_spec_and_are_checked() -> None:
    assert check_platforms(SPEC, []) == ("linux-64", "osx-arm64")
    assert check_platforms(SPEC, ["osx-64", "osx-64"]) == ("osx-64",)
    with pytest.raises(InputError, match="unknown platform 'linux64'") as info:
        check_platforms(SPEC, ["linux64"])
    assert info.value.hint == "did you mean 'linux-64'?"
    with pytest.raises(InputError):
        check_platforms(SPEC, ["noarch"])


def test_check_lock_compares_input_hashes_per_platform() -> None:
    lock = Lock((), ("linux-64",), ("conda-forge",),
                {"linux-64": SPEC.input_hash("linux-64")})  # fmt: skip
    assert check_lock(SPEC, lock, ["linux-64"], None) == {}
    assert check_lock(SPEC, lock, ["linux-64"], "developer") == {
        "linux-64": "the spec, its channels or virtual packages changed"
    }
    assert check_lock(SPEC, lock, ["osx-arm64"], None) == {"osx-arm64": "not in the lock"}
    moved = with_channels(SPEC, ["file:///mirror", "conda-forge"])
    assert "linux-64" in check_lock(moved, lock, ["linux-64"], None)


def test_file_names() -> None:
    spec = Path("envs/rubin-env-13.0.1.yaml")
    assert default_lock_path(spec) == Path("envs/rubin-env-13.0.1.conda-lock.yml")
    lock = default_lock_path(spec, "developer")
    assert lock == Path("envs/rubin-env-13.0.1-developer.conda-lock.yml")
    assert explicit_path(lock, "osx-arm64") == Path("envs/rubin-env-13.0.1-developer-osx-arm64.env")


def test_duplicate_dependency_names_keep_every_constraint() -> None:
    depends = ["numpy 2.3.*", "python >=3.13,<3.14", "numpy", "numpy >=2.3.1"]
    assert depends_mapping(depends) == {"numpy": "2.3.*,>=2.3.1", "python": ">=3.13,<3.14"}
    assert normalize_depends(depends) == ("numpy 2.3.*,>=2.3.1", "python >=3.13,<3.14")
    assert normalize_depends(["libblas * *openblas", "libblas 3.9.*"]) == ("libblas * *openblas",)
    assert normalize_depends(["zlib", "zlib"]) == ("zlib",)


EXPLICIT = """# platform: linux-64
@EXPLICIT
https://conda.anaconda.org/conda-forge/linux-64/python-3.13.7-h2b335a9_100_cp313.conda#0123456789abcdef0123456789abcdef
https://conda.anaconda.org/conda-forge/noarch/eups-2.2.15-pyhd8ed1ab_0.conda#sha256:{sha}
"""


def test_explicit_files_parse_to_a_one_platform_lock() -> None:
    lock = parse_explicit(EXPLICIT.format(sha="ab" * 32), "env/w_2025_15.env")
    assert lock.platforms == ("linux-64",)
    assert lock.channels == ("https://conda.anaconda.org/conda-forge",)
    python, eups = sorted(lock.packages, key=lambda p: p.name, reverse=True)
    assert (python.name, python.version, python.build) == ("python", "3.13.7", "h2b335a9_100_cp313")
    assert python.md5 == "0123456789abcdef0123456789abcdef" and python.sha256 is None
    assert (eups.name, eups.sha256, eups.platform) == ("eups", "ab" * 32, "linux-64")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("https://x/linux-64/a-1-0.conda\n", r"env:1: expected '@EXPLICIT'"),
        ("# platform: linux-64\n", r"env: not an explicit environment file"),
        ("@EXPLICIT\nhttps://x/linux-64/a-1-0.conda#xyz\n", r"env:2: bad hash 'xyz'"),
        ("@EXPLICIT\n/tmp/a-1-0.conda\n", r"env:2: not a conda package URL"),
        ("@EXPLICIT\nhttps://x/linux-64/ab.conda\n", r"env:2: cannot read name-version-build"),
        ("@EXPLICIT\nhttps://x/noarch/a-1-0.conda\n", r"env: cannot tell the platform"),
        (
            "@EXPLICIT\nhttps://x/linux-64/a-1-0.conda\nhttps://x/linux-64/a-2-0.conda\n",
            r"env:3: package listed twice: a \(first at line 2\)",
        ),
    ],
)
def test_bad_explicit_files_name_the_line(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_explicit(text, "env")
