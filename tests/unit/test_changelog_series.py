"""Release-series rules: weekly pages, RCs folded into finals, backport ranges, overrides."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scipipe_tools.changelog.overrides import Overrides
from scipipe_tools.changelog.series import (
    Span,
    apply_overrides,
    release_key,
    release_pages,
    weekly_key,
    weekly_pages,
)
from scipipe_tools.errors import InputError


def test_weekly_pages_chain_consecutive_weeklies() -> None:
    pages = weekly_pages(["w.2025.13", "w.2025.14", "w.2025.15"])
    assert [p.name for p in pages] == ["w.2025.13", "w.2025.14", "w.2025.15"]
    assert pages[0].spans == (Span(None, "w.2025.13", "main"),)
    assert pages[2].spans == (Span("w.2025.14", "w.2025.15", "main"),)


def test_release_candidates_fold_into_the_final_with_backport_spans() -> None:
    names = ["v28.0.0.rc1", "28.0.0", "v29.0.0.rc1", "v29.0.0.rc2", "29.0.0", "v29.1.0.rc1"]
    pages = release_pages(names)
    assert [p.name for p in pages] == ["28.0.0", "29.0.0", "v29.1.0.rc1"]
    p29 = pages[1]
    assert p29.members == ("v29.0.0.rc1", "v29.0.0.rc2", "29.0.0")
    assert p29.spans == (
        Span("v28.0.0.rc1", "v29.0.0.rc1", "main"),  # main, between branch points
        Span("v29.0.0.rc1", "v29.0.0.rc2", "v29.0.x"),  # backports only
        Span("v29.0.0.rc2", "29.0.0", "v29.0.x"),
    )
    assert pages[2].spans == (Span("v29.0.0.rc1", "v29.1.0.rc1", "main"),)


def test_release_keys_follow_the_spec() -> None:
    assert release_key("29.1.0") == (29, 1, 0, 99)
    assert release_key("v29.1.0.rc2") == (29, 1, 0, 2)
    assert release_key("v29_1_0_rc2") == (29, 1, 0, 2)
    assert release_key("v8.0.0") is None  # majors below 9 are not releases
    assert release_key("w.2025.15") is None
    assert weekly_key("w_2025_15") == 202515 and weekly_key("d.2025.01.01") is None
    with pytest.raises(InputError, match="not a release tag"):
        release_pages(["w.2025.15"])


def test_overrides_drop_discarded_and_early_tags() -> None:
    names = ["w.2025.10", "w.2025.11", "w.2025.12", "w.2025.13"]
    o = Overrides(first_tag="w.2025.11", discard_tag=("w.2025.12",))
    assert apply_overrides(names, o, weekly_key) == ["w.2025.11", "w.2025.13"]
    with pytest.raises(InputError, match="first_tag"):
        apply_overrides(names, Overrides(first_tag="nope"), weekly_key)


@given(st.lists(st.tuples(st.integers(9, 40), st.integers(0, 3), st.integers(1, 4)), min_size=1,
                max_size=12, unique=True))  # fmt: skip
def test_every_release_point_is_in_exactly_one_page_and_spans_chain(
    points: list[tuple[int, int, int]],
) -> None:
    names = sorted(
        {f"v{M}.{m}.0.rc{rc}" for M, m, rc in points} | {f"{M}.{m}.0" for M, m, _ in points[:3]},
        key=lambda n: release_key(n) or (0, 0, 0, 0),
    )
    pages = release_pages(names)
    members = [m for p in pages for m in p.members]
    assert sorted(members) == sorted(names) and len(members) == len(set(members))
    for page in pages:
        for a, b in zip(page.spans, page.spans[1:], strict=False):
            assert a.new == b.old
        assert page.spans[-1].new == page.members[-1]


SERIES = ["v28.0.0.rc1", "28.0.0", "v29.0.0.rc1", "v29.0.0.rc2", "29.0.0", "v29.1.0.rc1"]


def test_unfolded_release_candidates_are_pages_of_their_own() -> None:
    pages = release_pages(SERIES, fold="none")
    assert [p.name for p in pages] == SERIES
    assert all(p.members == (p.name,) for p in pages)
    by_name = {p.name: p.spans for p in pages}
    # the first RC holds the changes on main; the later points the backports
    assert by_name["v29.0.0.rc1"] == (Span("v28.0.0.rc1", "v29.0.0.rc1", "main"),)
    assert by_name["v29.0.0.rc2"] == (Span("v29.0.0.rc1", "v29.0.0.rc2", "v29.0.x"),)
    assert by_name["29.0.0"] == (Span("v29.0.0.rc2", "29.0.0", "v29.0.x"),)
    assert by_name["v29.1.0.rc1"] == (Span("v29.0.0.rc1", "v29.1.0.rc1", "main"),)


def test_first_rc_apart_folds_only_the_backports_into_the_final() -> None:
    pages = release_pages(SERIES, fold="after-first")
    assert [p.name for p in pages] == [
        "v28.0.0.rc1", "28.0.0", "v29.0.0.rc1", "29.0.0", "v29.1.0.rc1",
    ]  # fmt: skip
    p29 = pages[3]
    assert p29.members == ("v29.0.0.rc2", "29.0.0")
    assert p29.spans == (
        Span("v29.0.0.rc1", "v29.0.0.rc2", "v29.0.x"),
        Span("v29.0.0.rc2", "29.0.0", "v29.0.x"),
    )
    assert pages[2].spans == (Span("v28.0.0.rc1", "v29.0.0.rc1", "main"),)
    # a release without an RC (or with its first RC only) is one page as before
    assert [p.name for p in release_pages(["29.0.0", "29.0.1"], fold="after-first")] == [
        "29.0.0", "29.0.1",
    ]  # fmt: skip


def test_an_unknown_folding_is_an_input_error() -> None:
    with pytest.raises(InputError, match="fold"):
        release_pages(SERIES, fold="some")  # type: ignore[arg-type]


@given(
    st.lists(st.tuples(st.integers(9, 40), st.integers(0, 3), st.integers(1, 4)), min_size=1,
             max_size=12, unique=True),
    st.sampled_from(["all", "after-first", "none"]),
)  # fmt: skip
def test_every_folding_keeps_every_point_once_and_every_range_once(
    points: list[tuple[int, int, int]], fold: str
) -> None:
    names = sorted(
        {f"v{M}.{m}.0.rc{rc}" for M, m, rc in points} | {f"{M}.{m}.0" for M, m, _ in points[:3]},
        key=lambda n: release_key(n) or (0, 0, 0, 0),
    )
    folded = [s for p in release_pages(names) for s in p.spans]
    pages = release_pages(names, fold=fold)  # type: ignore[arg-type]
    members = [m for p in pages for m in p.members]
    assert sorted(members) == sorted(names) and len(members) == len(set(members))
    assert sorted((s for p in pages for s in p.spans), key=str) == sorted(folded, key=str)
    for page in pages:
        assert page.spans[-1].new == page.members[-1] and page.name in page.members
