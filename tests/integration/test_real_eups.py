"""Real EUPS 2.2.15 as the judge of the stacks scipipe writes and reads (issue 14, part 1).

Three kinds of stack, each read by both clients, the real one and ours:

- written by ``scipipe build`` (the sample stack, built once for the module);
- written by ``scipipe distrib install`` from what ``scipipe distrib publish`` made of
  that build, served over HTTP on 127.0.0.1;
- written by the real ``eups declare``, ``eups undeclare`` and ``eups tags --clone``;
  then a ``scipipe build`` into such a stack, which real EUPS must still read.

``eups list`` and ``eups tags`` are compared as text.  ``setup`` is compared by the
whole environment of a shell: the real ``setup ARGS`` in one shell, ``eval "$(scipipe
setup ARGS)"`` in another, both started the same way (EUPS's ``setups.sh`` sourced,
``EUPS_PATH`` the stack under test), then every variable of ``env -0`` is compared; that
covers every variable EUPS manages (``SETUP_*``, ``*_DIR``, ``PATH``, ``PYTHONPATH``,
``LD_LIBRARY_PATH``, the tables' ``envSet``) and checks that nothing else changed.
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scipipe_tools.demo.gitrepo import git
from scipipe_tools.demo.samplestack import Materialized
from scipipe_tools.stack.stack import Stack
from tests.support.httpserver import StaticServer

from ..realtools import RealEups

SCIPIPE = str(Path(sys.executable).parent / "scipipe")
FLAVOR = "Linux64"
DIST_TAG = "w_2025_02"


def scipipe(*args: str) -> str:
    r = subprocess.run([SCIPIPE, *args], capture_output=True, text=True, check=False)
    assert r.returncode == 0, f"scipipe {shlex.join(args)} failed:\n{r.stderr}"
    return r.stdout


def build_sample(sample: Materialized, root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SCIPIPE, "build", "lsst_demo", "--repos", str(sample.repos_yaml), "--root", str(root),
         "-j", "2", "--no-tests", "--exclusion-map", str(sample.exclusions), "--flavor", FLAVOR,
         *extra],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def list_rows(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """``eups list`` lines, each version's tags sorted: EUPS prints them in the order
    ``os.listdir`` returns the ``.chain`` files of ``ups_db/<product>/`` (or the order its
    cache learnt them), which depends on the file system; everything else is compared as is.
    """
    rows = []
    for line in text.splitlines():
        head, _, tags = line.partition("\t")
        rows.append((head, tuple(sorted(tags.split()))))
    return rows


def assert_same_list(
    real_eups: RealEups, stack: Path, args: str = "", before: str = "", *, empty: bool = False
) -> str:
    """Real ``eups list ARGS`` and ``scipipe eups list ARGS`` in the same shell; both
    succeed and list something (nothing, with ``empty``)."""
    ours = f"{SCIPIPE} eups list {args} --stack {shlex.quote(str(stack))} --flavor {FLAVOR}"
    script = f"{before}eups list {args} && echo @@@ && {ours}"
    real_out, _, our_out = real_eups.run(script, stack).stdout.partition("@@@\n")
    assert list_rows(our_out) == list_rows(real_out), f"real:\n{real_out}\nours:\n{our_out}"
    assert bool(real_out.strip()) is not empty
    return real_out


def assert_same_tags(real_eups: RealEups, stack: Path) -> list[str]:
    real = real_eups.run("eups tags", stack).stdout
    ours = real_eups.run(
        f"{SCIPIPE} eups tags --stack {shlex.quote(str(stack))} --flavor {FLAVOR}", stack
    ).stdout
    assert ours == real
    return real.split()


def our_setup(stack: Path, args: str) -> str:
    """Shell code that fails when ``scipipe setup`` fails (a bare ``eval "$(...)"`` would
    not), then evaluates what it printed."""
    cmd = f"{SCIPIPE} setup {args} --stack {shlex.quote(str(stack))} --flavor {FLAVOR}"
    return f'code="$({cmd})" && eval "$code"'


def assert_same_setup(real_eups: RealEups, stack: Path, *steps: str) -> dict[str, str]:
    """The environment after the real ``setup STEP`` for each step, in one shell, is the
    environment after ``eval "$(scipipe setup STEP)"`` for each step, in another.

    Normalised: ``_`` only, which bash sets to the last argument of the previous command
    (``setup ...`` in one shell, ``eval ...`` in the other).
    """
    real = real_eups.environ_after(" && ".join(f"setup {s}" for s in steps), stack)
    ours = real_eups.environ_after(" && ".join(our_setup(stack, s) for s in steps), stack)
    for env in (real, ours):
        env.pop("_", None)
    differ = {k: (real.get(k), ours.get(k)) for k in sorted(real.keys() | ours.keys())
              if real.get(k) != ours.get(k)}  # fmt: skip
    assert not differ, "variable: (real setup, scipipe setup)\n" + "\n".join(
        f"{k}: {v}" for k, v in differ.items()
    )
    return real


def product_of(args: str) -> str:
    """The product of ``setup ARGS``: ``-t b1 afw g123`` -> ``afw``."""
    words = args.split()
    while words[0] == "-t":
        words = words[2:]
    return words[0]


def setup_vars(env: dict[str, str]) -> dict[str, str]:
    return {k[len("SETUP_") :]: v.split()[1] for k, v in env.items() if k.startswith("SETUP_")}


# --- a stack scipipe build wrote ------------------------------------------------------


@pytest.fixture(scope="module")
def build_root(tmp_path_factory: pytest.TempPathFactory, sample_stack: Materialized) -> Path:
    root = tmp_path_factory.mktemp("real-eups-build")
    r = build_sample(sample_stack, root, "-t", "current")
    assert r.returncode == 0, r.stderr
    return root


@pytest.fixture(scope="module")
def built(build_root: Path) -> Path:
    return build_root / "stack"


def test_real_eups_lists_what_scipipe_built(real_eups: RealEups, built: Path) -> None:
    listed = real_eups.run("eups list --raw", built).stdout.splitlines()
    names = {line.split("|")[0] for line in listed}
    assert "lsst_demo" in names and len(names) == 11, listed
    text = assert_same_list(real_eups, built)
    assert all(tags == ("b1", "current") for _, tags in list_rows(text))
    assert_same_list(real_eups, built, "afw")
    assert_same_list(real_eups, built, "-t b1")
    assert_same_list(real_eups, built, "-t latest")  # EUPS's pseudo tag: the newest version
    assert_same_list(real_eups, built, "afw -t latest")
    assert_same_list(real_eups, built, "-t stable", empty=True)  # known to EUPS, on nothing


def test_real_eups_tags_what_scipipe_built(real_eups: RealEups, built: Path) -> None:
    login = pwd.getpwuid(os.geteuid()).pw_name
    assert assert_same_tags(real_eups, built) == ["b1", "current", "latest", "stable",
                                                  f"user:{login}"]  # fmt: skip


@pytest.mark.parametrize(
    "args", ["-t b1 lsst_demo", "lsst_demo", "-t current meas_base", "pipe_base", "afw {afw}"]
)
def test_real_setup_of_what_scipipe_built(real_eups: RealEups, built: Path, args: str) -> None:
    args = args.format(afw=Stack(built, FLAVOR).versions("afw")[0])  # an explicit version
    env = assert_same_setup(real_eups, built, args)
    assert f"SETUP_{product_of(args).upper()}" in env
    if "lsst_demo" in args:
        assert len(setup_vars(env)) == 12  # the 11 products and EUPS itself
        assert env["PEX_CONFIG_DEFAULTS"].startswith(str(built))


def test_list_marks_what_real_setup_set_up(real_eups: RealEups, built: Path) -> None:
    text = assert_same_list(real_eups, built, before="setup -t b1 pipe_base && ")
    marked = {head.split()[0] for head, tags in list_rows(text) if "setup" in tags}
    assert marked == {"pipe_base", "daf_base", "pex_config", "log", "base", "utils"}


# --- a stack scipipe distrib install wrote --------------------------------------------


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, build_root: Path) -> Iterator[Path]:
    base = tmp_path_factory.mktemp("real-eups-install")
    srv, stack = base / "srv", base / "stack"
    scipipe("distrib", "publish", "-b", "b1", "-t", DIST_TAG, "--conda-env", "13.0.1",
            "--server-dir", str(srv), "--stack", str(build_root / "stack"), "--flavor", FLAVOR,
            "lsst_demo")  # fmt: skip
    with StaticServer(srv) as server:
        scipipe("distrib", "install", "-t", DIST_TAG, "--root", server.url, "--stack",
                str(stack), "--flavor", FLAVOR, "lsst_demo")  # fmt: skip
        yield stack


def test_real_eups_reads_what_scipipe_installed(real_eups: RealEups, installed: Path) -> None:
    text = assert_same_list(real_eups, installed)
    assert len(list_rows(text)) == 11
    assert {tags for _, tags in list_rows(text)} == {(DIST_TAG,)}
    assert_same_list(real_eups, installed, f"-t {DIST_TAG}")
    assert DIST_TAG in assert_same_tags(real_eups, installed)


@pytest.mark.parametrize("args", [f"-t {DIST_TAG} lsst_demo", f"-t {DIST_TAG} pipe_base"])
def test_real_setup_of_what_scipipe_installed(
    real_eups: RealEups, installed: Path, args: str
) -> None:
    env = assert_same_setup(real_eups, installed, args)
    assert env["SETUP_PIPE_BASE"].endswith(f"-Z {installed}")


# --- a stack real EUPS wrote ----------------------------------------------------------

PLAIN = "envPrepend(PATH, ${PRODUCT_DIR}/bin)\nenvPrepend(PYTHONPATH, ${PRODUCT_DIR}/python)\n"
#: (product, version) -> table (None: declared with -m none)
TABLES: dict[tuple[str, str], str | None] = {
    ("a", "1.0"): PLAIN,
    ("a", "2.0"): PLAIN,
    ("b", "1.0"): "setupRequired(a)\nenvPrepend(LD_LIBRARY_PATH, ${PRODUCT_DIR}/lib)\n"
    "envPrepend(PYTHONPATH, ${PRODUCT_DIR}/python)\n",
    ("b", "2.0"): "setupRequired(a 2.0)\nenvPrepend(LD_LIBRARY_PATH, ${PRODUCT_DIR}/lib)\n"
    "envSet(B_HOME, ${PRODUCT_DIR})\n",
    ("c", "1.0"): "setupRequired(b)\nsetupOptional(not_declared)\n"
    "envAppend(PATH, ${PRODUCT_DIR}/bin)\n",
    ("c", "2.0"): "setupRequired(b)\nsetupOptional(not_declared)\n"
    "envAppend(PATH, ${PRODUCT_DIR}/bin)\n",
    ("e", "1.0"): None,
    ("e", "2.0"): None,
    # an expression takes the highest version it accepts, before current (e 1.0)
    ("f", "1.0"): "setupRequired(a >= 1.0)\nsetupRequired(e > 0.5)\nenvSet(F_UPS, ${UPS_DIR})\n",
    # as `eups expandtable` installs a table: the exact versions built against
    ("g", "1.0"): "if (type == exact) {\n   setupRequired(a -j 1.0)\n   setupRequired(b -j 1.0)\n"
    "} else {\n   setupRequired(b 1.0 [>= 1.0])\n}\nenvPrepend(PYTHONPATH, ${PRODUCT_DIR}/python)\n",
    ("h", "1.0"): PLAIN,
}
#: d's table, declared with -M: EUPS copies it into ups_db/<flavor>/d/1.0/ups
EXTERNAL_TABLE = (
    "setupRequired(c)\nenvSet(D_EXTRA, ${PRODUCT_DIR_EXTRA})\nenvSet(D_UPS, ${UPS_DIR})\n"
)
#: EUPS registers a new global tag only through its Python API (``lsst-build`` does so for
#: its ``bN`` tags): ``eups declare -t`` refuses unknown tags
REGISTER_BETA = (
    "import eups; e = eups.Eups(); e.tags.registerTag('beta'); e.tags.saveGlobalTags(e.path[0])"
)


#: declared for flavor ``generic``, which EUPS falls back to for every flavor
GENERIC_TABLE = "setupRequired(a)\nenvSet(GEN_FLAVOR, ${PRODUCT_FLAVOR})\n" + PLAIN


def make_products(stack: Path, elsewhere: Path) -> None:
    (stack / "generic" / "gen" / "1.0" / "ups").mkdir(parents=True)
    (stack / "generic" / "gen" / "1.0" / "ups" / "gen.table").write_text(GENERIC_TABLE)
    for (product, version), table in TABLES.items():
        d = stack / FLAVOR / product / version
        for sub in ("ups", "bin", "lib", "python"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        if table is not None:
            (d / "ups" / f"{product}.table").write_text(table)
    (stack / FLAVOR / "d" / "1.0").mkdir(parents=True)
    (elsewhere / "x" / "ups").mkdir(parents=True)
    (elsewhere / "x" / "ups" / "x.table").write_text("setupRequired(e)\n" + PLAIN)
    (elsewhere / "d.table").write_text(EXTERNAL_TABLE)


@pytest.fixture(scope="module")
def declared(tmp_path_factory: pytest.TempPathFactory, real_eups: RealEups) -> Path:
    base = tmp_path_factory.mktemp("real-eups-declared")
    stack = base / "stack"
    (stack / "ups_db").mkdir(parents=True)
    make_products(stack, base)
    python = shlex.quote(os.path.realpath(sys.executable))
    script = f"""
        set -e
        cd {shlex.quote(str(stack))}
        eups declare a 1.0 -r {FLAVOR}/a/1.0          # the first version: EUPS makes it current
        eups declare a 2.0 -r {stack}/{FLAVOR}/a/2.0 -c
        eups declare b 1.0 -r {FLAVOR}/b/1.0
        eups declare b 2.0 -r {FLAVOR}/b/2.0 -t stable
        eups declare c 1.0 -r {FLAVOR}/c/1.0 -c
        eups declare c 2.0 -r {FLAVOR}/c/2.0
        eups declare -t stable c 2.0
        eups declare -t stable a 1.0
        eups declare d 1.0 -r {FLAVOR}/d/1.0 -M {base}/d.table
        eups declare e 1.0 -r {FLAVOR}/e/1.0 -m none
        eups declare e 2.0 -r {FLAVOR}/e/2.0 -m none
        eups declare f 1.0 -r {FLAVOR}/f/1.0
        eups declare g 1.0 -r {FLAVOR}/g/1.0
        eups declare h 1.0 -r {FLAVOR}/h/1.0
        eups declare x 1.0 -r {base}/x                 # outside the stack: an absolute path
        eups declare -t user:$(id -un) b 1.0
        {python} -c "{REGISTER_BETA}"
        eups tags --clone stable beta
        eups tags --clone stable current b
        # after the clones, which would declare it for Linux64 too (EUPS redeclares a
        # product for its own flavor when it tags it)
        eups declare -f generic gen 1.0 -r generic/gen/1.0 -t stable
        eups declare -f generic gen 1.0 -r generic/gen/1.0 -c
        eups undeclare h 1.0
        eups undeclare c 1.0                           # current: the tag goes with it
        eups declare -t current c 2.0
        eups undeclare -t stable a 1.0
    """
    real_eups.run(script, stack)
    return stack


def test_scipipe_lists_what_real_eups_declared(real_eups: RealEups, declared: Path) -> None:
    text = assert_same_list(real_eups, declared)
    assert [head.split() for head, _ in list_rows(text)] == [
        ["a", "1.0"], ["a", "2.0"], ["b", "1.0"], ["b", "2.0"], ["c", "2.0"], ["d", "1.0"],
        ["e", "1.0"], ["e", "2.0"], ["f", "1.0"], ["g", "1.0"], ["gen", "1.0"], ["x", "1.0"],
    ]  # fmt: skip
    for args in ("a", "b", "gen", "-t stable", "-t beta", "-t current", "-t latest", "e -t latest"):
        assert_same_list(real_eups, declared, args)
    login = pwd.getpwuid(os.geteuid()).pw_name
    assert_same_list(real_eups, declared, f"-t user:{login}")  # a user tag


def test_scipipe_tags_what_real_eups_declared(real_eups: RealEups, declared: Path) -> None:
    assert "beta" in assert_same_tags(real_eups, declared)


def test_scipipe_tags_a_stack_without_global_tags(real_eups: RealEups, tmp_path: Path) -> None:
    stack = tmp_path / "stack"
    (stack / "ups_db").mkdir(parents=True)
    (stack / FLAVOR / "a" / "1.0").mkdir(parents=True)
    real_eups.run(f"eups declare a 1.0 -r {stack}/{FLAVOR}/a/1.0 -m none -t stable", stack)
    assert not (stack / "ups_db" / "global.tags").exists()
    assert "stable" in assert_same_tags(real_eups, stack)


@pytest.mark.parametrize(
    "args",
    [
        "c", "-t stable c", "-t beta c", "-t current c", "b 1.0", "-t stable b 1.0",
        "-t stable b", "a 1.0", "d", "e", "f", "g", "-t stable g", "x", "gen", "-t stable gen",
    ],
)  # fmt: skip
def test_scipipe_setup_of_what_real_eups_declared(
    real_eups: RealEups, declared: Path, args: str
) -> None:
    env = assert_same_setup(real_eups, declared, args)
    assert f"SETUP_{product_of(args).upper()}" in env


@pytest.mark.parametrize(
    "steps",
    [("b 1.0", "b 2.0"), ("c", "-t stable b 1.0"), ("-t stable c", "a 1.0"), ("d", "f"),
     ("gen", "a 1.0")],
)  # fmt: skip
def test_scipipe_setup_over_a_real_setup(
    real_eups: RealEups, declared: Path, steps: tuple[str, ...]
) -> None:
    """A second setup changes what the first one did as real EUPS changes it."""
    assert_same_setup(real_eups, declared, *steps)


def test_real_eups_reads_scipipe_tags_clone_in_its_stack(
    real_eups: RealEups, declared: Path, tmp_path: Path
) -> None:
    stack = tmp_path / "stack"
    shutil.copytree(declared, stack, symlinks=True)
    scipipe("eups", "tags", "--clone", "stable", "mine", "--stack", str(stack), "--flavor", FLAVOR)
    text = assert_same_list(real_eups, stack, "-t mine")
    assert [head.split()[0] for head, _ in list_rows(text)] == ["b", "c", "gen"]
    assert "mine" in assert_same_tags(real_eups, stack)
    assert_same_setup(real_eups, stack, "-t mine c")


def test_scipipe_build_into_a_real_eups_stack(
    real_eups: RealEups, sample_stack: Materialized, tmp_path: Path
) -> None:
    """scipipe build sees what real EUPS declared (a product at the very version it would
    build) and keeps it; real EUPS reads the stack afterwards."""
    stack = tmp_path / "root" / "stack"
    (stack / "ups_db").mkdir(parents=True)
    make_products(stack, tmp_path)
    sha = git(["rev-parse", "main"], cwd=sample_stack.remotes["utils"]).strip()
    utils_version = f"g{sha[:10]}"  # utils has no dependencies: no +suffix
    utils_dir = stack / FLAVOR / "utils" / utils_version
    shutil.copytree(sample_stack.source / "products" / "utils", utils_dir)
    python = shlex.quote(os.path.realpath(sys.executable))
    real_eups.run(
        f"""set -e
        eups declare a 1.0 -r {stack}/{FLAVOR}/a/1.0 -t stable
        eups declare a 2.0 -r {stack}/{FLAVOR}/a/2.0 -c
        eups declare b 1.0 -r {stack}/{FLAVOR}/b/1.0
        {python} -c "{REGISTER_BETA}"
        eups declare utils {utils_version} -r {utils_dir} -t beta
        eups list > /dev/null   # leaves EUPS's cache of the stack behind
        """,
        stack,
    )
    before = real_eups.run("eups list", stack).stdout
    r = build_sample(sample_stack, tmp_path / "root", "--json")
    assert r.returncode == 0, r.stderr
    status = {p["name"]: p["status"] for p in json.loads(r.stdout)["products"]}
    assert status.pop("utils") == "already-installed"
    assert set(status.values()) == {"built"} and len(status) == 10
    ours = Stack(stack, FLAVOR)
    assert ours.tag_version("utils", "b1") == utils_version
    assert ours.tag_version("utils", "beta") == utils_version
    assert ours.tag_version("a", "stable") == "1.0" and ours.tag_version("a", "current") == "2.0"
    assert (utils_dir / "ups" / "utils.table").is_file()
    # what EUPS declared is still there, as it was
    text = assert_same_list(real_eups, stack)
    kept = [row for row in list_rows(text) if row[0].split()[0] in ("a", "b")]
    assert kept == [row for row in list_rows(before) if row[0].split()[0] in ("a", "b")]
    assert {"b1", "beta"} <= set(assert_same_tags(real_eups, stack))
    env = assert_same_setup(real_eups, stack, "-t b1 lsst_demo")
    assert env["SETUP_UTILS"].split()[1] == utils_version
    assert_same_setup(real_eups, stack, "b 1.0")
