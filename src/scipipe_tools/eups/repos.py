"""repos.yaml: EUPS product name -> git repository (spec section 1).

A value is a URL string or ``{url: ..., ref: ..., lfs: true}`` (a dict needs ``ref`` or
``lfs`` besides ``url``).  Loading checks the structure; :func:`lint` adds the stricter
rules of the lsst/repos lint step (https only).  Errors name ``file:line``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import InputError, Location, ResolutionError, did_you_mean
from ..yamlfile import MappingNode, Node, NodeReader, ScalarNode
from ..yamlfile import line as _line

PRODUCT_KEY = re.compile(r"^[A-Za-z0-9_]+$")
ALLOWED_KEYS = ("url", "ref", "lfs")
DEFAULT_REF = "main"


@dataclass(frozen=True)
class RepoSpec:
    product: str
    url: str
    ref: str | None = None
    lfs: bool = False
    line: int | None = None

    @property
    def default_ref(self) -> str:
        return self.ref or DEFAULT_REF


@dataclass(frozen=True)
class Repos:
    path: str
    specs: Mapping[str, RepoSpec]
    patterns: tuple[str, ...] = ()

    def __contains__(self, product: object) -> bool:
        return product in self.specs or (bool(self.patterns) and isinstance(product, str))

    def __iter__(self) -> Iterator[str]:
        return iter(self.specs)

    def __len__(self) -> int:
        return len(self.specs)

    def get(self, product: str) -> RepoSpec | None:
        return self.specs.get(product)

    def candidates(self, product: str) -> list[str]:
        """URLs to try, in order: the repos.yaml entry, then each ``--repository-pattern``."""
        urls: list[str] = []
        spec = self.specs.get(product)
        if spec is not None:
            urls.append(spec.url)
        urls.extend(p.replace("%(product)s", product) for p in self.patterns)
        if not urls:
            raise ResolutionError(
                f"unknown product {product!r}: not in {self.path}",
                hint=did_you_mean(product, self.specs) or "add it, or pass --repository-pattern",
            )
        return urls

    def with_patterns(self, patterns: Iterable[str]) -> Repos:
        return Repos(self.path, self.specs, tuple(patterns))


def split_patterns(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """``--repository-pattern``/``$REPOSITORY_PATTERN``: ``|``-separated, ``%(product)s``."""
    if not value:
        return ()
    items = value.split("|") if isinstance(value, str) else [p for v in value for p in v.split("|")]
    out = []
    for item in items:
        item = item.strip()
        if item and "%(product)s" not in item:
            raise InputError(f"repository pattern {item!r} lacks '%(product)s'")
        if item:
            out.append(item)
    return tuple(out)


def parse_repos(text: str | bytes, path: str | Path = "repos.yaml") -> Repos:
    p = str(path)
    r = NodeReader(p)
    # repos.yaml's own duplicate messages: "afw: duplicate entry (first at line 3)"
    root = r.document(text, "expected a mapping of product names to URLs", unique_keys=False)
    specs: dict[str, RepoSpec] = {}
    first: dict[str, int] = {}
    if not isinstance(root, MappingNode):
        raise r.fail(root, "expected a mapping of product names to URLs")
    for key_node, value_node in root.value:
        name = str(key_node.value) if isinstance(key_node, ScalarNode) else "a non-scalar key"
        if not PRODUCT_KEY.match(name):
            raise r.fail(key_node, f"invalid product name {name!r} (allowed: A-Z a-z 0-9 _)")
        if name in first:
            raise r.fail(key_node, f"{name}: duplicate entry (first at line {first[name]})")
        first[name] = _line(key_node)
        specs[name] = _parse_value(r, name, value_node)
    return Repos(p, specs)


def _url(r: NodeReader, node: Node, name: str) -> str:
    url = r.string(node, f"{name}: 'url'", numbers=False)
    try:
        parts = urlsplit(url)
    except ValueError:  # "Invalid IPv6 URL": a bracket the host cannot have
        raise r.fail(node, f"{name}: invalid URL {url!r}") from None
    if not parts.scheme or (parts.scheme != "file" and not parts.netloc) or " " in url:
        raise r.fail(node, f"{name}: invalid URL {url!r}")
    return url


def _parse_value(r: NodeReader, name: str, node: Node) -> RepoSpec:
    line = _line(node)
    if isinstance(node, ScalarNode):
        return RepoSpec(name, _url(r, node, name), line=line)
    if not isinstance(node, MappingNode):
        raise r.fail(node, f"{name}: value must be a URL string or a mapping with 'url'")
    fields = r.mapping(node, name, ALLOWED_KEYS)
    if "url" not in fields:
        raise r.fail(node, f"{name}: missing 'url'")
    url = _url(r, fields["url"][1], name)
    if len(fields) == 1:
        raise r.fail(node, f"{name}: a mapping needs 'ref' or 'lfs' besides 'url'",
                     hint=f"write it as `{name}: {url}`")  # fmt: skip
    ref = r.string(fields["ref"][1], f"{name}: 'ref'", numbers=False) if "ref" in fields else None
    lfs = False
    if "lfs" in fields:
        lnode = fields["lfs"][1]
        if not (isinstance(lnode, ScalarNode) and lnode.value == "true"):
            raise r.fail(lnode, f"{name}: 'lfs' must be true (all lowercase)")
        lfs = True
    return RepoSpec(name, url, ref, lfs, line)


@dataclass(frozen=True)
class LintProblem:
    location: Location
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


def lint(
    repos: Repos,
    *,
    allowed_schemes: Iterable[str] = ("https",),
    url_status: Mapping[str, int | str] | None = None,
) -> list[LintProblem]:
    """The lsst/repos lint rules beyond structure: URL schemes (https unless allowed) and,
    given ``url_status`` (the HTTP status of each URL, fetched by the caller), URLs that
    do not answer 200."""
    schemes = set(allowed_schemes)
    allowed = ", ".join(sorted(schemes))
    problems = []
    for spec in repos.specs.values():
        scheme = urlsplit(spec.url).scheme
        if scheme not in schemes:
            msg = f"{spec.product}: URL scheme {scheme!r} is not allowed ({allowed})"
            problems.append(LintProblem(Location(repos.path, spec.line), msg))
        if url_status is not None and spec.url in url_status and url_status[spec.url] != 200:
            msg = f"{spec.product}: {spec.url} answers {url_status[spec.url]}, not 200"
            problems.append(LintProblem(Location(repos.path, spec.line), msg))
    return problems
