"""``scipipe release tag`` end to end over the plain-git forge: a 40-repo world of bare remotes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scipipe_tools.demo.gitrepo import git
from tests.support.releaseworld import ReleaseWorld, make_release_world

from .conftest import Invoke

USER = ("--user", "sqreadmin", "--email", "sqre-admin@example.org")
TEAMS = (
    "--allow-team",
    "Data Management",
    "--allow-team",
    "DM Externals",
    "--external-team",
    "DM Externals",
    "--deny-team",
    "DM Auxilliaries",
)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReleaseWorld:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return make_release_world(tmp_path / "w", products=40, externals=4, aux=3)


def args(
    w: ReleaseWorld, *extra: str, tag: str | None = None, user: tuple[str, ...] = USER
) -> list[str]:
    return [
        "release",
        "tag",
        tag or w.git_tag,
        "--manifest",
        w.build_id,
        "--repos",
        str(w.repos_yaml),
        "--teams-file",
        str(w.policy),
        "--versiondb-base-url",
        str(w.versiondb),
        "--eupstag-base-url",
        str(w.distrib),
        *user,
        *TEAMS,
        *extra,
    ]


def tags(w: ReleaseWorld, tag: str) -> dict[str, object]:
    return {p: w.tag_of(p, tag) for p in w.products}


def test_weekly_tags_every_product_then_reruns_are_in_sync(
    scipipe: Invoke, world: ReleaseWorld
) -> None:
    w = world
    out = scipipe("--json", *args(w))
    assert out.code == 0, out.err
    assert "checking tags: 40 to do" in out.err.splitlines()  # plain progress lines
    report = json.loads(out.out)
    assert report["counts"] == {"created": 40}
    assert report["errors"] == 0
    for p in w.products:
        t = w.tag_of(p, "w.2025.15")
        assert t is not None and t.type == "tag"
        assert t.commit == w.heads[p]
        assert t.message == "Version w.2025.15 release from w_2025_15/b1000"
        assert t.tagger is not None and t.tagger.startswith("sqreadmin <sqre-admin@example.org> ")
        assert t.tagger.endswith(" +0000")
    # aux repos are not products: untouched
    assert all(w.tag_of(a, "w.2025.15") is None for a in w.aux)

    again = json.loads(scipipe("--json", *args(w)).out)
    assert again["counts"] == {"done-earlier": 40}
    fresh = scipipe("--json", *args(w, "--no-ledger"))
    assert fresh.code == 0 and json.loads(fresh.out)["counts"] == {"in-sync": 40}
    assert scipipe(*args(w, "--verify")).code == 0


def test_verify_counts_every_missing_tag_and_writes_nothing(
    scipipe: Invoke, world: ReleaseWorld
) -> None:
    out = scipipe(*args(world, "--verify", "--limit", "7"))
    assert out.code == 7
    assert out.err.count("needs create") == 7
    assert all(t is None for t in tags(world, "w.2025.15").values())


def test_dry_run_reads_everything_and_writes_nothing(scipipe: Invoke, world: ReleaseWorld) -> None:
    out = scipipe("--json", *args(world, "--dry-run"))
    assert out.code == 0, out.err
    assert json.loads(out.out)["counts"] == {"would-create": 40}
    assert all(t is None for t in tags(world, "w.2025.15").values())
    assert not (Path(str(world.root)).parent.parent / "state").exists()  # no ledger either


def test_a_conflict_anywhere_stops_every_write(scipipe: Invoke, world: ReleaseWorld) -> None:
    w = world
    victim = w.products[5]
    remote = w.remote(victim)
    other = w.advance(victim)
    git(["tag", "-a", "-m", "someone else", "w.2025.15", other], cwd=remote)
    out = scipipe(*args(w))
    assert out.code == 1
    assert f"{victim}: lsst-sample/{victim}: tag w.2025.15 exists and differs" in out.err
    assert "--force-tag" in out.err
    written = [p for p, t in tags(w, "w.2025.15").items() if t is not None]
    assert written == [victim]  # nothing else was written
    assert w.tag_of(victim, "w.2025.15").commit == other  # type: ignore[union-attr]

    forced = scipipe("--json", *args(w, "--force-tag"))
    assert forced.code == 0, forced.err
    assert json.loads(forced.out)["counts"] == {"created": 39, "updated": 1}
    assert w.tag_of(victim, "w.2025.15").commit == w.heads[victim]  # type: ignore[union-attr]


def test_final_release_prefixes_externals_and_manifest_only_message(
    scipipe: Invoke, world: ReleaseWorld
) -> None:
    w = world
    out = scipipe(*args(w, "--manifest-only", tag="29.1.0"))
    assert out.code == 0, out.err
    for p in w.products:
        name = "v29.1.0" if p in w.externals else "29.1.0"
        t = w.tag_of(p, name)
        assert t is not None, (p, name)
        assert t.message == f"Version {name} release from manifest b1000"
        other = "29.1.0" if name == "v29.1.0" else "v29.1.0"
        assert w.tag_of(p, other) is None


def test_version_mismatch_is_an_error_unless_ignored(scipipe: Invoke, world: ReleaseWorld) -> None:
    w = world
    text = w.taglist.read_text().splitlines()
    rows = [i for i, line in enumerate(text) if line and not line.startswith(("#", "EUPS"))]
    for i in rows[:3]:
        fields = text[i].split()
        text[i] = f"{fields[0]} {fields[1]} g0000000000"
    w.taglist.write_text("\n".join(text) + "\n")
    out = scipipe(*args(w))
    assert out.code == 3
    assert out.err.count("--ignore-manifest-versions to allow") == 3
    assert all(t is None for t in tags(w, "w.2025.15").values())
    assert scipipe(*args(w, "--ignore-manifest-versions")).code == 0


def test_existing_tag_with_another_tagger_conflicts_unless_ignored(
    scipipe: Invoke, world: ReleaseWorld
) -> None:
    w = world
    assert scipipe(*args(w, "--limit", "3")).code == 0
    other = ("--user", "someone", "--email", "someone@example.org")
    out = scipipe(*args(w, "--limit", "3", "--no-ledger", user=other))
    assert out.code == 3, out.err
    assert "its tagger is sqreadmin" in out.err
    relaxed = scipipe(*args(w, "--limit", "3", "--no-ledger", "--ignore-git-tagger", user=other))
    assert relaxed.code == 0, relaxed.err


def test_bad_inputs_are_one_line_errors(
    scipipe: Invoke, world: ReleaseWorld, tmp_path: Path
) -> None:
    w = world
    out = scipipe(*args(w)[:4], "b9999", *args(w)[5:])
    assert out.code == 3 and "unknown manifest b9999" in out.err
    assert "Traceback" not in out.err
    bad = tmp_path / "teams.yaml"
    bad.write_text("org: x\nteams:\n  Data Management: afw\n")
    out = scipipe(*[a if a != str(w.policy) else str(bad) for a in args(w)])
    assert out.code == 2 and f"{bad}:3" in out.err
    out = scipipe(*args(w, tag="W.2025.15"))
    assert out.code == 2 and "invalid git tag" in out.err
    out = scipipe(*args(w, "--allow-team", "Data Managment"))
    assert out.code == 2 and "Data Management" in out.err


def test_an_unreachable_repo_is_named_once(scipipe: Invoke, world: ReleaseWorld) -> None:
    import shutil

    product = world.dm_products[1]
    shutil.rmtree(world.remote(product))
    full = world.full_name(product)
    r = scipipe(*args(world))
    errors = [line for line in r.err.splitlines() if line.startswith("error:")]
    assert r.code == 1 and len(errors) == 1, r.err
    assert errors[0].startswith(f"error: {product}: {full}: cannot fetch"), errors[0]
    assert errors[0].count(full + ":") == 1
    r = scipipe("release", "tag-teams", "--tag", "w.1", "--repos", str(world.repos_yaml),
                "--teams-file", str(world.policy), "--allow-team", "Data Management",
                "-r", "main", "--user", "a", "--email", "a@b.c")  # fmt: skip
    errors = [line for line in r.err.splitlines() if line.startswith("error:")]
    assert r.code >= 1 and errors, r.err
    assert all(e.count(full + ":") <= 1 for e in errors), errors


def test_a_rerun_with_another_tagger_is_a_conflict_per_repo_not_done_earlier(
    scipipe: Invoke, world: ReleaseWorld
) -> None:
    w = world
    assert scipipe(*args(w, "--limit", "3")).code == 0
    other = ("--user", "someone", "--email", "someone@example.org")
    report = json.loads(scipipe("--json", *args(w, "--limit", "3", user=other)).out)
    assert report["counts"] == {"error": 3}
    out = scipipe(*args(w, "--limit", "3", user=other))
    assert out.code == 3, out.err
    assert out.err.count("tag w.2025.15 exists and differs") == 3
    assert out.err.count("its tagger is sqreadmin <sqre-admin@example.org>") == 3
    # the same tagger again: every repo is still done earlier, no tag read
    assert json.loads(scipipe("--json", *args(w, "--limit", "3")).out)["counts"] == {
        "done-earlier": 3
    }


def test_debug_and_version_as_codekit_users_type_them(scipipe: Invoke, world: ReleaseWorld) -> None:
    version = scipipe("release", "tag", "--version")
    assert version.code == 0 and version.out.startswith("scipipe, version ")
    out = scipipe(*args(world, "--dry-run", "--limit", "1", "--debug"))
    assert out.code == 0, out.err
    assert "DEBUG" in out.err and "(noop)" in out.err  # the debug log is on
