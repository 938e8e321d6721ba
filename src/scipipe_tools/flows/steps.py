"""The release flows' names and steps: what each step of weekly/nightly/official does.

:func:`names_for` turns a request and the configuration into the tags, refs and products
of a run (pure); :func:`steps_for` lists the steps; each step is a function of a
:class:`FlowContext` that returns its outputs (kept in the state file) or raises.  The
runner is :mod:`.flows`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..changelog.build import ChangelogRequest, build_model
from ..changelog.jira import Jira
from ..changelog.overrides import Overrides, read_overrides
from ..changelog.render import render
from ..distrib.publish import PublishOptions, publish
from ..distrib.smoke import SmokeOptions, smoke
from ..distrib.upload import publish_to_store
from ..errors import InputError, NetworkError, ResolutionError, ScipipeError, did_you_mean
from ..eups.exclusions import DEFAULT
from ..eups.flavor import current_flavor
from ..forge.base import Tagger
from ..infra import git
from ..infra.files import write_atomic
from ..infra.objectstore import ObjectStore, parse_s3_url
from ..infra.progress import NULL, Progress
from ..names import outputs
from ..names import tags as tagnames
from ..release.connect import open_forge
from ..release.tagging import TagRequest, tag_release
from ..release.teamtags import TeamTagRequest, tag_teams
from ..release.vdbpublish import ensure_checkout, publish_versiondb, sync
from ..sourcebuild.buildenv import EnvChoice, EnvRequest, choose_env
from ..sourcebuild.rebuild import RebuildOptions, rebuild
from ..stack.readers import fetch_repos_text, read_exclusions, read_manifest
from ..stack.sources import load_eups_tag
from .config import FlowConfig, SmokeConfig
from .state import FlowState

if TYPE_CHECKING:
    from ..eups.manifest import Manifest
    from ..eups.repos import Repos
    from ..eups.taglist import TagList
    from ..forge.base import Forge

log = logging.getLogger(__name__)

#: seconds between two looks for a published EUPS tag
POLL_SECONDS = 5.0
CHANGELOG_UNAVAILABLE = "no changelog section in the config"
#: the tag-release ledger, next to the state file (a restart removes it)
LEDGER_FILE = outputs.TAG_LEDGER


class FlowKind(StrEnum):
    WEEKLY = "weekly"
    NIGHTLY = "nightly"
    OFFICIAL = "official"


@dataclass(frozen=True)
class FlowRequest:
    kind: FlowKind
    #: weekly/nightly: the date (``YYYY-MM-DD`` Pacific, an ISO date-time, or now)
    date: str | None = None
    #: official: the release's git tag
    git_tag: str | None = None
    #: official: the refs the release is cut from, leftmost first
    source_refs: tuple[str, ...] = ()
    o_latest: bool = False
    #: official: top-level products left out of the build
    exclude: tuple[str, ...] = ()
    restart: bool = False
    results: Path | None = None


@dataclass(frozen=True)
class FlowNames:
    """Everything the request and the configuration decide before any step runs."""

    kind: FlowKind
    git_tag: str
    eups_tag: str
    rolling: tuple[str, ...]
    products: tuple[str, ...]
    final: bool = False
    source_refs: tuple[str, ...] = ()
    build_refs: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    o_latest: bool = False

    @property
    def tagging_dry_run(self) -> bool:
        return self.kind is FlowKind.NIGHTLY

    @property
    def eups_tags(self) -> tuple[str, ...]:
        return (self.eups_tag, *self.rolling)

    def inputs(self) -> dict[str, Any]:
        """What defines the run: a state file written for other inputs is not resumed."""
        return {
            "flow": self.kind.value,
            "git_tag": self.git_tag,
            "eups_tags": list(self.eups_tags),
            "products": list(self.products),
            "source_refs": list(self.source_refs),
            "build_refs": list(self.build_refs),
            "excluded": list(self.excluded),
        }


def names_for(request: FlowRequest, config: FlowConfig) -> FlowNames:
    """The tags, refs and products of a flow (checks the request; no I/O)."""
    kind = request.kind
    if kind is FlowKind.OFFICIAL:
        if request.date is not None:
            raise InputError("--date is for the weekly and nightly flows")
        return _official_names(request, config)
    if request.git_tag or request.source_refs or request.o_latest or request.exclude:
        raise InputError(f"the {kind} flow takes only --date (its tag comes from the date)")
    when = tagnames.parse_when(request.date)
    name = tagnames.weekly(when) if kind is FlowKind.WEEKLY else tagnames.daily(when)
    rolling = "w_latest" if kind is FlowKind.WEEKLY else "d_latest"
    return FlowNames(kind, name.git, name.eups, (rolling,), config.products)


def _official_names(request: FlowRequest, config: FlowConfig) -> FlowNames:
    tag = request.git_tag
    if not tag:
        raise InputError("the official flow needs --tag (the release's git tag)")
    tagnames.check_git_tag(tag)
    if not request.source_refs:
        raise InputError("the official flow needs --source-refs (e.g. 'v29.0.x v29.0.0.rc1')")
    for ref in request.source_refs:
        git.check_ref(ref)
    final = "0" <= tag[0] <= "9"
    if request.o_latest and not final:
        raise InputError(
            f"--o-latest is only for a final release (a tag that starts with a digit), not {tag}"
        )
    for name in request.exclude:
        if name not in config.products:
            raise InputError(
                f"--exclude {name}: not one of the configured products "
                f"({', '.join(config.products)})",
                hint=did_you_mean(name, config.products),
            )
    products = tuple(p for p in config.products if p not in request.exclude)
    if not products:
        raise InputError("--exclude leaves no product to build")
    return FlowNames(
        FlowKind.OFFICIAL,
        tag,
        tagnames.git_to_eups(tag),
        ("o_latest",) if request.o_latest else (),
        products,
        final=final,
        source_refs=tuple(request.source_refs),
        build_refs=(f"v{tag}", tag) if final else (tag,),
        excluded=tuple(dict.fromkeys(request.exclude)),
        o_latest=request.o_latest,
    )


# --- steps ------------------------------------------------------------------------------


class StepFailed(ScipipeError):
    """A step failed; ``outputs`` (e.g. a tagging result) are kept in the state file."""

    def __init__(self, message: str, exit_code: int, outputs: dict[str, Any]) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.outputs = outputs


@dataclass
class FlowContext:
    """What a step sees: the request, the names, the config, the earlier steps' outputs."""

    config: FlowConfig
    names: FlowNames
    state: FlowState
    progress: Progress = NULL
    results_path: Path | None = None
    _repos: Repos | None = None
    _forge: Forge | None = None
    _tagger: Tagger | None = None

    @property
    def state_dir(self) -> Path:
        return self.state.path.parent

    @property
    def flavor(self) -> str:
        return self.config.flavor or current_flavor()

    def repos(self) -> Repos:
        if self._repos is None:
            self._repos = fetch_repos_text(self.config.repos)[1]
        return self._repos

    def forge(self) -> Forge:
        if self._forge is None:
            self._forge = open_forge(self.config.forge, self.repos())
        return self._forge

    def tagger(self) -> Tagger:
        if self._tagger is None:
            name = self.config.tagger_user or git.config_get("user.name")
            email = self.config.tagger_email or git.config_get("user.email")
            if not name or not email:
                raise InputError(
                    f"no tagger: set tagger.user and tagger.email in {self.config.path}",
                    hint="or git config --global user.name/user.email",
                )
            self._tagger = Tagger(name, email, dt.datetime.now(dt.UTC).replace(microsecond=0))
        return self._tagger

    def manifest_of(self, step: str) -> Manifest:
        """The manifest an earlier step recorded (kept next to the state file)."""
        return read_manifest(self.state.outputs(step)["manifest_file"], strict=True)

    def close(self) -> None:
        if self._forge is not None:
            self._forge.close()
            self._forge = None


