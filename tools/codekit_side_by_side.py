#!/usr/bin/env python3
"""Run real codekit ``github-tag-release`` and ``scipipe release tag`` side by side.

Both run against the same release world (tests/support/releaseworld.py) served by the
strict local GitHub server (tests/support/githubserver.py), each on its own copy of the
world's bare repositories, and the script compares what each did: the tags made (name,
target commit, message, tagger name and email; never the date), the exit codes and the
number of API requests the server received.

codekit cannot be pointed at another API URL (``Github(token)`` reaches
https://api.github.com only), so the script re-runs itself in new mount and network
namespaces (``unshare --mount --net``; needs root), brings ``lo`` up, bind-mounts a hosts
file naming api.github.com 127.0.0.1 over /etc/hosts, serves the API over TLS on
127.0.0.1:443 with a throwaway CA and sets ``REQUESTS_CA_BUNDLE`` for both clients.
Nothing of this outlives the run: the namespaces die with the process, and the servers
and temporary directories are closed and removed on exit.  codekit itself is not changed.

Usage (root, from the repository's top)::

    /work/main/.venv/bin/python tools/codekit_side_by_side.py \\
        [--codekit /tmp/codekit-venv/bin/github-tag-release] [--products 12] [--keep-logs DIR]

The exit code is 0 when both made the same tags at every step (and exited alike), 1
otherwise.  This is a tool, not a test: pytest never collects it (testpaths = tests).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TOP = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(TOP), str(TOP / "src")]

from tests.support import releaseworld  # noqa: E402
from tests.support.githubserver import GitHubServer  # noqa: E402
from tests.support.httpserver import StaticServer  # noqa: E402
from tests.support.releaseworld import (  # noqa: E402
    AUX_TEAM,
    DM_TEAM,
    EXTERNALS_TEAM,
    ReleaseWorld,
    make_release_world,
)
from tests.support.tls import TlsFiles, make_tls  # noqa: E402

INNER = "CODEKIT_SIDE_BY_SIDE_INNER"
API = "https://api.github.com"
ORG = "lsst"  # codekit reads repos.yaml from lsst/repos, so the world's org is lsst
TOKEN = "ghp_sidebyside0123456789abcdef"
CODEKIT = "/tmp/codekit-venv/bin/github-tag-release"
USER = ("sqreadmin", "sqre-admin@lists.lsst.org")
OTHER = ("someone-else", "someone@example.org")
TEAM_ARGS = (
    "--allow-team", DM_TEAM, "--allow-team", EXTERNALS_TEAM,
    "--external-team", EXTERNALS_TEAM, "--deny-team", AUX_TEAM,
)  # fmt: skip


# ---------------------------------------------------------------- namespaces and TLS


def reexec_in_namespace(argv: Sequence[str]) -> int:
    """Run this script again in new mount and network namespaces; its exit code."""
    if os.geteuid() != 0:
        sys.exit("codekit_side_by_side: needs root (unshare --mount --net, port 443)")
    env = {**os.environ, INNER: "1"}
    cmd = ["unshare", "--mount", "--net", "--", sys.executable, __file__, *argv]
    return subprocess.run(cmd, env=env, check=False).returncode  # noqa: S603


def redirect_api_host(tmp: Path) -> None:
    """In this (private) namespace: lo up, api.github.com -> 127.0.0.1 via /etc/hosts."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    hosts = tmp / "hosts"
    hosts.write_text("127.0.0.1 localhost\n127.0.0.1 api.github.com\n")
    subprocess.run(["mount", "--bind", str(hosts), "/etc/hosts"], check=True)  # noqa: S603


def undo_redirect() -> None:
    subprocess.run(["umount", "/etc/hosts"], check=False)


# ---------------------------------------------------------------- the world


@dataclass
class World:
    """The template world, its GitHub-shaped repos.yaml and the inputs' base URLs."""

    w: ReleaseWorld
    repos_yaml: Path
    #: owner/name -> bare repository, relative to the world's root (lsst/repos included)
    remotes: dict[str, Path]
    versiondb_url: str = ""
    eupstag_url: str = ""


def make_world(root: Path, products: int) -> World:
    w = make_release_world(root / "world", products=products, externals=2, aux=2, org=ORG)
    prefix = (w.root / "remotes").as_uri() + "/"
    text = w.repos_yaml.read_text().replace(prefix, "https://github.com/")
    repos_yaml = w.root / "repos-github.yaml"
    repos_yaml.write_text(text)
    # codekit reads repos.yaml from lsst/repos:etc/repos.yaml on GitHub
    bare = w.root / "remotes" / ORG / "repos.git"
    releaseworld._make_aux(bare, "repos", 99)
    _commit_file(bare, "etc/repos.yaml", text)
    remotes = {k: v.relative_to(w.root) for k, v in w.remotes.items()}
    remotes[f"{ORG}/repos"] = bare.relative_to(w.root)
    return World(w, repos_yaml, remotes)


