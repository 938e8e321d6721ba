"""rubin-env environment specs as data (``envs/rubin-env-<version>.yaml``).

::

    name: rubin-env
    version: 13.0.1
    channels: [conda-forge]          # extra channels first; strict priority
    dependencies: ["rubin-env ==13.0.1"]
    variants:                        # added on top of dependencies: --variant developer
      developer: ["rubin-env-developer ==13.0.1"]
      rsp: ["rubin-env-rsp ==13.0.1"]
    platforms: [linux-64, linux-aarch64, osx-64, osx-arm64]
    virtual_packages:                # what each platform's solve may assume
      linux-64: {__glibc: "2.17", __unix: "0"}

Errors name the file and line.  The input hash of a (spec, variant, platform) is what
``conda-lock.yml`` records, so ``scipipe env lock --check`` can tell when a spec changed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, Location, did_you_mean
from ..infra.files import read_text
from ..names.platforms import NOARCH, SUPPORTED
from ..yamlfile import MappingNode, Node, NodeReader, ScalarNode, SequenceNode

#: what a spec may list under ``platforms``
KNOWN_PLATFORMS = (*SUPPORTED, NOARCH)
DEFAULT_VIRTUAL: dict[str, dict[str, str]] = {
    "linux-64": {"__glibc": "2.17", "__unix": "0", "__linux": "4.18"},
    "linux-aarch64": {"__glibc": "2.17", "__unix": "0", "__linux": "4.18"},
    "osx-64": {"__osx": "10.13", "__unix": "0"},
    "osx-arm64": {"__osx": "11.0", "__unix": "0"},
}
_KEYS = ("name", "version", "channels", "dependencies", "variants", "platforms",
         "virtual_packages")  # fmt: skip
# name [version-constraints [build]]: constraints without spaces (``>=3.13,<3.14``)
_SPEC = re.compile(r"^[A-Za-z0-9_.\-]+(\s+[<>=!~]*[^\s<>=!~]\S*(\s+[^\s<>=!~]\S*)?)?$")


@dataclass(frozen=True)
class EnvSpec:
    path: str
    name: str
    version: str
    channels: tuple[str, ...]
    dependencies: tuple[str, ...]
    variants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    platforms: tuple[str, ...] = ("linux-64",)
    virtual_packages: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def specs(self, variant: str | None = None) -> list[str]:
        if variant is None:
            return list(self.dependencies)
        if variant not in self.variants:
            raise InputError(
                f"{self.path}: no variant {variant!r}",
                hint=did_you_mean(variant, self.variants)
                or f"variants: {', '.join(self.variants)}",
            )
        extra = self.variants[variant]
        dropped = {spec[1:] for spec in extra if spec.startswith("-")}
        base = [d for d in self.dependencies if _package(d) not in dropped]
        return [*base, *(spec for spec in extra if not spec.startswith("-"))]

    def virtual(self, platform: str) -> dict[str, str]:
        return dict(self.virtual_packages.get(platform, DEFAULT_VIRTUAL.get(platform, {})))

    def input_hash(self, platform: str, variant: str | None = None) -> str:
        """sha256 of everything a platform's solve depends on, in a canonical form."""
        data = {
            "channels": list(self.channels),
            "specs": sorted(self.specs(variant)),
            "platform": platform,
            "virtual_packages": sorted(self.virtual(platform).items()),
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _strings(r: NodeReader, node: Node, key: str) -> tuple[str, ...]:
    if not isinstance(node, SequenceNode):
        raise r.fail(node, f"{key!r} must be a list")
    out = []
    for item in node.value:
        if not isinstance(item, ScalarNode) or not str(item.value).strip():
            raise r.fail(item, f"{key!r}: entries must be strings")
        out.append(str(item.value).strip())
    return tuple(out)


def _specs(r: NodeReader, node: Node, key: str) -> tuple[str, ...]:
    specs = _strings(r, node, key)
    for item, spec in zip(node.value, specs, strict=True):
        if not _SPEC.match(spec):
            raise r.fail(item, f"{key!r}: invalid match spec {spec!r}")
    return specs


def _virtual(r: NodeReader, node: Node) -> dict[str, dict[str, str]]:
    """``{platform: {name: version}}``, the versions as written (``2.30`` stays 2.30)."""
    bad = r.fail(node, "'virtual_packages' must map platforms to {name: version}")
    if not isinstance(node, MappingNode):
        raise bad
    out: dict[str, dict[str, str]] = {}
    for plat, packages in node.value:
        if not isinstance(plat, ScalarNode) or not isinstance(packages, MappingNode):
            raise bad
        versions: dict[str, str] = {}
        for name, version in packages.value:
            if not isinstance(name, ScalarNode) or not isinstance(version, ScalarNode):
                raise bad
            if not str(version.value).strip():
                raise bad
            versions[str(name.value)] = str(version.value)
        out[str(plat.value)] = versions
    return out


def parse_spec(text: str | bytes, path: str | Path = "env.yaml") -> EnvSpec:
    p = str(path)
    r = NodeReader(p)
    root = r.document(text, "expected a mapping")
    if not isinstance(root, MappingNode):
        raise r.fail(root, "expected a mapping")
    fields = {key: value for key, (_, value) in r.mapping(root, "", _KEYS).items()}
    for required in ("name", "version", "channels", "dependencies"):
        if required not in fields:
            raise InputError(f"missing {required!r}", location=Location(p, 1))
    scalars: dict[str, str] = {}
    for key in ("name", "version"):
        node = fields[key]
        if not isinstance(node, ScalarNode) or not str(node.value):
            raise r.fail(node, f"{key!r} must be a string")
        scalars[key] = str(node.value)
    variants: dict[str, tuple[str, ...]] = {}
    if "variants" in fields:
        for k, v in r.pairs(fields["variants"], "'variants'"):
            if not isinstance(k, ScalarNode):
                raise r.fail(k, "a variant name must be a string")
            variants[str(k.value)] = _variant(r, v, f"variants.{k.value}", fields["dependencies"])
    platforms: tuple[str, ...] = ("linux-64",)
    if "platforms" in fields:
        platforms = _strings(r, fields["platforms"], "platforms")
        for item, plat in zip(fields["platforms"].value, platforms, strict=True):
            if plat not in KNOWN_PLATFORMS:
                raise r.fail(item, f"unknown platform {plat!r}",
                             hint=did_you_mean(plat, KNOWN_PLATFORMS))  # fmt: skip
    virtual: dict[str, dict[str, str]] = {}
    if "virtual_packages" in fields:
        virtual = _virtual(r, fields["virtual_packages"])
    return EnvSpec(
        p,
        scalars["name"],
        scalars["version"],
        _strings(r, fields["channels"], "channels"),
        _specs(r, fields["dependencies"], "dependencies"),
        variants,
        platforms,
        virtual,
    )


def read_spec(path: str | Path) -> EnvSpec:
    return parse_spec(read_text(path, "environment spec"), path)


def _package(spec: str) -> str:
    """The package name a match spec starts with (``rubin-env ==13.0.1`` -> ``rubin-env``)."""
    return re.split(r"[\s=<>!~\[]", spec.strip(), maxsplit=1)[0]


def _variant(r: NodeReader, node: Node, what: str, base_node: Node) -> tuple[str, ...]:
    """A variant's specs: added to the dependencies, except ``-NAME``, which removes the
    dependency on NAME (``rubin-env-nosysroot`` replaces ``rubin-env``)."""
    specs = _specs(r, node, what)
    base = {_package(d) for d in _specs(r, base_node, "dependencies")}
    for item, spec in zip(node.value, specs, strict=True):
        if spec.startswith("-") and spec[1:] not in base:
            raise r.fail(item, f"{what}: {spec!r} removes {spec[1:]!r}, which is not a dependency")
    return specs
