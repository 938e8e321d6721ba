"""Real EUPS 2.2.15 as the judge of the stacks scipipe writes (issue 14, part 1)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scipipe_tools.testing.samplestack import Materialized

from ..realtools import RealEups

SCIPIPE = str(Path(sys.executable).parent / "scipipe")
FLAVOR = "Linux64"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, sample_stack: Materialized) -> Path:
    root = tmp_path_factory.mktemp("real-eups-build")
    r = subprocess.run(
        [SCIPIPE, "build", "lsst_demo", "--repos", str(sample_stack.repos_yaml), "--root",
         str(root), "-j", "2", "--no-tests", "--exclusion-map", str(sample_stack.exclusions),
         "--flavor", FLAVOR, "-t", "current"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return root / "stack"


def test_real_eups_lists_what_scipipe_built(real_eups: RealEups, built: Path) -> None:
    listed = real_eups.run("eups list --raw", built).stdout.splitlines()
    ours = subprocess.run([SCIPIPE, "eups", "list", "--stack", str(built), "--flavor", FLAVOR],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    names = {line.split("|")[0] for line in listed}
    assert "lsst_demo" in names and len(names) == 11, listed
    assert names == {line.split()[0] for line in ours.splitlines() if line.strip()}
