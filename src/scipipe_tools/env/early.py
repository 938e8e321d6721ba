"""Starting the py-rattler worker before anything is imported (see :mod:`.worker`).

Only ``os`` and ``sys`` are loaded when the console script starts one of these, so this
module imports nothing else: what the worker's command line is lives here, and
:class:`.worker.Started` takes the child over.
"""

from __future__ import annotations

from ..infra import earlychild
from ..infra.earlychild import EarlyChild

#: The child's side, run as ``python -m``.
CHILD = "scipipe_tools.env.worker_child"

#: The child's private directory (its result, stdout and stderr): ``$TMPDIR/PREFIX*``.
WORKDIR_PREFIX = "scipipe-rattler-"


def spawn_early(op: str) -> EarlyChild:
    """The worker for ``op``, started now; :class:`.worker.Started` takes it over (and
    whoever holds it until then must).  Raises OSError when it cannot be started."""
    return earlychild.spawn(CHILD, [op, "-", "{workdir}/result.json"], prefix=WORKDIR_PREFIX)
