"""Fuzzing every input file parser (hypothesis): whatever the bytes, a result or our error.

Each parser gets arbitrary bytes, arbitrary text, a soup of its format's own tokens, and
mutations of a valid file of its format (random text rarely gets past line 1).  Nothing
may escape but a :class:`ScipipeError` with a one-line message, and no example may take
longer than :data:`DEADLINE_MS` (a bound that catches hangs and blow-ups, not speed).
"""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scipipe_tools import yamlfile
from scipipe_tools.changelog.overrides import parse_overrides
from scipipe_tools.ci.buildmatrix import parse_build_matrix
from scipipe_tools.ci.pins import uses_in
from scipipe_tools.distrib.manifest import parse_dist_manifest
from scipipe_tools.env.spec import parse_spec
from scipipe_tools.errors import ScipipeError
from scipipe_tools.eups.manifest import parse_manifest
from scipipe_tools.eups.repos import parse_repos
from scipipe_tools.eups.taglist import parse_taglist
from scipipe_tools.flows.config import parse_flow_config
from scipipe_tools.infra.lockfile import (
    Lock,
    LockedPackage,
    parse_env,
    parse_explicit,
    parse_lock,
    write_lock,
)
from scipipe_tools.release.policy import parse_policy

MULT = int(os.environ.get("SCIPIPE_HYPOTHESIS_MULT", "1"))
DEADLINE_MS = 2000
SHA = "0123456789abcdef" * 2 + "01234567"


def _text(data: bytes) -> str:
    """What ``files.read_text`` makes of a file's bytes."""
    return data.decode("utf-8", errors="surrogateescape")


def _lock_sample() -> bytes:
    lock = Lock(
        (
            LockedPackage(
                "linux-64",
                "python",
                "3.13.7",
                "h_0",
                "https://c.org/conda-forge/linux-64/python-3.13.7-h_0.conda",
                md5="0" * 32,
                sha256="1" * 64,
                depends=("libzlib >=1.3",),
            ),
            LockedPackage(
                "linux-64",
                "libzlib",
                "1.3.1",
                "hb9d3cd8_2",
                "https://c.org/conda-forge/linux-64/libzlib-1.3.1-hb9d3cd8_2.conda",
                md5="2" * 32,
            ),
        ),
        ("linux-64",),
        ("conda-forge",),
        {"linux-64": "3" * 64},
    )
    with tempfile.TemporaryDirectory() as tmp:
        write_lock(Path(tmp) / "conda-lock.yml", lock)
        return (Path(tmp) / "conda-lock.yml").read_bytes()


LOCK = _lock_sample()

