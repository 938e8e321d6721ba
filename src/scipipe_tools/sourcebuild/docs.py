"""``scipipe build --docs``: each product's Sphinx documentation, after the build.

Rubin's ``BUILD_DOCS`` (jenkins-dm-jobs' stack-os-matrix and run-rebuild) builds the
documentation once the stack is built.  Here every product of the plan whose checkout
has a ``doc/conf.py`` is given ``python -m sphinx -b html`` (sphinx-build) on its
``doc/``, in the environment its build steps had: the build's environment activated,
its dependencies set up at the versions built, its own table applied to its checkout.
Products without ``doc/conf.py`` are skipped and listed.

Each product's output goes to ``<build dir>/logs/<product>.docs.log``, its HTML to
``<build dir>/docs/<product>/`` (the doctrees and Sphinx's temporary files beside it,
out of the checkout and of /tmp).  A docs
build that fails is a product failure: :class:`DocsFailed`, exit code 8, with the log's
last lines.  They run one after another: Sphinx is quick beside the build.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BuildError
from ..eups.graph import transitive_deps
from ..eupspkg import setupenv
from ..eupspkg.setupenv import build_env
from ..infra import proc
from ..infra.proc import describe_exit, seconds
from ..names import outputs
from ..stack.stack import Stack
from . import report
from .buildenv import EnvChoice
from .plan import Plan
from .run import BuildResult

#: the statuses of a product's docs build
BUILT, FAILED, SKIPPED = "built", "failed", "skipped"
#: why a product is skipped
NO_CONF = "no doc/conf.py"


@dataclass(frozen=True)
class DocsTarget:
    """One product's docs build, planned: without ``doc/conf.py`` it is skipped."""

    name: str
    version: str
    doc: Path
    has_conf: bool

    def to_json(self) -> dict[str, object]:
        return {"product": self.name, "doc": str(self.doc), "build": self.has_conf}


def plan_docs(plan: Plan, sources: Path) -> list[DocsTarget]:
    """The plan's products in build order, each with whether it has docs to build."""
    out = []
    for p in plan.products:
        doc = sources / p.name / "doc"
        out.append(DocsTarget(p.name, p.version, doc, (doc / "conf.py").is_file()))
    return out


@dataclass(frozen=True)
class DocsOptions:
    stack: Path
    build_dir: Path
    sources: Path
    flavor: str
    #: the environment the build ran in (None: scipipe's own)
    env: EnvChoice | None = None
    base_env: Mapping[str, str] | None = None
    #: seconds each product's docs build may take (``--timeout``); None: no limit
    timeout: float | None = None
    #: when (``time.monotonic()``) the whole command must be done (``--total-timeout``)
    until: float | None = None


@dataclass(frozen=True)
class DocsReport:
    name: str
    status: str
    #: the HTML's directory (built), the log (built or failed)
    html: Path | None = None
    log: Path | None = None
    detail: str = ""
    tail: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "product": self.name,
            "status": self.status,
            "html": str(self.html) if self.html else None,
            "log": str(self.log) if self.log else None,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class DocsResult:
    reports: list[DocsReport]

    def named(self, status: str) -> list[str]:
        return [r.name for r in self.reports if r.status == status]

    @property
    def failed(self) -> list[DocsReport]:
        return [r for r in self.reports if r.status == FAILED]

    def summary(self) -> str:
        """``docs: built a, b; skipped (no doc/conf.py) c; failed d``."""
        parts = [f"built {', '.join(self.named(BUILT)) or 'none'}"]
        if self.named(SKIPPED):
            parts.append(f"skipped ({NO_CONF}) {', '.join(self.named(SKIPPED))}")
        if self.failed:
            parts.append(f"failed {', '.join(self.named(FAILED))}")
        return "docs: " + "; ".join(parts)

    def to_json(self) -> list[dict[str, object]]:
        return [r.to_json() for r in self.reports]


