"""The build matrix: platforms, runners, images, agent labels and the rubin-env version.

One file (``ci/build-matrix.yaml``) that both CI systems read through ``scipipe ci
matrix``: the GitHub build-stack workflow (``runner``) and the Jenkins jobs (``label``,
``image``)::

    rubin_env: 13.0.1                    # the rubin-env version every platform builds with
    platforms:
      - name: linux-64                   # a conda platform name
        runner: ubuntu-24.04             # GitHub: runs-on
        image: ghcr.io/lsst-dm/docker-scipipe:9-latest   # Jenkins: the docker image
        label: docker                    # Jenkins: the agent label
        eups_flavor: Linux64             # EUPS flavor of the platform
    canonical:
      products: [lsst_distrib, lsst_ci, lsst_extras]   # the top-level products
      platform: linux-64                 # where release builds run [default: the first]
      label: snowflake-0                 # Jenkins: the one agent that keeps the release
                                         #   work root [default: the platform's label]

Errors name ``file:line``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError, did_you_mean
from ..infra.files import read_text
from ..names.platforms import SUPPORTED
from ..yamlfile import Node, NodeReader, SequenceNode

EUPS_FLAVORS = ("Linux64", "Linux", "DarwinX86", "Darwin")

TOP_KEYS = ("rubin_env", "platforms", "canonical")
PLATFORM_KEYS = ("name", "runner", "image", "label", "eups_flavor")
CANONICAL_KEYS = ("products", "platform", "label")


@dataclass(frozen=True)
class Platform:
    name: str
    runner: str
    label: str
    eups_flavor: str
    image: str | None = None


@dataclass(frozen=True)
class BuildMatrix:
    path: Path
    rubin_env: str
    platforms: tuple[Platform, ...]
    products: tuple[str, ...]
    canonical_platform: str
    #: the Jenkins agent label of release builds
    canonical_label: str

    def platform(self, name: str) -> Platform:
        for p in self.platforms:
            if p.name == name:
                return p
        names = [p.name for p in self.platforms]
        raise InputError(
            f"{self.path}: no platform {name!r} (platforms: {', '.join(names)})",
            hint=did_you_mean(name, names),
        )

    def select(self, names: tuple[str, ...]) -> tuple[Platform, ...]:
        """The named platforms in the file's order (all of them when ``names`` is empty)."""
        wanted = {self.platform(n).name for n in names}
        return tuple(p for p in self.platforms if not wanted or p.name in wanted)


def _platform(r: NodeReader, node: Node, index: int) -> Platform:
    what = f"platforms[{index}]"
    m = r.mapping(node, what, PLATFORM_KEYS)
    for key in ("name", "runner", "label", "eups_flavor"):
        if key not in m:
            raise r.fail(node, f"{what}: missing {key!r}")
    name = r.one_of(m["name"][1], f"{what}.name", SUPPORTED, "conda platform")
    flavor = r.one_of(m["eups_flavor"][1], f"{what}.eups_flavor", EUPS_FLAVORS, "flavor")
    image = r.optional_string(m["image"][1], f"{what}.image") if "image" in m else None
    return Platform(
        name=name,
        runner=r.string(m["runner"][1], f"{what}.runner"),
        label=r.string(m["label"][1], f"{what}.label"),
        eups_flavor=flavor,
        image=image,
    )


def parse_build_matrix(text: str | bytes, path: str | Path = "build-matrix.yaml") -> BuildMatrix:
    where = Path(path)
    r = NodeReader(where)
    root = r.document(text, "expected rubin_env, platforms and canonical")
    m = r.mapping(root, "the build matrix", TOP_KEYS)
    for key in TOP_KEYS:
        if key not in m:
            raise r.fail(root, f"missing {key!r}")
    rubin_env = r.string(m["rubin_env"][1], "rubin_env")
    pnode = m["platforms"][1]
    if not isinstance(pnode, SequenceNode) or not pnode.value:
        raise r.fail(pnode, "platforms must be a non-empty list")
    platforms: list[Platform] = []
    for i, item in enumerate(pnode.value):
        plat = _platform(r, item, i)
        if any(p.name == plat.name for p in platforms):
            raise r.fail(item, f"platforms[{i}]: platform {plat.name!r} listed twice")
        platforms.append(plat)
    c = r.mapping(m["canonical"][1], "canonical", CANONICAL_KEYS)
    if "products" not in c:
        raise r.fail(m["canonical"][1], "canonical: missing 'products'")
    products = r.strings(c["products"][1], "canonical.products")
    if not products:
        raise r.fail(c["products"][1], "canonical.products must name at least one product")
    canonical = platforms[0].name
    if "platform" in c:
        canonical = r.string(c["platform"][1], "canonical.platform")
        names = [p.name for p in platforms]
        if canonical not in names:
            raise r.fail(
                c["platform"][1],
                f"canonical.platform: {canonical!r} is not one of the platforms",
                hint=did_you_mean(canonical, names),
            )
    label = next(p.label for p in platforms if p.name == canonical)
    if "label" in c:
        label = r.string(c["label"][1], "canonical.label")
    return BuildMatrix(where, rubin_env, tuple(platforms), products, canonical, label)


def read_build_matrix(path: str | Path) -> BuildMatrix:
    return parse_build_matrix(read_text(path, "build matrix"), path)
