"""py-rattler, run in a child process: solve, install, and read lock files.

py-rattler's ``solve`` and ``install`` are async and it can crash at interpreter exit
(the pyo3/tokio shutdown race, see the peer survey), so scipipe never imports it in the
process that runs the command.  The parent (:func:`call`, or :class:`Started` to start
the child early) runs ``python -m scipipe_tools.env.worker_child OP - RESULT`` (that
module is the child's side: it imports py-rattler and little else), writes the job
as JSON to its stdin and reads RESULT, which the child writes atomically as its last
act; a child that crashes after writing a complete result is tolerated.  Expected
failures (an unsatisfiable spec, an unreadable lock) come back as ``{"error": ...}``
entries for the parent to turn into scipipe errors.

Ops:

- ``solve``: ``{channels, cache_dir, timeout_s, jobs: [{platform, specs, virtual:
  {name: version}, strategy, locked_from?, unlock?}]}`` -> ``{results: [{records,
  seconds} | {error}], seconds}``.  A null ``virtual`` means this machine's virtual packages.
  The last ``seconds`` is the wall time of all the solves together.  ``locked_from`` is
  a conda-lock.yml whose records for the platform (except the names
  in ``unlock``) the solver keeps if it can (``--update``).
- ``install``: ``{prefix, placeholder_prefix, platform, cache_dir, archives: [path],
  hashes: [[sha256, md5]], keep: [conda-meta json path]}``: installs the verified
  archives (``hashes``: what each was verified against) and keeps the already
  installed records named by ``keep``; everything else in the prefix is removed.
- ``read-lock``: ``{path}`` -> ``{platforms: {platform: [records]}}`` (tests use it to
  check that rattler reads our conda-lock.yml back).
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import CommandError, InputError, NetworkError, ScipipeError
from ..infra import proc
from ..infra.earlychild import EarlyChild
from .early import CHILD, WORKDIR_PREFIX

log = logging.getLogger(__name__)

#: Seconds a child may run unless the caller says otherwise.
DEFAULT_TIMEOUT = 1800.0


# --------------------------------------------------------------------------- parent side


def call(op: str, job: Mapping[str, Any], *, timeout: float | None = DEFAULT_TIMEOUT) -> Any:
    """Run ``op`` with ``job`` in a child process and return its result (parsed JSON)."""
    with Started(op) as worker:
        return worker.run(job, timeout=timeout)


class Started:
    """A worker started before its job is known, so that starting Python and importing
    py-rattler overlap with the caller's own work (``env create`` fetches meanwhile).

    ``with Started("install") as w: ...; w.run(job)``; leaving the block without
    :meth:`run` stops the child.
    """

    def __init__(self, op: str, early: EarlyChild | None = None) -> None:
        """Start the child for ``op``, or take over ``early`` (:func:`.early.spawn_early`)."""
        self.op = op
        self.started = time.monotonic()
        self._closed = False
        self._workdir = Path(early.workdir if early else tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
        try:
            if early is not None:
                self.argv = early.argv
                self._child = proc.adopt(early)  # the caller's until here; ours from now on
            else:
                self.argv = proc.python_module(CHILD, op, "-", self._workdir / "result.json")
                self._child = proc.spawn(self.argv, stdout_path=self._workdir / "stdout",
                                         stderr_path=self._workdir / "stderr",
                                         extra_env=proc.child_pythonpath())  # fmt: skip
        except BaseException:
            shutil.rmtree(self._workdir, ignore_errors=True)
            raise
        self.result_path = self._workdir / "result.json"
        self.stderr_path = self._workdir / "stderr"

    def __enter__(self) -> Started:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the child (if it still runs) and remove its files; again: nothing."""
        if self._closed:
            return
        self._closed = True
        if self._child.poll() is None:
            proc.stop(self._child)  # with anything it started
        else:
            proc.finish(self._child)  # ended: one syscall, unless it left something running
        shutil.rmtree(self._workdir, ignore_errors=True)

    def run(self, job: Mapping[str, Any], *, timeout: float | None = DEFAULT_TIMEOUT) -> Any:
        self.send(job)
        return self.result(timeout=timeout)

    def send(self, job: Mapping[str, Any]) -> None:
        """Hand the child its job; it works on it while the caller does something else
        (then :meth:`result`)."""
        assert self._child.stdin is not None
        try:
            self._child.stdin.write(json.dumps(job, sort_keys=True).encode())
            self._child.stdin.close()
        except BrokenPipeError:
            pass  # the child died early: judged by result()

    def result(self, *, timeout: float | None = DEFAULT_TIMEOUT) -> Any:
        """Wait for the child (after :meth:`send`) and return its result."""
        code = proc.wait(self._child, timeout=timeout)
        stderr = self.stderr_path.read_text(errors="replace")
        log.debug("rattler %s: %.2f s, %s", self.op, time.monotonic() - self.started,
                  proc.describe_exit(code))  # fmt: skip
        if not self.result_path.is_file():
            raise CommandError(
                self.argv,
                code,
                proc.tail(stderr),
                hint="py-rattler failed in its worker process; rerun with --debug",
            )
        if code != 0:
            if code not in proc.CRASH_AT_EXIT:
                raise CommandError(self.argv, code, proc.tail(stderr))
            log.debug("rattler worker crashed at exit (%s) after writing its result; tolerated",
                      proc.describe_exit(code))  # fmt: skip
        data = json.loads(self.result_path.read_text("utf-8"))
        if isinstance(data, dict) and "fatal" in data:
            raise _error(data)
        return data


@contextlib.contextmanager
def started_or_new(op: str, started: Started | None) -> Iterator[Started]:
    """``started`` (a worker its owner started early, and closes), else a new one for
    ``op``, closed at the end of the block."""
    if started is not None:
        yield started
        return
    with Started(op) as worker:
        yield worker


def _error(data: Mapping[str, Any]) -> ScipipeError:
    message = str(data["fatal"])
    kind = data.get("kind")
    if kind == "network":
        return NetworkError(message, hint="is the channel URL right and reachable?")
    if kind == "input":
        return InputError(message)
    return ScipipeError(f"py-rattler {data.get('type', 'error')}: {message}")