StepFn = Callable[[FlowContext], dict[str, Any]]


@dataclass(frozen=True)
class Step:
    name: str
    description: str
    run: StepFn


def _rebuild(
    ctx: FlowContext,
    *,
    refs: Sequence[str],
    prep_only: bool,
    optional: Sequence[str] = (),
    pinned_by: str | None = None,
) -> dict[str, Any]:
    """Build (or with ``prep_only`` only prepare) the flow's products from ``refs``; with
    ``pinned_by``, exactly the manifest that step recorded (``build --manifest``)."""
    cfg = ctx.config
    vdb = cfg.versiondb
    identity = None
    if vdb is not None:
        # the versiondb's commits are the release manager's, as its tags are
        tagger = ctx.tagger()
        identity = (tagger.name, tagger.email)
        ensure_checkout(vdb.path, url=vdb.url, remote=vdb.remote, identity=identity)
        if vdb.push:
            sync(vdb.path, remote=vdb.remote)
    b = cfg.build
    options = RebuildOptions(
        layout=cfg.layout,
        repos=ctx.repos(),
        flavor=ctx.flavor,
        refs=tuple(refs),
        optional_refs=tuple(optional),
        exclusions=read_exclusions(cfg.exclusions) if cfg.exclusions else DEFAULT,
        prep_only=prep_only,
        jobs=b.jobs,
        fetch_jobs=b.fetch_jobs,
        tries=b.tries,
        fail_fast=b.fail_fast,
        run_tests=b.run_tests,
        binary_root=b.binary_root,
        identity=identity,
        cache=b.cache,
        timeout=b.timeout,
        total_timeout=b.total_timeout,
        docs=b.docs,
        env=_environment(cfg),
        manifest=None
        if pinned_by is None
        else read_manifest(ctx.state.outputs(pinned_by)["manifest_file"], strict=True),
    )
    result = rebuild(list(ctx.names.products), options, ctx.progress)
    manifest_file = ctx.state_dir / outputs.published_manifest_name(result.build_id)
    write_atomic(manifest_file, result.manifest.to_text())
    return {
        "manifest_id": result.build_id,
        "reused": result.build_id_reused,
        "refs": list(refs),
        "pinned_by": pinned_by,
        "manifest_file": str(manifest_file),
        "products": len(result.manifest),
        "built": None if prep_only else len(result.to_build),
    }


