"""The release flows: ``scipipe release weekly``, ``nightly`` and ``official`` (spec section 6).

What jenkins-dm-jobs' release pipelines do, as one resumable sequence of steps on one
host (the configuration: :mod:`.flowconfig`; the state file: :mod:`.flowstate`).

weekly (``w.YYYY.WW`` / ``w_YYYY_WW`` + ``w_latest``), nightly (``d.YYYY.MM.DD`` /
``d_YYYY_MM_DD`` + ``d_latest``)::

    rebuild      build the products from main; record the manifest M in the versiondb
    versiondb    push the versiondb branch and tag M
    publish      publish M under the EUPS tag and the rolling tag to the distrib root
    tag-release  tag the product repos at M's commits, checked against the EUPS tag as
                 read back from the root (it must be visible first)
    tag-teams    tag the aux repos at their default branch (after the product tags, on
                 purpose: an aux repo pulled into the build fails tag-release first)
    changelog    regenerate the series changelog (skipped without a changelog section)
    results      write results.json

The nightly flow runs both tagging steps as dry runs.

official (``--tag`` X, ``--source-refs`` R...; final = X starts with a digit)::

    prepare            resolve the products at the source refs (no build) -> M0, recorded
    versiondb-prepare  push M0
    tag-release        tag M0's commits X (manifest only; message and tagger ignored)
    tag-teams          tag the aux repos X at the source refs
    rebuild            build from ``v<X> <X>`` (final) or ``<X>``, less --exclude -> M
    versiondb          push M
    publish            publish M as the EUPS form of X (and o_latest with --o-latest)
    changelog, results

Each step's outputs go to the state file as soon as it ends, so a rerun skips what is
done.  Every step is also idempotent on its own (a rebuild of the same commits reuses
its build id, published files are kept, tagged repos are in sync), which makes a step
killed half-way safe to run again.  A flow that completed reruns as a no-op; ``--restart``
starts it over.  The names and steps are in :mod:`.flowsteps`; this module runs them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import EXIT_FAILURE, ScipipeError
from ..infra.lock import StackLock
from ..infra.progress import NULL, Progress
from .config import FlowConfig
from .state import COMPLETE, DONE, FAILED, SKIPPED, FlowState, load_state, open_state, state_path
from .steps import (
    CHANGELOG_UNAVAILABLE,
    LEDGER_FILE,
    FlowContext,
    FlowKind,
    FlowNames,
    FlowRequest,
    Step,
    StepFailed,
    names_for,
    run_changelog,
    steps_for,
)

__all__ = [
    "CHANGELOG_UNAVAILABLE",
    "FlowFailed",
    "FlowKind",
    "FlowNames",
    "FlowRequest",
    "FlowResult",
    "StepStatus",
    "names_for",
    "plan_flow",
    "run_changelog",
    "run_flow",
]

log = logging.getLogger(__name__)


# --- plan and run ------------------------------------------------------------------------


@dataclass
class StepStatus:
    name: str
    description: str
    #: done / skipped / failed / pending (plan); + resumed, not-run (result)
    status: str
    detail: str = ""
    exit_code: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "status": self.status,
            "detail": self.detail,
            "exit_code": self.exit_code,
        }


@dataclass
class FlowResult:
    names: FlowNames
    state_file: Path
    results_file: Path
    steps: list[StepStatus] = field(default_factory=list)
    dry_run: bool = False
    failed_step: str | None = None
    error: str | None = None
    exit_code: int = 0
    #: the failed step's outputs (a tagging result, with its problems)
    failed_outputs: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        n = self.names
        return {
            "flow": n.kind.value,
            "git_tag": n.git_tag,
            "eups_tags": list(n.eups_tags),
            "products": list(n.products),
            "final_release": n.final if n.kind is FlowKind.OFFICIAL else None,
            "source_refs": list(n.source_refs),
            "build_refs": list(n.build_refs),
            "state_file": str(self.state_file),
            "results_file": str(self.results_file),
            "dry_run": self.dry_run,
            "steps": [s.to_json() for s in self.steps],
            "failed_step": self.failed_step,
            "error": self.error,
            "exit_code": self.exit_code,
        }


class FlowFailed(ScipipeError):
    """A step failed; the flow stopped there.  The exit code is the step's error's."""

    def __init__(self, result: FlowResult) -> None:
        super().__init__(
            f"release {result.names.kind} {result.names.git_tag}: step {result.failed_step} "
            f"failed: {result.error}",
            hint=f"fix the cause and rerun the same command: it resumes at "
            f"{result.failed_step} ({result.state_file})",
        )
        self.result = result
        self.exit_code = result.exit_code


def _describe(outputs: dict[str, Any], error: str | None = None) -> str:
    """One line about a step's outcome, for the step table."""
    if error:
        return error
    if "skipped" in outputs:
        return str(outputs["skipped"])
    if "manifest_id" in outputs:
        return f"manifest {outputs['manifest_id']}" + (" (reused)" if outputs.get("reused") else "")
    if "counts" in outputs:
        return ", ".join(f"{v} {k}" for k, v in outputs["counts"].items()) or "nothing to tag"
    if "tags" in outputs:
        return f"{', '.join(outputs['tags'])}: {outputs.get('files_written', 0)} files written"
    if "branch_action" in outputs:
        return f"branch {outputs['branch_action']}, tag {outputs['tag_action']}"
    if "path" in outputs:
        return str(outputs["path"])
    return ""


