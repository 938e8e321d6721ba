"""Rendering the changelog model: every format against golden files, and the failure modes.

The golden files live in tests/golden/changelog/<case>/.  After an intended change to a
template, regenerate them on purpose with ``SCIPIPE_UPDATE_GOLDEN=1 pytest <this file>``
and review the diff.
"""

from __future__ import annotations

import filecmp
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from scipipe_tools.changelog import render as render_mod
from scipipe_tools.changelog.model import (
    Change,
    ChangelogModel,
    Fragment,
    PackageChange,
    Release,
    ReleaseKind,
    Ticket,
)
from scipipe_tools.changelog.render import (
    MANIFEST,
    TEMPLATE_NAMES,
    TemplateError,
    grid_table,
    release_notes_name,
    release_notes_rst,
    render,
    render_files,
    rst_escape,
)
from scipipe_tools.errors import EXIT_INPUT, InputError, ScipipeError

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "changelog"
UPDATE = os.environ.get("SCIPIPE_UPDATE_GOLDEN") == "1"


def _change(product: str, sha: str, subject: str, date: str, **kw: Any) -> Change:
    return Change(
        product=product,
        sha=sha * 40 if len(sha) == 1 else sha,
        subject=subject,
        date=date,
        author="Jane Dev <jane@example.org>",
        **kw,
    )