def _environment(cfg: FlowConfig) -> EnvChoice | None:
    """The environment of the flow's builds: ``build.env`` or ``build.env_name``; None
    (neither): scipipe's own, activating none (as before these keys)."""
    if cfg.build.env is None and cfg.build.env_name is None:
        return None
    return choose_env(EnvRequest(cfg.build.env, cfg.build.env_name), cfg.root, os.environ)


def _versiondb(ctx: FlowContext, source: str) -> dict[str, Any]:
    vdb = ctx.config.versiondb
    if vdb is None:
        return {"skipped": "no versiondb configured"}
    if not vdb.push:
        return {"skipped": "versiondb.push is false"}
    build_id = ctx.state.outputs(source)["manifest_id"]
    return publish_versiondb(vdb.path, build_id, remote=vdb.remote).to_json()


def _publish(ctx: FlowContext, source: str) -> dict[str, Any]:
    cfg, d, names = ctx.config, ctx.config.distrib, ctx.names
    layout = cfg.layout
    options = PublishOptions(
        build_id=ctx.state.outputs(source)["manifest_id"],
        products=names.products,
        stack=layout.stack.absolute(),
        flavor=ctx.flavor,
        server_dir=d.root,
        tag=names.eups_tag,
        rolling=names.rolling,
        sources=layout.sources.absolute() if d.sources else None,
        env_file=d.env_file,
        platform=d.platform,
        conda_env=d.conda_env,
        jobs=d.jobs,
    )
    out: dict[str, Any] = {}
    if d.to is not None:
        done = publish_to_store(
            options, parse_s3_url(d.to), ObjectStore(d.s3_endpoint), ctx.progress
        )
        plan = done.plan
        out["upload"] = done.sync.to_json()
    else:
        plan = publish(options, ctx.progress)
    out.update(
        tags=list(plan.tags),
        root=str(plan.binary_root),
        conda_env=plan.conda_env,
        files_written=len(plan.written),
        package_source="package" if names.final else "git",
    )
    if d.smoke is not None:
        out["smoke"] = _smoke(ctx, d.smoke)
    return out


def _smoke(ctx: FlowContext, cfg: SmokeConfig) -> list[dict[str, object]]:
    """The tarball smoke test of what was just published: a failure fails the step,
    naming the product that did not load."""
    d, names = ctx.config.distrib, ctx.names
    where = ctx.state_dir / "smoke"
    if where.exists():
        shutil.rmtree(where)  # an earlier attempt's: a smoke test installs into a fresh stack
    result = smoke(
        SmokeOptions(
            roots=(d.read_url or d.to or str(d.root),),
            tag=names.eups_tag,
            products=cfg.products or names.products,
            stack=where / "stack",
            flavor=ctx.flavor,
            command=cfg.command,
            env=cfg.env,
        ),
        ctx.progress,
    )
    shutil.rmtree(where, ignore_errors=True)
    return [o.to_json() for o in result.outcomes]


