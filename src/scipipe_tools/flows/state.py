"""The state file of a release flow: which steps are done, and what each one produced.

``<state_dir>/<git tag>/state.json`` is rewritten atomically after every step, so a
rerun after a failure or a kill skips the completed steps (reusing their outputs) and
continues with the first one that is not done.  The file records the inputs that
define the flow (its kind, the tag, refs, products); a rerun with other inputs is
refused rather than mixed into the old run, unless it asks to restart.

::

    {"schema": 1, "flow": "weekly", "git_tag": "w.2025.15", "inputs": {...},
     "steps": {"rebuild": {"status": "done", "outputs": {"manifest_id": "b12", ...},
                           "started": "...Z", "finished": "...Z"},
               "publish": {"status": "failed", "error": "...", "exit_code": 1, ...}}}
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, Location
from ..infra.files import read_text, write_atomic
from ..names import outputs

SCHEMA = 1
STATE_FILE = outputs.STATE

DONE = "done"
SKIPPED = "skipped"
FAILED = "failed"
RUNNING = "running"
#: statuses that count as complete: a rerun does not run the step again
COMPLETE = frozenset({DONE, SKIPPED})


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class StepRecord:
    status: str
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    exit_code: int | None = None
    started: str | None = None
    finished: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "outputs": self.outputs}
        for key in ("error", "exit_code", "started", "finished"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass
class FlowState:
    path: Path
    flow: str
    git_tag: str
    inputs: dict[str, Any]
    steps: dict[str, StepRecord] = field(default_factory=dict)
    created: str = field(default_factory=now)

    def complete(self, step: str) -> bool:
        rec = self.steps.get(step)
        return rec is not None and rec.status in COMPLETE

    def outputs(self, step: str) -> dict[str, Any]:
        rec = self.steps.get(step)
        return rec.outputs if rec is not None else {}

    def start(self, step: str) -> None:
        self.steps[step] = StepRecord(RUNNING, started=now())
        self.save()

    def finish(
        self,
        step: str,
        status: str,
        outputs: dict[str, Any] | None = None,
        *,
        error: str | None = None,
        exit_code: int | None = None,
    ) -> None:
        rec = self.steps.get(step) or StepRecord(status)
        rec.status = status
        rec.outputs = outputs or {}
        rec.error = error
        rec.exit_code = exit_code
        rec.finished = now()
        self.steps[step] = rec
        self.save()

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "flow": self.flow,
            "git_tag": self.git_tag,
            "inputs": self.inputs,
            "created": self.created,
            "steps": {name: rec.to_json() for name, rec in self.steps.items()},
        }

    def save(self) -> None:
        write_atomic(self.path, json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")


def state_path(state_root: Path, git_tag: str) -> Path:
    return state_root / git_tag / STATE_FILE


def _parse(path: Path) -> FlowState:
    text = read_text(path, "release flow state")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON: {exc.msg}",
            location=Location(str(path), exc.lineno, exc.colno),
            hint="rerun with --restart to start the flow over",
        ) from exc
    try:
        if raw.get("schema") != SCHEMA:
            raise InputError(
                f"state schema {raw.get('schema')!r} is not {SCHEMA}",
                location=Location(str(path)),
                hint="rerun with --restart to start the flow over",
            )
        steps = {
            name: StepRecord(
                status=str(rec["status"]),
                outputs=dict(rec.get("outputs") or {}),
                error=rec.get("error"),
                exit_code=rec.get("exit_code"),
                started=rec.get("started"),
                finished=rec.get("finished"),
            )
            for name, rec in dict(raw["steps"]).items()
        }
        return FlowState(
            path,
            str(raw["flow"]),
            str(raw["git_tag"]),
            dict(raw["inputs"]),
            steps,
            str(raw.get("created") or now()),
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise InputError(
            f"not a release flow state file ({type(exc).__name__}: {exc})",
            location=Location(str(path)),
            hint="rerun with --restart to start the flow over",
        ) from exc


def load_state(path: Path) -> FlowState | None:
    """The state at ``path``, or None when there is none."""
    return _parse(path) if path.is_file() else None


def open_state(
    path: Path, flow: str, git_tag: str, inputs: dict[str, Any], *, restart: bool = False
) -> FlowState:
    """The state of this flow: the earlier run's (to resume), or a new one.

    An earlier state written for other inputs is an error unless ``restart``.
    """
    old = None if restart else load_state(path)
    if old is None:
        return FlowState(path, flow, git_tag, dict(inputs))
    if (old.flow, old.git_tag, old.inputs) != (flow, git_tag, inputs):
        changed = sorted(
            k for k in set(old.inputs) | set(inputs) if old.inputs.get(k) != inputs.get(k)
        )
        what = f"flow {old.flow}" if old.flow != flow else ", ".join(changed) or "git tag"
        raise InputError(
            f"{path} holds an earlier {old.flow} run of {old.git_tag} with other inputs ({what})",
            hint="rerun with the same inputs to resume it, or pass --restart to start over",
        )
    return old