SAMPLES: dict[str, bytes] = {
    "repos": b"""# repos.yaml
afw: https://github.com/lsst/afw.git
base:
  url: https://github.com/lsst/base.git
  ref: main
testdata_x:
  url: https://github.com/lsst/testdata_x.git
  lfs: true
""",
    "flow": b"""products: [lsst_distrib, lsst_ci]
repos: repos.yaml
root: work
flavor: Linux64
exclusions: exclusions.txt
build: {jobs: 8, fetch_jobs: 8, tries: 3, run_tests: true, fail_fast: false, binary_root: null}
versiondb: {path: work/versiondb, url: git@github.com:lsst/versiondb.git, remote: origin}
distrib:
  root: /srv/eups/stack/src
  read_url: https://eups.example.org/stack/src
  visible_timeout: 1800
  env_file: rubin-env.explicit
  platform: linux-64
  sources: false
  jobs: 4
forge: {kind: git, teams_file: teams.yaml, org: lsst, jobs: 8, max_wait: 3600.5}
teams: {allow: [Data Management, DM Externals], deny: [DM Auxilliaries], external: x}
aux_teams: {allow: [DM Auxilliaries], deny: [DM Externals], ignore_existing_tag: true}
tagger: {user: sqreadmin, email: sqre-admin@lists.lsst.org}
changelog: {output: site, formats: [html, md], jira: null, overrides: o.yaml}
""",
    "teams": b"""org: lsst
teams:
  Data Management: [afw, base, daf_butler]
  DM Externals: [eigen, lsst-dm/legacy-foo]
urls:
  lsst/versiondb: git://127.0.0.1:9418/lsst/versiondb.git
url_pattern: "git://127.0.0.1:9418/{owner}/{name}.git"
""",
    "overrides": b"""first_tag: w.2020.01
discard_tag: [w.2021.07]
skip_products: ["testdata_*", "*_testdata"]
patch_merges:
  - url: https://github.com/lsst/afw/pull/123
    product: afw
    ticket: DM-12345
    oid: 0123456789abcdef0123456789abcdef01234567
    date: 2021-03-04T05:06:07Z
""",
    "spec": b"""name: rubin-env
version: 13.0.1
channels: [conda-forge]
dependencies: ["rubin-env ==13.0.1"]
variants:
  developer: ["rubin-env-developer ==13.0.1"]
platforms: [linux-64, osx-arm64]
virtual_packages:
  linux-64: {__glibc: "2.17", __unix: 0}
""",
    "matrix": b"""rubin_env: 13.0.1
platforms:
  - name: linux-64
    runner: ubuntu-24.04
    image: ghcr.io/lsst-dm/docker-scipipe:9-latest
    label: docker
    eups_flavor: Linux64
  - {name: osx-arm64, runner: macos-14, label: osx-arm64, eups_flavor: Darwin, image: null}
canonical:
  products: [lsst_distrib, lsst_ci]
  platform: linux-64
  label: snowflake-0
""",
    "workflow": b"""on: push
jobs:
  build:
    runs-on: ubuntu-24.04
    steps: &steps
      - uses: actions/checkout@0123456789abcdef0123456789abcdef01234567
      - uses: ./local
  again: {runs-on: x, uses: org/repo/.github/workflows/w.yaml@v1, steps: *steps}
""",
    "lock": LOCK,
    "explicit": f"""# platform: linux-64
@EXPLICIT
https://c.org/conda-forge/linux-64/python-3.13.7-h_0.conda#{"0" * 32}
https://c.org/conda-forge/noarch/eups-2.2.15-pyhd8ed1ab_0.conda#sha256:{"1" * 64}
""".encode(),
    "manifest": f"""# product                 SHA1                                      Version
BUILD=b8466
utils                     {SHA}  g0123456789
base                      {SHA}  g0123456789+0123456789                   utils
afw                       {SHA}  g0123456789+abcdef0123                   base,utils
""".encode(),
    "taglist": b"""EUPS distribution w_2025_15 version list. Version 1.0
#BUILD=b8466
#CONDA_ENV=13.0.1
#product             flavor     version
afw                  generic    g0123456789+abcdef0123
base                 Linux64    g0123456789 extra
""",
    "dist_manifest": b"""EUPS distribution manifest for afw (g1). Version 1.0
#pkg flavor version tablefile installation_directory installID
base                 generic    g0         base.table  base/g0 eupspkg:base-g0.eupspkg
afw                  generic    g1         afw.table   afw/g1  eupspkg:afw-g1.eupspkg
""",
}


def _pins(data: bytes) -> object:
    return list(uses_in(yamlfile.compose(data, "ci.yaml", aliases=True), Path("ci.yaml")))


PARSERS: dict[str, Callable[[bytes], object]] = {
    "repos": lambda b: parse_repos(b, "repos.yaml"),
    "flow": lambda b: parse_flow_config(b, "/srv/release.yaml"),
    "teams": lambda b: parse_policy(b, "teams.yaml"),
    "overrides": lambda b: parse_overrides(b, "overrides.yaml"),
    "spec": lambda b: parse_spec(b, "env.yaml"),
    "matrix": lambda b: parse_build_matrix(b, "build-matrix.yaml"),
    "workflow": _pins,
    "lock": lambda b: parse_lock(b, "conda-lock.yml"),
    "env": lambda b: parse_env(_text(b), "conda-lock.yml", "linux-64"),
    "explicit": lambda b: parse_explicit(_text(b), "w.env", "linux-64"),
    "manifest": lambda b: parse_manifest(_text(b), "manifest.txt", strict=True),
    "manifest_listed": lambda b: parse_manifest(_text(b), "b8466.txt"),
    "taglist": lambda b: parse_taglist(_text(b), "w_2025_15.list"),
    "dist_manifest": lambda b: parse_dist_manifest(_text(b), "afw-g1.manifest"),
}


SAMPLE_OF = {**{name: name for name in SAMPLES}, "manifest_listed": "manifest", "env": "lock"}

