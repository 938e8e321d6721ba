"""Turn the bundled sample stack (``examples/sample-stack``) into real git remotes.

Every product becomes a bare repository whose ``main`` has the shape of a real LSST
repository's history: an initial import, ticket branches merged with ``--no-ff`` (both
the ``git merge`` and the GitHub pull-request message forms), a direct commit with no
ticket, a towncrier fragment, and annotated weekly tags.  The result is deterministic:
materializing twice, anywhere, gives the same SHAs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, Location
from ..eups.repos import Repos
from ..stack.readers import read_repos
from ._files import write_atomic, yaml_scalar
from .gitrepo import DEVELOPER, GITHUB, FakeClock, Identity, Repo, file_url

#: Weekly tags: the first marks an early commit, the second main's head.
EARLY_TAG = "w.2025.01"
HEAD_TAG = "w.2025.02"
#: An open (unmerged) ticket branch in a few repositories, for ref-fallback tests
#: (``rebuild -r tickets/DM-49999``).
OPEN_TICKET = "tickets/DM-49999"
OPEN_TICKET_PRODUCTS = ("afw", "meas_base")
#: The GitHub organisation named in pull-request merge messages.
ORG = "lsst-sample"

_AUTHORS = (
    DEVELOPER,
    Identity("Jim Bosch", "jbosch@lsst-sample.example"),
    Identity("Tim Jenness", "tjenness@lsst-sample.example"),
)
_RELEASE_BOT = Identity("Rubin Release Bot", "release@lsst-sample.example")
# Tickets are shared between repositories, as real ones are.
_TICKETS = (
    (41234, "Add a background level to the measurement config"),
    (41502, "Fix off-by-one error in box containment"),
    (42001, "Document the public API"),
    (42377, "Support Python 3.12"),
    (43010, "Speed up metadata lookups"),
    (43388, "Remove deprecated code"),
    (44120, "Improve log messages"),
    (44900, "Clean up the unit tests"),
)
#: Later weeks' tickets (the demo's release history): a few per week, each with a fragment.
_LATER_TICKETS = (
    (45011, "Add a variance plane to the exposure", "feature"),
    (45102, "Fix the sign of the WCS skew term", "bugfix"),
    (45230, "Deprecate the old config loader", "removal"),
    (45318, "Describe the pipeline inputs in the docs", "doc"),
    (45477, "Cache the camera geometry", "perf"),
    (45590, "Report the failing product in the log", "misc"),
    (45702, "Handle empty catalogs in the measurement", "bugfix"),
)
#: Branch of each earlier weekly's state (``demo/week-1`` ...); ``main`` is the last week's.
WEEK_BRANCH = "demo/week-{}"
#: The week whose development drops afwdata from the stack (lsst_demo and afw stop using
#: it) and the week that brings it back, so the changelog shows a removed and an added
#: product.
_REMOVE_WEEK, _ADD_WEEK = 2, 3
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "_build", "*.egg-info", ".pytest_cache")


@dataclass(frozen=True)
class Materialized:
    """Where :func:`materialize` put things."""

    source: Path
    dest: Path
    repos_yaml: Path
    exclusions: Path | None
    #: product -> bare repository (``dest/remotes/<product>.git``)
    remotes: dict[str, Path]
    #: sorted product names
    products: list[str]
    #: product -> the ticket branches merged into its main, in merge order
    tickets: dict[str, list[str]] = field(default_factory=dict)


def materialize(source: Path, dest: Path, *, history: bool = True, weeks: int = 0) -> Materialized:
    """Make a bare remote per product of the stack in ``source``, plus a local repos.yaml.

    ``source`` holds ``products/<name>/``, ``repos.yaml`` and optionally
    ``exclusions.txt``.  Remotes go to ``dest/remotes/<name>.git``; ``dest/repos.yaml``
    has the same entries as the source's (dict forms kept) with ``file://`` URLs.
    Without ``history`` each remote has just the initial commit (both tags on it).
    With ``weeks`` (and ``history``) main grows that many more weeks of ticket merges
    after ``HEAD_TAG``; branch ``demo/week-<k>`` keeps main as it was before week ``k``.
    """
    source = source.resolve()
    dest = dest.resolve()
    entries = read_repos(source / "repos.yaml")
    products = _find_products(source / "products", entries, source / "repos.yaml")
    remotes = {p: dest / "remotes" / f"{p}.git" for p in products}
    for remote in remotes.values():
        if remote.exists():
            raise InputError(f"{remote} already exists", hint="materialize into an empty directory")
    (dest / "remotes").mkdir(parents=True, exist_ok=True)

    def build(index: int, product: str, scratch: Path) -> list[str]:
        work = Repo.init(scratch / product, clock=FakeClock())
        shutil.copytree(
            source / "products" / product, work.path, ignore=_IGNORE, dirs_exist_ok=True
        )
        merged = _make_history(work, product, index, history=history)
        if history:
            merged += [_grow_week(work, product, index, k) for k in range(1, weeks + 1)]
            merged = [m for m in merged if m]
        Repo.init(remotes[product], bare=True)
        work.push_all(remotes[product])
        return merged

    # Each product has its own clock, so building them in parallel changes no SHA.
    with (
        tempfile.TemporaryDirectory(prefix="scipipe-sample-") as scratch,
        ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool,
    ):
        futures = [pool.submit(build, i, p, Path(scratch)) for i, p in enumerate(products)]
        tickets = {p: future.result() for p, future in zip(products, futures, strict=True)}
    repos_yaml = dest / "repos.yaml"
    write_atomic(repos_yaml, _render_repos_yaml(entries, remotes, source / "repos.yaml"))
    exclusions: Path | None = None
    if (source / "exclusions.txt").is_file():
        exclusions = dest / "exclusions.txt"
        shutil.copyfile(source / "exclusions.txt", exclusions)
    return Materialized(source, dest, repos_yaml, exclusions, remotes, products, tickets)


def _make_history(repo: Repo, product: str, index: int, *, history: bool) -> list[str]:
    """Commit the copied tree and grow main's history; return the merged ticket branches."""
    repo.commit(f"Initial import of {product}", author=_AUTHORS[index % len(_AUTHORS)])
    if not history:
        repo.tag(EARLY_TAG, f"Weekly release {EARLY_TAG}", tagger=_RELEASE_BOT)
        repo.tag(HEAD_TAG, f"Weekly release {HEAD_TAG}", tagger=_RELEASE_BOT)
        return []
    picks = [0, 3, 5] if index % 2 == 0 else [0, 3]
    chosen = [_TICKETS[(index + k) % len(_TICKETS)] for k in picks]
    merged: list[str] = []
    for j, (number, summary) in enumerate(chosen):
        ticket = f"DM-{number}"
        branch = f"tickets/{ticket}"
        author = _AUTHORS[(index + j) % len(_AUTHORS)]
        repo.checkout(branch, create=True)
        repo.write("doc/index.md", f"\n## {summary}\n\nSee {ticket}.\n", append=True)
        repo.commit(summary, author=author)
        if j == 0:
            repo.write(f"doc/changes/{ticket}.feature.md", f"{summary}.\n")
            repo.commit(f"Add release note for {ticket}", author=author)
        elif j == 2:
            repo.write("doc/index.md", "Reviewed.\n", append=True)
            repo.commit("Address review comments", author=author)
        repo.checkout("main")
        if j == 1:
            # main moves on while the branch is open: the merge is a true three-way one.
            repo.write("COPYRIGHT", "Copyright 2024-2025 The sample stack developers.\n")
            repo.commit("Update copyright year", author=_AUTHORS[index % len(_AUTHORS)])
        if j % 2 == 0:
            repo.merge_no_ff(branch, f"Merge branch '{branch}'", author=author)
        else:
            pr = 100 + 10 * index + j
            message = f"Merge pull request #{pr} from {ORG}/{branch}\n\n{summary}"
            repo.merge_no_ff(branch, message, author=author, committer=GITHUB)
        merged.append(branch)
        if j == 0:
            repo.tag(EARLY_TAG, f"Weekly release {EARLY_TAG}", tagger=_RELEASE_BOT)
    repo.tag(HEAD_TAG, f"Weekly release {HEAD_TAG}", tagger=_RELEASE_BOT)
    if product in OPEN_TICKET_PRODUCTS:
        repo.checkout(OPEN_TICKET, create=True)
        repo.write("doc/index.md", "\n## Work in progress\n\nSee DM-49999.\n", append=True)
        repo.commit("Start work on DM-49999", author=_AUTHORS[0])
        repo.checkout("main")
    return merged


