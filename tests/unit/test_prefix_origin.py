"""prefix.record_origin: each record names the lock's URL, channel and hashes; the rest
of the installer's file is left as it wrote it (only those lines change)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scipipe_tools.env.create import _check_records
from scipipe_tools.errors import ScipipeError
from scipipe_tools.infra.lockfile import LockedPackage
from scipipe_tools.infra.prefix import record_origin

URL = "https://conda.example/chan/linux-64/foo-1.0-h0_0.conda"
SHA, MD5 = "ab" * 32, "cd" * 16


def installer_record(md5: bool = True) -> dict[str, object]:
    record: dict[str, object] = {
        "build": "h0_0",
        "depends": ["bar *"],
        "name": "foo",
        "sha256": "00" * 32,
        "version": "1.0",
        "url": "file:///cache/archives/x/foo-1.0-h0_0.conda",
        "channel": None,
        "files": ["lib/url", 'odd "url": name,'],
        "paths_data": {"paths": [{"_path": "lib/url", "sha256": "11" * 32, "url": "x"}]},
    }
    if md5:
        record["md5"] = "99" * 16
    return record


def package(md5: str | None = MD5) -> LockedPackage:
    return LockedPackage("linux-64", "foo", "1.0", "h0_0", URL, md5=md5, sha256=SHA)


def write(prefix: Path, record: dict[str, object], indent: int | None) -> Path:
    path = prefix / "conda-meta" / "foo-1.0-h0_0.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(record, indent=indent), "utf-8")
    return path


def expected(record: dict[str, object], md5: str | None = MD5) -> dict[str, object]:
    new = {**record, "url": URL, "channel": "https://conda.example/chan", "sha256": SHA}
    return {**new, "md5": md5} if md5 else new


@pytest.mark.parametrize("staging", [True, False])
def test_only_the_origin_lines_of_the_installers_layout_change(
    tmp_path: Path, staging: bool
) -> None:
    record = installer_record()
    path = write(tmp_path, record, indent=2)
    before = path.read_text("utf-8").splitlines()
    record_origin(tmp_path, [package()], staging=staging)
    after = path.read_text("utf-8").splitlines()
    assert json.loads("\n".join(after)) == expected(record)
    changed = [b for b, a in zip(before, after, strict=True) if a != b]
    keys = ['"sha256"', '"url"', '"channel"', '"md5"']
    assert [line.split(":")[0].strip() for line in changed] == keys


@pytest.mark.parametrize("indent", [None, 4])
def test_another_layout_is_rewritten_whole(tmp_path: Path, indent: int | None) -> None:
    record = installer_record()
    path = write(tmp_path, record, indent=indent)
    record_origin(tmp_path, [package()], staging=True)
    assert json.loads(path.read_text("utf-8")) == expected(record)


def test_a_field_the_installer_did_not_write_is_added(tmp_path: Path) -> None:
    record = installer_record(md5=False)
    path = write(tmp_path, record, indent=2)
    record_origin(tmp_path, [package()], staging=True)
    assert json.loads(path.read_text("utf-8")) == expected(record)


def test_no_md5_in_the_lock_keeps_the_installers(tmp_path: Path) -> None:
    record = installer_record()
    path = write(tmp_path, record, indent=2)
    record_origin(tmp_path, [package(md5=None)], staging=True)
    assert json.loads(path.read_text("utf-8")) == expected(record, md5="99" * 16)


def test_a_key_twice_at_the_top_is_not_spliced_but_rewritten_whole(tmp_path: Path) -> None:
    path = write(tmp_path, installer_record(), indent=2)
    text = path.read_text("utf-8")
    path.write_text(text.replace('\n  "name": "foo",', '\n  "name": "foo",\n  "url": "x",'))
    record_origin(tmp_path, [package()], staging=True)
    data = json.loads(path.read_text("utf-8"))  # one url left: the lock's
    assert data["url"] == URL and path.read_text("utf-8").count('"url": ') == 2  # (+ the path's)


def test_a_value_over_several_lines_is_not_spliced(tmp_path: Path) -> None:
    record = {**installer_record(), "channel": {"name": "x"}}
    path = write(tmp_path, record, indent=2)
    record_origin(tmp_path, [package()], staging=True)
    assert json.loads(path.read_text("utf-8")) == expected(record)


def test_a_new_environment_is_checked_by_its_record_names(tmp_path: Path) -> None:
    meta = tmp_path / "conda-meta"
    meta.mkdir()
    (meta / "foo-1.0-h0_0.json").write_text("{}")
    _check_records(tmp_path, [package()])  # exactly the lock's
    (meta / "extra-2-h1_0.json").write_text("{}")
    bar = LockedPackage("linux-64", "bar", "3", "h2_0", URL.replace("foo", "bar"), sha256=SHA)
    with pytest.raises(ScipipeError, match=r"\(1 missing, 0 different, 1 extra\)"):
        _check_records(tmp_path, [package(), bar])