def weekly_model() -> ChangelogModel:
    """Two weeklies and ~main; w.2025.15 carries everything a page can show."""
    pr = "https://github.com/lsst/{}/pull/{}"
    main_ticket = Ticket(
        key="DM-49500",
        summary='Use `<numpy>` & "astropy" *faster* in __init__',
        products=["afw"],
        changes=[
            _change(
                "afw",
                "a",
                "Merge pull request #800 from lsst/tickets/DM-49500",
                "2025-04-11T10:00:00Z",
                tickets=("DM-49500",),
                merge=True,
                pr=800,
                pr_url=pr.format("afw", 800),
                branch="tickets/DM-49500",
            )
        ],
        last_merge="2025-04-11T10:00:00Z",
    )
    negative = Ticket(
        key="DM-49210",
        summary='Set is_negative flag for *negative* <diffim> sources & "others"',
        products=["afw", "ip_diffim"],
        changes=[
            _change(
                "ip_diffim",
                "b",
                "Merge pull request #385",
                "2025-04-08T02:50:10Z",
                tickets=("DM-49210",),
                merge=True,
                pr=385,
                pr_url=pr.format("ip_diffim", 385),
            ),
            _change(
                "afw",
                "c",
                "Merge pull request #768",
                "2025-04-07T04:02:43Z",
                tickets=("DM-49210",),
                merge=True,
                pr=768,
                pr_url=pr.format("afw", 768),
            ),
            _change(
                "afw",
                "d",
                "Merge pull request #769",
                "2025-04-07T05:00:00Z",
                tickets=("DM-49210",),
                merge=True,
                pr=769,
                pr_url=pr.format("afw", 769),
            ),
        ],
        fragments=[
            Fragment(
                "DM-49210",
                "bugfix",
                "ip_diffim",
                "doc/changes/DM-49210.bugfix.rst",
                "Fixed the ``is_negative`` flag of *negative* sources <b>&amp;</b>.\n",
            ),
            Fragment(
                "DM-49210",
                "feature",
                "afw",
                "doc/changes/DM-49210.feature.md",
                "Added `Footprint.negative`.\nIt is set by the detection task.\n",
            ),
            Fragment(
                "DM-49210",
                "api",
                "afw",
                "doc/changes/DM-49210.api.rst",
                "Renamed ``isNegative`` to ``is_negative``.\n",
            ),
        ],
        last_merge="2025-04-08T02:50:10Z",
    )
    direct = Ticket(
        key="DM-9",
        summary=None,
        products=["legacy-galsim"],
        changes=[
            _change(
                "legacy-galsim",
                "e",
                "DM-9: pin the version",
                "2025-04-05T12:00:00Z",
                tickets=("DM-9",),
                branch="v29.1.x",
            )
        ],
        last_merge="2025-04-05T12:00:00Z",
        branch="v29.1.x",
    )
    wrapped = Ticket(
        key="DM-10",
        summary="A long summary that needs wrapping because it is much longer than sixty "
        "characters, with a_long_identifier_that_cannot_be_broken_anywhere_at_all",
        products=["pipe_tasks"],
        changes=[
            _change(
                "pipe_tasks",
                "f",
                "Merge pull request #1140",
                "2025-04-06T11:38:03Z",
                tickets=("DM-10",),
                merge=True,
                pr=1140,
                pr_url=pr.format("pipe_tasks", 1140),
            )
        ],
        last_merge="2025-04-06T11:38:03Z",
    )
    w15 = Release(
        name="w.2025.15",
        eups="w_2025_15",
        kind=ReleaseKind.WEEKLY,
        date="2025-04-10T07:00:00Z",
        previous="w.2025.14",
        tickets=[negative, direct, wrapped],
        other=[
            _change(
                "daf_butler",
                "0123456789abcdef0123456789abcdef01234567",
                'Fix typo in _docs_ <README> & "quotes" *now*',
                "2025-04-09T09:09:09Z",
            ),
            _change("obs_base", "9", "Direct push | with a pipe", "2025-04-09T10:00:00Z"),
        ],
        added=["dax_images_cutout", "sdm_tools"],
        removed=["analysis_drp"],
        products={
            "afw": "g41b6eb5643+47fa141461",
            "ip_diffim": "g1234567890+abcdefabcd",
            "pipe_tasks": "g0000000001+1111111111",
            "daf_butler": "g2222222222",
        },
        missing={"obs_lsst": "no repository URL & no <clone>"},
        conda=[
            PackageChange("numpy", "1.26.4", "2.0.1"),
            PackageChange("astropy", None, "6.1.0"),
            PackageChange("old_pkg", "0.1", None),
        ],
    )
    w14 = Release(
        name="w.2025.14",
        eups="w_2025_14",
        kind=ReleaseKind.WEEKLY,
        date="2025-04-03T07:00:00Z",
        products={"afw": "g41b6eb5600+47fa141400", "analysis_drp": "g3333333333"},
        conda=[],
    )
    main = Release(
        name="~main",
        eups="main",
        kind=ReleaseKind.UNRELEASED,
        previous="w.2025.15",
        tickets=[main_ticket],
        note="Updated at 2025-04-12T08:00:00Z",
    )
    return ChangelogModel(
        title='Weekly changelog & "notes"',
        releases=[main, w15, w14],
        repo_urls={
            "afw": "https://github.com/lsst/afw",
            "ip_diffim": "https://github.com/lsst/ip_diffim",
            "pipe_tasks": "https://github.com/lsst/pipe_tasks",
            "daf_butler": "https://github.com/lsst/daf_butler",
            "legacy-galsim": "https://github.com/lsst-dm/legacy-galsim",
            "dax_images_cutout": "https://github.com/lsst/dax_images_cutout",
        },
        generated="2025-04-12T08:00:00Z",
    )


def final_release() -> Release:
    def ticket(key: str, summary: str | None, *products: str) -> Ticket:
        return Ticket(key=key, summary=summary, products=list(products))

    return Release(
        name="29.1.0",
        eups="v29_1_0",
        kind=ReleaseKind.FINAL,
        date="2025-06-01T00:00:00Z",
        tickets=[
            ticket("DM-50000", "Handle *stars* and `quotes` in my_table", "legacy-galsim", "afw"),
            ticket("DM-100", "Only the lsst metapackage", "lsst"),
            ticket("DM-31824", "Parallelize more operations in ResourcePath", "resources"),
            ticket("DM-9", None, "afw"),
            ticket("DM-101", "lsst and another", "lsst", "base"),
        ],
    )


# --- golden files -----------------------------------------------------------------------


