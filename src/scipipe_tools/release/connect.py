"""Choosing and opening a forge from options: plain git with a teams file, or GitHub."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..eups.repos import Repos
from ..forge.base import Forge, repo_id
from ..forge.github import GitHubForge, load_token
from ..infra.paths import cache_root
from .gitforge import GitForge
from .policy import read_policy

DEFAULT_GITHUB_URL = "https://api.github.com"
#: codekit's default token file (scopes repo, read:org)
DEFAULT_TOKEN_PATH = Path("~/.sq_github_token_delete")


@dataclass(frozen=True)
class ForgeConfig:
    """``kind`` "git": teams from ``teams_file``, repos fetched from their repos.yaml URLs.
    ``kind`` "github": the organisation ``org`` at ``github_url``, token from the
    environment (``GITHUB_TOKEN``) or ``token_path``.
    """

    kind: str
    org: str = ""
    teams_file: Path | None = None
    github_url: str = DEFAULT_GITHUB_URL
    token_path: Path | None = None
    cache_dir: Path | None = None
    jobs: int = 8
    max_wait: float = 3600.0

    @property
    def key(self) -> str:
        """Identifies the forge in the ledger (never includes the token)."""
        if self.kind == "git":
            return f"git:{self.teams_file.resolve() if self.teams_file else '-'}"
        return f"github:{self.github_url.rstrip('/')}/{self.org}"


def repo_urls(repos: Repos | None) -> dict[str, str]:
    """``owner/name`` -> URL for every repos.yaml entry whose URL names one."""
    urls: dict[str, str] = {}
    if repos is None:
        return urls
    for product in repos:
        spec = repos.get(product)
        if spec is None:
            continue
        try:
            urls[repo_id(spec.url).full_name] = spec.url
        except InputError:
            continue
    return urls


def open_forge(
    config: ForgeConfig, repos: Repos | None = None, env: Mapping[str, str] | None = None
) -> Forge:
    """The forge ``config`` describes (PyGithub is imported at the GitHub forge's
    first call)."""
    if config.kind == "git":
        if config.teams_file is None:
            raise InputError(
                "the git forge needs a teams file",
                hint="pass --teams-file teams.yaml (team name -> repos), or use --forge github",
            )
        policy = read_policy(config.teams_file)
        return GitForge(
            policy, urls=repo_urls(repos), cache_dir=config.cache_dir or cache_root("forge")
        )
    if config.kind == "github":
        if not config.org:
            raise InputError("the github forge needs --org")
        token = load_token(config.token_path, os.environ if env is None else env)
        return GitHubForge(
            config.org,
            token=token,
            base_url=config.github_url,
            jobs_hint=config.jobs,
            max_wait=config.max_wait,
        )
    raise InputError(f"unknown forge {config.kind!r}: use git or github")