class DocsFailed(BuildError):
    """Some products' documentation failed to build (exit code 8, as a build failure)."""

    def __init__(self, result: DocsResult) -> None:
        names = ", ".join(r.name for r in result.failed)
        super().__init__(
            f"the documentation of {len(result.failed)} product(s) failed to build: {names}",
            hint=f"see {result.failed[0].log}",
        )
        self.result = result
        #: the build before the docs, which went well (set by :func:`.rebuild.rebuild`)
        self.build: BuildResult | None = None


def build_docs(plan: Plan, build_id: str, options: DocsOptions) -> DocsResult:
    """Build the docs of every product of ``plan`` that has them; raise
    :class:`DocsFailed` (with every product's outcome) when one fails."""
    targets = plan_docs(plan, options.sources)
    if not any(t.has_conf for t in targets):
        return DocsResult([DocsReport(t.name, SKIPPED, detail=NO_CONF) for t in targets])
    choice = options.env or EnvChoice(None, "none chosen")
    base = dict(os.environ if options.base_env is None else options.base_env)
    benv = setupenv.prepare(choice.prefix, base, options.stack)
    stack = Stack(options.stack, options.flavor)
    graph = {p.name: p.deps for p in plan.products}
    versions = {p.name: p.version for p in plan.products}
    reports = []
    for t in targets:
        if not t.has_conf:
            reports.append(DocsReport(t.name, SKIPPED, detail=NO_CONF))
            continue
        closure = transitive_deps(graph, t.name)
        deps = [(d, versions[d]) for d in versions if d in closure]
        env = build_env(stack, t.name, t.version, t.doc.parent, deps, build_id, benv.env)
        reports.append(_one(t, env, benv.python, options))
    result = DocsResult(reports)
    if result.failed:
        raise DocsFailed(result)
    return result


def _one(t: DocsTarget, env: Mapping[str, str], python: str, options: DocsOptions) -> DocsReport:
    logfile = options.build_dir / outputs.LOGS_DIR / outputs.docs_log_name(t.name)
    logfile.parent.mkdir(parents=True, exist_ok=True)
    logfile.write_text("")
    html = options.build_dir / outputs.DOCS_DIR / t.name
    doctrees = options.build_dir / outputs.DOCS_DIR / ".doctrees" / t.name
    timeout = _timeout(options)
    if timeout is not None and timeout <= 0:
        why = "not started: the build's total timeout ran out"
        return DocsReport(t.name, FAILED, log=logfile, detail=why)
    argv: Sequence[str | os.PathLike[str]] = [
        python, "-m", "sphinx", "-T", "-b", "html", "-d", doctrees, t.doc, html,
    ]  # fmt: skip
    # Sphinx saves a crash's traceback to a temporary file: into the build directory
    tmp = options.build_dir / outputs.DOCS_DIR / ".tmp" / t.name
    tmp.mkdir(parents=True, exist_ok=True)
    env = {**env, "TMPDIR": str(tmp)}
    code = proc.run_logged(argv, logfile, cwd=t.doc, env=env, timeout=timeout)
    if code == 0:
        return DocsReport(t.name, BUILT, html=html, log=logfile)
    if timeout is not None and code < 0:
        detail = f"{t.name}: its docs build timed out after {seconds(timeout)} s"
    else:
        detail = f"{t.name}: sphinx-build failed with {describe_exit(code)}"
    return DocsReport(t.name, FAILED, log=logfile, detail=detail, tail=report.read_tail(logfile))


def _timeout(options: DocsOptions) -> float | None:
    """Seconds this product's docs may take: ``--timeout``'s, or what is left, the less."""
    left = None if options.until is None else options.until - time.monotonic()
    if left is None:
        return options.timeout
    return left if options.timeout is None else min(left, options.timeout)


def format_docs_failure(r: DocsReport) -> str:
    """The failure message of a build's product, for a docs build."""
    return report.format_failure(
        report.ProductReport(r.name, "", report.FAILED, log=r.log, tail=r.tail, detail=r.detail)
    ).replace("*** error building product", "*** error building the documentation of", 1)
