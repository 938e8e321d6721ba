"""The versiondb repository: build id allocation with real reuse, recording, tagging."""

from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.demo.gitrepo import Repo
from scipipe_tools.errors import InputError, IntegrityError, ScipipeError
from scipipe_tools.eups.buildid import BuildId, next_build_id
from scipipe_tools.eups.manifest import Manifest, ManifestEntry
from scipipe_tools.infra import git
from scipipe_tools.stack.readers import read_manifest
from scipipe_tools.stack.versiondb import VersionDb
from tests.support.gitenv import BUILD_BOT, isolate_git

SHA_A = "a" * 40
SHA_B = "b" * 40


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(monkeypatch, BUILD_BOT)


def manifest(base_sha: str = SHA_A) -> Manifest:
    return Manifest(
        (
            ManifestEntry("base", base_sha, f"g{base_sha[:10]}"),
            ManifestEntry("afw", SHA_B, f"g{SHA_B[:10]}+0123456789", ("base",)),
        )
    )


@pytest.fixture
def vdb(tmp_path: Path) -> VersionDb:
    return VersionDb.init(tmp_path / "versiondb")


def log_subjects(db: VersionDb) -> list[str]:
    return Repo(db.path).git("log", "--format=%s").splitlines()


def test_init_makes_an_empty_versiondb(vdb: VersionDb) -> None:
    assert vdb.manifests_dir.is_dir()
    assert vdb.build_tags() == []
    assert vdb.content_db() == {}
    assert not git.is_dirty(vdb.path, untracked=True)
    assert log_subjects(vdb) == ["Initialize the versiondb."]
    with pytest.raises(InputError, match="not empty"):
        VersionDb.init(vdb.path)


def test_allocate_b1_on_an_empty_versiondb(vdb: VersionDb) -> None:
    assert vdb.allocate(manifest()) == BuildId("b1", False)
    # a versiondb that does not have the db file yet
    vdb.content_db_path.unlink()
    assert vdb.content_db() == {}
    assert vdb.allocate(manifest()) == BuildId("b1", False)


def test_record_commits_and_tags(vdb: VersionDb) -> None:
    m = manifest()
    bid = vdb.allocate(m)
    recorded = m.with_build_id(bid.id)
    assert vdb.record(recorded) is True
    assert vdb.build_tags() == ["b1"]
    assert vdb.content_db() == {m.content_hash(): "b1"}
    path = vdb.manifests_dir / "b1.txt"
    assert path.read_bytes() == recorded.to_text().encode()
    assert read_manifest(path).build_id == "b1"
    assert vdb.content_db_path.read_text() == f"{m.content_hash()}\tb1\n"
    assert log_subjects(vdb)[0] == "Updates for build b1."
    repo = Repo(vdb.path)
    assert repo.git("cat-file", "-t", "b1") == "tag"  # annotated
    assert repo.git("tag", "-l", "--format=%(contents:subject)", "b1") == "Build ID b1"
    assert repo.rev_parse("b1") == git.head_sha(vdb.path)
    assert not git.is_dirty(vdb.path, untracked=True)


def test_same_content_reuses_the_id_and_records_nothing(vdb: VersionDb) -> None:
    m = manifest()
    vdb.record(m.with_build_id(vdb.allocate(m).id))
    head = git.head_sha(vdb.path)
    again = vdb.allocate(manifest())
    assert again == BuildId("b1", True)
    assert vdb.record(manifest().with_build_id(again.id)) is False
    assert git.head_sha(vdb.path) == head
    assert vdb.build_tags() == ["b1"]


