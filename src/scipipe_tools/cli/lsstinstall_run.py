"""What ``lsstinstall`` does (its command line: :mod:`.lsstinstall`)."""

from __future__ import annotations

import click

from ..installer.plan import InstallerOptions
from ..installer.run import install, next_steps
from .common import App, configure_logging, emit_json
from .console import progress_for
from .lsstinstall import LsstinstallArgs


def execute(a: LsstinstallArgs) -> None:
    configure_logging(0, a.debug)
    options = InstallerOptions(
        dry_run=a.dry_run, tag=a.tag, exact_tag=a.exact_tag, version=a.version,
        env_name=a.env_name, prefix=a.prefix, update=a.update, developer=a.developer,
        variant=a.variant,
        conda_root=a.conda_root,
        new_conda=a.new_conda, channels=a.channels, eups_root=a.eups_root,
        no_binary=a.no_binary, no_source=a.no_source, install_products=a.install_products,
        require_checksums=a.require_checksums, cache=a.cache,
    )  # fmt: skip

    def say(text: str) -> None:
        if not a.json_:
            click.echo(text, err=not a.dry_run)

    with progress_for(App(json=a.json_)) as progress:
        result = install(options, say, progress)
    if a.json_:
        emit_json(result.to_json())
    elif not a.dry_run:
        click.echo(next_steps(result, options.home.absolute(), options.install_products))
