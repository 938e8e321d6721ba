"""The no-op shortcut of ``scipipe build --no-fetch``: same output, taken only when
nothing the build depends on changed (real git checkouts, a generated stack, the
command run as a process through the ``scipipe`` entry point)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from scipipe_tools.demo.gitrepo import file_url
from tests.support import stackgen

HOLDS = "debug: no-op stamp holds"


@dataclass
class World:
    base: Path
    script: Path
    root: Path
    repos: Path
    products: tuple[str, ...]

    def run(self, *extra: str, fetch: bool = False, product: str = "top") -> Done:
        args = [str(self.script), "-q", "build", product, "--repos", str(self.repos),
                "--root", str(self.root), "--no-tests", "-j", "2", "--build-id", "b1"]  # fmt: skip
        args += [*extra] + ([] if fetch else ["--no-fetch"])
        env = {**os.environ, "SCIPIPE_DEBUG_NOOP": "1"}
        r = subprocess.run(args, capture_output=True, text=True, env=env, cwd=self.base,
                           check=False, timeout=300)  # fmt: skip
        return Done(r.returncode, r.stdout, r.stderr)

    def stamp(self) -> Path:
        return self.root / "build" / ".noop-stamp.json"


@dataclass
class Done:
    code: int
    out: str
    err: str

    @property
    def shortcut(self) -> bool:
        return HOLDS in self.err


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


@pytest.fixture
def world(tmp_path: Path) -> World:
    stack = stackgen.generate(5, avg_deps=2, seed=7)
    repos = stackgen.make_git_repos(
        stack, tmp_path / "unused", commits=2, bare_remotes=tmp_path / "remotes", clone=False
    )
    yaml_path = stackgen.write_repos_yaml(
        stack, tmp_path / "repos.yaml", lambda p: file_url(repos.remotes[p])
    )
    script = tmp_path / "scipipe"  # what installing this tree makes of [project.scripts]
    script.write_text(
        f"#!{sys.executable}\nimport sys\n"
        "from scipipe_tools.cli.entry import main\nsys.exit(main())\n"
    )
    script.chmod(0o755)
    w = World(tmp_path, script, tmp_path / "work", yaml_path, stack.products)
    first = w.run(fetch=True)
    assert first.code == 0, first.err
    assert not w.stamp().exists()  # it built things: no stamp
    return w


def test_shortcut_gives_the_same_output(world: World) -> None:
    normal = world.run()  # the first no-op: the ordinary path, which writes the stamp
    assert normal.code == 0 and not normal.shortcut, normal.err
    assert "already-installed" in normal.out and world.stamp().is_file()
    fast = world.run()
    assert fast.code == 0 and fast.shortcut
    assert fast.out == normal.out
    as_json = world.run("--json")
    fast_json = world.run("--json")
    assert not as_json.shortcut and fast_json.shortcut and fast_json.out == as_json.out
    world.stamp().unlink()  # the ordinary path again, as a reference
    again = world.run()
    assert not again.shortcut and again.out == fast.out


def _stamped(world: World) -> None:
    assert world.run().code == 0
    assert world.run().shortcut


def test_new_commit_in_a_checkout(world: World) -> None:
    _stamped(world)
    src = world.root / "sources" / world.products[0]
    (src / "new.txt").write_text("x\n")
    git(src, "add", "new.txt")
    git(src, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "new")
    r = world.run()
    assert r.code == 0 and not r.shortcut
    assert "built" in r.out.split()  # the moved product (and what needs it) built again
    _stamped(world)  # the next no-op is stamped again


def test_branch_moved_in_packed_refs(world: World) -> None:
    _stamped(world)
    src = world.root / "sources" / world.products[1]
    git(src, "reset", "-q", "--hard", "HEAD~1")
    git(src, "pack-refs", "--all")
    assert not (src / ".git" / "refs" / "heads" / "main").exists()
    r = world.run()
    assert r.code == 0 and not r.shortcut


def test_repos_yaml_changed(world: World) -> None:
    _stamped(world)
    with open(world.repos, "a") as fh:
        fh.write("# touched\n")
    r = world.run()
    assert r.code == 0 and not r.shortcut


def test_product_undeclared(world: World) -> None:
    _stamped(world)
    db = world.root / "stack" / "ups_db" / world.products[0]
    version_file = next(db.glob("*.version"))
    version_file.unlink()
    r = world.run()
    assert r.code == 0 and not r.shortcut
    assert version_file.exists()  # built and declared again


@pytest.mark.parametrize(
    "change", [("--tag", "extra"), ("--flavor", "Linux"), ("--product", "")], ids=str
)
def test_other_options(world: World, change: tuple[str, str]) -> None:
    _stamped(world)
    other = change[0] == "--product"
    r = world.run(product=world.products[0]) if other else world.run(*change)
    assert not r.shortcut


def test_fetching_never_shortcuts(world: World) -> None:
    _stamped(world)
    r = world.run(fetch=True)
    assert r.code == 0 and not r.shortcut


@pytest.mark.parametrize("text", ["", "{", '{"key": 1}', "[]", "null"])
def test_corrupt_stamp_is_ignored(world: World, text: str) -> None:
    _stamped(world)
    world.stamp().write_text(text)
    r = world.run()
    assert r.code == 0 and not r.shortcut and "already-installed" in r.out


def test_without_a_fixed_build_id_the_no_op_reuses_the_last_id(world: World) -> None:
    """Without --build-id and without a versiondb, a no-op keeps the last build's id (the
    manifest's content is the same and the stack has the tag), so the stamp is written and
    the next runs are the shortcut, all with the same id."""
    args = [str(world.script), "build", "top", "--repos", str(world.repos),
            "--root", str(world.root), "--no-tests", "--no-fetch", "-j", "2"]  # fmt: skip
    env = {**os.environ, "SCIPIPE_DEBUG_NOOP": "1"}
    seen = []
    for _ in range(3):
        r = subprocess.run(args, capture_output=True, text=True, check=False, timeout=300,
                           env=env, cwd=world.base)  # fmt: skip
        assert r.returncode == 0, r.stderr
        seen.append(r.stderr)
    ids = [next(line for line in e.splitlines() if line.startswith("# BUILD ID:")) for e in seen]
    assert len(set(ids)) == 1 and "(reused)" in ids[0], ids
    assert "no-op stamp holds" not in seen[0]  # the world was built with other arguments
    assert "no-op stamp holds" in seen[1] and "no-op stamp holds" in seen[2]
    assert world.stamp().exists()