def test_changed_content_gets_the_next_free_id(vdb: VersionDb) -> None:
    m1 = manifest()
    vdb.record(m1.with_build_id(vdb.allocate(m1).id))
    m2 = manifest(base_sha="c" * 40)
    # b2 and b3 are already EUPS tags of the stack (made without this versiondb)
    bid = vdb.allocate(m2, eups_tags=["b2", "b3", "current"])
    assert bid == BuildId("b4", False)
    assert vdb.record(m2.with_build_id(bid.id)) is True
    assert vdb.build_tags() == ["b1", "b4"]
    assert vdb.content_db() == {m1.content_hash(): "b1", m2.content_hash(): "b4"}
    assert log_subjects(vdb)[:2] == ["Updates for build b4.", "Updates for build b1."]
    # build tags sort by number, not as text
    for n in (5, 10):
        m = manifest(base_sha=f"{n:040x}")
        vdb.record(m.with_build_id(vdb.allocate(m).id))
    assert vdb.build_tags() == ["b1", "b4", "b5", "b6"]
    m = manifest(base_sha="d" * 40)
    git.tag_annotated(vdb.path, "b10", "made by hand")
    assert vdb.allocate(m).id == "b11"


def test_reusing_an_id_while_dirty_is_an_error(vdb: VersionDb) -> None:
    (vdb.path / "README").write_text("versiondb\n")
    git.commit_all(vdb.path, "Add a README.")
    m = manifest().with_build_id("b1")
    vdb.record(m)
    (vdb.path / "README").write_text("local edit\n")
    with pytest.raises(ScipipeError, match=r"cannot reuse build id b1: the versiondb .* has"):
        vdb.record(m)
    # an untracked file is not "dirty" (as for git describe --dirty)
    Repo(vdb.path).git("checkout", "--", ".")
    (vdb.manifests_dir / "notes.txt").write_text("scratch\n")
    assert vdb.record(m) is False


def test_a_new_build_commits_only_its_own_files(vdb: VersionDb) -> None:
    (vdb.path / "README").write_text("not part of any build\n")
    Repo(vdb.path).git("add", "README")
    vdb.record(manifest().with_build_id("b1"))
    shown = Repo(vdb.path).git("show", "--name-only", "--format=", "b1^{commit}").split()
    assert sorted(shown) == ["manifests/b1.txt", "manifests/content_sha.db.txt"]
    assert git.is_dirty(vdb.path)  # README is still staged, uncommitted


def test_record_refuses_conflicts(vdb: VersionDb) -> None:
    vdb.record(manifest().with_build_id("b1"))
    other = manifest(base_sha="e" * 40).with_build_id("b1")
    with pytest.raises(IntegrityError, match="build id b1 is already recorded"):
        vdb.record(other)
    with pytest.raises(InputError, match="without a build id"):
        vdb.record(manifest())
    # same content, but the recorded manifest's text differs (its deps column)
    same_content = Manifest(
        (
            ManifestEntry("base", SHA_A, f"g{SHA_A[:10]}"),
            ManifestEntry("afw", SHA_B, f"g{SHA_B[:10]}+0123456789", ("base", "base")),
        ),
        "b1",
    )
    with pytest.raises(IntegrityError, match=r"recorded as b1 but manifests/b1\.txt is different"):
        vdb.record(same_content)


def test_a_failed_commit_leaves_the_versiondb_as_it_was(
    vdb: VersionDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.delenv(f"GIT_{role}_NAME")
        monkeypatch.delenv(f"GIT_{role}_EMAIL")
    monkeypatch.setenv("EMAIL", "")
    # no identity at all: git cannot commit
    Repo(vdb.path).git("config", "user.useConfigOnly", "true")
    with pytest.raises(ScipipeError) as info:
        vdb.record(manifest().with_build_id("b1"))
    assert "git config" in (info.value.hint or "")
    assert not git.is_dirty(vdb.path, untracked=True)
    assert not (vdb.manifests_dir / "b1.txt").exists()


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is not a git repository"):
        VersionDb(tmp_path).build_tags()


def test_without_a_versiondb_eups_tags_decide() -> None:
    assert next_build_id([]) == "b1"
    assert next_build_id(["b7", "b12", "current", "w_2025_01"]) == "b13"