def _compare_with_golden(produced: Path, case: str) -> None:
    golden = GOLDEN / case
    if UPDATE:
        shutil.rmtree(golden, ignore_errors=True)
        shutil.copytree(produced, golden)
    assert golden.is_dir(), f"no golden files for {case}: run with SCIPIPE_UPDATE_GOLDEN=1"
    produced_names = sorted(p.relative_to(produced).as_posix() for p in produced.rglob("*"))
    golden_names = sorted(p.relative_to(golden).as_posix() for p in golden.rglob("*"))
    assert produced_names == golden_names
    for name in produced_names:
        if (produced / name).is_file():
            assert (produced / name).read_text(encoding="utf-8") == (golden / name).read_text(
                encoding="utf-8"
            ), f"{case}/{name} differs from the golden file"


@pytest.mark.parametrize("fmt", ["md", "rst", "json", "html"])
def test_format_matches_golden(fmt: str, tmp_path: Path) -> None:
    out = tmp_path / fmt
    if fmt in ("md", "json"):
        out.mkdir()
    written = render(weekly_model(), fmt, out)
    assert written == sorted(written)
    assert all(p.parent == out for p in written)
    _compare_with_golden(out, f"weekly/{fmt}")


def test_release_notes_match_golden(tmp_path: Path) -> None:
    release = final_release()
    out = tmp_path / "notes"
    out.mkdir()
    (out / release_notes_name(release)).write_text(release_notes_rst(release), encoding="utf-8")
    _compare_with_golden(out, "release-notes")


def test_render_is_deterministic(tmp_path: Path) -> None:
    for fmt in ("md", "rst", "json", "html"):
        assert render_files(weekly_model(), fmt) == render_files(weekly_model(), fmt)


# --- what the pages say ------------------------------------------------------------------


def test_markdown_content() -> None:
    (text,) = render_files(weekly_model(), "md").values()
    # newest first
    assert text.index("## \\~main") < text.index("## w.2025.15") < text.index("## w.2025.14")
    # nasty characters escaped, once
    assert r'Set is\_negative flag for \*negative\* \<diffim\> sources \& "others"' in text
    assert "[ip\\_diffim#385](https://github.com/lsst/ip_diffim/pull/385)" in text
    # fragments grouped by type, in the release-notes order
    assert (
        text.index("#### New features")
        < text.index("#### API changes")
        < text.index("#### Bug fixes")
    )
    assert "- Added `Footprint.negative`.\n  It is set by the detection task." in text
    assert "| astropy | — | 6.1.0 |" in text
    assert "- Added: dax\\_images\\_cutout, sdm\\_tools" in text
    assert "No third-party package changed." in text  # w.2025.14: conda == []
    assert text.count("### Third-party packages") == 2  # ~main has conda None
    assert "\n\n\n" not in text


def test_rst_pages() -> None:
    files = render_files(weekly_model(), "rst")
    assert sorted(files) == [
        "index.rst",
        "main.rst",
        "products.rst",
        "summary.rst",
        "w_2025_14.rst",
        "w_2025_15.rst",
    ]
    index = files["index.rst"]
    toctree = index.split(":maxdepth: 1\n\n")[1].split()
    assert toctree == ["summary", "products", "main", "w_2025_15", "w_2025_14"]
    page = files["w_2025_15.rst"]
    assert "Released at 2025-04-10T07:00:00Z" in page
    assert "No packages added/removed in this release" in files["w_2025_14.rst"]
    assert "| Ticket " in page and "| Last Merge " in page and "| Packages " in page
    assert "`DM-49210 <https://ls.st/DM-49210>`__" in page
    assert r"Set is\_negative flag for \*negative\* <diffim> sources &" in page
    assert "`afw#768 <https://github.com/lsst/afw/pull/768>`__" in page
    # descriptions wrap at 60; a word that cannot break stays whole
    for line in page.splitlines():
        if "| `DM-10 " in line:
            description = line.split("|")[2].strip()
            assert len(description) <= 60
    assert "a\\_long\\_identifier\\_that\\_cannot\\_be\\_broken\\_anywhere\\_at\\_all" in page
    # the grid tables are well formed: every line of a table has the same width
    for block in re.findall(r"(?:^   [+|].*\n)+", page, flags=re.M):
        assert len({len(line) for line in block.splitlines()}) == 1, block


