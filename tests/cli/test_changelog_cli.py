"""``scipipe changelog`` end to end on the sample stack's real git history."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scipipe_tools.demo.gitrepo import git
from scipipe_tools.demo.samplestack import Materialized, materialize

from .conftest import Invoke

OLD, NEW = "w.2025.01", "w.2025.02"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


def eups_root(stack: Materialized, dest: Path, tags: tuple[str, ...] = (OLD, NEW)) -> Path:
    """A distribution root whose tag lists name each product at its weekly tag's commit."""
    (dest / "tags").mkdir(parents=True)
    for tag in tags:
        eups = tag.replace(".", "_")
        rows = []
        for product, remote in stack.remotes.items():
            sha = git(["rev-parse", f"{tag}^{{commit}}"], cwd=remote)
            rows.append(f"{product} generic g{sha[:10]}\n")
        text = f"EUPS distribution {eups} version list. Version 1.0\n#BUILD=b1\n" + "".join(rows)
        (dest / "tags" / f"{eups}.list").write_text(text)
    return dest


def test_between_two_git_tags(scipipe: Invoke, sample_stack: Materialized, env: Path) -> None:
    out = scipipe("--json", "changelog", OLD, NEW, "--repos", str(sample_stack.repos_yaml))
    assert out.code == 0, out.err
    assert re.search(r"^walking history: \d+ of \d+ done in", out.err, re.M), out.err
    model = json.loads(out.out)
    (release,) = [r for r in model["releases"] if r["name"] == NEW]
    tickets = {t["key"]: t for t in release["tickets"]}
    merged = {b.split("/")[-1].upper() for bs in sample_stack.tickets.values() for b in bs}
    assert set(tickets) <= merged and tickets
    # every ticket's products are real products; merges carry their PR number
    for t in tickets.values():
        assert set(t["products"]) <= set(sample_stack.products)
    assert any(c["pr"] for t in tickets.values() for c in t["changes"])
    # direct pushes without a ticket are kept as other changes
    assert {c["product"] for c in release["other"]} == set(sample_stack.products)
    assert release["added"] == [] and release["removed"] == []


def test_weekly_series_from_an_eups_root_as_a_site(
    scipipe: Invoke, sample_stack: Materialized, env: Path
) -> None:
    root = eups_root(sample_stack, env / "root")
    site = env / "site"
    args = ["changelog", "--weekly", "--eups-root", str(root), "--repos",
            str(sample_stack.repos_yaml), "-f", "html", "-f", "md", "-o", str(site)]  # fmt: skip
    out = scipipe(*args)
    assert out.code == 0, out.err
    pages = sorted(p.name for p in (site / "html").glob("*.html"))
    assert pages == ["index.html", "main.html", "w_2025_01.html", "w_2025_02.html"]
    md = (site / "CHANGELOG.md").read_text()
    assert "\n## w.2025.02\n" in md and "\n## \\~main\n" in md
    page = (site / "html" / "w_2025_02.html").read_text()
    assert "https://ls.st/DM-" in page
    # a broken template: one line, exit 2, the good site untouched
    before = {p: p.read_bytes() for p in (site / "html").iterdir()}
    bad = env / "templates"
    bad.mkdir()
    (bad / "release.html.j2").write_text("{% for x in %}\n")
    broken = scipipe(*args, "--templates", str(bad))
    assert broken.code == 2 and "release.html.j2:1" in broken.err
    assert "Traceback" not in broken.err
    assert {p: p.read_bytes() for p in (site / "html").iterdir()} == before


def test_fragments_attach_to_their_ticket(scipipe: Invoke, examples_dir: Path, env: Path) -> None:
    stack = materialize(examples_dir / "sample-stack", env / "stack")
    for remote in stack.remotes.values():  # a weekly on the first commit
        root = git(["rev-list", "--max-parents=0", "main"], cwd=remote)
        git(["tag", "w.2024.52", root], cwd=remote)
    out = scipipe("--json", "changelog", "w.2024.52", OLD, "--repos", str(stack.repos_yaml))
    assert out.code == 0, out.err
    model = json.loads(out.out)
    fragments = [
        (t["key"], f) for r in model["releases"] for t in r["tickets"] for f in t["fragments"]
    ]
    # each product's first ticket branch adds doc/changes/<ticket>.feature.md
    assert {f["product"] for _, f in fragments} == set(stack.products)
    for key, f in fragments:
        assert f["ticket"] == key and f["type"] == "feature"
        assert f["path"] == f"doc/changes/{key}.feature.md"
        assert f["text"].strip().endswith(".")


