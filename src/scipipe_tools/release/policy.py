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

from ..errors import InputError, Location
from ..infra.files import read_text
from ..yamlfile import NodeReader, SequenceNode
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
    """Parse a teams.yaml; errors name ``path:line:column``."""
    p = str(path)
    r = NodeReader(p)
    root = r.document(text, "expected a mapping with 'org' and 'teams'")
    r.pairs(root, "policy")
    fields = {name: value for name, (_, value) in r.mapping(root, "", KEYS).items()}
    for required in ("org", "teams"):
        if required not in fields:
            raise r.fail(root, f"missing {required!r}")
    org = r.string(fields["org"], "'org'", numbers=False)
    if not _PART.match(org):
        raise r.fail(fields["org"], f"invalid org {org!r}")

    teams: dict[str, frozenset[str]] = {}
    for team_node, repos_node in r.pairs(fields["teams"], "'teams'"):
        team = r.string(team_node, "a team name", numbers=False)
        if not isinstance(repos_node, SequenceNode):
            raise r.fail(repos_node, f"team {team!r}: expected a list of repositories")
        members: dict[str, int] = {}
        for item in repos_node.value:
            where = r.where(item)
            repo = qualify(
                r.string(item, f"team {team!r}: a repository", numbers=False), org, where
            )
            if repo in members:
                raise InputError(
                    f"team {team!r}: {repo} listed twice (first at line {members[repo]})",
                    location=where,
                )
            members[repo] = _line(item)
        teams[team] = frozenset(members)

    urls: dict[str, str] = {}
    if "urls" in fields:
        for key_node, url_node in r.pairs(fields["urls"], "'urls'"):
            where = r.where(key_node)
            repo = qualify(r.string(key_node, "a repository in 'urls'", numbers=False), org, where)
            if repo in urls:
                raise InputError(f"'urls': {repo} listed twice", location=where)
            urls[repo] = r.string(url_node, f"'urls': {repo}", numbers=False)

    pattern: str | None = None
    if "url_pattern" in fields:
        node = fields["url_pattern"]
        pattern = r.string(node, "'url_pattern'", numbers=False)
        try:
            fields_used = [f for _, f, spec, conv in Formatter().parse(pattern) if f is not None
                           and (f not in ("owner", "name") or spec or conv)]  # fmt: skip
        except ValueError:  # an unmatched brace
            fields_used = [pattern]
        if fields_used:
            raise r.fail(node, f"'url_pattern' {pattern!r} may use only {{owner}} and {{name}}")
        if "{name}" not in pattern:
            raise r.fail(node, f"'url_pattern' {pattern!r} lacks {{name}}")
    return TeamPolicy(p, org, teams, urls, pattern)


def read_policy(path: str | Path) -> TeamPolicy:
    """Read and parse the policy file at ``path``."""
    return parse_policy(read_text(path, "team policy"), path)