def plan_flow(request: FlowRequest, config: FlowConfig) -> FlowResult:
    """The steps and their state (done, failed, pending), without running anything."""
    names = names_for(request, config)
    path = state_path(config.state_root, names.git_tag)
    state = None
    if not request.restart:
        state = load_state(path)
        if state is not None:  # the same refusal a run would give
            open_state(path, names.kind.value, names.git_tag, names.inputs())
    result = FlowResult(names, path, request.results or config.results_path, dry_run=True)
    for step in steps_for(names, config):
        rec = state.steps.get(step.name) if state else None
        status = rec.status if rec is not None else "pending"
        detail = _describe(rec.outputs, rec.error) if rec else ""
        result.steps.append(StepStatus(step.name, step.description, status, detail))
    return result


def run_flow(
    request: FlowRequest,
    config: FlowConfig,
    progress: Progress = NULL,
    *,
    on_step: Callable[[StepStatus], None] | None = None,
) -> FlowResult:
    """Run the flow's steps that are not done yet, in order; stop at the first failure.

    Raises :class:`FlowFailed` (carrying the result) when a step fails.  ``on_step`` is
    called as each step starts (status ``running``) and ends.
    """
    names = names_for(request, config)
    path = state_path(config.state_root, names.git_tag)
    results_file = request.results or config.results_path
    result = FlowResult(names, path, results_file)
    with StackLock(
        path.parent, lock_file=path.parent / ".flow.lock", activity=f"release flow {names.git_tag}"
    ):
        state = open_state(
            path, names.kind.value, names.git_tag, names.inputs(), restart=request.restart
        )
        if request.restart:  # recheck every repo, too
            (path.parent / LEDGER_FILE).unlink(missing_ok=True)
        state.save()
        ctx = FlowContext(config, names, state, progress, results_file)
        try:
            for step in steps_for(names, config):
                rec = state.steps.get(step.name)
                if rec is not None and rec.status in COMPLETE:
                    detail = _describe(rec.outputs)
                    result.steps.append(StepStatus(step.name, step.description, "resumed", detail))
                    if on_step:
                        on_step(result.steps[-1])
                    continue
                if result.failed_step is not None:
                    result.steps.append(StepStatus(step.name, step.description, "not-run"))
                    continue
                _run_step(step, ctx, result, on_step)
        finally:
            ctx.close()
    if result.failed_step is not None:
        raise FlowFailed(result)
    return result


def _run_step(
    step: Step,
    ctx: FlowContext,
    result: FlowResult,
    on_step: Callable[[StepStatus], None] | None,
) -> None:
    state = ctx.state
    status = StepStatus(step.name, step.description, "running")
    if on_step:
        on_step(status)
    log.info("step %s: %s", step.name, step.description)
    state.start(step.name)
    try:
        outputs = step.run(ctx)
    except StepFailed as exc:
        _fail(state, result, status, exc.message, exc.exit_code, exc.outputs)
    except ScipipeError as exc:
        _fail(state, result, status, str(exc), exc.exit_code, {})
    except OSError as exc:  # a root that cannot be written, a full disk
        where = f" ({exc.filename})" if exc.filename else ""
        _fail(state, result, status, f"{exc.strerror or exc}{where}", EXIT_FAILURE, {})
    else:
        done = SKIPPED if "skipped" in outputs else DONE
        state.finish(step.name, done, outputs)
        status.status = done
        status.detail = _describe(outputs)
    result.steps.append(status)
    if on_step:
        on_step(status)


def _fail(
    state: FlowState,
    result: FlowResult,
    status: StepStatus,
    message: str,
    code: int,
    outputs: dict[str, Any],
) -> None:
    state.finish(status.name, FAILED, outputs, error=message, exit_code=code)
    status.status, status.detail, status.exit_code = FAILED, message, code
    result.failed_step, result.error, result.exit_code = status.name, message, code
    result.failed_outputs = outputs