def test_bad_inputs_are_one_line_errors(
    scipipe: Invoke, sample_stack: Materialized, env: Path
) -> None:
    root = eups_root(sample_stack, env / "root")
    repos = str(sample_stack.repos_yaml)
    out = scipipe("changelog", "w_2025_01", "w_2025_09", "--eups-root", str(root), "--repos", repos)
    assert out.code == 3 and "unknown EUPS tag 'w_2025_09'" in out.err
    # a git tag that no product has is as unknown (it was an empty changelog)
    out = scipipe("changelog", OLD, "w.2099.01", "--repos", repos)
    assert out.code == 3, out.err
    assert "unknown release point 'w.2099.01': no product repository has the git tag" in out.err
    assert out.out == ""
    ovr = env / "ovr.yaml"
    ovr.write_text("first_tag: w.2025.01\ndiscard_tags: []\n")
    out = scipipe("changelog", "--weekly", "--eups-root", str(root), "--repos", repos,
                  "--overrides", str(ovr))  # fmt: skip
    assert out.code == 2 and f"{ovr}:2:1: unknown key 'discard_tags'" in out.err
    # a commit the clone does not have: an error unless --allow-missing
    lst = root / "tags" / "w_2025_02.list"
    lst.write_text(lst.read_text().replace("afw generic g", "afw generic gdeadbeef0"))
    out = scipipe("changelog", "w_2025_01", "w_2025_02", "--eups-root", str(root), "--repos", repos)
    assert out.code == 3 and "afw" in out.err and "--allow-missing" in out.err
    assert out.out == ""
    out = scipipe("--json", "changelog", "w_2025_01", "w_2025_02", "--eups-root", str(root),
                  "--repos", repos, "--allow-missing")  # fmt: skip
    assert out.code == 0 and "afw" in json.loads(out.out)["releases"][0]["missing"]
    for o in (out,):
        assert "Traceback" not in o.err


RELEASES = {"v29_0_0_rc1": None, "v29_0_0_rc2": OLD, "v29_0_0": NEW}


def release_root(stack: Materialized, dest: Path) -> Path:
    """A root with one release: rc1 on each product's first commit, rc2 on the first
    weekly, the final on the second."""
    (dest / "tags").mkdir(parents=True)
    for eups, ref in RELEASES.items():
        rows = []
        for product, remote in stack.remotes.items():
            if ref is None:
                sha = git(["rev-list", "--max-parents=0", "main"], cwd=remote)
            else:
                sha = git(["rev-parse", f"{ref}^{{commit}}"], cwd=remote)
            rows.append(f"{product} generic g{sha[:10]}\n")
        text = f"EUPS distribution {eups} version list. Version 1.0\n#BUILD=b1\n" + "".join(rows)
        (dest / "tags" / f"{eups}.list").write_text(text)
    return dest


@pytest.mark.parametrize(
    ("switch", "pages"),
    [
        ((), ["v29_0_0"]),
        (("--no-fold-rcs",), ["v29_0_0_rc1", "v29_0_0_rc2", "v29_0_0"]),
        (("-u",), ["v29_0_0_rc1", "v29_0_0_rc2", "v29_0_0"]),
        (("--no-fold-first-rc",), ["v29_0_0_rc1", "v29_0_0"]),
    ],
)
def test_release_candidates_folded_or_not_in_every_format(
    scipipe: Invoke, sample_stack: Materialized, env: Path, switch: tuple[str, ...],
    pages: list[str],
) -> None:  # fmt: skip
    root = release_root(sample_stack, env / "root")
    site = env / "site"
    args = ["changelog", "--releases", "--eups-root", str(root), "--repos",
            str(sample_stack.repos_yaml), *switch]  # fmt: skip
    formats = [a for f in ("md", "rst", "json", "html") for a in ("-f", f)]
    out = scipipe(*args, *formats, "-o", str(site))
    assert out.code == 0, out.err
    files = pages  # the pages' files are named after the EUPS tags
    html = sorted(p.stem for p in (site / "html").glob("*.html"))
    assert html == sorted([*files, "index"])
    rst = sorted(p.stem for p in (site / "rst").glob("*.rst"))
    assert set(files) <= set(rst) and len(rst) == len(files) + 3  # index, summary, products
    model = json.loads((site / "changelog.json").read_text())
    assert [r["eups"] for r in model["releases"]] == list(reversed(pages))
    names = [r["name"] for r in model["releases"]]
    md = (site / "CHANGELOG.md").read_text()
    assert re.findall(r"^## (\S+)", md, re.M) == names
    # every ticket's merge is on exactly one page, whatever the folding
    merges = [(t["key"], c["product"], c["sha"]) for r in model["releases"]
              for t in r["tickets"] for c in t["changes"]]  # fmt: skip
    assert merges and len(merges) == len(set(merges)) == sum(
        map(len, sample_stack.tickets.values())
    )
    merged = {b.split("/")[-1].upper() for bs in sample_stack.tickets.values() for b in bs}
    assert {key for key, _, _ in merges} == merged
    # --notes finds an RC's own page when it is one
    notes = scipipe(*args, "--notes", pages[-1])
    assert notes.code == 0 and f"Tickets Addressed in Release {names[0]}" in notes.out


def test_rc_folding_switches_need_the_release_series(
    scipipe: Invoke, sample_stack: Materialized, env: Path
) -> None:
    repos = str(sample_stack.repos_yaml)
    for flag in ("-u", "--no-fold-first-rc"):
        out = scipipe("changelog", OLD, NEW, "--repos", repos, flag)
        assert out.code == 2 and "applies to --releases only" in out.err, out.err
