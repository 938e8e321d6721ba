"""``scipipe release list-repos``: every repo with its teams (codekit github-list-repos).

Every repo the forge knows is listed, in a team or not (as codekit lists every repo of
the organisation), and those the caller names (``extra``: e.g. every repo of
repos.yaml).  Teams in ``hide`` are left out before the ``mint <= #teams <= maxt``
filter, as codekit does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..errors import InputError
from ..forge.base import Forge

#: codekit's column width and default delimiter
NAME_WIDTH = 40
DEFAULT_DELIMITER = ", "


@dataclass(frozen=True)
class RepoTeams:
    full_name: str
    #: the team names, sorted, without the hidden ones
    teams: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.full_name.split("/", 1)[-1]

    def to_json(self) -> dict[str, object]:
        return {"repo": self.full_name, "name": self.name, "teams": list(self.teams)}


def repo_teams(
    all_teams: Mapping[str, frozenset[str]],
    *,
    hide: Iterable[str] = (),
    mint: int = 0,
    maxt: int | None = None,
    extra: Iterable[str] = (),
) -> list[RepoTeams]:
    """Each repo (sorted by full name) with its teams, filtered on the team count."""
    if mint < 0 or (maxt is not None and maxt < 0):
        raise InputError("--mint and --maxt must not be negative")
    hidden = set(hide)
    by_repo: dict[str, set[str]] = {name: set() for name in extra}
    for team, repos in all_teams.items():
        for repo in repos:
            shown = by_repo.setdefault(repo, set())
            if team not in hidden:
                shown.add(team)
    out: list[RepoTeams] = []
    for repo in sorted(by_repo):
        teams = tuple(sorted(by_repo[repo]))
        if len(teams) < mint or (maxt is not None and len(teams) > maxt):
            continue
        out.append(RepoTeams(repo, teams))
    return out


def list_repos(
    forge: Forge,
    *,
    hide: Iterable[str] = (),
    mint: int = 0,
    maxt: int | None = None,
    extra: Iterable[str] = (),
) -> list[RepoTeams]:
    """:func:`repo_teams` over every team and every repo of the forge's organisation."""
    everything = [*extra, *sorted(forge.all_repos())]
    return repo_teams(forge.all_teams(), hide=hide, mint=mint, maxt=maxt, extra=everything)


def format_rows(rows: Iterable[RepoTeams], delimiter: str = DEFAULT_DELIMITER) -> list[str]:
    """codekit's lines: the name padded to 40 columns, then the teams.

    The bare repo name is shown, as codekit does for its one organisation; when the
    repos span several owners the full ``owner/name`` is shown instead.
    """
    rows = list(rows)
    owners = {r.full_name.split("/", 1)[0] for r in rows}
    lines = []
    for r in rows:
        name = r.name if len(owners) <= 1 else r.full_name
        lines.append((name.ljust(NAME_WIDTH) + delimiter.join(r.teams)).rstrip())
    return lines
