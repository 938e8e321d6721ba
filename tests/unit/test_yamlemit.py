"""yamlemit.dump writes plain data byte for byte as ``yaml.dump`` does (with libyaml's
emitter, block style), on generated data full of texts YAML reads as something else, and
on a real conda-lock.yml; what it does not represent falls back to ``yaml.dump``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from scipipe_tools import yamlemit, yamlfile
from scipipe_tools.cli.app import cli, run
from scipipe_tools.demo.channel import channel_url

from ..cli.test_env_cli import write_spec

DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

#: texts that read back as another type, need quotes, or escape
TRICKY = ["", "null", "Null", "~", "true", "yes", "off", "1", "1.0", "-1", "0x1f", "0o7",
          "1_000", ".inf", ".nan", "2001-12-14", "2001-12-14t21:59:43.10-05:00", "a: b",
          "- a", "#c", "a #c", " lead", "trail ", "two\nlines", "tab\there", "é", "日本",
          "\x00", "\x85", "\u2028", "'q'", '"dq"', "@x", "`x", "!x", "&a", "*a", "%x",
          "{x", "[x", "]", "}", ">", "|", "?", ":", "=", "<<", "---", "...", "x" * 200,
          "=1.2,<2", "numpy >=2.3,<3", "https://conda.anaconda.org/conda-forge/linux-64/x",
          "a" + " " * 90 + "b"]  # fmt: skip

scalars = st.none() | st.booleans() | st.integers() | st.sampled_from(TRICKY) | st.text()
keys = st.sampled_from(TRICKY) | st.text(max_size=8) | st.integers()
data = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=25,
)


def reference(value: Any, sort_keys: bool) -> str:
    text: str = yaml.dump(value, Dumper=DUMPER, sort_keys=sort_keys, default_flow_style=False)
    return text


@settings(max_examples=400, deadline=None)
@given(value=data, sort_keys=st.booleans())
def test_the_same_bytes_as_yaml_dump(value: Any, sort_keys: bool) -> None:
    ours = yamlemit.dump(value, DUMPER, sort_keys=sort_keys)
    assert ours is not None
    assert ours == reference(value, sort_keys)


@pytest.mark.parametrize(
    "value",
    [
        {"pi": 3.14},  # a float: PyYAML's own rules
        {"a": (shared := [1, 2]), "b": shared},  # one list twice: an alias
        {"when": __import__("datetime").date(2025, 1, 2)},
        {1: "x", "a": "y"},  # keys that do not sort: kept in order
    ],
)
def test_what_it_does_not_represent_is_yaml_dumps(value: Any) -> None:
    assert yamlfile.dump(value) == reference(value, True)
    assert yamlfile.dump(value, sort_keys=False) == reference(value, False)


def test_a_real_lock_is_written_as_yaml_dump_writes_it(
    tmp_path: Path, conda_channel: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCIPIPE_CACHE_DIR", str(tmp_path / "cache"))
    spec = write_spec(tmp_path / "envs" / "e.yaml", [channel_url(conda_channel)])
    assert run(cli, ["-q", "env", "lock", str(spec), "--no-explicit"], "scipipe") == 0
    text = spec.with_name("e.conda-lock.yml").read_text()
    body = text[text.index("\nversion: ") + 1 :]
    document = yaml.safe_load(body)  # the mappings in the file's order: as the models gave
    assert len(document["package"]) > 40
    assert yamlemit.dump(document, DUMPER, sort_keys=False) == reference(document, False) == body
