"""The one YAML reader: every refusal names file:line[:column]."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from scipipe_tools import yamlfile
from scipipe_tools.errors import InputError
from scipipe_tools.infra.files import read_text
from scipipe_tools.text import check_utf8, decode


def _error(source: str | bytes, **kw: bool) -> str:
    with pytest.raises(InputError) as info:
        yamlfile.compose(source, "f.yaml", **kw)
    return str(info.value)


def _load_error(source: str | bytes) -> str:
    with pytest.raises(InputError) as info:
        yamlfile.load(source, "f.yaml")
    return str(info.value)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (b"a: 1\nb: \xff\n", "f.yaml:2:4: not UTF-8: byte 0xff"),
        (b"a: 1\nb: caf\xc3\xa9 \xc3(\n", "f.yaml:2:9: not UTF-8: byte 0xc3"),  # after a 2-byte é
        ("a: 1\n# \udcfe\n", "f.yaml:2:3: not UTF-8: byte 0xfe"),  # read_text's escape
        (b"\xff\xfea\x00:\x00", "f.yaml:1:1: not UTF-8: byte 0xff"),  # UTF-16 is refused
        ("a: 1\nb: \x00\n", "f.yaml:2:4: invalid character U+0000 (not allowed in YAML)"),
        ("a:\n  - x\x1b[31m\n", "f.yaml:2:6: invalid character U+001B (not allowed in YAML)"),
    ],
)
def test_bytes_and_characters_yaml_cannot_hold(source: str | bytes, expected: str) -> None:
    assert _error(source) == expected
    assert _load_error(source) == expected


def test_decode_and_read_text_then_check_utf8_agree(tmp_path: Path) -> None:
    f = tmp_path / "x.txt"
    f.write_bytes(b"ok\nstill ok \xe2\x82\n")
    with pytest.raises(InputError) as a:
        decode(f.read_bytes(), f)
    with pytest.raises(InputError) as b:
        check_utf8(read_text(f, "x"), f)
    assert str(a.value) == str(b.value) == f"{f}:2:10: not UTF-8: byte 0xe2"


def test_a_bom_is_fine() -> None:
    node = yamlfile.compose(b"\xef\xbb\xbfa: 1\n", "f.yaml")
    assert isinstance(node, yamlfile.MappingNode)


def test_syntax_errors_keep_line_and_column() -> None:
    assert _error("a: [1,\n") == (
        "f.yaml:2:1: invalid YAML: did not find expected node content (while parsing a flow node)"
    )
    assert _error("a: 1\n- b\n").startswith("f.yaml:2:1: invalid YAML: ")
    assert _error("a: 1\n---\nb: 2\n") == (
        "f.yaml:2:1: invalid YAML: expected a single document in the stream, "
        "but found another document"
    )


@pytest.mark.parametrize("reader", [_error, _load_error])
def test_duplicate_keys_name_both_lines_and_where(reader: object) -> None:
    assert callable(reader)
    assert reader("a: 1\nb: 2\na: 3\n") == "f.yaml:3:1: duplicate key 'a' (first at line 1)"
    text = "build:\n  jobs: 1\nplatforms:\n  - {name: x, name: y}\n"
    assert reader(text) == "f.yaml:4:15: platforms[0]: duplicate key 'name' (first at line 4)"


def test_duplicate_keys_may_be_left_to_the_caller() -> None:
    assert yamlfile.compose("a: 1\na: 2\n", "f.yaml", unique_keys=False) is not None


def test_aliases() -> None:
    text = "a: &x [1]\nb: *x\n"
    assert _error(text) == "f.yaml:2:4: invalid YAML: aliases (*name) are not allowed in this file"
    assert yamlfile.compose(text, "f.yaml", aliases=True) is not None
    assert yamlfile.load(text, "f.yaml")[0] == {"a": [1], "b": [1]}
    assert yamlfile.compose("a: '&' \n", "f.yaml") is not None  # an ampersand is no anchor


def test_billion_laughs_and_recursion_are_refused_quickly() -> None:
    names = "abcdefghij"
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"{k}: &{k} [{', '.join(['*' + p] * 10)}]" for p, k in itertools.pairwise(names)]
    laughs = "\n".join(lines) + "\n"
    message = f"invalid YAML: aliases expand to more than {yamlfile.MAX_EXPANSION} nodes"
    assert _error(laughs, aliases=True).endswith(message)
    assert _load_error(laughs).endswith(message)
    assert _error("a: &a [*a]\n", aliases=True) == "f.yaml:1:4: invalid YAML: recursive alias"
    assert _load_error("a: &a [*a]\n") == "f.yaml:1:4: invalid YAML: recursive alias"


def test_escapes_cannot_smuggle_control_characters() -> None:
    assert _error('a: ok\nb: "x\\0y"\n') == "f.yaml:2:4: invalid character U+0000 in a value"
    assert _load_error('a: ["\\x1b"]\n') == "f.yaml:1:5: invalid character U+001B in a value"
    data, _ = yamlfile.load('a: "tab\\there, \\u00e9"\n', "f.yaml")
    assert data == {"a": "tab\there, é"}


def test_load_places_values_it_cannot_make() -> None:
    assert _load_error("a: 1\nb: !!int twelve\n") == (
        "f.yaml:2:4: invalid YAML: cannot read 'twelve' as tag:yaml.org,2002:int"
    )
    assert _load_error("b: !!int\n").startswith("f.yaml:1:4: invalid YAML: cannot read ''")
    assert _load_error("!!set (\n").startswith("f.yaml:1:1: invalid YAML: expected a mapping")
    assert yamlfile.load("# nothing\n", "f.yaml") == (None, None)


def test_find_and_marks() -> None:
    root = yamlfile.compose("a:\n  b:\n    - x\n    - {c: 1}\n", "f.yaml")
    assert root is not None
    c = yamlfile.find(root, ["a", "b", 1, "c"])
    assert (yamlfile.line(c), yamlfile.column(c)) == (4, 11)
    assert yamlfile.line(yamlfile.find(root, ["a", "nope", 3])) == 2
    assert str(yamlfile.at("f.yaml", c)) == "f.yaml:4:11"
