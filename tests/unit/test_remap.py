"""``manifest.remap`` (EUPS's customisation file): parsing and EUPS's lookup rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from scipipe_tools.errors import InputError
from scipipe_tools.eups.remap import CREATE, INSTALL, parse_remap, read_remaps, remap_dirs

DOC_EXAMPLE = """\
# EUPS's own example
doxygen:1.5.9                1.6.3
python:Any                   2.6.2
tcltk                        None
tcltk:*                      dummy:1.0               DarwinX86
[create]afwdata              None
verbose = 1
"""


def test_eups_documented_example() -> None:
    r = parse_remap(DOC_EXAMPLE, "manifest.remap")
    assert r.apply("doxygen", "1.5.9", "Linux64") == ("doxygen", "1.6.3")
    assert r.apply("doxygen", "1.8.0", "Linux64") == ("doxygen", "1.8.0")
    assert r.apply("python", "3.11", "Linux64") == ("python", "2.6.2")
    assert r.apply("tcltk", "8.5", "Linux64") is None
    # the flavored line only matches its version "*" literally, as EUPS (no globbing):
    # other versions fall back to generic, which deletes
    assert r.apply("tcltk", "*", "DarwinX86") == ("dummy", "1.0")
    assert r.apply("tcltk", "8.5", "DarwinX86") is None
    # [create] lines only when publishing
    assert r.apply("afwdata", "1.0", "Linux64") == ("afwdata", "1.0")
    created = parse_remap(DOC_EXAMPLE, "manifest.remap", CREATE)
    assert created.apply("afwdata", "1.0", "Linux64") is None
    assert created.apply("base", "1.0", "Linux64") == ("base", "1.0")


def test_rename_and_eups_quirks() -> None:
    r = parse_remap("a  b:2.0\nc:1.0 none\nd:1.0 3.0\nd:2.0 None\ne noreinstall\n", "m")
    assert r.apply("a", "1.0", "Linux64") == ("b", "2.0")
    # a deleting line empties c's table: every version of c goes, as in EUPS
    assert r.apply("c", "9.9", "Linux64") is None
    # d keeps a mapping for 1.0, so its other versions stay
    assert r.apply("d", "2.0", "Linux64") == ("d", "2.0")
    assert r.apply("d", "1.0", "Linux64") == ("d", "3.0")
    assert r.no_reinstall("e", "7", "Linux64")
    assert not r.no_reinstall("a", "1.0", "Linux64")
    assert r.apply("e", "7", "Linux64") == ("e", "7")  # noreinstall maps nothing


@pytest.mark.parametrize(
    ("text", "where"),
    [("ok x\nnot:ok 1 Linux64 extra\n", "m:2"), ("\n\n:1.0 x\n", "m:3"), ("a :2.0\n", "m:1")],
)
def test_errors_name_file_and_line(text: str, where: str) -> None:
    with pytest.raises(InputError) as e:
        parse_remap(text, "m")
    assert str(e.value).startswith(where + ":")


def test_files_in_eups_order_first_wins_when_installing(tmp_path: Path) -> None:
    site, user = tmp_path / "site", tmp_path / "user"
    site.mkdir()
    user.mkdir()
    (site / "manifest.remap").write_text("a 1.0\n")
    (user / "manifest.remap").write_text("a 2.0\nb None\n")
    env = {"EUPS_SITEDATA": str(site), "EUPS_USERDATA": str(user)}
    dirs = remap_dirs(env, [tmp_path / "stack"])
    assert dirs == [site, tmp_path / "stack" / "site", user]
    inst = read_remaps(dirs, INSTALL)
    assert inst.apply("a", "0", "Linux64") == ("a", "1.0")
    assert inst.apply("b", "0", "Linux64") is None
    assert read_remaps(dirs, CREATE).apply("a", "0", "Linux64") == ("a", "2.0")
    assert remap_dirs({"EUPS_DIR": "/e", "HOME": "/h"}) == [Path("/e/site"), Path("/h/.eups")]
    assert not read_remaps([tmp_path / "nowhere"])
