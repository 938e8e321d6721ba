"""The installed stack (ups_db): real files in tmp_path, compared with golden EUPS files.

The golden files under tests/golden/ups_db/ follow the EUPS sources:
``.version`` -- python/eups/db/VersionFile.py; ``.chain`` -- python/eups/db/ChainFile.py;
``global.tags`` -- python/eups/tags.py (see the README there).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scipipe_tools.errors import InputError, ResolutionError
from scipipe_tools.stack.stack import SITE_STARTUP, Stack
from scipipe_tools.stack.ups_db import parse_chain_file, parse_tag_list, parse_version_file

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "ups_db"
WHEN = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)
LATER = datetime(2024, 3, 2, 8, 30, 0, tzinfo=UTC)


def install(stack: Stack, product: str, version: str, table: str | None = "") -> Path:
    """A product tree under <flavor>/<product>/<version>, with ups/<product>.table."""
    d = stack.product_dir(product, version)
    (d / "ups").mkdir(parents=True)
    if table is not None:
        (d / "ups" / f"{product}.table").write_text(table)
    return d


@pytest.fixture
def stack(tmp_path: Path) -> Stack:
    return Stack.create(tmp_path / "stack", "Linux64")


def test_create_is_idempotent_and_open_checks(tmp_path: Path) -> None:
    s = Stack.create(tmp_path / "s", "Linux64")
    assert (s.root / "ups_db").is_dir() and (s.root / "site").is_dir()
    assert (s.root / "site" / "startup.py").read_text() == SITE_STARTUP
    (s.root / "site" / "startup.py").write_text("# mine\n")
    Stack.create(tmp_path / "s", "Linux64")
    assert (s.root / "site" / "startup.py").read_text() == "# mine\n"
    assert Stack.open(tmp_path / "s", "Linux64").root == s.root
    with pytest.raises(InputError, match="not an EUPS stack"):
        Stack.open(tmp_path / "nothing", "Linux64")


def test_files_match_golden(stack: Stack) -> None:
    d = install(stack, "afw", "g123", "setupRequired(base)\n")
    stack.declare("afw", "g123", d, declarer="jenkins", declared=WHEN, tags=["b42"])
    stack.assign_tag("afw", "g123", "current", declarer="jenkins", when=WHEN)
    doc = install(stack, "doc", "1.0", table=None)
    stack.declare("doc", "1.0", doc, declarer="jenkins", declared=WHEN)
    for rel in ["afw/g123.version", "afw/current.chain", "doc/1.0.version", "global.tags"]:
        assert (stack.db / rel).read_bytes() == (GOLDEN / rel).read_bytes(), rel


def test_golden_files_read_back(stack: Stack) -> None:
    vf = parse_version_file((GOLDEN / "afw/g123.version").read_text(), "g123.version")
    assert (vf.product, vf.version) == ("afw", "g123")
    assert vf.flavors["Linux64"]["TABLE_FILE"] == "afw.table"
    cf = parse_chain_file((GOLDEN / "afw/current.chain").read_text(), "current.chain")
    assert (cf.tag, cf.version_for("Linux64")) == ("current", "g123")
    assert parse_tag_list((GOLDEN / "global.tags").read_text()) == ["b42", "current"]


def test_version_info_and_table_path(stack: Stack) -> None:
    d = install(stack, "afw", "g123")
    stack.declare("afw", "g123", d, declarer="me", declared=WHEN)
    info = stack.version_info("afw", "g123")
    assert info.prod_dir == "Linux64/afw/g123" and info.ups_dir == "ups"
    assert info.directory == d
    assert stack.table_path("afw", "g123") == d / "ups" / "afw.table"
    assert info.declarer == "me" and info.declared == "2024/03/01 12:00:00 UTC"
    assert stack.is_declared("afw", "g123") and not stack.is_declared("afw", "g999")
    with pytest.raises(ResolutionError, match="afw g999 is not declared") as exc:
        stack.version_info("afw", "g999")
    assert exc.value.hint == "declared versions: g123"


def test_declare_without_table_and_outside_the_stack(stack: Stack, tmp_path: Path) -> None:
    d = install(stack, "doc", "1.0", table=None)
    stack.declare("doc", "1.0", d, declared=WHEN)
    assert stack.table_path("doc", "1.0") is None
    outside = tmp_path / "elsewhere" / "foo"
    (outside / "ups").mkdir(parents=True)
    (outside / "ups" / "foo.table").write_text("")
    other = tmp_path / "tables" / "foo-special.table"
    other.parent.mkdir()
    other.write_text("")
    stack.declare("foo", "2.0", outside, table_file=str(other), declared=WHEN)
    info = stack.version_info("foo", "2.0")
    assert info.prod_dir == str(outside)  # absolute: not under the stack root
    assert (info.ups_dir, info.table_file) == ("none", str(other))
    assert info.table == other
    with pytest.raises(InputError, match="no table file"):
        stack.declare("foo", "3.0", outside, table_file="missing.table")
    with pytest.raises(InputError, match="not a directory"):
        stack.declare("foo", "4.0", tmp_path / "nope")
    with pytest.raises(InputError, match="invalid product name"):
        stack.declare("foo-bar", "1.0", outside)


def test_redeclare_keeps_declarer_and_is_a_noop_when_unchanged(
    stack: Stack, tmp_path: Path
) -> None:
    d = install(stack, "afw", "g1")
    stack.declare("afw", "g1", d, declarer="first", declared=WHEN)
    path = stack.db / "afw" / "g1.version"
    before = path.read_text()
    stack.declare("afw", "g1", d, declarer="second", declared=LATER)
    assert path.read_text() == before
    moved = tmp_path / "moved"
    (moved / "ups").mkdir(parents=True)
    (moved / "ups" / "afw.table").write_text("")
    stack.declare("afw", "g1", moved, declarer="second", declared=LATER)
    info = stack.version_info("afw", "g1")
    assert (info.declarer, info.modifier) == ("first", "second")
    assert info.modified == "2024/03/02 08:30:00 UTC"
    assert (
        "   MODIFIER = second\n   MODIFIED = 2024/03/02 08:30:00 UTC\n   PROD_DIR"
        in path.read_text()
    )


def test_other_flavors_are_kept(stack: Stack) -> None:
    d = install(stack, "afw", "g1")
    (stack.db / "afw").mkdir()
    (stack.db / "afw" / "g1.version").write_text(
        "FILE = version\nPRODUCT = afw\nVERSION = g1\n\nGroup:\n   FLAVOR = DarwinX86\n"
        '   QUALIFIERS = ""\n   PROD_DIR = DarwinX86/afw/g1\n   UPS_DIR = ups\n'
        "   TABLE_FILE = afw.table\n"  # no End: -- EUPS accepts that
    )
    assert stack.versions("afw") == []
    stack.declare("afw", "g1", d, declarer="x", declared=WHEN)
    text = (stack.db / "afw" / "g1.version").read_text()
    assert text.count("Group:") == 2 and text.count("End:") == 1
    assert "FLAVOR = DarwinX86" in text and "FLAVOR = Linux64" in text
    assert Stack(stack.root, "DarwinX86").versions("afw") == ["g1"]
    stack.undeclare("afw", "g1")
    assert Stack(stack.root, "DarwinX86").versions("afw") == ["g1"]
    assert stack.versions("afw") == []


def test_listing_in_eups_version_order(stack: Stack) -> None:
    for v in ["1.10", "1.9", "1.9-rc1"]:
        stack.declare("base", v, install(stack, "base", v), declared=WHEN)
    stack.declare("afw", "g1", install(stack, "afw", "g1"), declared=WHEN)
    assert stack.versions("base") == ["1.9-rc1", "1.9", "1.10"]
    assert stack.products() == ["afw", "base"]
    assert stack.declared() == {"afw": ["g1"], "base": ["1.9-rc1", "1.9", "1.10"]}
    assert stack.versions("nothing") == []


def test_tags(stack: Stack) -> None:
    for v in ["1", "2"]:
        stack.declare("base", v, install(stack, "base", v), declarer="a", declared=WHEN)
    stack.assign_tag("base", "1", "current", declarer="a", when=WHEN)
    assert stack.tag_version("base", "current") == "1"
    assert stack.tags_of("base", "1") == ["current"]
    stack.assign_tag("base", "2", "current", declarer="b", when=LATER)  # one version per tag
    assert stack.tag_version("base", "current") == "2"
    assert stack.tags_of("base", "1") == []
    chain = (stack.db / "base" / "current.chain").read_text()
    assert "   VERSION = 2\n" in chain and "   DECLARER = a\n" in chain
    assert "   MODIFIER = b\n   MODIFIED = 2024/03/02 08:30:00 UTC\n#End:\n" in chain
    assert stack.global_tags() == ["current"]
    assert stack.tagged("current") == {"base": "2"}
    assert stack.unassign_tag("base", "current")
    assert not (stack.db / "base" / "current.chain").exists()
    assert not stack.unassign_tag("base", "current")
    with pytest.raises(ResolutionError):
        stack.assign_tag("base", "3", "current")


def test_tagging_a_build_reads_the_global_tags_once(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A build tags every product with its build id: global.tags is read (and written)
    once, not once per product; what is registered stays registered."""
    for i in range(5):
        stack.declare(f"p{i}", "1", install(stack, f"p{i}", "1"), declarer="a", declared=WHEN)
    reads: list[str] = []
    read = Stack.global_tags
    monkeypatch.setattr(Stack, "global_tags", lambda self: reads.append("") or read(self))
    stack.register_global_tag("b7")
    for i in range(5):
        stack.assign_tag(f"p{i}", "1", "b7", declarer="a", when=WHEN)
    assert len(reads) == 1
    assert stack.global_tags() == ["b7"]
    assert stack.tagged("b7") == {f"p{i}": "1" for i in range(5)}


