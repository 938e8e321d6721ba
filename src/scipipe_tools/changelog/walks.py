"""Walking many ranges: batches of a dozen repositories per git process, the cache read
meanwhile (the machinery behind :mod:`.collect`).

:func:`walk_all` is the entry point: :class:`Walks` runs the walks in a thread pool,
:class:`Planner` puts ranges in batches (:func:`.walk.read_batch_log` and
:mod:`.fragdiff` in a :mod:`.scratch` repository), :class:`Throttle` keeps git off the
processor the reading thread needs.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ScipipeError
from ..infra.progress import Progress
from . import fragdiff
from .cache import Cache
from .scratch import Borrowed, Scratch
from .walk import (
    Walked,
    commit_dates,
    diff_fragments,
    read_batch_log,
    read_git_log,
    read_log,
    split_batch,
    with_fragments,
)

_T = TypeVar("_T")
#: ``(product, old SHA, new SHA)``
Key = tuple[str, str, str]
#: ranges to diff in one process, and the scratch repository (None: in the clone)
_Diff = tuple[list[Key], Borrowed | None]
#: at most this many ranges in one batch of :func:`.walk.read_batch_log`
BATCH = 25
#: batches per job: the logs of a wave finish together, and this thread parses them
#: while git runs the next wave
WAVES = 2
#: batches' worth of products whose commit dates one process reads
GROUP = 2


def batch_size(ranges: int, jobs: int) -> int:
    """Ranges in a batch: :data:`WAVES` batches a job, at most :data:`BATCH`."""
    return max(1, min(BATCH, -(-ranges // max(1, jobs * WAVES))))


def walk_all(
    keys: set[Key],
    paths: Mapping[str, Path],
    identities: Mapping[str, str],
    cache: Cache | None,
    jobs: int,
    progress: Progress,
    meanwhile: Iterable[list[Key]] | None = None,
) -> tuple[dict[Key, Walked], dict[Key, str]]:
    """Every range's walk (:class:`Walks`); ``meanwhile`` is iterated (its steps: more
    ranges to walk) while the first walks are planned and run."""
    walks = Walks(paths, identities, cache, jobs, progress)
    try:
        walks.run(sorted(keys), meanwhile or ())
    finally:
        walks.close()
    return walks.results, walks.failures


class Walks:
    """The walks of a collection, with git ``jobs`` processes at a time in a pool while
    this thread reads the cache and then git's output as it comes.

    The misses go in batches of ranges of distinct repositories (:class:`Planner`,
    :data:`WAVES` batches a job): each batch is one ``git log``
    (:func:`.walk.read_batch_log`) in a scratch repository borrowing their objects,
    and as many ranges again one ``git diff-tree`` (:mod:`.fragdiff`) -- two processes
    instead of two dozen.  The order is the critical path's: the commit dates that
    group the batches, a group of clones a process (:data:`GROUP`), a diff on each
    processor they leave free, each group's logs as soon as its dates are in, the
    other diffs last -- so the logs finish one after another and this thread parses
    each while git still works, instead of all of them at the end.  A range the batch
    cannot answer exactly is logged on its own; one whose fragments need the merges'
    diffs (:data:`.fragdiff.WALK_MERGES`) is logged again with them.

    Parsing in the pool instead would make its threads fight for the interpreter lock
    and leave git processes waiting to be started; reading the cache while git runs
    hides it behind the walks of the new ranges.
    """

    def __init__(
        self,
        paths: Mapping[str, Path],
        identities: Mapping[str, str],
        cache: Cache | None,
        jobs: int,
        progress: Progress,
    ) -> None:
        self.paths, self.identities, self.cache = paths, identities, cache
        self.jobs, self.progress = jobs, progress
        self.results: dict[Key, Walked] = {}
        self.failures: dict[Key, str] = {}
        self.pool = ThreadPoolExecutor(max_workers=max(1, jobs))
        self.scratch = Scratch()
        self.cached: list[Key] = []
        #: the batches' walks, before their fragments are known
        self.logs: dict[Key, Walked] = {}
        self.answers: dict[Key, fragdiff.Answer] = {}
        self.diffs: list[tuple[list[Key], Future[list[fragdiff.Answer]]]] = []
        self.batches: dict[Future[str | None], list[Key]] = {}
        #: ranges logged on their own, as they finish
        self.finished: queue.SimpleQueue[tuple[Future[str], Key]] = queue.SimpleQueue()
        self.pending = 0
        self.throttle = Throttle(max(1, jobs))

    def submit(self, fn: Callable[..., _T], *args: Any, **kwargs: Any) -> Future[_T]:
        """``fn`` (which runs git) in the pool, when the throttle lets it."""

        def run() -> _T:
            with self.throttle.slot():
                return fn(*args, **kwargs)

        return self.pool.submit(run)

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)
        self.scratch.close()
        if self.cache is not None:
            self.cache.flush()
        self.progress.finish()

    def run(self, keys: list[Key], meanwhile: Iterable[list[Key]]) -> None:
        self.progress.start(len(keys), "walking history")
        # planning the log batches waits on git (for the commit dates): the diffs need
        # no plan, so they start at once; this thread reads release entries until the
        # dates are in, starts the logs, reads the rest
        misses = self.sort_out(keys)
        plans = self.plan(misses)
        diffs = self.diff_chunks(misses, batch_size(len(misses), self.jobs))
        # a diff for each processor the dates leave free, each group's logs as soon as
        # its dates are in, the other diffs after them: the logs then finish one after
        # another (this thread parses each as it comes) while git diffs
        waiting = any(dates is not None for _planner, dates in plans)
        spare = max(0, _processors() - 1) if waiting else len(diffs)
        for chunk, gitdir in diffs[:spare]:
            self.diff(chunk, gitdir)
        more: list[Key] = []
        # while this thread reads the cache, git gets the other processors only: on
        # two, the new ranges' walks would otherwise take half of this thread's
        self.throttle.set(max(1, min(self.jobs, _processors() - 1)))
        for again in meanwhile:
            more += again
            while plans and (plans[0][1] is None or plans[0][1].done()):
                self.start(*plans.pop(0))
        self.throttle.set(max(1, self.jobs))
        for planner, dates in plans:
            self.start(planner, dates)
        for chunk, gitdir in diffs[spare:]:
            self.diff(chunk, gitdir)
        more = sorted(set(more) - set(keys))
        if more:  # rare: an unreadable release entry
            self.progress.start(len(more), "walking history again")
            self.start_planning(self.sort_out(more))
        self.read_cached()
        self.read_batches()
        self.read_alone()

    def sort_out(self, keys: Iterable[Key]) -> list[Key]:
        """The cache hits to :attr:`cached`; the misses returned."""
        misses: list[Key] = []
        cache = self.cache
        for key in keys:
            product, old, new = key
            if cache is not None and cache.has(product, self.identities[product], old, new):
                self.cached.append(key)
            else:
                if cache is not None:
                    cache.missed()
                misses.append(key)
        return misses

    def plan(self, keys: list[Key]) -> list[tuple[Planner, Future[dict[str, int] | None] | None]]:
        """The planners of ``keys``' batches, one a group of products, and the commit
        dates each asked for (read in the pool).  One process borrowing the objects of
        every clone spends most of its time opening them: a group's dates come sooner,
        and its logs start while the next group's dates are read."""
        size = batch_size(len(keys), self.jobs)
        products = sorted({k[0] for k in keys})
        step = max(1, size * GROUP)
        plans: list[tuple[Planner, Future[dict[str, int] | None] | None]] = []
        for at in range(0, len(products), step):
            group = set(products[at : at + step])
            mine = [k for k in keys if k[0] in group]
            planner = Planner(mine, self.paths, self.identities, size, self.scratch)
            dates = None
            if planner.dates_gitdir is not None:
                dates = self.submit(commit_dates, planner.dates_gitdir, planner.dates_needed)
            plans.append((planner, dates))
        return plans

    def start_planning(self, keys: list[Key]) -> None:
        for planner, dates in self.plan(keys):
            self.start(planner, dates)
        for chunk, gitdir in self.diff_chunks(keys, batch_size(len(keys), self.jobs)):
            self.diff(chunk, gitdir)

    def diff_chunks(self, keys: Sequence[Key], size: int) -> list[_Diff]:
        """How to diff the ends of ``keys``: those whose clones lend their objects
        ``size`` at a time in the scratch repository (any grouping will do: a tree diff
        walks no history), the others each in its own clone (no scratch)."""
        paths, scratch = self.paths, self.scratch
        chunks: list[_Diff] = []
        shared: list[Key] = []
        for key in keys:
            if scratch.lender(paths[key[0]]) is None:
                chunks.append(([key], None))
            else:
                shared.append(key)
        step = max(1, size)
        for at in range(0, len(shared), step):
            chunk = shared[at : at + step]
            gitdir = None if len(chunk) == 1 else scratch.borrow(paths[k[0]] for k in chunk)
            chunks.append((chunk, gitdir))
        return chunks

    def diff(self, keys: list[Key], gitdir: Borrowed | None) -> None:
        requests = [fragdiff.Request(k[0], self.paths[k[0]], k[1], k[2]) for k in keys]
        self.diffs.append((keys, self.submit(diff_fragments, requests, gitdir)))

    def start(self, planner: Planner, dates: Future[dict[str, int] | None] | None) -> None:
        """Start the logs of ``planner``'s batches (their diffs are started apart)."""
        paths = self.paths
        for batch in planner.batches(dates.result() if dates is not None else None):
            if len(batch) == 1:
                self.log_alone(batch[0])
                continue
            gitdir = self.scratch.borrow(paths[k[0]] for k in batch)
            ranges = [(k[1], k[2]) for k in batch]
            self.batches[self.submit(read_batch_log, gitdir, ranges)] = batch

    def log_alone(self, key: Key, merge_diffs: bool = False) -> None:
        future = self.submit(read_git_log, self.paths[key[0]], *key, merge_diffs=merge_diffs)
        self.pending += 1
        future.add_done_callback(lambda f: self.finished.put((f, key)))

    def done(self, key: Key, walked: Walked) -> None:
        self.results[key] = walked
        if self.cache is not None:
            product, old, new = key
            self.cache.put(product, self.identities[product], old, new, walked)
        self.progress.advance(key[0])

    def read_cached(self) -> None:
        cache = self.cache
        for key in self.cached:
            assert cache is not None
            product, old, new = key
            hit = cache.get(product, self.identities[product], old, new)
            if hit is None:
                self.start_planning([key])  # unreadable: walk it after all
                continue
            self.results[key] = hit
            self.progress.advance(product)

    def read_batches(self) -> None:
        for finished in as_completed(self.batches):
            batch = self.batches[finished]
            out = finished.result()
            walks = split_batch(out, batch) if out is not None else [None] * len(batch)
            for key, walked in zip(batch, walks, strict=True):
                if walked is None:
                    self.log_alone(key)
                else:
                    self.logs[key] = walked
        for chunk, diffed in self.diffs:
            self.answers.update(zip(chunk, diffed.result(), strict=True))
        for key, walked in self.logs.items():
            if self.answers[key] is fragdiff.WALK_MERGES:
                self.log_alone(key, merge_diffs=True)
            else:
                self.done(key, with_fragments(walked, self.answers[key]))

    def read_alone(self) -> None:
        """The ranges logged on their own, as they finish; a plain log may need another
        with the merges' diffs."""
        while self.pending:
            future, key = self.finished.get()
            self.pending -= 1
            try:
                walked = read_log(self.paths[key[0]], key[0], future.result())
            except ScipipeError as exc:
                self.failures[key] = str(exc)
                self.progress.advance(key[0])
                continue
            if key in self.logs:  # the second log, with the merges' diffs
                self.done(key, walked)
            elif self.answers[key] is fragdiff.WALK_MERGES:
                self.logs[key] = walked
                self.log_alone(key, merge_diffs=True)
            else:
                self.done(key, with_fragments(walked, self.answers[key]))


