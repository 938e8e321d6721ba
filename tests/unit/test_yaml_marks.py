"""Every YAML input names a bad value by ``file:line:column`` (issue 16: one reader with
marks; the typed reads of each file used to keep the line and drop the column)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from scipipe_tools import yamlfile
from scipipe_tools.changelog.overrides import parse_overrides
from scipipe_tools.ci.buildmatrix import parse_build_matrix
from scipipe_tools.env.spec import parse_spec
from scipipe_tools.errors import InputError
from scipipe_tools.eups.repos import parse_repos
from scipipe_tools.flows.config import parse_flow_config
from scipipe_tools.infra.lockfile import parse_lock
from scipipe_tools.release.policy import parse_policy

MATRIX = """\
rubin_env: 13.0.1
platforms:
  - {name: linux-64, runner: ubuntu-24.04, label: docker, eups_flavor: Linux46}
canonical:
  products: [lsst_distrib]
"""
ENV = """\
name: e
version: '1'
channels: [conda-forge]
dependencies: [python]
platforms: [linux-64, linux-46]
"""
RELEASE = """\
products: [lsst_distrib]
repos: repos.yaml
root: work
distrib: {root: /srv/eups}
forge:
  teams_file: teams.yaml
  jobs: many
"""


def _compose(text: str, path: str) -> object:
    return yamlfile.compose(text, path)


def _load(text: str, path: str) -> object:
    return yamlfile.load(text, path)


CASES: list[tuple[str, Callable[[str, str], object], str, str, str]] = [
    # (kind, reader, text, where, what)
    (
        "repos.yaml",
        parse_repos,
        "afw:\n  url: https://x/a.git\n  ref: 12\n",
        "3:8",
        "'ref' must be a non-empty string",
    ),
    ("repos.yaml", parse_repos, "afw: https://x/a.git\nbase:  not a url\n", "2:8", "invalid URL"),
    ("env.yaml", parse_spec, ENV, "5:23", "unknown platform 'linux-46'"),
    (
        "env.yaml",
        parse_spec,
        ENV.replace("[python]", "[python, 'x ==']").replace(", linux-46", ""),
        "4:24",
        "invalid match spec",
    ),
    ("build-matrix.yaml", parse_build_matrix, MATRIX, "3:72", "unknown flavor 'Linux46'"),
    ("release.yaml", parse_flow_config, RELEASE, "7:9", "forge.jobs must be an integer"),
    (
        "overrides.yaml",
        parse_overrides,
        "first_tag: w.2025.01\ndiscard_tag: [a, [b]]\n",
        "2:18",
        "discard_tag entries must be a string",
    ),
    (
        "teams.yaml",
        parse_policy,
        "org: lsst\nteams:\n  DM: [afw, 12]\n",
        "3:13",
        "non-empty string",
    ),
    (
        "conda-lock.yml",
        parse_lock,
        "version: 2\nmetadata: {}\npackage: []\n",
        "1:10",
        "not a conda-lock.yml version 1",
    ),
    ("f.yaml", _compose, "a: 1\nb:\n  c: 2\n  c: 3\n", "4:3", "duplicate key 'c'"),
    ("f.yaml", _compose, 'a: ok\nb: "x\\0y"\n', "2:4", "invalid character U+0000"),
    ("f.yaml", _load, "a: 1\nb: !!int twelve\n", "2:4", "cannot read 'twelve'"),
]


@pytest.mark.parametrize(
    ("kind", "reader", "text", "where", "what"), CASES, ids=[f"{c[0]}-{c[3]}" for c in CASES]
)
def test_a_bad_value_is_named_by_line_and_column(
    tmp_path: Path,
    kind: str,
    reader: Callable[[str, str], object],
    text: str,
    where: str,
    what: str,
) -> None:
    path = str(tmp_path / kind)
    with pytest.raises(InputError) as info:
        reader(text, path)
    assert str(info.value).startswith(f"{path}:{where}: "), str(info.value)
    assert what in info.value.message