def test_tag_names(stack: Stack) -> None:
    stack.declare("base", "1", install(stack, "base", "1"), declared=WHEN)
    for bad in ["type", "latest", "versionExpr", "keep", "commandLine", "version"]:
        with pytest.raises(InputError, match="reserved"):
            stack.assign_tag("base", "1", bad)
    with pytest.raises(InputError, match="user tag 'user:me'") as exc:
        stack.register_global_tag("user:me")
    assert exc.value.hint is not None
    for bad in ["42", "a/b", "", "-x"]:
        with pytest.raises(InputError):
            stack.register_global_tag(bad)
    stack.register_global_tag("w_2024_10")
    stack.register_global_tag("w_2024_10")
    assert stack.global_tags() == ["w_2024_10"]


def test_global_tags_read_like_eups(stack: Stack) -> None:
    (stack.db / "global.tags").write_text("b1  b2 # build tags\n\tcurrent\nb1\n")
    assert stack.global_tags() == ["b1", "b2", "current"]
    stack.register_global_tag("b3")
    assert (stack.db / "global.tags").read_text() == "b1 b2 current b3\n"


def test_known_tags_as_eups_tags_lists_them(stack: Stack) -> None:
    for p, tags in [("afw", ["b7", "mine"]), ("base", ["current"])]:
        stack.declare(p, "1", install(stack, p, "1"), declared=WHEN)
        for tag in tags:  # chain files only, as real `eups declare -t` leaves them
            stack.assign_tag(p, "1", tag)
    (stack.db / "global.tags").unlink()
    # no global.tags: every tag a chain file assigns, but the user's own
    assert stack.known_tags("mine") == ["b7", "current", "latest", "stable", "user:mine"]
    assert stack.known_tags("") == ["b7", "current", "latest", "mine", "stable"]
    (stack.db / "global.tags").write_text("current stable latest beta\n")
    # global.tags, once there, is all EUPS reads
    assert stack.known_tags("me") == ["beta", "current", "latest", "stable", "user:me"]


