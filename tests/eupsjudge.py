"""Real EUPS's table reader as a judge: one long-lived process, many questions.

The process imports the ``eups`` module of a built EUPS (``RealEups.python_path``) and
answers JSON questions on stdin, one a line: read this table file, then list the actions
it takes for these flavors, setup types and environments.  Each answer says which lines
EUPS warned about and skipped, and per context either the actions (command, arguments,
optional) or the exception EUPS raised.  Nothing of EUPS is copied: the script calls its
public ``eups.table.Table`` and reads what it prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_DRIVER = r"""
import io, json, os, re, sys
import eups.utils as utils
from eups.table import Table

streams = (utils.stderr, utils.stdwarn, utils.stdinfo)
for line in sys.stdin:
    q = json.loads(line)
    caught = io.StringIO()
    for s in streams:
        s._fileObj = caught
    answer = {"contexts": []}
    try:
        table = Table(q["table"], addDefaultProduct=False)
    except Exception as exc:
        table = None
        answer["read_error"] = type(exc).__name__ + ": " + str(exc)
    for ctx in q["contexts"]:
        os.environ.clear()
        os.environ.update(ctx["env"])
        if table is None:
            answer["contexts"].append({"error": answer["read_error"]})
            continue
        try:
            acts = table.actions(ctx["flavor"], setupType=list(ctx["types"]))
            answer["contexts"].append(
                {"actions": [[a.cmd, list(a.args), a.extra.get("optional")] for a in acts]}
            )
        except Exception as exc:
            answer["contexts"].append({"error": type(exc).__name__ + ": " + str(exc)})
    text = caught.getvalue()
    answer["warnings"] = text
    where = re.escape(q["table"]) + r":(\d+)"
    skips = (r"Unrecognized line: .* at " + where, r"Unexpected line in " + where,
             r"Ignoring unsupported directive .* at " + where)
    answer["skipped"] = sorted({int(n) for rx in skips for n in re.findall(rx, text)})
    print(json.dumps(answer), flush=True)
"""


@dataclass(frozen=True)
class Context:
    flavor: str
    types: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None

    def as_json(self) -> dict[str, Any]:
        return {"flavor": self.flavor, "types": list(self.types), "env": dict(self.env or {})}


@dataclass(frozen=True)
class Reading:
    """What real EUPS made of a table: lines it skipped, per context the actions or the
    exception."""

    skipped: tuple[int, ...]
    outcomes: tuple[tuple[tuple[str, tuple[str, ...], bool | None], ...] | str, ...]
    warnings: str


class TableJudge:
    """A running EUPS table reader; :meth:`read` asks it about one table file."""

    def __init__(self, python_path: Path) -> None:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(python_path)}
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _DRIVER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    def read(self, table: Path, contexts: Sequence[Context]) -> Reading:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        question = {"table": str(table), "contexts": [c.as_json() for c in contexts]}
        self._proc.stdin.write(json.dumps(question) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            err = self._proc.stderr.read() if self._proc.stderr else ""
            raise RuntimeError(f"the EUPS judge died: {err}")
        answer = json.loads(line)
        outcomes: list[tuple[tuple[str, tuple[str, ...], bool | None], ...] | str] = []
        for c in answer["contexts"]:
            if "error" in c:
                outcomes.append(c["error"])
            else:
                outcomes.append(tuple((cmd, tuple(args), opt) for cmd, args, opt in c["actions"]))
        return Reading(tuple(answer["skipped"]), tuple(outcomes), answer["warnings"])

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        self._proc.wait(timeout=30)
