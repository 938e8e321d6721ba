"""The release flows' configuration file (``scipipe release weekly|nightly|official``).

One YAML file says what to build, where, and where the results go; relative paths are
relative to the file.  Every key but ``products``, ``repos``, ``root`` and
``distrib.root`` is optional::

    # release.yaml
    products: [lsst_distrib, lsst_ci]      # the top-level products built and published
    repos: repos.yaml                      # product -> git URL: a path, or a file://,
                                           #   http(s):// or s3:// URL
    root: work                             # the work root (lsstsw's $LSSTSW): sources/,
                                           #   stack/, build/, versiondb/
    flavor: Linux64                        # EUPS flavor [default: this machine]
    exclusions: exclusions.txt             # [default: cuda_toolkit, cuda_sdk, condor]
    state_dir: work/release                # flow state: <state_dir>/<git tag>/state.json
    results: work/build/results.json       # the results.json artifact [default as shown]
    build:
      jobs: 8                              # products built at once [default: CPUs]
      fetch_jobs: 8
      tries: 3                             # attempts per clone/fetch
      run_tests: true
      fail_fast: false
      binary_root: null                    # distrib root to fetch prebuilt tarballs from
      cache: s3://bucket/cache             # a binary cache shared by agents (build --cache):
                                           #   a directory, s3://, or http(s) (read only)
      env: /opt/envs/rubin-env             # build inside this environment (build --env), or
      env_name: lsst-scipipe-12.1.0        #   the named one (build -e) [default: none]
      timeout: 7200                        # seconds a product's build steps may take
                                           #   (build --timeout) [default: no limit]
      total_timeout: 43200                 # seconds the whole build may take (build
                                           #   --total-timeout; release --build-total-timeout
                                           #   overrides it) [default: no limit]
      docs: false                          # then each product's Sphinx docs (build --docs)
    versiondb:                             # absent: no versiondb is synced or pushed
      path: work/versiondb                 # [default: <root>/versiondb]
      url: git@github.com:lsst/versiondb.git   # cloned from here when path is absent
      remote: origin
      push: true                           # pull before the build, push after it
    distrib:
      root: /srv/eups/stack/src            # the server root tags are published into
      read_url: https://eups.example.org/stack/src   # where readers see it [default: root]
      visible_timeout: 1800                # seconds to wait for a tag to be visible
      env_file: rubin-env.explicit         # env/<tag>.env (and #CONDA_ENV from it)
      conda_env: 12.1.0                    # #CONDA_ENV when there is no env_file
      platform: linux-64                   # the env file's platform [default: this one]
      sources: false                       # also publish source packages
      jobs: 4
      to: s3://eups-bucket/stack/src       # then sync root to this bucket prefix (publish --to)
      s3_endpoint: https://storage.googleapis.com   # [default: $AWS_ENDPOINT_URL, else AWS]
      smoke:                               # after publishing: the tarball smoke test
        products: [lsst_distrib]           # [default: the flow's products]
        command: null                      # [default: import each product's Python package]
        env: /opt/envs/rubin-env           # run it inside this environment [default: ours]
    forge:                                 # where the repos are tagged
      kind: git                            # git (teams_file) or github (org, token)
      teams_file: teams.yaml
      org: lsst
      github_url: https://api.github.com
      token_path: ~/.sq_github_token_delete
      cache_dir: work/forge-cache
      jobs: 8
      max_wait: 3600
    teams:                                 # product tags (jenkins-dm-jobs' defaults)
      allow: [Data Management, DM Externals]
      deny: [DM Auxilliaries]
      external: [DM Externals]
    aux_teams:                             # tag-teams after the product tags
      allow: [DM Auxilliaries]
      deny: [DM Externals]
      ignore_existing_tag: true
    tagger:                                # [default: git config user.name/user.email]
      user: sqreadmin
      email: sqre-admin@lists.lsst.org

Errors name ``file:line``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import did_you_mean
from ..infra.files import read_text
from ..infra.objectstore import is_s3_url
from ..names import outputs
from ..release.connect import DEFAULT_GITHUB_URL, ForgeConfig
from ..sourcebuild.rebuild import Layout
from ..yamlfile import NULL, Node, NodeReader, ScalarNode

DEFAULT_ALLOW = ("Data Management", "DM Externals")
DEFAULT_DENY = ("DM Auxilliaries",)
DEFAULT_EXTERNAL = ("DM Externals",)
DEFAULT_AUX_ALLOW = ("DM Auxilliaries",)
DEFAULT_AUX_DENY = ("DM Externals",)


@dataclass(frozen=True)
class BuildConfig:
    jobs: int = os.cpu_count() or 1
    fetch_jobs: int = 8
    tries: int = 3
    run_tests: bool = True
    fail_fast: bool = False
    binary_root: str | None = None
    cache: str | None = None
    #: the environment every build runs in (``build --env`` / ``-e``); neither: as build
    env: Path | None = None
    env_name: str | None = None
    #: seconds a product's build steps / the whole build may take; None: no limit
    timeout: float | None = None
    total_timeout: float | None = None
    #: then build each product's Sphinx documentation (``build --docs``, BUILD_DOCS)
    docs: bool = False


@dataclass(frozen=True)
class VersionDbConfig:
    path: Path
    url: str | None = None
    remote: str = "origin"
    push: bool = True


@dataclass(frozen=True)
class SmokeConfig:
    """The tarball smoke test after publishing (``scipipe distrib smoke``)."""

    products: tuple[str, ...] = ()
    command: str | None = None
    env: Path | None = None


@dataclass(frozen=True)
class DistribConfig:
    root: Path
    read_url: str | None = None
    visible_timeout: float = 0.0
    env_file: Path | None = None
    conda_env: str | None = None
    platform: str | None = None
    sources: bool = False
    jobs: int = os.cpu_count() or 1
    #: object storage the published root is then synced to (``publish --to``)
    to: str | None = None
    s3_endpoint: str | None = None
    smoke: SmokeConfig | None = None

    @property
    def read_base(self) -> str:
        """Where a published tag is read back from."""
        return self.read_url or str(self.root)


@dataclass(frozen=True)
class TeamsConfig:
    allow: tuple[str, ...] = DEFAULT_ALLOW
    deny: tuple[str, ...] = DEFAULT_DENY
    external: tuple[str, ...] = DEFAULT_EXTERNAL


@dataclass(frozen=True)
class AuxTeamsConfig:
    allow: tuple[str, ...] = DEFAULT_AUX_ALLOW
    deny: tuple[str, ...] = DEFAULT_AUX_DENY
    ignore_existing_tag: bool = True


@dataclass(frozen=True)
class ChangelogConfig:
    """The flows' changelog step: the series regenerated after each release."""

    output: Path
    formats: tuple[str, ...] = ("html",)
    jira: str | None = None
    overrides: Path | None = None