def test_generic_products_are_read_as_eups_falls_back_to_them(stack: Stack) -> None:
    generic = Stack(stack.root, "generic")
    d = generic.product_dir("data", "1")
    d.mkdir(parents=True)
    generic.declare("data", "1", d, declared=WHEN, tags=["current"])
    stack.declare("tool", "1", install(stack, "tool", "1"), declared=WHEN)
    generic.declare("tool", "1", stack.product_dir("tool", "1"), declared=WHEN)
    assert stack.declared() == {"data": ["1"], "tool": ["1"]}
    info = stack.version_info("data", "1")
    assert (info.flavor, info.directory) == ("generic", d)
    assert stack.version_info("tool", "1").flavor == "Linux64"  # its own flavor first
    assert stack.tag_version("data", "current") == "1" and stack.tags_of("data", "1") == ["current"]
    stack.assign_tag("data", "1", "b1")  # for the flavor it is declared for
    assert list(parse_chain_file((stack.db / "data" / "b1.chain").read_text(), "x").flavors) == [
        "generic"
    ]
    assert stack.tagged("b1") == {"data": "1"}
    stack.declare("native", "1", install(stack, "native", "1"), declared=WHEN)
    assert Stack(stack.root, "Linux").versions("native") == []  # only generic falls back
    assert Stack(stack.root, "Linux").versions("tool") == ["1"]
    stack.undeclare("data", "1")
    assert not (stack.db / "data").exists()


