from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from scipipe_tools.errors import InputError, ResolutionError
from scipipe_tools.eups.buildid import (
    allocate,
    format_content_line,
    next_build_id,
    parse_content_db,
)
from scipipe_tools.eups.manifest import HEADER, build_manifest, diff_manifests, parse_manifest
from scipipe_tools.eups.pkgversion import compute_versions, deps_hash, product_version
from scipipe_tools.stack.readers import load_manifest

SHA = {n: hashlib.sha1(n.encode()).hexdigest() for n in ["utils", "base", "geom", "afw"]}
DEPS = {"utils": (), "base": ("utils",), "geom": ("base", "utils"), "afw": ("geom",)}


def test_versions_follow_the_spec() -> None:
    v = compute_versions(DEPS, SHA)
    assert v["utils"] == "g" + SHA["utils"][:10]
    # afw's hash covers its *transitive* deps, sorted by name
    text = "".join(f"{n}\t{SHA[n]}\n" for n in ["base", "geom", "utils"])
    assert v["afw"] == "g" + SHA["afw"][:10] + "+" + hashlib.sha1(text.encode()).hexdigest()[:10]
    assert v["afw"] == product_version(SHA["afw"], {n: SHA[n] for n in ["utils", "geom", "base"]})
    assert deps_hash({"utils": SHA["utils"]}) == v["base"].split("+")[1]


def test_versions_need_every_sha() -> None:
    with pytest.raises(ResolutionError, match="no SHA1 for afw"):
        compute_versions(DEPS, {k: v for k, v in SHA.items() if k != "afw"})


def test_manifest_format_is_lsst_build_s() -> None:
    order = ["utils", "base", "geom", "afw"]
    m = build_manifest(order, DEPS, SHA, compute_versions(DEPS, SHA), "b42")
    text = m.to_text()
    lines = text.splitlines(keepends=True)
    assert lines[0] == HEADER
    assert (
        lines[0]
        == "# product                 SHA1                                      Version"
        + " " * 23
        + "\n"
    )
    assert lines[1] == "BUILD=b42\n"
    # name padded to 25, sha to 41, version to 40, then the direct deps
    assert lines[2] == f"{'utils':<25} {SHA['utils']}  {m['utils'].version:<40} \n"
    assert lines[4][:26] == "geom" + " " * 22
    assert lines[4].endswith(" base,utils\n")
    again = parse_manifest(text, "manifest.txt")
    assert again == m
    assert again.to_text() == text


def test_content_hash_and_build_ids() -> None:
    m = build_manifest(["utils"], {"utils": ()}, SHA, {"utils": "g1"})
    expected = hashlib.sha1(f"utils\t{SHA['utils']}\tg1\n".encode()).hexdigest()
    assert m.content_hash() == expected
    db = parse_content_db(format_content_line(expected, "b7") + "\n" + "f" * 40 + "\tb9\n")
    assert allocate(expected, db, ["b7", "b9"]).id == "b7"
    assert allocate(expected, db, ["b7", "b9"]).reused
    fresh = allocate("0" * 40, db, ["b7", "b9", "w.2025.01"], eups_tags=["b10", "b11"])
    assert (fresh.id, fresh.reused) == ("b12", False)
    assert next_build_id([]) == "b1"
    assert next_build_id(["b2", "b10", "b9", "bx", "current"]) == "b11"


def test_bad_content_db() -> None:
    with pytest.raises(InputError) as info:
        parse_content_db("f" * 40 + "\tb1\nnot a line\n", "content_sha.db.txt")
    assert str(info.value.location) == "content_sha.db.txt:2"


@pytest.mark.parametrize(
    ("text", "where", "msg"),
    [
        ("utils 123 g1\n", "m.txt:1", "not a 40-digit hex SHA1"),
        (f"utils {'a' * 40}\n", "m.txt:1", "got 2 fields"),
        (f"utils {'a' * 40} g1 x y\n", "m.txt:1", "got 5 fields"),
        (f"#c\nBUILD=b1\nbase {'a' * 40} g1 utils\n", "m.txt:3", "dependency 'utils' is not in"),
        (f"u {'a' * 40} g1\nu {'b' * 40} g2\n", "m.txt:2", "listed twice (first at line 1)"),
        (f"u {'a' * 40} g1 ,\n", "m.txt:1", "empty name"),
    ],
)
def test_bad_manifests(text: str, where: str, msg: str) -> None:
    with pytest.raises(InputError) as info:
        parse_manifest(text, "m.txt")
    assert str(info.value.location) == where
    assert msg in info.value.message


def test_build_must_match_file_name(tmp_path: Path) -> None:
    f = tmp_path / "b12.txt"
    f.write_text(f"BUILD=b13\nu {'a' * 40} g1\n")
    with pytest.raises(InputError, match="BUILD=b13 does not match the file name"):
        load_manifest(f)


def test_load_by_build_id(tmp_path: Path) -> None:
    (tmp_path / "manifests").mkdir()
    (tmp_path / "manifests" / "b5.txt").write_text(f"BUILD=b5\nu {'a' * 40} g1\n")
    assert load_manifest("b5", tmp_path).build_id == "b5"
    with pytest.raises(InputError, match="no manifest b6"):
        load_manifest("b6", tmp_path)


def test_diff() -> None:
    a = parse_manifest(f"a {'1' * 40} g1\nb {'2' * 40} g2 a\nc {'3' * 40} g3\n")
    b = parse_manifest(f"a {'1' * 40} g1\nb {'2' * 40} g2x a\nd {'4' * 40} g4\n")
    d = diff_manifests(a, b)
    assert [e.name for e in d.added] == ["d"]
    assert [e.name for e in d.removed] == ["c"]
    assert [(o.version, n.version) for o, n in d.changed] == [("g2", "g2x")]
    assert d.unchanged == 1 and not d.empty
    assert diff_manifests(a, a).empty