def _commit_file(bare: Path, path: str, text: str) -> None:
    """Add ``path`` holding ``text`` to ``main`` of a bare repository (one commit)."""
    data = text.encode()
    message = b"Add " + path.encode()
    stamp = "1700000000 +0000"
    who = "Side By Side <side@example.org>"
    stream = b"".join(
        [
            b"commit refs/heads/main\n",
            f"author {who} {stamp}\ncommitter {who} {stamp}\n".encode(),
            b"data %d\n%s\n" % (len(message), message),
            b"from refs/heads/main^0\n",
            b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data),
            b"done\n",
        ]
    )
    git(bare, "fast-import", "--quiet", "--done", input=stream)


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    res = subprocess.run(  # noqa: S603 (fixed argv, no shell)
        ["git", "-C", str(repo), *args], input=input, capture_output=True, check=True
    )
    return res.stdout.decode()


#: type, commit, message (as stored), tagger name, tagger email, tagger time zone
TagRow = tuple[str, str, str, str, str, str]


def snapshot(root: Path, remotes: dict[str, Path]) -> dict[str, dict[str, TagRow]]:
    """Every repo's tags: name -> :data:`TagRow` (the tagger's time itself is left out)."""
    fmt = "%(refname:strip=2)%00%(objecttype)%00%(*objectname)%00%(objectname)%00" \
        "%(taggername)%00%(taggeremail:trim)%00%(taggerdate:raw)%00%(contents)%01"  # fmt: skip
    out: dict[str, dict[str, TagRow]] = {}
    for full, rel in sorted(remotes.items()):
        text = git(root / rel, "for-each-ref", f"--format={fmt}", "refs/tags")
        tags: dict[str, TagRow] = {}
        for rec in text.split("\x01"):
            rec = rec.lstrip("\n")
            if not rec:
                continue
            name, kind, peeled, sha, tagger, email, when, message = rec.split("\x00")
            zone = when.rpartition(" ")[2]
            tags[name] = (kind, peeled or sha, message, tagger, email, zone)
        out[full] = tags
    return out


# ---------------------------------------------------------------- running the tools


@dataclass
class Step:
    """One command of a scenario, as each tool runs it."""

    name: str
    git_tag: str
    user: tuple[str, str] = USER
    extra: tuple[str, ...] = ()  # options both tools take, spelled alike
    scipipe_only: tuple[str, ...] = ()  # options codekit does not have


@dataclass
class Outcome:
    code: int
    calls: Counter[str]
    tags: dict[str, dict[str, TagRow]]
    log: str
    #: requests served only through :class:`CompatServer`'s allowance
    rewritten: int = 0


@dataclass(frozen=True)
class Scenario:
    name: str
    steps: tuple[Step, ...]
    drop: str | None = None  # a product whose repo is not on GitHub
    teamless: str | None = None  # a product whose repo is in no team
    denied: str | None = None  # a product whose repo is also in the deny team


def codekit_cmd(world: World, step: Step, codekit: str) -> list[str]:
    w = world.w
    return [
        codekit, "--org", ORG, *TEAM_ARGS, "--user", step.user[0], "--email", step.user[1],
        "--token", TOKEN, "--manifest", w.build_id,
        "--versiondb-base-url", world.versiondb_url, "--eupstag-base-url", world.eupstag_url,
        "--fail-fast", "--debug", *step.extra, step.git_tag,
    ]  # fmt: skip


def scipipe_cmd(world: World, step: Step) -> list[str]:
    w = world.w
    return [
        sys.executable, "-m", "scipipe_tools", "release", "tag", step.git_tag,
        "--forge", "github", "--org", ORG, "--github-url", API, *TEAM_ARGS,
        "--user", step.user[0], "--email", step.user[1], "--manifest", w.build_id,
        "--repos", str(world.repos_yaml),
        "--versiondb-base-url", world.versiondb_url, "--eupstag-base-url", world.eupstag_url,
        "--fail-fast", "--debug", *step.extra, *step.scipipe_only,
    ]  # fmt: skip


class CompatServer(GitHubServer):
    """The strict server, plus one allowance for codekit 7.5.0's pinned PyGithub 1.40a3.

    ``Repository.get_contents("etc/repos.yaml")`` there asks for
    ``/repos/lsst/repos/contentsetc/repos.yaml`` (``url + "/contents" + path``, no slash),
    which the strict server (like GitHub) answers 404; codekit then cannot read repos.yaml
    and tags nothing.  That path is served as ``.../contents/etc/repos.yaml`` here and
    counted in :attr:`rewritten`, so that the rest of codekit can be compared.
    """

    rewritten = 0

    def handle(self, req: Any) -> Any:
        m = _NO_SLASH.match(req.path)
        if m is not None:
            req.path = f"{m[1]}/{m[2]}"
            self.rewritten += 1
        return super().handle(req)


