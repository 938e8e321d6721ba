"""The release flow config file, the flows' names and steps, and the state file (no I/O
beyond temporary files)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from scipipe_tools.errors import InputError
from scipipe_tools.flows.config import (
    DEFAULT_ALLOW,
    DEFAULT_AUX_ALLOW,
    DEFAULT_AUX_DENY,
    DEFAULT_DENY,
    DEFAULT_EXTERNAL,
    FlowConfig,
    parse_flow_config,
    read_flow_config,
)
from scipipe_tools.flows.state import FlowState, load_state, open_state, state_path
from scipipe_tools.flows.steps import FlowKind, FlowRequest, names_for, steps_for

MINIMAL = """\
products: [lsst_distrib]
repos: repos.yaml
root: work
distrib:
  root: /srv/eups
forge:
  teams_file: teams.yaml
"""


def parse(text: str, tmp_path: Path) -> FlowConfig:
    return parse_flow_config(text, tmp_path / "release.yaml")


def error_of(text: str, tmp_path: Path) -> InputError:
    with pytest.raises(InputError) as err:
        parse(text, tmp_path)
    return err.value


def test_minimal_config_and_its_defaults(tmp_path: Path) -> None:
    c = parse(MINIMAL, tmp_path)
    assert c.products == ("lsst_distrib",)
    assert c.repos == str(tmp_path / "repos.yaml")
    assert c.root == tmp_path / "work"
    assert c.distrib.root == Path("/srv/eups") and c.distrib.read_base == "/srv/eups"
    assert c.distrib.visible_timeout == 0 and not c.distrib.sources
    assert c.forge.kind == "git" and c.forge.teams_file == tmp_path / "teams.yaml"
    # jenkins-dm-jobs' defaults
    assert (c.teams.allow, c.teams.deny, c.teams.external) == (
        DEFAULT_ALLOW,
        DEFAULT_DENY,
        DEFAULT_EXTERNAL,
    )
    assert DEFAULT_ALLOW == ("Data Management", "DM Externals")
    assert DEFAULT_DENY == ("DM Auxilliaries",)
    assert (c.aux_teams.allow, c.aux_teams.deny) == (DEFAULT_AUX_ALLOW, DEFAULT_AUX_DENY)
    assert c.aux_teams.ignore_existing_tag is True
    assert c.versiondb is None and c.build.run_tests
    assert c.layout.sources == tmp_path / "work" / "sources"
    assert c.layout.versiondb is None  # no versiondb configured, none in the root
    assert c.state_root == tmp_path / "work" / "release"
    assert c.results_path == tmp_path / "work" / "build" / "results.json"


def test_full_config(tmp_path: Path) -> None:
    text = MINIMAL.replace("distrib:\n  root: /srv/eups\n", "").replace(
        "forge:\n  teams_file: teams.yaml\n", ""
    ) + (
        "flavor: Linux64\n"
        "exclusions: excl.txt\n"
        "state_dir: state\n"
        "results: out/results.json\n"
        "build: {jobs: 3, fetch_jobs: 2, tries: 1, run_tests: no, fail_fast: true,"
        " binary_root: null}\n"
        "versiondb: {url: 'git@example.org:lsst/versiondb.git', remote: up, push: false}\n"
        "distrib:\n"
        "  root: srv\n"
        "  read_url: https://eups.example.org/stack/src\n"
        "  visible_timeout: 90\n"
        "  env_file: env.txt\n"
        "  conda_env: 12.1\n"
        "  sources: true\n"
        "  jobs: 2\n"
        "forge: {kind: github, org: lsst, token_path: tok, max_wait: 0, jobs: 4}\n"
        "teams: {allow: Data Management, deny: [], external: [DM Externals]}\n"
        "aux_teams: {allow: [], ignore_existing_tag: false}\n"
        "tagger: {user: sqreadmin, email: sqre-admin@lists.lsst.org}\n"
    )
    c = parse(text, tmp_path)
    assert c.flavor == "Linux64" and c.exclusions == tmp_path / "excl.txt"
    assert c.state_root == tmp_path / "state"
    assert c.results_path == tmp_path / "out" / "results.json"
    assert (c.build.jobs, c.build.fetch_jobs, c.build.tries) == (3, 2, 1)
    assert not c.build.run_tests and c.build.fail_fast and c.build.binary_root is None
    assert c.versiondb is not None
    assert c.versiondb.path == tmp_path / "work" / "versiondb"
    assert (c.versiondb.url, c.versiondb.remote, c.versiondb.push) == (
        "git@example.org:lsst/versiondb.git",
        "up",
        False,
    )
    assert c.layout.versiondb == tmp_path / "work" / "versiondb"
    d = c.distrib
    assert d.root == tmp_path / "srv" and d.read_base == "https://eups.example.org/stack/src"
    assert d.visible_timeout == 90.0 and d.env_file == tmp_path / "env.txt"
    assert d.conda_env == "12.1" and d.sources and d.jobs == 2
    f = c.forge
    assert (f.kind, f.org, f.token_path, f.max_wait, f.jobs) == (
        "github",
        "lsst",
        tmp_path / "tok",
        0.0,
        4,
    )
    assert f.key == "github:https://api.github.com/lsst"
    assert c.teams.allow == ("Data Management",) and c.teams.deny == ()
    assert c.aux_teams.allow == () and not c.aux_teams.ignore_existing_tag
    assert (c.tagger_user, c.tagger_email) == ("sqreadmin", "sqre-admin@lists.lsst.org")


@pytest.mark.parametrize(
    ("edit", "line", "message"),
    [
        (lambda t: t + "prodcuts: [x]\n", 8, "unknown key 'prodcuts'"),
        (lambda t: t.replace("root: work", "root: work\nroot: w2"), 4, "duplicate key 'root'"),
        (lambda t: t.replace("[lsst_distrib]", "[]"), 1, "at least one product"),
        (lambda t: t.replace("[lsst_distrib]", "{a: b}"), 1, "list of strings"),
        (lambda t: t + "build: {jobs: 0}\n", 8, "build.jobs must be at least 1"),
        (lambda t: t + "build: {jobs: two}\n", 8, "build.jobs must be an integer"),
        (lambda t: t + "build: {run_tests: maybe}\n", 8, "build.run_tests must be true or false"),
        (lambda t: t + "distrib2: {}\n", 8, "did you mean"),
        (lambda t: t.replace("  root: /srv/eups\n", "  conda_env: x\n"), 5, "missing 'root'"),
        (lambda t: t.replace("teams_file: teams.yaml", "kind: gitlab"), 7, "git or github"),
        (lambda t: t.replace("teams_file: teams.yaml", "kind: github"), 7, "needs 'org'"),
        (lambda t: t.replace("teams_file: teams.yaml", "kind: git"), 7, "needs 'teams_file'"),
        (lambda t: t + "teams: {allow: []}\n", 8, "at least one team"),
        (lambda t: t + "tagger: {name: x}\n", 8, "unknown key 'name'"),
        (lambda t: t + "distrib2: [\n", 9, "invalid YAML"),
        (lambda t: t.replace("repos: repos.yaml\n", ""), 1, "missing 'repos'"),
        (lambda t: t.replace("  root: /srv/eups\n", "  root: d\n  to: /srv/x\n"), 6, "s3://"),
        (lambda t: t + "build: {env: e, env_name: n}\n", 8, "cannot be combined"),
        (
            lambda t: t.replace("  root: /srv/eups\n", "  root: d\n  smoke: {cmd: x}\n"),
            6,
            "unknown key 'cmd'",
        ),
    ],
)
def test_errors_name_file_and_line(
    edit: Callable[[str], str], line: int, message: str, tmp_path: Path
) -> None:
    err = error_of(edit(MINIMAL), tmp_path)
    text = f"{err} {err.hint}"
    assert message in text
    assert err.location is not None and err.location.path == str(tmp_path / "release.yaml")
    assert err.location.line == line


def test_unknown_key_suggests_the_near_miss(tmp_path: Path) -> None:
    err = error_of(MINIMAL + "aux_team: {}\n", tmp_path)
    assert err.hint == "did you mean 'aux_teams'?"


def test_read_flow_config_errors_on_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read release flow config"):
        read_flow_config(tmp_path / "nope.yaml")
    (tmp_path / "empty.yaml").write_text("# nothing\n")
    with pytest.raises(InputError, match="empty file"):
        read_flow_config(tmp_path / "empty.yaml")


# ---------------------------------------------------------------- names and steps


@pytest.fixture
def config(tmp_path: Path) -> FlowConfig:
    return parse(MINIMAL.replace("[lsst_distrib]", "[lsst_distrib, lsst_ci]"), tmp_path)


def test_weekly_and_nightly_names(config: FlowConfig) -> None:
    w = names_for(FlowRequest(FlowKind.WEEKLY, date="2020-12-31"), config)
    assert (w.git_tag, w.eups_tag, w.rolling) == ("w.2021.01", "w_2021_01", ("w_latest",))
    assert w.products == ("lsst_distrib", "lsst_ci") and not w.tagging_dry_run
    n = names_for(FlowRequest(FlowKind.NIGHTLY, date="2026-01-19T07:00:00Z"), config)
    assert (n.git_tag, n.eups_tag, n.rolling) == ("d.2026.01.18", "d_2026_01_18", ("d_latest",))
    assert n.tagging_dry_run
    with pytest.raises(InputError, match="takes only --date"):
        names_for(FlowRequest(FlowKind.WEEKLY, git_tag="w.2025.01"), config)


def test_official_names(config: FlowConfig) -> None:
    rc = names_for(
        FlowRequest(FlowKind.OFFICIAL, git_tag="v29.0.0.rc1", source_refs=("w.2025.10",)), config
    )
    assert not rc.final and rc.build_refs == ("v29.0.0.rc1",) and rc.rolling == ()
    assert rc.eups_tag == "v29_0_0_rc1" and not rc.tagging_dry_run
    final = names_for(
        FlowRequest(
            FlowKind.OFFICIAL,
            git_tag="29.0.0",
            source_refs=("v29.0.x", "v29.0.0.rc2"),
            o_latest=True,
            exclude=("lsst_ci",),
        ),
        config,
    )
    assert final.final and final.build_refs == ("v29.0.0", "29.0.0")
    assert final.eups_tags == ("v29_0_0", "o_latest")
    assert final.products == ("lsst_distrib",) and final.excluded == ("lsst_ci",)
    assert final.source_refs == ("v29.0.x", "v29.0.0.rc2")
    # a tag without the v is final: spec quirk kept
    assert names_for(
        FlowRequest(FlowKind.OFFICIAL, git_tag="29.0.0.rc1", source_refs=("main",)), config
    ).final


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"git_tag": "v29.0.0.rc1", "o_latest": True}, "only for a final release"),
        ({"git_tag": None}, "needs --tag"),
        ({"git_tag": "V29"}, "invalid git tag"),
        ({"git_tag": "29.0.0", "source_refs": ()}, "needs --source-refs"),
        ({"git_tag": "29.0.0", "source_refs": ("bad..ref",)}, "invalid git ref"),
        ({"git_tag": "29.0.0", "exclude": ("lsst_cj",)}, "did you mean 'lsst_ci'?"),
        ({"git_tag": "29.0.0", "exclude": ("lsst_ci", "lsst_distrib")}, "leaves no product"),
        ({"git_tag": "29.0.0", "date": "2025-01-01"}, "--date is for"),
    ],
)
def test_official_rejects(config: FlowConfig, kw: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"source_refs": ("w.2025.10",), **kw}
    with pytest.raises(InputError) as err:
        names_for(FlowRequest(FlowKind.OFFICIAL, **args), config)  # type: ignore[arg-type]
    assert message in f"{err.value} {err.value.hint}"


def test_steps_of_each_flow(config: FlowConfig) -> None:
    weekly = steps_for(names_for(FlowRequest(FlowKind.WEEKLY, date="2025-04-10"), config), config)
    assert [s.name for s in weekly] == [
        "rebuild", "versiondb", "publish", "tag-release", "tag-teams", "changelog", "results",
    ]  # fmt: skip
    assert "w_2025_15, w_latest" in weekly[2].description
    nightly = steps_for(names_for(FlowRequest(FlowKind.NIGHTLY, date="2025-04-10"), config), config)
    assert "(dry run)" in nightly[3].description and "(dry run)" in nightly[4].description
    official = steps_for(
        names_for(
            FlowRequest(FlowKind.OFFICIAL, git_tag="29.0.0", source_refs=("v29.0.0.rc1",)), config
        ),
        config,
    )
    assert [s.name for s in official] == [
        "prepare", "versiondb-prepare", "tag-release", "tag-teams", "rebuild", "versiondb",
        "publish", "changelog", "results",
    ]  # fmt: skip
    assert "v29.0.0 29.0.0" in official[4].description
    assert "manifest only" in official[2].description


# ---------------------------------------------------------------- the state file


def test_state_round_trip_and_resume(tmp_path: Path) -> None:
    path = state_path(tmp_path, "w.2025.15")
    inputs = {"flow": "weekly", "products": ["lsst_distrib"]}
    state = open_state(path, "weekly", "w.2025.15", inputs)
    assert state.steps == {} and not path.exists()
    state.start("rebuild")
    assert load_state(path) is not None
    assert not state.complete("rebuild")  # killed while running: not done
    state.finish("rebuild", "done", {"manifest_id": "b12"})
    state.start("publish")
    state.finish("publish", "failed", {}, error="boom", exit_code=1)
    again = open_state(path, "weekly", "w.2025.15", inputs)
    assert again.complete("rebuild") and again.outputs("rebuild") == {"manifest_id": "b12"}
    assert not again.complete("publish") and again.steps["publish"].exit_code == 1
    raw = json.loads(path.read_text())
    assert raw["schema"] == 1 and raw["steps"]["publish"]["error"] == "boom"
    fresh = open_state(path, "weekly", "w.2025.15", inputs, restart=True)
    assert fresh.steps == {}


def test_state_of_other_inputs_is_refused(tmp_path: Path) -> None:
    path = state_path(tmp_path, "v29.0.0")
    FlowState(path, "official", "v29.0.0", {"source_refs": ["a"]}).save()
    with pytest.raises(InputError, match=r"other inputs \(source_refs\)") as err:
        open_state(path, "official", "v29.0.0", {"source_refs": ["b"]})
    assert "--restart" in str(err.value.hint)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"schema": 9}', "state schema 9"),
        ('{"schema": 1, "flow": "weekly"}', "not a release flow state file"),
    ],
)
def test_a_broken_state_file_is_an_error_naming_it(tmp_path: Path, text: str, message: str) -> None:
    path = state_path(tmp_path, "w.2025.15")
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(InputError, match=message) as err:
        load_state(path)
    assert str(path) in str(err.value) and "--restart" in str(err.value.hint)


def test_issue_17_keys(tmp_path: Path) -> None:
    text = (
        MINIMAL.replace(
            "  root: /srv/eups\n",
            """  root: /srv/eups
  to: s3://bucket/stack/src
  s3_endpoint: http://127.0.0.1:9000
  smoke: {products: [base], command: "python -c pass", env: envs/rubin}
