"""Release inputs: manifests from a versiondb, EUPS tags from a root (path or HTTP); the ledger."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from scipipe_tools.errors import InputError, ResolutionError
from scipipe_tools.forge.base import Tagger
from scipipe_tools.release.ledger import Ledger
from scipipe_tools.stack import sources
from tests.support.httpserver import StaticServer

SHA = "a" * 40
MANIFEST = f"# product sha version\nBUILD=b7624\nbase {SHA} g{SHA[:10]}\n"
ME = Tagger("sqreadmin", "sqre-admin@example.org", dt.datetime(2025, 4, 14, tzinfo=dt.UTC))
TAGLIST = "EUPS distribution w_2025_15 version list. Version 1.0\n#BUILD=b7624\nbase generic g1\n"


@pytest.fixture
def vdb(tmp_path: Path) -> Path:
    (tmp_path / "vdb" / "manifests").mkdir(parents=True)
    (tmp_path / "vdb" / "manifests" / "b7624.txt").write_text(MANIFEST)
    (tmp_path / "vdb" / "manifests" / "b7625.txt").write_text(MANIFEST)
    (tmp_path / "dist" / "tags").mkdir(parents=True)
    (tmp_path / "dist" / "tags" / "w_2025_15.list").write_text(TAGLIST)
    (tmp_path / "dist" / "tags" / "w_2025_16.list").write_text(TAGLIST)
    return tmp_path


def test_manifest_from_a_checkout_or_its_manifests_dir(vdb: Path) -> None:
    for base in (vdb / "vdb", vdb / "vdb" / "manifests"):
        m = sources.load_manifest("b7624", str(base))
        assert m.build_id == "b7624" and m.entries[0].sha1 == SHA


def test_manifest_errors_name_the_place(vdb: Path) -> None:
    with pytest.raises(ResolutionError, match="unknown manifest b9999"):
        sources.load_manifest("b9999", str(vdb / "vdb"))
    with pytest.raises(InputError, match=r"b7625\.txt.*BUILD=b7624 does not match"):
        sources.load_manifest("b7625", str(vdb / "vdb"))
    with pytest.raises(InputError, match="expected bNNNN"):
        sources.load_manifest("w.2025.15", str(vdb / "vdb"))


def test_manifest_and_eups_tag_over_http(vdb: Path) -> None:
    with StaticServer(vdb) as server:
        m = sources.load_manifest("b7624", f"{server.url}/vdb/manifests")
        assert m.build_id == "b7624"
        for base in (f"{server.url}/dist/tags", f"{server.url}/dist"):
            tl = sources.load_eups_tag("w_2025_15", base)
            assert tl.tag == "w_2025_15" and tl.build_id == "b7624"
        with pytest.raises(ResolutionError, match="unknown EUPS tag 'w_2025_17'"):
            sources.load_eups_tag("w_2025_17", f"{server.url}/dist")


def test_eups_tag_header_must_name_the_file(vdb: Path) -> None:
    with pytest.raises(InputError, match=r"w_2025_16\.list:1: header names tag 'w_2025_15'"):
        sources.load_eups_tag("w_2025_16", str(vdb / "dist"))


def test_ledger_remembers_exact_writes_per_forge(tmp_path: Path) -> None:
    path = tmp_path / "state" / "ledger.jsonl"
    led = Ledger(path, "git:teams.yaml")
    assert not led.done("o/a", "w.1", SHA, "m", ME)
    led.record("o/a", "w.1", SHA, "m", ME, "created")
    led.close()
    again = Ledger(path, "git:teams.yaml")
    assert again.done("o/a", "w.1", SHA, "m", ME)
    assert not again.done("o/a", "w.1", "b" * 40, "m", ME)  # another commit: not done
    assert not again.done("o/a", "w.1", SHA, "other message", ME)
    assert not again.done("o/a", "w.1", SHA, "m", Tagger("someone", ME.email, ME.date))
    assert not again.done("o/a", "w.1", SHA, "m", Tagger(ME.name, "x@example.org", ME.date))
    later = Tagger(ME.name, ME.email, dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    assert again.done("o/a", "w.1", SHA, "m", later)  # the date is never compared
    other_forge = Ledger(path, "github:https://api.github.com/lsst")
    assert not other_forge.done("o/a", "w.1", SHA, "m", ME)
    line = json.loads(path.read_text().splitlines()[0])
    assert line["outcome"] == "created" and line["time"].endswith("+00:00")
    assert (line["tagger_name"], line["tagger_email"]) == (ME.name, ME.email)


def test_a_ledger_line_without_a_tagger_is_never_trusted(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    old = {"forge": "f", "repo": "o/a", "tag": "t", "sha": SHA, "message": "m"}
    path.write_text(json.dumps({**old, "outcome": "created"}) + "\n[1, 2]\n")
    assert not Ledger(path, "f").done("o/a", "t", SHA, "m", ME)


def test_ledger_ignores_a_line_cut_by_a_kill(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    led = Ledger(path, "f")
    led.record("o/a", "t", SHA, "m", ME, "created")
    led.close()
    with open(path, "a") as fh:
        fh.write('{"forge": "f", "repo": "o/b", "tag": "t", "sh')
    again = Ledger(path, "f")
    assert again.done("o/a", "t", SHA, "m", ME)
    assert not again.done("o/b", "t", SHA, "m", ME)
