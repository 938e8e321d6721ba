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
