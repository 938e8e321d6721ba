"""The pure tag plan: product selection, repo resolution, the team gate, decisions."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scipipe_tools.errors import ScipipeError
from scipipe_tools.eups.manifest import parse_manifest
from scipipe_tools.eups.repos import parse_repos
from scipipe_tools.eups.taglist import TagList, parse_taglist
from scipipe_tools.forge.base import RepoId, Tagger, TagInfo, repo_id
from scipipe_tools.release import plan

SHA = {n: (c * 40) for n, c in zip(("base", "afw", "eigen", "pipe"), "abcd", strict=True)}
MANIFEST = parse_manifest(
    "BUILD=b7624\n"
    + "".join(f"{n} {SHA[n]} g{SHA[n][:10]}\n" for n in ("base", "eigen", "afw", "pipe")),
    "b7624.txt",
)
REPOS = parse_repos(
    "base: https://github.com/lsst/base.git\n"
    "afw: https://github.com/lsst/afw\n"
    "eigen: ssh://git@github.com/lsst/eigen.git\n"
    "pipe: {url: 'https://github.com/lsst/pipe.git', ref: main}\n",
    "repos.yaml",
)
TAGGER = Tagger("sqreadmin", "sqre-admin@example.org", dt.datetime(2025, 4, 10, tzinfo=dt.UTC))
MEMBERS = {
    "Data Management": frozenset({"lsst/base", "lsst/afw", "lsst/pipe"}),
    "DM Externals": frozenset({"lsst/eigen"}),
    "DM Auxilliaries": frozenset({"lsst/pipe"}),
}


def taglist(rows: str, tag: str = "w_2025_15") -> TagList:
    return parse_taglist(
        f"EUPS distribution {tag} version list. Version 1.0\n#BUILD=b7624\n{rows}",
        f"{tag}.list",
    )


@pytest.mark.parametrize(
    ("url", "full"),
    [
        ("https://github.com/lsst/afw.git", "lsst/afw"),
        ("https://github.com/lsst/afw/", "lsst/afw"),
        ("git@github.com:lsst-dm/legacy-x.git", "lsst-dm/legacy-x"),
        ("ssh://git@github.com/lsst/afw", "lsst/afw"),
        ("git://127.0.0.1:9418/lsst/afw.git", "lsst/afw"),
        ("/srv/remotes/lsst/afw.git", "lsst/afw"),
        ("file:///srv/remotes/lsst/afw.git", "lsst/afw"),
    ],
)
def test_repo_id_from_every_url_form(url: str, full: str) -> None:
    assert repo_id(url).full_name == full
    assert repo_id(url).url == url


def test_repo_id_refuses_a_url_without_owner() -> None:
    with pytest.raises(ScipipeError, match="owner/name"):
        repo_id("https://github.com/afw")


def test_select_takes_the_eups_tag_products_in_file_order() -> None:
    tl = taglist(f"afw generic g{SHA['afw'][:10]}\nbase generic g{SHA['base'][:10]}\n")
    products, problems = plan.select(MANIFEST, tl)
    assert [p.name for p in products] == ["afw", "base"]
    assert products[0].sha == SHA["afw"]
    assert problems == []


def test_select_reports_missing_products_and_version_mismatches() -> None:
    tl = taglist(f"afw generic gXXX\nnope generic g1\nbase generic g{SHA['base'][:10]}\n")
    products, problems = plan.select(MANIFEST, tl)
    assert [p.name for p in products] == ["base"]
    assert [p.product for p in problems] == ["afw", "nope"]
    assert "not in manifest b7624" in problems[1].message
    assert "--ignore-manifest-versions" in problems[0].message
    products, problems = plan.select(MANIFEST, tl, ignore_versions=True)
    assert [p.name for p in products] == ["afw", "base"]
    assert [p.product for p in problems] == ["nope"]


def test_manifest_only_and_limit() -> None:
    products, problems = plan.select(MANIFEST, None, limit=2)
    assert [p.name for p in products] == ["base", "eigen"]
    assert problems == []


def test_gate_external_v_prefix_and_messages() -> None:
    products, _ = plan.select(MANIFEST, None)
    targets, problems = plan.resolve_repos(products, REPOS)
    assert problems == []
    kept, problems = plan.gate(
        targets,
        MEMBERS,
        allow=["Data Management", "DM Externals"],
        deny=["DM Auxilliaries"],
        external=["DM Externals"],
        git_tag="29.1.0",
        build_id="b7624",
        eups_tag=None,
    )
    by = {t.product: t for t in kept}
    assert by["eigen"].tag == "v29.1.0" and by["eigen"].external
    assert by["eigen"].message == "Version v29.1.0 release from manifest b7624"
    assert by["base"].tag == "29.1.0"
    assert by["base"].message == "Version 29.1.0 release from manifest b7624"
    assert [p.product for p in problems] == ["pipe"]
    assert "denied team 'DM Auxilliaries'" in problems[0].message


def test_weekly_tags_get_no_v_and_name_the_eups_tag() -> None:
    products, _ = plan.select(MANIFEST, None)
    targets, _ = plan.resolve_repos(products, REPOS)
    kept, _ = plan.gate(
        targets,
        MEMBERS,
        allow=["Data Management", "DM Externals"],
        external=["DM Externals"],
        git_tag="w.2025.15",
        build_id="b7624",
        eups_tag="w_2025_15",
    )
    eigen = next(t for t in kept if t.product == "eigen")
    assert eigen.tag == "w.2025.15"
    assert eigen.message == "Version w.2025.15 release from w_2025_15/b7624"


def test_gate_refuses_repos_in_no_allowed_team() -> None:
    products, _ = plan.select(MANIFEST, None)
    targets, _ = plan.resolve_repos(products, REPOS)
    kept, problems = plan.gate(
        targets, MEMBERS, allow=["DM Externals"], git_tag="w.2025.15", build_id="b1", eups_tag=None
    )
    assert [t.product for t in kept] == ["eigen"]
    assert {p.product for p in problems} == {"base", "afw", "pipe"}
    assert "none of the allowed teams (DM Externals)" in problems[0].message


def test_resolve_repos_reports_products_missing_from_repos_yaml() -> None:
    products = [plan.Product("ghost", "e" * 40, "v")]
    targets, problems = plan.resolve_repos(products, REPOS)
    assert targets == [] and problems[0].message == "not in repos.yaml"


def _target(message: str = "Version w.2025.15 release from w_2025_15/b7624") -> plan.Target:
    return plan.Target("afw", RepoId("lsst/afw"), SHA["afw"], "v", "w.2025.15", message)


def _existing(**kw: object) -> TagInfo:
    base: dict[str, object] = {
        "name": "w.2025.15",
        "sha": SHA["afw"],
        "annotated": True,
        "message": "Version w.2025.15 release from w_2025_15/b7624\n",
        "tagger_name": TAGGER.name,
        "tagger_email": TAGGER.email,
    }
    base.update(kw)
    return TagInfo(**base)  # type: ignore[arg-type]


def test_decide_create_in_sync_and_conflicts() -> None:
    t = _target()
    assert plan.decide(t, None, TAGGER).action is plan.Action.CREATE
    assert plan.decide(t, _existing(), TAGGER).action is plan.Action.IN_SYNC
    moved = plan.decide(t, _existing(sha="f" * 40), TAGGER)
    assert moved.action is plan.Action.CONFLICT and "points at ffffffffffff" in moved.reason
    assert plan.decide(t, _existing(sha="f" * 40), TAGGER, force=True).action is (
        plan.Action.UPDATE
    )
    light = plan.decide(t, _existing(annotated=False, message=None), TAGGER)
    assert light.action is plan.Action.CONFLICT and "lightweight" in light.reason
    tot = plan.decide(t, _existing(target_type="tag"), TAGGER)
    assert tot.action is plan.Action.CONFLICT and "tag of a tag" in tot.reason


def test_decide_message_and_tagger_comparisons_can_be_relaxed() -> None:
    t = _target()
    other = _existing(message="Version w.2025.15 release from manifest b7624", tagger_name="x")
    assert plan.decide(t, other, TAGGER).action is plan.Action.CONFLICT
    relaxed = plan.Compare(message=False, tagger=False)
    assert plan.decide(t, other, TAGGER, compare=relaxed).action is plan.Action.IN_SYNC
    # the tagger date is never compared
    later = Tagger(TAGGER.name, TAGGER.email, TAGGER.date + dt.timedelta(days=3))
    assert plan.decide(t, _existing(), later).action is plan.Action.IN_SYNC


@given(st.text(alphabet="0123456789abcdefw.", min_size=1, max_size=12), st.booleans())
def test_v_prefix_only_for_externals_on_digit_tags(tag: str, external: bool) -> None:
    name = plan.tag_name_for(tag, external)
    if external and tag[0].isdigit():
        assert name == "v" + tag
    else:
        assert name == tag
