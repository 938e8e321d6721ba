"""teams.yaml: the tagging policy of the plain-git forge, standing in for GitHub teams.

::

    # teams.yaml: tagging policy for the plain-git forge
    org: lsst
    teams:
      Data Management: [afw, base, daf_butler]      # bare name = <org>/<name>
      DM Externals: [eigen, lsst-dm/legacy-foo]     # or owner/name
      DM Auxilliaries: [lsst/versiondb]
    urls:                                           # optional: repos not in repos.yaml
      lsst/versiondb: git://127.0.0.1:9418/lsst/versiondb.git
    url_pattern: "git://127.0.0.1:9418/{owner}/{name}.git"   # optional fallback

Team names are the display names the release commands take (``--allow-team``).  Every
repository is kept as its full ``owner/name``.  Errors name ``file:line``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from string import Formatter

from .. import yamlfile
from ..errors import InputError, Location, did_you_mean
from ..infra.files import read_text
from ..yamlfile import STR, MappingNode, Node, ScalarNode, SequenceNode
from ..yamlfile import line as _line

#: the top-level keys of a policy file
KEYS = ("org", "teams", "urls", "url_pattern")
#: an owner or a repository name, as GitHub allows them
_PART = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class TeamPolicy:
    """A parsed teams.yaml: teams of full repository names, and where repositories live."""

    path: str
    org: str
    #: team display name -> the ``owner/name`` of its repositories
    teams: dict[str, frozenset[str]]
    #: ``owner/name`` -> git URL, for repositories that repos.yaml does not list
    urls: Mapping[str, str] = field(default_factory=dict)
    #: ``{owner}``/``{name}`` pattern for repositories found nowhere else
    url_pattern: str | None = None

    def url_for(self, full_name: str) -> str | None:
        """The URL of ``owner/name`` from ``urls``, else ``url_pattern``, else None."""
        if full_name in self.urls:
            return self.urls[full_name]
        if self.url_pattern is None or "/" not in full_name:
            return None
        owner, name = full_name.split("/", 1)
        return self.url_pattern.format(owner=owner, name=name)

    def teams_of(self, full_name: str) -> list[str]:
        """The teams ``owner/name`` belongs to, sorted."""
        return sorted(team for team, repos in self.teams.items() if full_name in repos)


def _string(node: Node, what: str, path: str) -> str:
    if not isinstance(node, ScalarNode) or node.tag != STR or not str(node.value).strip():
        raise InputError(f"{what} must be a non-empty string", location=Location(path, _line(node)))
    return str(node.value)


def _mapping(node: Node, what: str, path: str) -> list[tuple[Node, Node]]:
    """The (key, value) pairs of a mapping node (:func:`yamlfile.compose` has refused
    duplicate keys)."""
    if not isinstance(node, MappingNode):
        raise InputError(f"{what} must be a mapping", location=Location(path, _line(node)))
    return list(node.value)


def qualify(name: str, org: str, where: Location) -> str:
    """``owner/name`` for a policy entry: a bare ``name`` belongs to ``org``."""
    parts = name.split("/")
    if len(parts) == 1:
        parts = [org, name]
    if len(parts) != 2 or not all(_PART.match(p) for p in parts):
        raise InputError(
            f"invalid repository {name!r}: expected 'name' or 'owner/name' "
            "(letters, digits, '_', '.', '-')",
            location=where,
        )
    return "/".join(parts)


def parse_policy(text: str | bytes, path: str | Path = "teams.yaml") -> TeamPolicy:
    """Parse a teams.yaml; errors name ``path:line``."""
    p = str(path)
    root = yamlfile.compose(text, p)
    if root is None:
        raise InputError(
            "empty file: expected a mapping with 'org' and 'teams'", location=Location(p)
        )
    fields: dict[str, Node] = {}
    for key, value in _mapping(root, "policy", p):
        name = str(key.value) if isinstance(key, ScalarNode) else "?"
        if name not in KEYS:
            raise InputError(
                f"unknown key {name!r} (allowed: {', '.join(KEYS)})",
                location=Location(p, _line(key)),
                hint=did_you_mean(name, KEYS),
            )
        fields[name] = value
    for required in ("org", "teams"):
        if required not in fields:
            raise InputError(f"missing {required!r}", location=Location(p, _line(root)))
    org = _string(fields["org"], "'org'", p)
    if not _PART.match(org):
        raise InputError(f"invalid org {org!r}", location=Location(p, _line(fields["org"])))

    teams: dict[str, frozenset[str]] = {}
    for team_node, repos_node in _mapping(fields["teams"], "'teams'", p):
        team = _string(team_node, "a team name", p)
        if not isinstance(repos_node, SequenceNode):
            raise InputError(
                f"team {team!r}: expected a list of repositories",
                location=Location(p, _line(repos_node)),
            )
        members: dict[str, int] = {}
        for item in repos_node.value:
            where = Location(p, _line(item))
            repo = qualify(_string(item, f"team {team!r}: a repository", p), org, where)
            if repo in members:
                raise InputError(
                    f"team {team!r}: {repo} listed twice (first at line {members[repo]})",
                    location=where,
                )
            members[repo] = _line(item)
        teams[team] = frozenset(members)

    urls: dict[str, str] = {}
    if "urls" in fields:
        for key_node, url_node in _mapping(fields["urls"], "'urls'", p):
            where = Location(p, _line(key_node))
            repo = qualify(_string(key_node, "a repository in 'urls'", p), org, where)
            if repo in urls:
                raise InputError(f"'urls': {repo} listed twice", location=where)
            urls[repo] = _string(url_node, f"'urls': {repo}", p)

    pattern: str | None = None
    if "url_pattern" in fields:
        node = fields["url_pattern"]
        pattern = _string(node, "'url_pattern'", p)
        try:
            fields_used = [f for _, f, spec, conv in Formatter().parse(pattern) if f is not None
                           and (f not in ("owner", "name") or spec or conv)]  # fmt: skip
        except ValueError:  # an unmatched brace
            fields_used = [pattern]
        if fields_used:
            raise InputError(
                f"'url_pattern' {pattern!r} may use only {{owner}} and {{name}}",
                location=Location(p, _line(node)),
            )
        if "{name}" not in pattern:
            raise InputError(
                f"'url_pattern' {pattern!r} lacks {{name}}", location=Location(p, _line(node))
            )
    return TeamPolicy(p, org, teams, urls, pattern)


def read_policy(path: str | Path) -> TeamPolicy:
    """Read and parse the policy file at ``path``."""
    return parse_policy(read_text(path, "team policy"), path)