#: bits of every format: what makes random text look like an input
TOKENS = [
    b": ",
    b"- ",
    b"[",
    b"]",
    b"{",
    b"}",
    b", ",
    b"&a ",
    b"*a",
    b"&b [*a, *a, *a]",
    b"!!int ",
    b"!!str ",
    b"!!binary ",
    b"!!timestamp ",
    b"!!bool ",
    b"!!set ",
    b"!!omap ",
    b"!!float ",
    b"!foo ",
    b'"\\0"',
    b'"\\x07"',
    b'"\\uFFFE"',
    b'"\\ud800"',
    b"? ",
    b"|\n",
    b">-\n",
    b"\t",
    b"\x00",
    b"\x7f",
    b"\xff",
    b"\xc3",
    b"\xe2\x82",
    b"\xef\xbb\xbf",
    b"\xed\xa0\x80",
    b"---\n",
    b"...\n",
    b"%YAML 1.1\n",
    b"%TAG ! x\n",
    b"<<: *a",
    b'"',
    b"'",
    b"#",
    b"~",
    b"null",
    b"true",
    b"yes",
    b"1e999",
    b"-.inf",
    b".nan",
    b"0x1F",
    b"0o17",
    b"1_000",
    b"99999999999999999999999",
    b"2020-01-01",
    b"2020-99-99",
    b"\n  ",
    b"\n    ",
    b"\n",
    b"\r\n",
    b"\r",
    b"\x85",
    b"\xe2\x80\xa8",
    b" ",
    b"=",
    b"==",
    b"BUILD=",
    b"BUILD=b1",
    b"b12",
    b"@EXPLICIT",
    b"#platform: ",
    b"https://x/linux-64/",
    b"a-1-0.conda",
    b"#sha256:",
    b"generic",
    b"EUPS distribution ",
    b" version list. Version 1.0",
    b"manifest for ",
    b"eupspkg:",
    b".tar.gz",
    SHA.encode(),
    b"afw",
    b"base",
    b"url",
    b"ref",
    b"lfs",
    b"products",
    b"repos",
    b"root",
    b"distrib",
    b"forge",
    b"teams",
    b"org",
    b"version",
    b"package",
    b"metadata",
    b"platforms",
    b"name",
    b"dependencies",
    b"patch_merges",
]