_NO_SLASH = re.compile(r"^(/repos/[^/]+/[^/]+/contents)([^/].*)$")


@contextmanager
def serve(world: World, copy: Path, scenario: Scenario, tls: TlsFiles) -> Iterator[CompatServer]:
    """The world's repos (copied to ``copy``) on https://api.github.com (127.0.0.1:443)."""
    shutil.copytree(world.w.root / "remotes", copy / "remotes", symlinks=True)
    gone = f"{ORG}/{scenario.drop}" if scenario.drop else None
    loner = f"{ORG}/{scenario.teamless}" if scenario.teamless else None
    repos = {k: copy / v for k, v in world.remotes.items() if k != gone}
    teams = {
        t: [r for r in rs if r not in (gone, loner)] for t, rs in world.w.team_members().items()
    }
    if scenario.denied:
        teams[AUX_TEAM].append(f"{ORG}/{scenario.denied}")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tls.cert, tls.key)
    srv = CompatServer(
        repos, org=ORG, teams=teams, token=TOKEN,
        bind=("127.0.0.1", 443), ssl_context=ctx, public_url=API,
    )  # fmt: skip
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def run_tool(
    tool: str, world: World, scenario: Scenario, base: Path, tls: TlsFiles,
    codekit: str,
) -> list[Outcome]:  # fmt: skip
    copy = base / tool / scenario.name
    copy.mkdir(parents=True)
    env = {
        **os.environ,
        "REQUESTS_CA_BUNDLE": str(tls.ca),
        "GITHUB_TOKEN": TOKEN,
        "XDG_STATE_HOME": str(copy / "state"),
        "XDG_CACHE_HOME": str(copy / "cache"),
        "HOME": str(copy / "home"),
        "PYTHONPATH": str(TOP / "src"),
    }
    env.pop("GITHUB_API_URL", None)
    env.pop("DM_SQUARE_DEBUG", None)
    outcomes = []
    with serve(world, copy, scenario, tls) as srv:
        for step in scenario.steps:
            cmd = (
                codekit_cmd(world, step, codekit) if tool == "codekit" else scipipe_cmd(world, step)
            )
            srv.reset_counters()
            srv.rewritten = 0
            res = subprocess.run(  # noqa: S603 (fixed argv, no shell)
                cmd, env=env, capture_output=True, text=True, check=False, timeout=600
            )
            calls = Counter(srv.calls)
            tags = snapshot(copy, world.remotes)
            log = f"$ {' '.join(cmd)}\n--- stdout\n{res.stdout}--- stderr\n{res.stderr}"
            outcomes.append(Outcome(res.returncode, calls, tags, log, srv.rewritten))
        if srv.errors:
            raise RuntimeError(f"the server failed: {srv.errors}")
    return outcomes


# ---------------------------------------------------------------- comparing


def scenarios(world: World) -> list[Scenario]:
    w = world.w
    victim, loner, denied = w.dm_products[1:4]
    weekly = Step("weekly tag", w.git_tag)
    eups = ("--eups-tag", w.eups_tag)
    return [
        Scenario(
            "normal",
            (
                weekly,
                Step("rerun (idempotent)", w.git_tag),
                Step("rerun (scipipe: --no-ledger)", w.git_tag, scipipe_only=("--no-ledger",)),
                Step("rerun, another --user/--email", w.git_tag, user=OTHER),
                Step("same, --ignore-git-tagger", w.git_tag, OTHER, ("--ignore-git-tagger",)),
                Step("29.1.0 (external: v29.1.0)", "29.1.0", extra=eups),
                Step("--dry-run w.2025.16", "w.2025.16", extra=(*eups, "--dry-run")),
                Step("--verify w.2025.15", w.git_tag, extra=("--verify",)),
                Step("--verify w.2025.16 (absent)", "w.2025.16", extra=(*eups, "--verify")),
                Step("--manifest-only w.2025.17", "w.2025.17", extra=("--manifest-only",)),
                Step("--limit 3 w.2025.18", "w.2025.18", extra=(*eups, "--limit", "3")),
            ),
        ),
        Scenario(
            "denied", (Step(f"weekly, {denied} in {AUX_TEAM} too", w.git_tag),), denied=denied
        ),
        Scenario("missing", (Step(f"weekly, {victim} not on GitHub", w.git_tag),), drop=victim),
        Scenario("teamless", (Step(f"weekly, {loner} in no team", w.git_tag),), teamless=loner),
    ]