def test_grid_table_shape() -> None:
    table = grid_table(["A", "Bee"], [["x\nlonger line", ""], ["", "y"]], indent=0)
    assert table.splitlines() == [
        "+-------------+-----+",
        "| A           | Bee |",
        "+=============+=====+",
        "| x           |     |",
        "| longer line |     |",
        "+-------------+-----+",
        "|             | y   |",
        "+-------------+-----+",
    ]
    assert rst_escape(r"a*b_c`d|e\f") == r"a\*b\_c\`d\|e\\f"


def test_html_escapes_everything_and_ships_its_assets(tmp_path: Path) -> None:
    files = render_files(weekly_model(), "html")
    assert sorted(files) == [
        "changelog.css",
        "changelog.js",
        "index.html",
        "main.html",
        "w_2025_14.html",
        "w_2025_15.html",
    ]
    page = files["w_2025_15.html"]
    assert (
        "Set is_negative flag for *negative* &lt;diffim&gt; sources &amp; &#34;others&#34;" in page
    )
    assert "<diffim>" not in page and "<b>" not in page and "<clone>" not in page
    assert "&lt;b&gt;&amp;amp;&lt;/b&gt;" in page  # fragment text is text, not markup
    assert 'id="tickets" class="changelog sortable"' in page
    assert 'class="table-filter" data-table="tickets"' in page
    assert page.count("<tr>") >= 3
    # no request leaves the page: only relative assets, links are anchors
    for html in (files["index.html"], page):
        assert not re.search(r'<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//', html)
    index = files["index.html"]
    assert index.index("main.html") < index.index("w_2025_15.html") < index.index("w_2025_14.html")
    assert '<td data-sort="000002"><a href="w_2025_15.html">w.2025.15</a></td>' in index
    assert "<td>3</td>" in index  # ticket count of w.2025.15


def test_json_is_the_model(tmp_path: Path) -> None:
    out = render(weekly_model(), "json", tmp_path / "changelog.json")
    (path,) = out
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data == json.loads(json.dumps(weekly_model().to_json()))
    assert data["releases"][1]["kind"] == "weekly"
    text = path.read_text(encoding="utf-8")
    assert text == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_release_notes() -> None:
    text = release_notes_rst(final_release())
    title = "Tickets Addressed in Release 29.1.0"
    assert text.startswith(f"{'#' * len(title)}\n{title}\n{'#' * len(title)}\n\n")
    assert text.splitlines()[4:] == [
        "- :jira:`DM-9`: DM-9 [afw]",
        "- :jira:`DM-101`: lsst and another [base, lsst]",
        "- :jira:`DM-31824`: Parallelize more operations in ResourcePath [resources]",
        r"- :jira:`DM-50000`: Handle \*stars\* and \`quotes\` in my\_table [afw, galsim]",
    ]
    assert release_notes_name(final_release()) == "v29_1_0.rst"


# --- templates, errors and atomic output ----------------------------------------------------


def test_user_directory_overrides_a_template_by_name(tmp_path: Path) -> None:
    user = tmp_path / "templates"
    user.mkdir()
    (user / "release.html.j2").write_text(
        '{% extends "base.html.j2" %}{% block content %}<p class="mine">{{ release.name }}: '
        "{{ release.tickets | length }} tickets</p>{% endblock %}\n",
        encoding="utf-8",
    )
    (user / "changelog.css").write_text("body { color: red; }\n", encoding="utf-8")
    files = render_files(weekly_model(), "html", templates=user)
    assert '<p class="mine">w.2025.15: 3 tickets</p>' in files["w_2025_15.html"]
    assert files["changelog.css"] == "body { color: red; }\n"
    # the others still come from the package
    assert 'id="releases"' in files["index.html"]
    assert "sortTable" in files["changelog.js"]


def test_every_documented_template_is_packaged() -> None:
    for names in TEMPLATE_NAMES.values():
        for name in names:
            assert render_mod._packaged_file(name), name


