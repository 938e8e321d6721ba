"""The bundled sample stack: its contents build, and materialize() makes real history."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from scipipe_tools.demo._files import yaml_scalar
from scipipe_tools.demo.gitrepo import git
from scipipe_tools.demo.samplestack import (
    EARLY_TAG,
    HEAD_TAG,
    OPEN_TICKET,
    OPEN_TICKET_PRODUCTS,
    Materialized,
    materialize,
)
from scipipe_tools.errors import InputError
from scipipe_tools.infra import proc

PRODUCTS = [
    "afw", "afwdata", "base", "daf_base", "geom", "log",
    "lsst_demo", "meas_base", "pex_config", "pipe_base", "utils",
]  # fmt: skip
# Direct dependencies as the tables state them (every if-branch taken).
REQUIRED = {
    "utils": set(),
    "afwdata": set(),
    "base": {"utils"},
    "daf_base": {"base", "utils"},
    "pex_config": {"utils"},
    "log": {"base"},
    "geom": {"base", "utils"},
    "afw": {"daf_base", "pex_config", "geom", "log", "utils", "base"},
    "meas_base": {"afw", "pex_config"},
    "pipe_base": {"eups", "daf_base", "pex_config", "log"},
    "lsst_demo": {"meas_base", "pipe_base"},
}
OPTIONAL = {"geom": {"cuda_toolkit"}, "afw": {"afwdata"}, "lsst_demo": {"afwdata"}}
HOOKED = {"log", "afwdata"}
BRANCH_MERGE = re.compile(r"^Merge branch 'tickets/DM-\d{5}'$")
PR_MERGE = re.compile(r"^Merge pull request #\d+ from lsst-sample/tickets/DM-\d{5}$")
SETUP = re.compile(r"^(setupRequired|setupOptional)\s*\((.*)\)\s*;?\s*$", re.IGNORECASE)


def table_deps(text: str) -> tuple[set[str], set[str]]:
    """(required, optional) product names in a table, taking every if-branch."""
    required: set[str] = set()
    optional: set[str] = set()
    for raw in text.splitlines():
        match = SETUP.match(raw.split("#", 1)[0].strip())
        if match:
            words = [w for w in re.split(r"[, ]", match.group(2)) if w and w[0] != "-"]
            (optional if match.group(1).lower() == "setupoptional" else required).add(words[0])
    return required, optional


def closure(product: str) -> set[str]:
    deps = {product}
    for dep in (REQUIRED[product] | OPTIONAL.get(product, set())) - {"eups", "cuda_toolkit"}:
        deps |= closure(dep)
    return deps


# --- the example's contents ----------------------------------------------------------


def test_tables_state_the_documented_graph(examples_dir: Path) -> None:
    products = examples_dir / "sample-stack" / "products"
    assert sorted(p.name for p in products.iterdir()) == PRODUCTS
    for product in PRODUCTS:
        text = (products / product / "ups" / f"{product}.table").read_text()
        assert table_deps(text) == (REQUIRED[product], OPTIONAL.get(product, set())), product


def test_repos_yaml_and_exclusions(examples_dir: Path) -> None:
    stack = examples_dir / "sample-stack"
    entries = yaml.safe_load((stack / "repos.yaml").read_text())
    assert sorted(entries) == PRODUCTS
    assert entries["afwdata"]["lfs"] is True
    assert all(isinstance(v, str) and v.startswith("https://") for k, v in entries.items()
               if k not in ("afwdata", "pex_config"))  # fmt: skip
    rules = [
        line.split()
        for line in (stack / "exclusions.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules == [["cuda_toolkit", ".*"], ["cuda_sdk", ".*"], ["condor", ".*"]]
    env = yaml.safe_load((stack / "environment.yaml").read_text())
    assert env["channels"] == ["conda-forge"] and "python 3.11.*" in env["dependencies"]


def test_every_product_builds_and_passes_its_tests(examples_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(examples_dir / "sample-stack" / "products", src)
    install = tmp_path / "install"
    for product in sorted(HOOKED):
        proc.run(
            ["sh", "-ec", ". ups/eupspkg.cfg.sh; build; install"],
            cwd=src / product,
            extra_env={"PREFIX": str(install / product), "PRODUCT": product,
                       "VERSION": "g0123456789"},
        )  # fmt: skip
    assert (
        'version__ = "g0123456789"'
        in (install / "log" / "python" / "lsst_log" / "version.py").read_text()
    )
    assert "small-image.txt" in (install / "afwdata" / "data" / "MANIFEST").read_text()

    def pythonpath(product: str) -> str:
        dirs = [(install if p in HOOKED else src) / p / "python" for p in sorted(closure(product))]
        return os.pathsep.join(str(d) for d in dirs if d.is_dir())

    env = {
        "PYTHONPATH": "",
        "PYTHONDONTWRITEBYTECODE": "1",
        "AFWDATA_DIR": str(install / "afwdata"),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
    }
    for product in sorted(p for p in PRODUCTS if (src / p / "tests").is_dir()):
        result = proc.run(
            [sys.executable, "-m", "unittest", "discover", "-s", "tests"],
            cwd=src / product,
            extra_env={**env, "PYTHONPATH": pythonpath(product)},
        )
        assert "skipped" not in result.stderr, (product, result.stderr)
    result = proc.run(
        [src / "pipe_base" / "bin" / "pipe_base_run", "a", "b", "c"],
        extra_env={**env, "PYTHONPATH": pythonpath("pipe_base")},
    )
    assert result.stdout == "count: 3\n"


# --- materialize() ---------------------------------------------------------------------


def test_every_product_gets_a_bare_remote_with_main(sample_stack: Materialized) -> None:
    assert sample_stack.products == PRODUCTS
    assert sorted(sample_stack.remotes) == PRODUCTS
    for product, remote in sample_stack.remotes.items():
        assert remote == sample_stack.dest / "remotes" / f"{product}.git"
        assert git(["rev-parse", "--is-bare-repository"], cwd=remote) == "true"
        assert git(["symbolic-ref", "HEAD"], cwd=remote) == "refs/heads/main"
        ls_tree = git(["ls-tree", "-r", "--name-only", "main"], cwd=remote).splitlines()
        assert f"ups/{product}.table" in ls_tree


def test_materialized_repos_yaml_points_at_the_remotes(sample_stack: Materialized) -> None:
    text = sample_stack.repos_yaml.read_text()
    assert text.startswith("# Generated by")
    entries = yaml.safe_load(text)
    assert list(entries) == list(yaml.safe_load((sample_stack.source / "repos.yaml").read_text()))
    assert entries["afwdata"] == {
        "url": sample_stack.remotes["afwdata"].as_uri(),
        "lfs": True,
    }
    assert entries["pex_config"] == {"url": sample_stack.remotes["pex_config"].as_uri(),
                                     "ref": "main"}  # fmt: skip
    assert entries["afw"] == sample_stack.remotes["afw"].as_uri()
    assert sample_stack.exclusions is not None
    assert sample_stack.exclusions.read_text().startswith("# Exclusion map")


def test_ticket_branches_are_merged_with_no_ff(sample_stack: Materialized) -> None:
    for product, remote in sample_stack.remotes.items():
        tickets = sample_stack.tickets[product]
        assert len(tickets) in (2, 3)
        merges = git(["rev-list", "--merges", "--first-parent", "--reverse", "main"], cwd=remote)
        subjects = []
        for sha, branch in zip(merges.splitlines(), tickets, strict=True):
            parents = git(["rev-list", "--parents", "-n", "1", sha], cwd=remote).split()[1:]
            assert len(parents) == 2
            assert parents[1] == git(["rev-parse", f"refs/heads/{branch}"], cwd=remote)
            subject = git(["log", "-1", "--format=%s", sha], cwd=remote)
            assert subject.endswith(f"{branch}'") or subject.endswith(branch)
            subjects.append(subject)
        assert BRANCH_MERGE.match(subjects[0]) and PR_MERGE.match(subjects[1]), subjects
        pr_committer = git(["log", "-1", "--format=%cn", merges.split()[1]], cwd=remote)
        assert pr_committer == "GitHub"


def test_main_has_a_direct_commit_and_a_fragment_from_a_branch(
    sample_stack: Materialized,
) -> None:
    for remote in sample_stack.remotes.values():
        first_parent = git(["log", "--first-parent", "--no-merges", "--format=%s", "main"],
                           cwd=remote).splitlines()  # fmt: skip
        assert first_parent[0] == "Update copyright year"
        assert first_parent[-1].startswith("Initial import of ")
        files = git(["ls-tree", "-r", "--name-only", "main", "doc/changes"], cwd=remote)
        (fragment,) = files.splitlines()
        assert re.fullmatch(r"doc/changes/DM-\d{5}\.feature\.md", fragment)
        added = git(["log", "--diff-filter=A", "--format=%H %P", "main", "--", fragment],
                    cwd=remote).split()  # fmt: skip
        assert len(added) == 2  # one commit, one parent: made on the branch, not a merge
        ticket = "tickets/" + Path(fragment).name.split(".")[0]
        git(["merge-base", "--is-ancestor", added[0], f"refs/heads/{ticket}"], cwd=remote)


def test_weekly_tags_are_annotated(sample_stack: Materialized) -> None:
    for remote in sample_stack.remotes.values():
        for tag in (EARLY_TAG, HEAD_TAG):
            assert git(["cat-file", "-t", f"refs/tags/{tag}"], cwd=remote) == "tag"
        head = git(["rev-parse", "main"], cwd=remote)
        assert git(["rev-parse", f"{HEAD_TAG}^{{commit}}"], cwd=remote) == head
        early = git(["rev-parse", f"{EARLY_TAG}^{{commit}}"], cwd=remote)
        assert early != head
        git(["merge-base", "--is-ancestor", early, head], cwd=remote)


def test_open_ticket_branch_is_not_merged(sample_stack: Materialized) -> None:
    for product, remote in sample_stack.remotes.items():
        refs = git(["for-each-ref", "--format=%(refname)", "refs/heads/tickets"], cwd=remote)
        has_open = f"refs/heads/{OPEN_TICKET}" in refs.splitlines()
        assert has_open == (product in OPEN_TICKET_PRODUCTS)
        if has_open:
            result = proc.run(
                ["git", "-C", remote, "merge-base", "--is-ancestor", OPEN_TICKET, "main"],
                check=False,
            )
            assert result.returncode == 1


def refs(materialized: Materialized) -> dict[str, str]:
    return {
        product: git(["for-each-ref", "--format=%(objectname) %(refname)"], cwd=remote)
        for product, remote in materialized.remotes.items()
    }


def test_materializing_again_gives_the_same_shas(
    sample_stack: Materialized, tmp_path: Path
) -> None:
    again = materialize(sample_stack.source, tmp_path / "again")
    assert refs(again) == refs(sample_stack)
    assert again.tickets == sample_stack.tickets


def test_without_history_each_main_is_one_commit(examples_dir: Path, tmp_path: Path) -> None:
    flat = materialize(examples_dir / "sample-stack", tmp_path, history=False)
    for remote in flat.remotes.values():
        assert git(["rev-list", "--count", "main"], cwd=remote) == "1"
        assert git(["cat-file", "-t", EARLY_TAG], cwd=remote) == "tag"
    assert all(merged == [] for merged in flat.tickets.values())


def test_refuses_to_overwrite_a_remote(examples_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "remotes" / "afw.git").mkdir(parents=True)
    with pytest.raises(InputError, match="already exists"):
        materialize(examples_dir / "sample-stack", tmp_path)


def test_repos_yaml_must_match_the_products(examples_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "stack"
    shutil.copytree(examples_dir / "sample-stack", source)
    with (source / "repos.yaml").open("a") as f:
        f.write("ghost: https://github.com/lsst-sample/ghost.git\n")
    with pytest.raises(InputError, match="ghost: listed but not in"):
        materialize(source, tmp_path / "out")


def test_the_sample_repos_yaml_is_read_as_any_repos_yaml(
    examples_dir: Path, tmp_path: Path
) -> None:
    source = tmp_path / "stack"
    shutil.copytree(examples_dir / "sample-stack", source)
    text = (source / "repos.yaml").read_text()
    (source / "repos.yaml").write_text(
        text.replace("log: https://", "log: [https://").replace("log.git", "log.git]")
    )
    lines = (source / "repos.yaml").read_text().splitlines()
    at = next(i for i, line in enumerate(lines, 1) if line.startswith("log:"))
    with pytest.raises(InputError, match="log: value must be a URL string") as info:
        materialize(source, tmp_path / "out")
    assert str(info.value.location) == f"{source / 'repos.yaml'}:{at}:6"


@pytest.mark.parametrize(
    ("value", "written"), [("main", "main"), ("[x", '"[x"'), ("a: b", '"a: b"')]
)
def test_yaml_scalar_quotes_what_would_not_read_back(value: str, written: str) -> None:
    assert yaml_scalar(value) == written
