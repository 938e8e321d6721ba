"""codekit's organisation commands: fork an organisation, move repos between teams,
delete the repos of a test organisation (``github-fork-org``, ``github-mv-repos-to-team``,
``github-decimate-org``).

Each reads first, then writes one repo at a time, and returns one row per repo; a
failed write is recorded against its repo and the run goes on (unless ``fail_fast``).
Deleting is guarded twice: the organisation's name must be given again, and a
``--dry-run`` of the same organisation must have been seen first.  The dry run
records what it would delete in a small state file; the real run deletes only those
repos (a repo made since is left alone) and removes the file when it is done.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from ..errors import InputError, ScipipeError
from ..forge.github import GitHubForge
from .ledger import state_dir

log = logging.getLogger(__name__)

#: how long a dry run of github-decimate-org stays valid for the real run (seconds)
DRY_RUN_VALID = 24 * 3600


@dataclass(frozen=True)
class Row:
    repo: str
    action: str
    outcome: str
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass
class AdminResult:
    """One row per repo: ``outcome`` is done, would (a dry run), skipped or error."""

    command: str
    dry_run: bool
    rows: list[Row] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for r in self.rows if r.outcome == "error")

    @property
    def exit_code(self) -> int:
        return min(self.errors, 255)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            out[r.outcome] = out.get(r.outcome, 0) + 1
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "command": self.command,
            "dry_run": self.dry_run,
            "counts": self.counts(),
            "errors": self.errors,
            "rows": [r.to_json() for r in self.rows],
        }


def _apply(
    result: AdminResult,
    repo: str,
    action: str,
    write: Callable[[], object] | None,
    *,
    fail_fast: bool,
) -> bool:
    """Run ``write`` (a callable) unless dry-running; record the row.  False: stop."""
    if result.dry_run:
        log.info("(noop) %s: %s", repo, action)
        result.rows.append(Row(repo, action, "would"))
        return True
    try:
        detail = write() if write is not None else None
    except ScipipeError as exc:
        result.rows.append(Row(repo, action, "error", exc.message))
        return not fail_fast
    result.rows.append(Row(repo, action, "done", str(detail or "")))
    return True


# ---------------------------------------------------------------- github-fork-org


def fork_org(
    forge: GitHubForge,
    dst_org: str,
    *,
    teams: Sequence[str] = (),
    dry_run: bool = False,
    limit: int | None = None,
    fail_fast: bool = False,
    copy_teams: bool = False,
) -> AdminResult:
    """Fork every repo of the forge's organisation (or of ``teams``) into ``dst_org``.
    A repo whose fork is already there is skipped; forks are not forked again.

    ``copy_teams``: then, as codekit's ``--copy-teams``, every team of the source
    organisation that holds a forked repo (whether ``teams`` named it or not) is made in
    ``dst_org`` with those forks, each at the permission the source team has on its
    repo.  A team already there is reused and a fork already at its permission skipped,
    so a rerun finishes what a failed one left."""
    if dst_org.lower() == forge.org.lower():
        raise InputError("--dst-org must differ from --src-org")
    if teams:
        wanted: set[str] = set().union(*forge.teams(teams).values())
        names = sorted(r.full_name for r in forge.org_repos() if r.full_name in wanted)
    else:
        names = sorted(r.full_name for r in forge.org_repos() if not r.fork)
    names = names[:limit] if limit is not None else names
    there = {r.full_name.split("/", 1)[1].lower() for r in forge.org_repos(dst_org)}
    copies = _team_copies(forge, names) if copy_teams else {}
    result = AdminResult("github-fork-org", dry_run)
    for full in names:
        name = full.split("/", 1)[1]
        if name.lower() in there:
            result.rows.append(Row(full, f"fork into {dst_org}", "skipped", "already there"))
            continue
        if not _apply(
            result,
            full,
            f"fork into {dst_org}",
            partial(forge.fork, full, dst_org),
            fail_fast=fail_fast,
        ):
            return result
    if copies:
        failed = {r.repo for r in result.rows if r.outcome == "error"}
        _copy_teams(forge, dst_org, copies, failed, result, fail_fast=fail_fast)
    return result


def _team_copies(forge: GitHubForge, names: Sequence[str]) -> dict[str, dict[str, str]]:
    """team name -> {forked repo's name: the team's permission on it}, for the teams of
    the source organisation that hold any of ``names``."""
    wanted = set(names)
    out: dict[str, dict[str, str]] = {}
    for team in forge.org_teams():
        perms = forge.team_permissions(team.slug)
        mine = {full.split("/", 1)[1]: p for full, p in perms.items() if full in wanted}
        if mine:
            out[team.name] = mine
    return out


def _copy_teams(
    forge: GitHubForge,
    dst_org: str,
    copies: dict[str, dict[str, str]],
    failed: set[str],
    result: AdminResult,
    *,
    fail_fast: bool,
) -> None:
    existing = {t.name: t.slug for t in forge.org_teams(dst_org)}
    for team, repos in sorted(copies.items()):
        slug = existing.get(team)
        have = forge.team_permissions(slug, dst_org) if slug else {}
        key = f"{dst_org}:{team}"
        if slug is not None:
            result.rows.append(Row(key, "team create", "skipped", "already there"))
        else:
            made: list[str] = []

            def create(name: str = team, made: list[str] = made) -> str:
                made.append(forge.create_team(dst_org, name))
                return made[-1]

            if not _apply(result, key, "team create", create, fail_fast=fail_fast):
                return
            slug = made[0] if made else None
        for name, permission in sorted(repos.items()):
            fork = f"{dst_org}/{name}"
            action = f"add to team {team!r} ({permission})"
            if f"{forge.org}/{name}" in failed:
                result.rows.append(Row(fork, action, "skipped", "the fork failed"))
            elif have.get(fork) == permission:
                result.rows.append(Row(fork, action, "skipped", "already there"))
            elif slug is None and not result.dry_run:
                result.rows.append(Row(fork, action, "skipped", "the team was not made"))
            else:
                write = partial(forge.set_team_repo, dst_org, slug or "", fork, permission)
                if not _apply(result, fork, action, write, fail_fast=fail_fast):
                    return


# ---------------------------------------------------------------- github-mv-repos-to-team


def mv_repos_to_team(
    forge: GitHubForge,
    repos: Iterable[str],
    *,
    new_team: str,
    old_team: str | None = None,
    permission: str = "push",
    dry_run: bool = False,
    fail_fast: bool = False,
) -> AdminResult:
    """Add each repo (``name`` or ``owner/name``) to ``new_team`` and, with ``old_team``,
    take it out of that one.  A repo already where it should be is skipped."""
    names = [r if "/" in r else f"{forge.org}/{r}" for r in repos]
    wanted = [new_team, *([old_team] if old_team else [])]
    members = forge.teams(wanted)
    result = AdminResult("github-mv-repos-to-team", dry_run)
    for full in names:
        if not forge.exists(full):
            result.rows.append(Row(full, "move", "error", "the repository does not exist"))
            if fail_fast:
                break
            continue
        steps: list[tuple[str, Callable[[], object]]] = []
        if full not in members[new_team]:
            steps.append(
                (
                    f"add to {new_team!r}",
                    partial(forge.team_add_repo, new_team, full, permission),
                )
            )
        if old_team and full in members[old_team]:
            steps.append(
                (
                    f"remove from {old_team!r}",
                    partial(forge.team_remove_repo, old_team, full),
                )
            )
        if not steps:
            result.rows.append(Row(full, "move", "skipped", "already in place"))
        for action, write in steps:
            if not _apply(result, full, action, write, fail_fast=fail_fast):
                return result
    return result


# ---------------------------------------------------------------- github-decimate-org


def decimate_state_path(api_url: str, org: str) -> Path:
    """Where the dry run of github-decimate-org records what it saw."""
    key = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{api_url.rstrip('/')}_{org}".lower())
    return state_dir() / f"decimate-{key}.json"


def decimate_org(
    forge: GitHubForge,
    *,
    confirm: str | None,
    dry_run: bool,
    state: Path,
    limit: int | None = None,
    fail_fast: bool = False,
    now: dt.datetime | None = None,
    delete_repos: bool = True,
    delete_teams: bool = False,
    teams_limit: int | None = None,
) -> AdminResult:
    """Delete the repos (``delete_repos``) and the teams (``delete_teams``, as codekit's
    ``--delete-teams``) of the forge's (test) organisation, after the two guards; repos
    first.  Team rows are named ``org:team``."""
    org = forge.org
    when = now or dt.datetime.now(dt.UTC)
    if not dry_run and confirm != org:
        raise InputError(
            f"refusing to delete the repos of {org}: give its name twice "
            f"(--org {org} --confirm {org})",
        )
    if dry_run:
        names = sorted(r.full_name for r in forge.org_repos()) if delete_repos else []
        names = names[:limit] if limit is not None else names
        teams = sorted(t.name for t in forge.org_teams()) if delete_teams else []
        teams = teams[:teams_limit] if teams_limit is not None else teams
        _write_state(state, org, forge.base_url, names, when, teams)
        result = AdminResult("github-decimate-org", True)
        for full in names:
            _apply(result, full, "delete", None, fail_fast=False)
        for team in teams:
            _apply(result, f"{org}:{team}", "delete team", None, fail_fast=False)
        return result
    seen, seen_teams = _read_state(state, org, forge.base_url, when)
    result = AdminResult("github-decimate-org", False)
    if delete_repos and _delete_repos(forge, seen, result, fail_fast=fail_fast):
        if delete_teams:
            _delete_teams(forge, seen_teams, result, fail_fast=fail_fast)
    elif delete_teams and not delete_repos:
        _delete_teams(forge, seen_teams, result, fail_fast=fail_fast)
    if result.errors == 0:
        state.unlink(missing_ok=True)  # the next real run needs a new dry run
    return result


def _delete_repos(
    forge: GitHubForge, seen: list[str], result: AdminResult, *, fail_fast: bool
) -> bool:
    """Delete the repos the dry run listed that are still there.  False: stop."""
    current = {r.full_name for r in forge.org_repos()}
    for full in sorted(current - set(seen)):
        result.rows.append(Row(full, "delete", "skipped", "not in the dry run"))
    for full in seen:
        if full not in current:
            result.rows.append(Row(full, "delete", "skipped", "already gone"))
            continue
        if not _apply(
            result, full, "delete", partial(forge.delete_repo, full), fail_fast=fail_fast
        ):
            return False
    return True


def _delete_teams(
    forge: GitHubForge, seen: list[str], result: AdminResult, *, fail_fast: bool
) -> None:
    """Delete the teams the dry run listed that are still there."""
    org = forge.org
    current = {t.name: t.slug for t in forge.org_teams()}
    for name in sorted(set(current) - set(seen)):
        result.rows.append(Row(f"{org}:{name}", "delete team", "skipped", "not in the dry run"))
    for name in seen:
        key = f"{org}:{name}"
        if name not in current:
            result.rows.append(Row(key, "delete team", "skipped", "already gone"))
            continue
        write = partial(forge.delete_team, org, current[name])
        if not _apply(result, key, "delete team", write, fail_fast=fail_fast):
            return


def _write_state(
    state: Path, org: str, api: str, names: list[str], when: dt.datetime, teams: list[str]
) -> None:
    state.parent.mkdir(parents=True, exist_ok=True)
    tmp = state.with_name(state.name + ".tmp")
    body = {"org": org, "api": api, "time": when.isoformat(timespec="seconds"),
            "repos": names, "teams": teams}  # fmt: skip
    tmp.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, state)


def _read_state(state: Path, org: str, api: str, when: dt.datetime) -> tuple[list[str], list[str]]:
    hint = f"run it with --dry-run first: it lists what would go (recorded in {state})"
    try:
        raw = json.loads(state.read_text(encoding="utf-8"))
        seen_org, seen_api = str(raw["org"]), str(raw["api"])
        at = dt.datetime.fromisoformat(str(raw["time"]))
        names = [str(n) for n in raw["repos"]]
        teams = [str(n) for n in raw.get("teams", [])]
    except FileNotFoundError:
        raise InputError(
            f"refusing to delete the repos of {org}: no --dry-run seen", hint=hint
        ) from None
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(f"{state}: unreadable dry-run record", hint=hint) from None
    if (seen_org, seen_api) != (org, api):
        raise InputError(f"{state}: the dry run was of {seen_org} at {seen_api}", hint=hint)
    age = (when - at).total_seconds()
    if not 0 <= age <= DRY_RUN_VALID:
        raise InputError(
            f"refusing to delete the repos of {org}: the dry run ({raw['time']}) is older "
            f"than {DRY_RUN_VALID // 3600} hours",
            hint=hint,
        )
    return names, teams