def test_clone_tag(stack: Stack) -> None:
    for p in ["afw", "base", "utils"]:
        stack.declare(p, "1", install(stack, p, "1"), declared=WHEN, tags=["b7"])
    stack.declare("extra", "1", install(stack, "extra", "1"), declared=WHEN, tags=["current"])
    assert stack.clone_tag("b7", "current") == 3
    assert stack.tagged("current") == {"afw": "1", "base": "1", "extra": "1", "utils": "1"}
    assert stack.global_tags() == ["b7", "current"]
    with pytest.raises(ResolutionError, match="unknown tag 'b77'") as exc:
        stack.clone_tag("b77", "x")
    assert exc.value.hint == "did you mean 'b7'?"


def test_undeclare(stack: Stack) -> None:
    d = install(stack, "afw", "1")
    stack.declare("afw", "1", d, declared=WHEN, tags=["current", "b1"])
    stack.declare("afw", "2", install(stack, "afw", "2"), declared=WHEN, tags=["b2"])
    stack.undeclare("afw", "1")
    assert stack.versions("afw") == ["2"]
    assert sorted(os.listdir(stack.db / "afw")) == ["2.version", "b2.chain"]
    cache = stack.db / "Linux64.pickleDB1_3_0"
    cache.write_bytes(b"stale")
    stack.undeclare("afw", "2")
    assert not (stack.db / "afw").exists()
    assert not cache.exists()  # EUPS would not notice the removed directory
    with pytest.raises(ResolutionError):
        stack.undeclare("afw", "2")


def test_bad_files_name_their_line(stack: Stack) -> None:
    (stack.db / "afw").mkdir()
    (stack.db / "afw" / "1.version").write_text("FILE = version\nPRODUCT = afw\nthis is not\n")
    with pytest.raises(InputError) as exc:
        stack.version_info("afw", "1")
    assert str(exc.value).endswith("afw/1.version:3: unexpected line 'this is not'")
    (stack.db / "afw" / "2.version").write_text("FILE = table\n")
    with pytest.raises(InputError, match=r"2\.version:1: expected 'FILE = version'"):
        stack.version_info("afw", "2")


def test_qualifiers_and_macros(stack: Stack) -> None:
    (stack.db / "tool").mkdir()
    (stack.db / "tool" / "1.version").write_text(
        "FILE = version\nPRODUCT = tool\nVERSION = 1\n\nGroup:\n   FLAVOR = Linux64\n"
        '   QUALIFIERS = ""\n   PROD_DIR = $PROD_ROOT/$FLAVOR/tool/1\n'
        "   UPS_DIR = $UPS_DB/Linux64/tool/1/ups\n   TABLE_FILE = tool.table\nEnd:\n"
    )
    info = stack.version_info("tool", "1")
    assert info.directory == stack.root / "Linux64" / "tool" / "1"
    assert info.table == stack.db / "Linux64" / "tool" / "1" / "ups" / "tool.table"


def test_table_path_as_eups_writes_it_for_plus_versions(stack: Stack) -> None:
    d = install(stack, "afw", "g1+2")
    (stack.db / "afw").mkdir()
    (stack.db / "afw" / "g1+2.version").write_text(
        "FILE = version\nPRODUCT = afw\nVERSION = g1+2\n\nGroup:\n   FLAVOR = Linux64\n"
        '   QUALIFIERS = ""\n   PROD_DIR = Linux64/afw/g1+2\n   UPS_DIR = ups\n'
        "   TABLE_FILE = Linux64/afw/g1+2/ups/afw.table\nEnd:\n"
    )
    assert stack.table_path("afw", "g1+2") == d / "ups" / "afw.table"