def changed(before: dict[str, dict[str, TagRow]], after: dict[str, dict[str, TagRow]]) -> int:
    """How many tags were made or moved between two snapshots."""
    return sum(
        1 for repo, tags in after.items() for n, row in tags.items()
        if before.get(repo, {}).get(n) != row
    )  # fmt: skip


def tag_diff(a: dict[str, dict[str, TagRow]], b: dict[str, dict[str, TagRow]]) -> list[str]:
    lines = []
    for repo in sorted(set(a) | set(b)):
        for name in sorted(set(a.get(repo, {})) | set(b.get(repo, {}))):
            x, y = a.get(repo, {}).get(name), b.get(repo, {}).get(name)
            if x != y:
                lines.append(f"  {repo} {name}:\n    codekit: {x}\n    scipipe: {y}")
    return lines


def routes(calls: Counter[str]) -> str:
    return ", ".join(f"{k} x{v}" for k, v in sorted(calls.items())) or "-"


def compare(world: World, base: Path, tls: TlsFiles, opts: argparse.Namespace) -> int:
    rows = [("scenario / step", "codekit exit", "scipipe exit", "tags made (ck/sp)",
             "same tags", "API calls codekit", "API calls scipipe")]  # fmt: skip
    details: list[str] = []
    differ = False
    totals = Counter[str]()
    start = snapshot(world.w.root, world.remotes)
    for sc in scenarios(world):
        ck = run_tool("codekit", world, sc, base, tls, opts.codekit)
        sp = run_tool("scipipe", world, sc, base, tls, opts.codekit)
        prev_ck = prev_sp = start
        for step, a, b in zip(sc.steps, ck, sp, strict=True):
            same = a.tags == b.tags
            differ |= not same
            made = f"{changed(prev_ck, a.tags)}/{changed(prev_sp, b.tags)}"
            prev_ck, prev_sp = a.tags, b.tags
            na, nb = sum(a.calls.values()), sum(b.calls.values())
            totals["codekit"] += na
            totals["scipipe"] += nb
            rows.append((f"{sc.name}: {step.name}", str(a.code), str(b.code), made,
                         "yes" if same else "NO", str(na), str(nb)))  # fmt: skip
            details.append(f"{sc.name}: {step.name}\n  codekit: {routes(a.calls)}"
                           f"\n  scipipe: {routes(b.calls)}")  # fmt: skip
            for tool, o in (("codekit", a), ("scipipe", b)):
                if o.rewritten:
                    details.append(
                        f"  ({tool}: {o.rewritten} request(s) to .../contents<path> "
                        "without the slash, served as .../contents/<path>)"
                    )
            if not same:
                details += tag_diff(a.tags, b.tags)
            if opts.keep_logs:
                d = Path(opts.keep_logs) / sc.name
                d.mkdir(parents=True, exist_ok=True)
                slug = f"{sc.steps.index(step)}-" + re.sub(r"[^A-Za-z0-9.]+", "-", step.name)
                (d / f"{slug}.codekit.log").write_text(a.log)
                (d / f"{slug}.scipipe.log").write_text(b.log)
    rows.append(("total", "", "", "", "", str(totals["codekit"]), str(totals["scipipe"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, r in enumerate(rows):
        print("| " + " | ".join(c.ljust(widths[j]) for j, c in enumerate(r)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (wd + 2) for wd in widths) + "|")
    print("\nAPI calls by route (every request the server received):")
    print("\n".join(details))
    print("\nresult:", "the tags DIFFER" if differ else "same tags at every step")
    return 1 if differ else 0


def inner(opts: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="codekit-sbs-") as tmp_:
        tmp = Path(tmp_)
        redirect_api_host(tmp)
        try:
            tls = make_tls(tmp, dns=("api.github.com",))
            world = make_world(tmp, opts.products)
            with StaticServer(world.w.root) as http:
                world.versiondb_url = f"{http.url}/versiondb/manifests"
                world.eupstag_url = f"{http.url}/distrib/tags"
                return compare(world, tmp / "runs", tls, opts)
        finally:
            undo_redirect()


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codekit", default=CODEKIT, help="codekit's github-tag-release")
    parser.add_argument("--products", type=int, default=12, help="EUPS products in the world")
    parser.add_argument("--keep-logs", metavar="DIR", help="write each run's output there")
    opts = parser.parse_args(argv)
    if os.environ.get(INNER) != "1":
        if not Path(opts.codekit).exists():
            parser.error(f"no codekit at {opts.codekit} (see the module docstring)")
        return reexec_in_namespace(argv)
    return inner(opts)


if __name__ == "__main__":
    sys.exit(main())
