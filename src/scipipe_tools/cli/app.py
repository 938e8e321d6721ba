"""The ``scipipe`` root command and the one error boundary."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import Any, ClassVar

import click

from .. import __version__
from ..errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, ScipipeError
from ..infra import proc
from ..redaction import RedactingStream, register_environment
from .common import App, configure_logging
from .lazy import Lazy, LazyGroup


class Root(LazyGroup):
    """``scipipe``: one module (or package) of ``cli`` per command group."""

    lazy: ClassVar[Mapping[str, Lazy]] = {
        "build": Lazy(
            "scipipe_tools.cli.build",
            "build_group",
            "Build the stack from source in dependency order (like lsstsw rebuild).",
        ),
        "changelog": Lazy(
            "scipipe_tools.cli.changelog",
            "changelog_group",
            "Changes between releases: tickets, other commits, products added and removed.",
        ),
        "ci": Lazy(
            "scipipe_tools.cli.ci",
            "ci_group",
            "CI definitions: build matrices, GitHub workflows, Jenkins jobs.",
        ),
        "demo": Lazy(
            "scipipe_tools.cli.demo",
            "demo_group",
            "The bundled sample stack as local git repositories, to try the tools offline.",
        ),
        "deploy": Lazy(
            "scipipe_tools.cli.deploy",
            "deploy_cmd",
            "Make a ready work root in one command (like lsstsw's deploy).",
        ),
        "distrib": Lazy(
            "scipipe_tools.cli.distrib",
            "distrib_group",
            "Publish to and install from an EUPS distribution server.",
        ),
        "env": Lazy(
            "scipipe_tools.cli.env",
            "env_group",
            "Resolve, lock and create the rubin-env conda environment.",
        ),
        "envconfig": Lazy(
            "scipipe_tools.cli.envconfig",
            "envconfig_cmd",
            "List a work root's environments and which built each build; switch the active one.",
        ),
        "eups": Lazy(
            "scipipe_tools.cli.eups",
            "eups_group",
            "EUPS versions, table files, repos.yaml and flavors.",
        ),
        "image": Lazy(
            "scipipe_tools.cli.image",
            "image_group",
            "Container images of a published stack: build (OCI layout), push to a registry.",
        ),
        "manifest": Lazy(
            "scipipe_tools.cli.manifest",
            "manifest_group",
            "Read, show and compare manifests (manifest.txt, versiondb bNNNN).",
        ),
        "release": Lazy(
            "scipipe_tools.cli.release",
            "release_group",
            "Release tags: names, tagging every repo, weekly/nightly/official flows.",
        ),
        "setup": Lazy(
            "scipipe_tools.cli.setup",
            "setup_cmd",
            "Print the shell code that sets up PRODUCT and its dependencies.",
        ),
    }


@click.group(cls=Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="scipipe")
@click.option("--json", "json_", is_flag=True, help="Print results as JSON where supported.")
@click.option("--debug", is_flag=True, help="Debug logging, and a traceback on errors.")
@click.option("-v", "--verbose", count=True, help="More output (repeatable).")
@click.option("-q", "--quiet", count=True, help="Less output (repeatable).")
@click.pass_context
def cli(ctx: click.Context, json_: bool, debug: bool, verbose: int, quiet: int) -> None:
    """Build and release tools for EUPS-managed multi-repository stacks."""
    app = ctx.ensure_object(App)
    app.json = app.json or json_
    app.debug = debug
    app.verbosity = verbose - quiet
    configure_logging(app.verbosity, debug)


def main(argv: Sequence[str] | None = None, prog_name: str = "scipipe") -> None:
    """Entry point: run the CLI, print errors as one line, exit with their code."""
    args = list(sys.argv[1:] if argv is None else argv)
    sys.exit(run(cli, args, prog_name))


def run(command: click.Command, args: list[str], prog_name: str) -> int:
    """Run ``command`` behind the error boundary, with stdout and stderr redacted."""
    out, err = sys.stdout, sys.stderr
    register_environment(os.environ)
    sys.stdout, sys.stderr = RedactingStream(out), RedactingStream(err)
    try:
        return _scoped(command, args, prog_name)
    finally:
        sys.stdout, sys.stderr = out, err


def _scoped(command: click.Command, args: list[str], prog_name: str) -> int:
    """Run ``command`` at the error boundary; the exit code.

    Child processes never outlive the command: SIGINT, SIGTERM and SIGHUP take every
    child's process group down (SIGTERM, then SIGKILL after a grace period; a second
    signal: SIGKILL at once) and unwind the command like Ctrl-C, so that its cleanup
    runs; the exit code is 128 + the signal's number (130, 143, 129).  Whatever child
    is still running when the command ends, by an error or normally, is taken down.
    """
    scope = proc.Scope()
    signals = _Signals(scope)
    try:
        signals.arm()
        try:
            code = _boundary(command, args, prog_name)
        finally:
            signals.disarm()  # from here on, a signal only hurries the cleanup along
    except KeyboardInterrupt:  # a signal that landed just outside the boundary
        click.echo("interrupted", err=True)
        code = EXIT_INTERRUPTED
    finally:
        try:
            scope.close()
        finally:
            signals.restore()
    if signals.received and code != EXIT_OK:
        code = 128 + signals.received[0]
    return code


class _Signals:
    """Once armed, SIGINT, SIGTERM and SIGHUP stop ``scope`` (its children are taken
    down, no new one starts) and raise KeyboardInterrupt; disarmed, they only stop it.

    A signal that was ignored when we started (``nohup``) stays ignored.  Handlers can
    only be set in the main thread; elsewhere this does nothing.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self, scope: proc.Scope) -> None:
        self.scope = scope
        self.received: list[int] = []
        self._previous: dict[int, Any] = {}
        self._raising = False

    def arm(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum in self.SIGNALS:
                if signal.getsignal(signum) is not signal.SIG_IGN:
                    self._previous[signum] = signal.signal(signum, self._handle)
        self._raising = True

    def disarm(self) -> None:
        self._raising = False

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        # again: SIGKILL at once
        self.scope.stop(force=len(self.received) > 1, strays=True)
        if self._raising and not proc.starting():
            raise KeyboardInterrupt


def _boundary(command: click.Command, args: list[str], prog_name: str) -> int:
    debug = "--debug" in args
    try:
        rv = command.main(args=args, prog_name=prog_name, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (click.Abort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except ScipipeError as exc:
        if debug:
            _print_traceback()
        click.echo(f"error: {exc}", err=True)
        if exc.hint:
            click.echo(f"hint: {exc.hint}", err=True)
        return exc.exit_code
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the boundary: anything else is our bug
        if debug:
            _print_traceback()
        click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
        click.echo("hint: rerun with --debug for a traceback, and report it", err=True)
        return EXIT_INTERNAL
    return rv if isinstance(rv, int) else 0


def _print_traceback() -> None:
    import traceback  # deferred: heavy (for the CLI's start: only --debug on an error)

    traceback.print_exc()