def _processors() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class Throttle:
    """At most ``limit`` holders of a :meth:`slot` at a time; the limit can change."""

    def __init__(self, limit: int) -> None:
        self._cond = threading.Condition()
        self._limit = limit
        self._active = 0

    def set(self, limit: int) -> None:
        with self._cond:
            self._limit = limit
            self._cond.notify_all()

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._cond:
            while self._active >= self._limit:
                self._cond.wait()
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify()


class Planner:
    """Ranges in batches for :func:`.walk.read_batch_log`; a batch of one is walked in
    its own clone.

    One walk over several repositories is ordered by commit date: while any range
    still has commits to give, git keeps walking back the history below every other
    range's old end too.  So a batch holds ranges whose old ends are close in time:
    none more than its own span (at least an hour) newer than the batch's oldest, so
    that the extra history walked in a repository is at most its range's own -- a
    product untouched for a year is not batched with this week's.  The dates of the
    ends come from one process that walks nothing (:func:`.walk.commit_dates`: the
    :attr:`dates_needed` of :attr:`dates_gitdir`), which the caller runs as it likes
    before :meth:`batches`.  Batches hold at most one range per repository (by
    identity), at most ``size`` ranges (:func:`batch_size`).
    """

    def __init__(
        self,
        keys: Sequence[Key],
        paths: Mapping[str, Path],
        identities: Mapping[str, str],
        size: int,
        scratch: Scratch,
    ) -> None:
        self.keys = list(keys)
        self.identities = identities
        lends = {p: scratch.lender(paths[p]) is not None for p in {k[0] for k in keys}}
        self.alone = [[k] for k in keys if not lends[k[0]]]
        self.shared = [k for k in keys if lends[k[0]]]
        self.size = size
        self.dates_gitdir: Borrowed | None = None
        self.dates_needed: list[str] = []
        if self.size > 1 and len({identities[k[0]] for k in self.shared}) > 1:
            self.dates_gitdir = scratch.borrow(dict.fromkeys(paths[k[0]] for k in self.shared))
            self.dates_needed = sorted({sha for k in self.shared for sha in k[1:]})

    def batches(self, dates: Mapping[str, int] | None) -> list[list[Key]]:
        """The batches, given the :func:`.walk.commit_dates` asked for (None: one
        was missing, so every range is walked alone, which names it)."""
        if self.dates_gitdir is None:
            return [[k] for k in self.shared] + self.alone
        if dates is None:
            return [[k] for k in self.keys]
        size, identities = self.size, self.identities
        # newest old end first, each into the first open batch it fits; a batch whose
        # floor is above this old end can take nothing older: it is closed
        batches: list[list[Key]] = []
        Open = tuple[list[Key], set[str], list[int]]  # the batch, its identities, [floor]
        open_: list[Open] = []
        for key in sorted(self.shared, key=lambda k: (-dates[k[1]], k)):
            old_date = dates[key[1]]
            identity = identities[key[0]]
            span = max(3600, dates[key[2]] - old_date)
            open_ = [e for e in open_ if e[2][0] <= old_date and len(e[0]) < size]
            fit = next((entry for entry in open_ if identity not in entry[1]), None)
            if fit is None:
                fit = ([], set(), [old_date - span])
                batches.append(fit[0])
                open_.append(fit)
            fit[0].append(key)
            fit[1].add(identity)
            fit[2][0] = max(fit[2][0], old_date - span)
        return batches + self.alone


def plan_batches(
    keys: Sequence[Key],
    paths: Mapping[str, Path],
    identities: Mapping[str, str],
    jobs: int,
    scratch: Scratch,
) -> list[list[Key]]:
    """:class:`Planner`'s batches, the dates asked for on the spot."""
    planner = Planner(keys, paths, identities, batch_size(len(keys), jobs), scratch)
    dates = None
    if planner.dates_gitdir is not None:
        dates = commit_dates(planner.dates_gitdir, planner.dates_needed)
    return planner.batches(dates)