def _grow_week(repo: Repo, product: str, index: int, week: int) -> str:
    """Keep main as it is in ``demo/week-<week>``, then merge one more ticket (with its
    towncrier fragment) into main, in two products of three; return its branch or ""."""
    repo.git("branch", WEEK_BRANCH.format(week))
    changed = _change_products(product, week)
    if (index + week) % 3 == 0 and not changed:
        return ""
    number, summary, kind = _LATER_TICKETS[(index + 2 * week) % len(_LATER_TICKETS)]
    if changed:
        number, summary, kind = changed
    ticket = f"DM-{number}"
    branch = f"tickets/{ticket}"
    author = _AUTHORS[(index + week) % len(_AUTHORS)]
    repo.checkout(branch, create=True)
    repo.write("doc/index.md", f"\n## {summary}\n\nSee {ticket}.\n", append=True)
    if product in _TABLE_EDITS:
        table = f"ups/{product}.table"
        text = (repo.path / table).read_text(encoding="utf-8")
        line = _TABLE_EDITS[product]
        if week == _REMOVE_WEEK:
            text = text.replace(line, "")
        elif week == _ADD_WEEK:
            text += line
        repo.write(table, text)
    repo.write(f"doc/changes/{ticket}.{kind}.md", f"{summary}.\n")
    repo.commit(summary, author=author)
    repo.checkout("main")
    pr = 500 + 10 * week + index
    message = f"Merge pull request #{pr} from {ORG}/{branch}\n\n{summary}"
    repo.merge_no_ff(branch, message, author=author, committer=GITHUB)
    return branch


