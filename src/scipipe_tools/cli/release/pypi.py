"""``scipipe release pypi``: publish the pure-Python products of a release to an index."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click

from ...errors import InputError
from ...release.pypi.auth import PYPI_UPLOAD, resolve_target
from ...release.pypi.publish import PypiRequest, PypiResult, Source, publish
from ...stack.readers import load_manifest, load_repos
from ..common import columns, echo, emit_json, get_app, info
from ..console import progress_for
from ..options import dry_run_option, json_option, repos_option, takes, versiondb_option


@dataclass(frozen=True)
class PypiArgs:
    manifest: str | None
    versiondb: Path | None
    ref: str | None
    products: tuple[str, ...]
    repos: str
    work_dir: Path
    repository_url: str | None
    repository: str | None
    index_url: str | None
    pypirc: Path | None
    isolation: bool
    dry_run: bool


@click.command("pypi")
@click.option("--manifest", metavar="FILE|bNNNN", default=None,
              help="Release the products of this manifest, each at its commit.")  # fmt: skip
@versiondb_option("Where a build id given to --manifest is looked up")
@click.option("--ref", metavar="TAG", default=None,
              help="Release each product at this git tag (w.2025.07, v29.0.0).")  # fmt: skip
@click.option("--product", "products", multiple=True, metavar="NAME",
              help="Only this product (repeatable) [default: the manifest's].")  # fmt: skip
@repos_option("Where each product's repository is", required=True, url=True)
@click.option("--work-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("pypi-work"), show_default=True,
              help="Clones and built distributions, kept between runs.")  # fmt: skip
@click.option("--repository-url", metavar="URL", default=None,
              help=f"Upload endpoint [default: {PYPI_UPLOAD} or the .pypirc's].")  # fmt: skip
@click.option("--repository", metavar="NAME", default=None,
              help="A .pypirc section: its repository URL, username and password.")  # fmt: skip
@click.option("--index-url", metavar="URL", default=None,
              help="The simple index to compare with [default: PyPI's for PyPI, else "
              "<repository-url>/simple/].")  # fmt: skip
@click.option("--pypirc", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The .pypirc file [default: ~/.pypirc].")  # fmt: skip
@click.option("--isolation/--no-isolation", default=False, show_default=True,
              help="Build in an isolated environment (downloads the build backend).")  # fmt: skip
@dry_run_option("Build, check and compare with the index; upload nothing.")
@json_option
@takes(PypiArgs)
def pypi_cmd(a: PypiArgs) -> None:
    """Build, check and upload the products that have a pyproject.toml to a PyPI index.

    The version of each is the one lsst-versions gives its commit.  A version the index
    already has with the same files is skipped; one it has with other files is refused
    (exit 6) before anything is uploaded.  Credentials: TWINE_USERNAME/TWINE_PASSWORD,
    or the --repository section of .pypirc.
    """
    target = resolve_target(repository_url=a.repository_url, repository=a.repository,
                            index_url=a.index_url, pypirc=a.pypirc)  # fmt: skip
    request = PypiRequest(
        sources=_sources(a), work_dir=a.work_dir, target=target,
        dry_run=a.dry_run, isolation=a.isolation,
    )  # fmt: skip
    with progress_for(get_app()) as progress:
        result = publish(request, progress)
    _report(result)


def _sources(a: PypiArgs) -> tuple[Source, ...]:
    if a.manifest is None and a.ref is None:
        raise InputError("name the release: --manifest FILE|bNNNN or --ref TAG")
    repos = load_repos(a.repos)
    manifest = None if a.manifest is None else load_manifest(a.manifest, a.versiondb)
    if manifest is not None:
        for p in a.products:
            if p not in manifest:
                raise InputError(f"--product {p}: not in the manifest {a.manifest}")
    names = list(a.products) or ([] if manifest is None else manifest.names)
    if not names:
        raise InputError("--ref without --manifest needs the products: --product NAME ...")
    out = []
    for name in dict.fromkeys(names):
        url = repos.candidates(name)[0]
        if a.ref is not None:
            out.append(Source(name, url, ref=a.ref))
        else:
            assert manifest is not None
            out.append(Source(name, url, commit=manifest[name].sha1))
    return tuple(out)


def _report(result: PypiResult) -> None:
    if get_app().json:
        emit_json(result.to_json())
        return
    rows = [
        [r.product, r.project or "-", r.version or "-", r.outcome.value, r.detail]
        for r in result.results
    ]
    if rows:
        echo(columns(["product", "project", "version", "outcome", "detail"], rows))
    counts: dict[str, int] = {}
    for r in result.results:
        counts[r.outcome.value] = counts.get(r.outcome.value, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in counts.items()) or "no products"
    info(f"{result.repository_url}: {summary}" + (" (dry run)" if result.dry_run else ""))