def wait_for_eups_tag(
    tag: str,
    base: str,
    build_id: str,
    timeout: float,
    *,
    poll: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> TagList:
    """The tag list ``tag`` of build ``build_id`` as readers of ``base`` see it.

    Polls until it is there (publishing may take a while to show through a CDN);
    after ``timeout`` seconds the last reason it is not usable is raised.
    """
    deadline = clock() + timeout
    while True:
        try:
            found = load_eups_tag(tag, base)
            if found.build_id == build_id:
                return found
            last: ScipipeError = ResolutionError(
                f"EUPS tag {tag} at {base} is of build {found.build_id or '(no #BUILD)'}, "
                f"not {build_id}",
                hint="an older copy is still served, or the tag was published by another build",
            )
        except (ResolutionError, NetworkError) as exc:
            last = exc
        left = deadline - clock()
        if left <= 0:
            raise last
        log.info("waiting for EUPS tag %s at %s (%.0f s left)", tag, base, left)
        sleep(min(POLL_SECONDS if poll is None else poll, left))


def _tag_release(ctx: FlowContext, source: str) -> dict[str, Any]:
    cfg, names = ctx.config, ctx.names
    manifest = ctx.manifest_of(source)
    taglist = None
    official = names.kind is FlowKind.OFFICIAL
    if not official:
        taglist = wait_for_eups_tag(
            names.eups_tag,
            cfg.distrib.read_base,
            ctx.state.outputs(source)["manifest_id"],
            cfg.distrib.visible_timeout,
        )
    dry = names.tagging_dry_run
    request = TagRequest(
        git_tag=names.git_tag,
        manifest=manifest,
        repos=ctx.repos(),
        tagger=ctx.tagger(),
        allow_teams=cfg.teams.allow,
        deny_teams=cfg.teams.deny,
        external_teams=cfg.teams.external,
        taglist=taglist,
        dry_run=dry,
        ignore_git_message=official,
        ignore_git_tagger=official,
        jobs=cfg.forge.jobs,
        ledger=None if dry else ctx.state_dir / LEDGER_FILE,
        forge_key=cfg.forge.key,
    )
    result = tag_release(request, ctx.forge(), ctx.progress)
    outputs = result.to_json()
    if result.errors:
        first = "; ".join(str(p) for p in result.problems[:3])
        failed = [r for r in result.results if r.outcome.value == "failed"][:3]
        first = first or "; ".join(f"{r.product}: {r.detail}" for r in failed)
        raise StepFailed(f"{result.errors} tagging error(s): {first}", result.exit_code, outputs)
    return outputs


def _tag_teams(ctx: FlowContext) -> dict[str, Any]:
    aux = ctx.config.aux_teams
    if not aux.allow:
        return {"skipped": "no aux_teams.allow teams configured"}
    names = ctx.names
    request = TeamTagRequest(
        tags=(names.git_tag,),
        tagger=ctx.tagger(),
        allow_teams=aux.allow,
        deny_teams=aux.deny,
        refs=names.source_refs,
        dry_run=names.tagging_dry_run,
        ignore_existing_tag=aux.ignore_existing_tag,
        jobs=ctx.config.forge.jobs,
    )
    result = tag_teams(request, ctx.forge(), ctx.progress)
    outputs = result.to_json()
    if result.errors:
        first = "; ".join(str(p) for p in result.problems[:3]) or "; ".join(
            f"{r.repo}: {r.detail}" for r in result.results if r.outcome.value == "failed"
        )
        raise StepFailed(
            f"{result.errors} team tagging error(s): {first}", result.exit_code, outputs
        )
    return outputs


def run_changelog(ctx: FlowContext) -> dict[str, Any]:
    """Regenerate the series' changelog (weekly for weekly flows, releases for official
    ones) from the distribution root, with the release just published in it.  Without a
    ``changelog`` section in the config, or for a nightly, the step is skipped."""
    cfg = ctx.config.changelog
    if cfg is None:
        return {"skipped": CHANGELOG_UNAVAILABLE}
    if ctx.names.kind is FlowKind.NIGHTLY:
        return {"skipped": "dailies are not in a changelog series"}

    work = ctx.config.root / "changelog"
    vdb = ctx.config.versiondb
    request = ChangelogRequest(
        mode="weekly" if ctx.names.kind is FlowKind.WEEKLY else "releases",
        repos=ctx.repos(),
        clones_dir=work / "clones",
        eups_root=ctx.config.distrib.read_base,
        versiondb=str(vdb.path) if vdb is not None else None,
        cache_dir=work / "ranges",
        overrides=read_overrides(cfg.overrides) if cfg.overrides else Overrides(),
        jira=Jira(cfg.jira, work / "jira") if cfg.jira else None,
        jobs=ctx.config.build.fetch_jobs,
    )
    model = build_model(request, ctx.progress)
    written: list[str] = []
    for fmt in cfg.formats:
        target = cfg.output
        if len(cfg.formats) > 1:
            target = cfg.output / outputs.CHANGELOG_FILES.get(fmt, fmt)
        written += [str(p) for p in render(model, fmt, target)]
    return {"output": str(cfg.output), "files": len(written), "releases": len(model.releases)}


def results_document(ctx: FlowContext) -> dict[str, Any]:
    """results.json: the flow's artifact (jenkins' results.json, plus step statuses)."""
    names, state = ctx.names, ctx.state
    main = "rebuild"
    doc: dict[str, Any] = {
        "flow": names.kind.value,
        "git_tag": names.git_tag,
        "eups_tag": names.eups_tag,
        "eups_tags": list(names.eups_tags),
        "manifest_id": state.outputs(main).get("manifest_id"),
        "products": list(names.products),
    }
    if names.kind is FlowKind.OFFICIAL:
        doc.update(
            final_release=names.final,
            o_latest=names.o_latest,
            package_source="package" if names.final else "git",
            source_git_refs=list(names.source_refs),
            build_refs=list(names.build_refs),
            prep_manifest_id=state.outputs("prepare").get("manifest_id"),
            excluded=list(names.excluded),
        )
    else:
        doc["tagging_dry_run"] = names.tagging_dry_run
    for step, key in (("tag-release", "tag_release"), ("tag-teams", "tag_teams")):
        out = state.outputs(step)
        doc[key] = out.get("skipped") or {
            "counts": out.get("counts", {}),
            "errors": out.get("errors"),
        }
    doc["changelog"] = _status_text(state, "changelog")
    doc["steps"] = {name: rec.status for name, rec in state.steps.items() if name != "results"}
    return doc


def _status_text(state: FlowState, step: str) -> str:
    rec = state.steps.get(step)
    if rec is None:
        return "not run"
    reason = rec.outputs.get("skipped")
    return f"{rec.status}: {reason}" if reason else rec.status


def _results(ctx: FlowContext) -> dict[str, Any]:
    path = ctx.results_path or ctx.config.results_path
    write_atomic(path, json.dumps(results_document(ctx), indent=2, sort_keys=True) + "\n")
    return {"path": str(path)}


def steps_for(names: FlowNames, config: FlowConfig) -> list[Step]:
    """The flow's steps, in order, with what each will do."""
    products = " ".join(names.products)
    d = config.distrib
    vdb = config.versiondb
    vdb_where = f"to {vdb.remote}" if vdb is not None and vdb.push else "(skipped: no push)"
    dry = " (dry run)" if names.tagging_dry_run else ""
    publish = Step(
        "publish",
        f"publish EUPS tag{'s' if names.rolling else ''} {', '.join(names.eups_tags)} to {d.root}",
        lambda c: _publish(c, "rebuild"),
    )
    teams = ", ".join(config.teams.allow)
    aux = ", ".join(config.aux_teams.allow) or "none"
    tail = [
        Step("changelog", "regenerate the series changelog (scipipe changelog)", run_changelog),
        Step("results", f"write {config.results_path}", _results),
    ]
    if names.kind is not FlowKind.OFFICIAL:
        return [
            Step(
                "rebuild",
                f"build {products} from their default refs; record manifest M",
                lambda c: _rebuild(c, refs=(), prep_only=False),
            ),
            Step(
                "versiondb",
                f"push the versiondb and tag M {vdb_where}",
                lambda c: _versiondb(c, "rebuild"),
            ),
            publish,
            Step(
                "tag-release",
                f"tag repos of teams {teams} {names.git_tag} at M once {names.eups_tag} is "
                f"visible at {d.read_base}{dry}",
                lambda c: _tag_release(c, "rebuild"),
            ),
            Step("tag-teams", f"tag repos of teams {aux} {names.git_tag} at HEAD{dry}", _tag_teams),
            *tail,
        ]
    refs = " ".join(names.source_refs)
    return [
        Step(
            "prepare",
            f"resolve {products} at {refs} (no build); record manifest M0",
            lambda c: _rebuild(c, refs=names.source_refs, prep_only=True),
        ),
        Step(
            "versiondb-prepare",
            f"push the versiondb and tag M0 {vdb_where}",
            lambda c: _versiondb(c, "prepare"),
        ),
        Step(
            "tag-release",
            f"tag repos of teams {teams} {names.git_tag} at M0 (manifest only)",
            lambda c: _tag_release(c, "prepare"),
        ),
        Step("tag-teams", f"tag repos of teams {aux} {names.git_tag} at {refs}", _tag_teams),
        Step(
            "rebuild",
            f"build exactly M0 again (the commits {' '.join(names.build_refs)} tag); "
            "record manifest M",
            # a final's v<tag> is only in external repos: a stack may have none
            lambda c: _rebuild(c, refs=(), prep_only=False, pinned_by="prepare"),
        ),
        Step(
            "versiondb",
            f"push the versiondb and tag M {vdb_where}",
            lambda c: _versiondb(c, "rebuild"),
        ),
        publish,
        *tail,
    ]