#: The table lines the demo's history removes and then adds back (afwdata's users).
_TABLE_EDITS = {
    "lsst_demo": "setupOptional(afwdata [>= 1.0])\n",
    "afw": "setupOptional(afwdata)\n",
}


def _change_products(product: str, week: int) -> tuple[int, str, str] | None:
    """The ticket of the week's table edit in ``product``, if it has one."""
    if product not in _TABLE_EDITS:
        return None
    if week == _REMOVE_WEEK:
        return (45801, "Stop shipping the afwdata test data with the stack", "removal")
    if week == _ADD_WEEK:
        return (45933, "Ship the afwdata test data again", "feature")
    return None


def _find_products(products_dir: Path, entries: Repos, repos_yaml: Path) -> list[str]:
    products = sorted(p.name for p in products_dir.iterdir() if (p / "ups").is_dir())
    missing = [p for p in products if p not in entries]
    if missing:
        raise InputError(f"no entry for {', '.join(missing)}", location=Location.of(repos_yaml))
    extra = [p for p in entries if p not in products]
    if extra:
        raise InputError(
            f"{', '.join(extra)}: listed but not in {products_dir}",
            location=Location.of(repos_yaml),
        )
    return products


def _render_repos_yaml(entries: Repos, remotes: dict[str, Path], source: Path) -> str:
    lines = [
        "# Generated by scipipe_tools.demo.samplestack.materialize() from",
        f"#   {source}",
        "# with each URL pointing at a local bare remote.  Regenerate by materializing again.",
        "---",
    ]
    for product, spec in entries.specs.items():
        url = yaml_scalar(file_url(remotes[product]))
        if spec.ref is None and not spec.lfs:
            lines.append(f"{product}: {url}")
            continue
        lines += [f"{product}:", f"  url: {url}"]
        if spec.ref is not None:
            lines.append(f"  ref: {yaml_scalar(spec.ref)}")
        if spec.lfs:
            lines.append("  lfs: true")
    return "\n".join(lines) + "\n"