#: values of every YAML type and shape, for the keys of a valid file
VALUES = [
    b"", b"~", b"null", b"[]", b"{}", b"[[]]", b"[{}]", b"{a: 1}", b"[a, b]", b"[1, 2]",
    b"true", b"false", b"yes", b"0", b"-1", b"1", b"99999999999999999999", b"1.5", b"-0.0",
    b"1e999", b".inf", b"-.inf", b".nan", b"0x1F", b"190:20:30", b'""', b"''", b'" "',
    b"!!binary aGk=", b"!!set {a, b}", b"!!omap [a: 1]", b"2020-01-01", b"2020-01-01T00:00:00Z",
    b"x" * 300, b"a b c", b"~/x", b"../../etc/passwd", b"/", b"https://", b"file:///x",
    b"git://h/o/n.git", b"'{owner}/{name}'", b"'{name'", b"DM-1", b"w.2020.01", b"b1",
    b"linux-64", b"Linux64", b"conda", b"pip", SHA.encode(), b"'" + SHA.encode() + b"'",
    b"|\n  block\n", b">\n  folded\n", b"&a [1]", b"*a", b"? a", b"- a",
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, sample: bytes) -> bytes:
    """``sample`` with a few random edits: most of the file stays valid, so the parser
    gets deep before it meets the damage."""
    data = bytearray(sample)
    for _ in range(draw(st.integers(1, 5))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["byte", "token", "cut", "line", "swap", "truncate", "value"]))
        if op == "byte" and data:
            data[min(at, len(data) - 1)] = draw(st.integers(0, 255))
        elif op == "token":
            data[at:at] = draw(st.sampled_from(TOKENS))
        elif op == "cut":
            del data[at : at + draw(st.integers(1, 20))]
        elif op in ("line", "swap"):
            lines = bytes(data).split(b"\n")
            i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            if op == "line":
                lines.insert(j, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            data = bytearray(b"\n".join(lines))
        elif op == "truncate":
            del data[at:]
        elif op == "value":  # another type or shape where the format wants a value
            lines = bytes(data).split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            key, sep, _ = lines[i].partition(b": ")
            lines[i] = key + (sep or b": ") + draw(st.sampled_from(VALUES))
            data = bytearray(b"\n".join(lines))
    return bytes(data)


def inputs(name: str) -> st.SearchStrategy[bytes]:
    sample = SAMPLES[SAMPLE_OF[name]]
    return st.one_of(
        st.binary(max_size=400),
        st.text(max_size=300).map(lambda t: t.encode("utf-8", errors="surrogateescape")),
        st.lists(st.sampled_from(TOKENS), max_size=60).map(b"".join),
        mutated(sample),
    )


def _check(name: str, data: bytes) -> None:
    try:
        PARSERS[name](data)
    except ScipipeError as exc:
        assert str(exc)
        assert "\n" not in str(exc), f"a multi-line error: {exc!r}"


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_samples_parse(name: str) -> None:
    """The valid files the mutations start from are valid (so the mutations test depth)."""
    for parser, sample in SAMPLE_OF.items():
        if sample == name:
            PARSERS[parser](SAMPLES[name])


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_parsers_give_a_result_or_our_error(name: str) -> None:
    @settings(
        max_examples=300 * MULT,
        deadline=DEADLINE_MS,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(inputs(name))
    def run(data: bytes) -> None:
        _check(name, data)

    run()


#: inputs built to be slow for a parser that is not linear (each one well-formed enough
#: to be read to its end), as (parser, bytes)
def _laughs(head: str) -> bytes:
    """Aliases that expand to 10**10 nodes (the "billion laughs")."""
    names = "abcdefghijk"
    lines = [f"{head}: &a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"{k}: &{k} [{', '.join(['*' + p] * 10)}]" for p, k in itertools.pairwise(names)]
    return "\n".join(lines).encode() + b"\n"


ADVERSARIAL: list[tuple[str, bytes]] = [
    ("repos", b"".join(b"p%d: https://x/p%d.git\n" % (i, i) for i in range(20000))),
    ("repos", b"a: " + b"[" * 100000),
    ("repos", b"a:\n" + b"".join(b" " * i + b"b:\n" for i in range(1, 3000))),
    ("repos", _laughs("a")),
    ("workflow", _laughs("jobs")),
    ("lock", b"version: 1\n" + _laughs("package")),
    ("workflow", b"a: &a [*a]\n"),
    ("teams", b"org: o\nteams:\n" + b"".join(b"  t%d: [r%d]\n" % (i, i) for i in range(20000))),
    ("overrides", b"discard_tag:\n" + b"- w.2020.01\n" * 20000),
    ("spec", b"name: e\nversion: '1'\nchannels: [c]\ndependencies: [" + b"a, " * 20000 + b"]\n"),
    (
        "explicit",
        b"@EXPLICIT\n"
        + b"".join(b"https://x/linux-64/p%d-1-0.conda#%s\n" % (i, b"0" * 32) for i in range(60000)),
    ),
    ("explicit", b"@EXPLICIT\n" + b"https://x/linux-64/p-1-0.conda\n" * 20000),
    (
        "manifest",
        b"# h\nBUILD=b1\n"
        + b"".join(
            b"p%d %s g1 %s\n"
            % (i, SHA.encode(), b",".join(b"p%d" % j for j in range(max(0, i - 20), i)) or b"p0")
            for i in range(1, 5000)
        ),
    ),
    ("taglist", SAMPLES["taglist"] + b"".join(b"p%d generic 1\n" % i for i in range(20000))),
    (
        "workflow",
        b"jobs:\n" + b"".join(b"  j%d: {steps: [{uses: a/b@v1}]}\n" % i for i in range(5000)),
    ),
    ("flow", b"products: [" + b"p, " * 50000 + b"]\n"),
    ("matrix", b"a" * 1_000_000 + b": b\n"),
]


@pytest.mark.parametrize(("name", "data"), ADVERSARIAL, ids=[n for n, _ in ADVERSARIAL])
def test_big_and_nasty_inputs_finish(name: str, data: bytes) -> None:
    start = time.perf_counter()
    _check(name, data)
    assert time.perf_counter() - start < 10 * DEADLINE_MS / 1000