@dataclass(frozen=True)
class FlowConfig:
    path: Path
    products: tuple[str, ...]
    #: repos.yaml: a URL as given, or an absolute path
    repos: str
    root: Path
    distrib: DistribConfig
    forge: ForgeConfig
    flavor: str | None = None
    exclusions: Path | None = None
    state_dir: Path | None = None
    results: Path | None = None
    build: BuildConfig = field(default_factory=BuildConfig)
    versiondb: VersionDbConfig | None = None
    teams: TeamsConfig = field(default_factory=TeamsConfig)
    aux_teams: AuxTeamsConfig = field(default_factory=AuxTeamsConfig)
    tagger_user: str | None = None
    tagger_email: str | None = None
    changelog: ChangelogConfig | None = None

    @property
    def layout(self) -> Layout:
        """The work root's layout; the versiondb is the configured one, if any."""
        base = Layout.under(self.root)
        vdb = self.versiondb.path if self.versiondb is not None else base.versiondb
        return Layout(base.sources, base.stack, base.build_dir, vdb)

    @property
    def state_root(self) -> Path:
        return self.state_dir or self.root / "release"

    @property
    def results_path(self) -> Path:
        return self.results or self.layout.build_dir / outputs.RESULTS


# --- YAML nodes -----------------------------------------------------------------------------