def _good_site(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    out = tmp_path / "site"
    render(weekly_model(), "html", out)
    return out, {p.name: p.read_bytes() for p in out.iterdir()}


def test_broken_template_leaves_the_old_output_and_says_where(tmp_path: Path) -> None:
    out, before = _good_site(tmp_path)
    user = tmp_path / "templates"
    user.mkdir()
    (user / "release.html.j2").write_text(
        "<h1>{{ release.name }}</h1>\n<p>\n{% for t in release.tickets %}\n{{ t.key }\n"
        "{% endfor %}\n",
        encoding="utf-8",
    )
    with pytest.raises(TemplateError) as caught:
        render(weekly_model(), "html", out, templates=user)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{user / 'release.html.j2'}:4: ")
    assert caught.value.exit_code == EXIT_INPUT == 2
    assert caught.value.hint is None  # the user's template, not our bug
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_strict_undefined_names_the_missing_variable(tmp_path: Path) -> None:
    out, before = _good_site(tmp_path)
    user = tmp_path / "templates"
    user.mkdir()
    (user / "index.html.j2").write_text(
        "<ul>\n{% for r in releases %}\n<li>{{ r.name }} {{ r.codename }}</li>\n{% endfor %}\n</ul>\n",
        encoding="utf-8",
    )
    with pytest.raises(TemplateError) as caught:
        render(weekly_model(), "html", out, templates=user)
    message = str(caught.value)
    assert message.startswith(f"{user / 'index.html.j2'}:3: ")
    assert "codename" in message and "\n" not in message
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_failure_while_writing_leaves_no_partial_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, before = _good_site(tmp_path)
    real_fdopen = os.fdopen
    calls = {"n": 0}

    def failing_fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            os.close(fd)
            raise OSError(28, "No space left on device")
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(render_mod.os, "fdopen", failing_fdopen)
    changed = weekly_model()
    changed.title = "Changed"
    with pytest.raises(ScipipeError, match="No space left"):
        render(changed, "html", out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_stale_pages_go_and_foreign_files_stay(tmp_path: Path) -> None:
    out, _ = _good_site(tmp_path)
    (out / "README.txt").write_text("mine\n", encoding="utf-8")
    model = weekly_model()
    model.releases = model.releases[:2]  # w.2025.14 drops out
    written = render(model, "html", out)
    names = sorted(p.name for p in out.iterdir())
    assert "w_2025_14.html" not in names
    assert "README.txt" in names
    assert (out / MANIFEST).read_text(encoding="utf-8").split() == sorted(p.name for p in written)
    assert not [n for n in names if n.endswith(".tmp")]


def test_single_file_formats_write_to_a_file_or_into_a_directory(tmp_path: Path) -> None:
    assert render(weekly_model(), "md", tmp_path) == [tmp_path / "CHANGELOG.md"]
    target = tmp_path / "docs" / "CHANGES.md"
    assert render(weekly_model(), "md", target) == [target]
    assert filecmp.cmp(target, tmp_path / "CHANGELOG.md", shallow=False)
    assert not (tmp_path / MANIFEST).exists()


def test_bad_arguments_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown changelog format 'htm'") as caught:
        render(weekly_model(), "htm", tmp_path)
    assert caught.value.hint == "did you mean 'html'?"
    with pytest.raises(InputError, match="template directory not found"):
        render_files(weekly_model(), "md", templates=tmp_path / "nope")
    model = weekly_model()
    model.releases[1].eups = "../../etc/passwd"
    with pytest.raises(InputError, match="cannot name a changelog page"):
        render_files(model, "html")
    model = weekly_model()
    model.releases[2].eups = "w_2025_15"
    with pytest.raises(InputError, match="share the page 'w_2025_15'"):
        render_files(model, "md")
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="not a directory"):
        render(weekly_model(), "rst", tmp_path / "file")


def test_jinja2_is_imported_lazily() -> None:
    import subprocess
    import sys

    code = "import sys, scipipe_tools.changelog.render as r; print('jinja2' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