""",
        )
        + "build: {cache: s3://bucket/cache}\n"
    )
    c = parse(text, tmp_path)
    assert c.build.cache == "s3://bucket/cache"
    assert c.distrib.to == "s3://bucket/stack/src"
    assert c.distrib.s3_endpoint == "http://127.0.0.1:9000"
    assert c.distrib.smoke is not None and c.distrib.smoke.products == ("base",)
    assert c.distrib.smoke.command == "python -c pass"
    assert c.distrib.smoke.env == tmp_path / "envs" / "rubin"
    on = parse(
        MINIMAL.replace("  root: /srv/eups\n", "  root: /srv/eups\n  smoke: true\n"), tmp_path
    )
    assert on.distrib.smoke is not None and on.distrib.smoke.products == ()
    assert parse(MINIMAL, tmp_path).distrib.smoke is None


@pytest.mark.parametrize(
    "value",
    [
        "https://raw.githubusercontent.com/lsst/repos/main/etc/repos.yaml",
        "http://127.0.0.1:8080/etc/repos.yaml",
        "s3://bucket/etc/repos.yaml",
        "file:///srv/repos/etc/repos.yaml",
    ],
)
def test_repos_may_be_a_url_kept_as_given(tmp_path: Path, value: str) -> None:
    c = parse(MINIMAL.replace("repos: repos.yaml", f"repos: {value}"), tmp_path)
    assert c.repos == value


def test_repos_a_path_is_made_absolute_and_an_unknown_scheme_is_refused(tmp_path: Path) -> None:
    assert parse(MINIMAL, tmp_path).repos == str(tmp_path / "repos.yaml")
    err = error_of(MINIMAL.replace("repos: repos.yaml", "repos: ftp://x/repos.yaml"), tmp_path)
    assert err.location is not None and err.location.line == 2
    assert "repos" in str(err) and "ftp" in str(err)


def test_build_timeouts(tmp_path: Path) -> None:
    c = parse(MINIMAL + "build: {timeout: 7200, total_timeout: 43200.5}\n", tmp_path)
    assert (c.build.timeout, c.build.total_timeout) == (7200.0, 43200.5)
    none = parse(MINIMAL + "build: {timeout: null}\n", tmp_path)
    assert (none.build.timeout, none.build.total_timeout) == (None, None)
    err = error_of(MINIMAL + "build: {total_timeout: 0}\n", tmp_path)
    assert "build.total_timeout must be a finite number, at least 1" in str(err)
    assert ":" in str(err).split("build.total_timeout")[0]  # file:line first


def test_build_docs(tmp_path: Path) -> None:
    assert parse(MINIMAL, tmp_path).build.docs is False
    assert parse(MINIMAL + "build: {docs: true}\n", tmp_path).build.docs is True
    err = error_of(MINIMAL + "build: {docs: maybe}\n", tmp_path)
    assert "build.docs" in str(err)