class _Reader(NodeReader):
    """:class:`NodeReader`, with paths relative to the config file."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.base = path.parent

    def path(self, node: Node, what: str) -> Path:
        text = os.path.expanduser(self.string(node, what))
        return self.base / text

    def source(self, node: Node, what: str) -> str:
        """A URL as given (``file://``, ``http(s)://``, ``s3://``), else a path relative to
        the file, made absolute: what :func:`~..stack.readers.fetch_repos_text` reads."""
        text = self.string(node, what).strip()
        if "://" not in text:
            return str(self.path(node, what))
        if not text.startswith(URL_SCHEMES):
            raise self.fail(node, f"{what}: unsupported URL {text!r}: use a path, "
                                  "file://, http(s):// or s3://")  # fmt: skip
        return text


#: what a URL-valued key (``repos``) may start with
URL_SCHEMES = ("file://", "http://", "https://", "s3://")


TOP_KEYS = ("products", "repos", "root", "flavor", "exclusions", "state_dir", "results",
            "build", "versiondb", "distrib", "forge", "teams", "aux_teams", "tagger",
            "changelog")  # fmt: skip
CHANGELOG_KEYS = ("output", "formats", "jira", "overrides")
CHANGELOG_FORMATS = ("md", "rst", "json", "html")
BUILD_KEYS = ("jobs", "fetch_jobs", "tries", "run_tests", "fail_fast", "binary_root", "cache",
              "env", "env_name", "timeout", "total_timeout", "docs")  # fmt: skip
VERSIONDB_KEYS = ("path", "url", "remote", "push")
DISTRIB_KEYS = ("root", "read_url", "visible_timeout", "env_file", "conda_env", "platform",
                "sources", "jobs", "to", "s3_endpoint", "smoke")  # fmt: skip
SMOKE_KEYS = ("products", "command", "env")
FORGE_KEYS = ("kind", "teams_file", "org", "github_url", "token_path", "cache_dir", "jobs",
              "max_wait")  # fmt: skip
TEAMS_KEYS = ("allow", "deny", "external")
AUX_KEYS = ("allow", "deny", "ignore_existing_tag")
TAGGER_KEYS = ("user", "email")


def _build(r: _Reader, node: Node) -> BuildConfig:
    m = r.mapping(node, "build", BUILD_KEYS)
    kw: dict[str, Any] = {}
    for key in ("jobs", "fetch_jobs", "tries"):
        if key in m:
            kw[key] = r.integer(m[key][1], f"build.{key}", 1)
    for key in ("run_tests", "fail_fast", "docs"):
        if key in m:
            kw[key] = r.boolean(m[key][1], f"build.{key}")
    for key in ("binary_root", "cache", "env_name"):
        if key in m:
            kw[key] = r.optional_string(m[key][1], f"build.{key}")
    if "env" in m:
        kw["env"] = r.path(m["env"][1], "build.env")
    for key in ("timeout", "total_timeout"):
        if key in m and not (isinstance(m[key][1], ScalarNode) and m[key][1].tag == NULL):
            kw[key] = r.real(m[key][1], f"build.{key}", 1)
    if kw.get("env") is not None and kw.get("env_name") is not None:
        raise r.fail(m["env"][1], "build: 'env' and 'env_name' cannot be combined: choose one")
    return BuildConfig(**kw)


def _versiondb(r: _Reader, node: Node, root: Path) -> VersionDbConfig:
    m = r.mapping(node, "versiondb", VERSIONDB_KEYS)
    path = r.path(m["path"][1], "versiondb.path") if "path" in m else root / "versiondb"
    url = r.optional_string(m["url"][1], "versiondb.url") if "url" in m else None
    remote = r.string(m["remote"][1], "versiondb.remote") if "remote" in m else "origin"
    push = r.boolean(m["push"][1], "versiondb.push") if "push" in m else True
    return VersionDbConfig(path, url, remote, push)


def _distrib(r: _Reader, node: Node) -> DistribConfig:
    m = r.mapping(node, "distrib", DISTRIB_KEYS)
    if "root" not in m:
        raise r.fail(node, "distrib: missing 'root' (the server root to publish into)")
    kw: dict[str, Any] = {"root": r.path(m["root"][1], "distrib.root")}
    if "read_url" in m:
        value = r.string(m["read_url"][1], "distrib.read_url")
        kw["read_url"] = value if "://" in value else str(r.base / os.path.expanduser(value))
    if "visible_timeout" in m:
        kw["visible_timeout"] = r.real(m["visible_timeout"][1], "distrib.visible_timeout", 0)
    if "env_file" in m:
        kw["env_file"] = r.path(m["env_file"][1], "distrib.env_file")
    for key in ("conda_env", "platform"):
        if key in m:
            kw[key] = r.string(m[key][1], f"distrib.{key}")
    if "sources" in m:
        kw["sources"] = r.boolean(m["sources"][1], "distrib.sources")
    if "jobs" in m:
        kw["jobs"] = r.integer(m["jobs"][1], "distrib.jobs", 1)
    if "to" in m:
        to = r.optional_string(m["to"][1], "distrib.to")
        if to is not None and not is_s3_url(to):
            raise r.fail(m["to"][1], f"distrib.to: {to!r} is not an s3://BUCKET/PREFIX")
        kw["to"] = to
    if "s3_endpoint" in m:
        kw["s3_endpoint"] = r.optional_string(m["s3_endpoint"][1], "distrib.s3_endpoint")
    if "smoke" in m:
        kw["smoke"] = _smoke(r, m["smoke"][1])
    return DistribConfig(**kw)


def _smoke(r: _Reader, node: Node) -> SmokeConfig | None:
    """``smoke: true`` (every product, the default test), ``false``, or a mapping."""
    if isinstance(node, ScalarNode) and node.tag.endswith(":bool"):
        return SmokeConfig() if r.boolean(node, "distrib.smoke") else None
    m = r.mapping(node, "distrib.smoke", SMOKE_KEYS)
    products = r.strings(m["products"][1], "distrib.smoke.products") if "products" in m else ()
    command = (
        r.optional_string(m["command"][1], "distrib.smoke.command") if "command" in m else None
    )
    env = r.path(m["env"][1], "distrib.smoke.env") if "env" in m else None
    return SmokeConfig(products, command, env)


def _forge(r: _Reader, node: Node) -> ForgeConfig:
    m = r.mapping(node, "forge", FORGE_KEYS)
    kind_node = m["kind"][1] if "kind" in m else None
    kind = r.string(kind_node, "forge.kind") if kind_node is not None else None
    teams_file = r.path(m["teams_file"][1], "forge.teams_file") if "teams_file" in m else None
    if kind is None:
        kind = "git" if teams_file is not None else "github"
    if kind not in ("git", "github"):
        assert kind_node is not None
        raise r.fail(kind_node, f"forge.kind must be git or github, not {kind!r}")
    org = r.string(m["org"][1], "forge.org") if "org" in m else ""
    if kind == "git" and teams_file is None:
        raise r.fail(node, "forge: the git forge needs 'teams_file'")
    if kind == "github" and not org:
        raise r.fail(node, "forge: the github forge needs 'org'")
    kw: dict[str, Any] = {"kind": kind, "org": org, "teams_file": teams_file}
    if "github_url" in m:
        kw["github_url"] = r.string(m["github_url"][1], "forge.github_url")
    for key in ("token_path", "cache_dir"):
        if key in m:
            kw[key] = r.path(m[key][1], f"forge.{key}")
    if "jobs" in m:
        kw["jobs"] = r.integer(m["jobs"][1], "forge.jobs", 1)
    if "max_wait" in m:
        kw["max_wait"] = r.real(m["max_wait"][1], "forge.max_wait", 0)
    kw.setdefault("github_url", DEFAULT_GITHUB_URL)
    return ForgeConfig(**kw)


def _teams(r: _Reader, node: Node) -> TeamsConfig:
    m = r.mapping(node, "teams", TEAMS_KEYS)
    kw = {k: r.strings(m[k][1], f"teams.{k}") for k in TEAMS_KEYS if k in m}
    if "allow" in kw and not kw["allow"]:
        raise r.fail(m["allow"][1], "teams.allow must name at least one team")
    return TeamsConfig(**kw)


def _aux(r: _Reader, node: Node) -> AuxTeamsConfig:
    m = r.mapping(node, "aux_teams", AUX_KEYS)
    kw: dict[str, Any] = {
        k: r.strings(m[k][1], f"aux_teams.{k}") for k in ("allow", "deny") if k in m
    }
    if "ignore_existing_tag" in m:
        kw["ignore_existing_tag"] = r.boolean(
            m["ignore_existing_tag"][1], "aux_teams.ignore_existing_tag"
        )
    return AuxTeamsConfig(**kw)


def _changelog(r: _Reader, node: Node) -> ChangelogConfig:
    m = r.mapping(node, "changelog", CHANGELOG_KEYS)
    if "output" not in m:
        raise r.fail(node, "changelog needs 'output' (the directory of the pages)")
    kw: dict[str, Any] = {"output": r.path(m["output"][1], "changelog.output")}
    if "formats" in m:
        formats = r.strings(m["formats"][1], "changelog.formats")
        for f in formats:
            if f not in CHANGELOG_FORMATS:
                hint = did_you_mean(f, CHANGELOG_FORMATS)
                raise r.fail(m["formats"][1], f"unknown changelog format {f!r}" +
                             (f" ({hint})" if hint else ""))  # fmt: skip
        kw["formats"] = formats
    if "jira" in m:
        kw["jira"] = r.optional_string(m["jira"][1], "changelog.jira")
    if "overrides" in m:
        kw["overrides"] = r.path(m["overrides"][1], "changelog.overrides")
    return ChangelogConfig(**kw)


def parse_flow_config(text: str | bytes, path: str | Path = "release.yaml") -> FlowConfig:
    """Parse a flow configuration; paths are made relative to ``path``'s directory."""
    where = Path(path).absolute()
    r = _Reader(where)
    root_node = r.document(text, "expected a mapping with products, repos, root and distrib")
    m = r.mapping(root_node, "the flow config", TOP_KEYS)
    for required in ("products", "repos", "root", "distrib", "forge"):
        if required not in m:
            raise r.fail(root_node, f"missing {required!r}")
    products = r.strings(m["products"][1], "products")
    if not products:
        raise r.fail(m["products"][1], "products must name at least one product")
    root = r.path(m["root"][1], "root")
    kw: dict[str, Any] = {
        "path": where,
        "products": products,
        "repos": r.source(m["repos"][1], "repos"),
        "root": root,
        "distrib": _distrib(r, m["distrib"][1]),
        "forge": _forge(r, m["forge"][1]),
    }
    if "flavor" in m:
        kw["flavor"] = r.string(m["flavor"][1], "flavor")
    for key in ("exclusions", "state_dir", "results"):
        if key in m:
            kw[key] = r.path(m[key][1], key)
    if "build" in m:
        kw["build"] = _build(r, m["build"][1])
    if "versiondb" in m:
        kw["versiondb"] = _versiondb(r, m["versiondb"][1], root)
    if "teams" in m:
        kw["teams"] = _teams(r, m["teams"][1])
    if "aux_teams" in m:
        kw["aux_teams"] = _aux(r, m["aux_teams"][1])
    if "changelog" in m:
        kw["changelog"] = _changelog(r, m["changelog"][1])
    if "tagger" in m:
        t = r.mapping(m["tagger"][1], "tagger", TAGGER_KEYS)
        if "user" in t:
            kw["tagger_user"] = r.string(t["user"][1], "tagger.user")
        if "email" in t:
            kw["tagger_email"] = r.string(t["email"][1], "tagger.email")
    return FlowConfig(**kw)


def read_flow_config(path: str | Path) -> FlowConfig:
    """Read and parse the flow configuration at ``path``."""
    return parse_flow_config(read_text(path, "release flow config"), path)
