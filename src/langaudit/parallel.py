"""Worker processes that annotate batches, for ``jobs`` > 1.

The reading process parses records and gathers them into batches; ``jobs - 1`` workers and the
reading process itself annotate them (the script counts, the language model, the judgement:
nearly all the work) and the results come back in input order. At most two batches per worker
are queued and a few more held, so memory stays bounded whatever the input size. The workers
start only when a source has more records than one ordinary batch, so small inputs pay nothing,
and they stay for the process's later scans (each loads the model once).
"""

from __future__ import annotations

import atexit
import itertools
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from concurrent.futures import Executor

_POOLS: dict[int, Executor] = {}
#: Records per batch when several processes annotate (see :func:`shares`).
SHARE = 512


def default_jobs() -> int:
    """The cores this process may run on."""
    import os

    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def pool(jobs: int) -> Executor:
    """The process's pool of ``jobs`` workers (started on first use, shut down at exit)."""
    if jobs not in _POOLS:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn: a fresh interpreter per worker, safe with the reading process's threads
        context = multiprocessing.get_context("spawn")
        _POOLS[jobs] = ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker)
        if len(_POOLS) == 1:
            atexit.register(shutdown)
    return _POOLS[jobs]


def shutdown() -> None:
    for executor in _POOLS.values():
        executor.shutdown(cancel_futures=True)
    _POOLS.clear()


def _start_worker() -> None:
    arrow_without_pandas()


def shares(config: Any) -> Any:
    """``config`` with batches of at most :data:`SHARE` records (a quarter of the characters),
    so that the processes finish together: at the end of the input the last batches to wait
    for are short. Smaller batches cost no more per record."""
    import dataclasses

    return dataclasses.replace(
        config,
        batch_records=min(config.batch_records, SHARE),
        batch_chars=max(1, config.batch_chars // 4),
    )


def annotate_in_order(
    name: str,
    batches: Iterable[tuple[str, list[Any]]],
    rules: Any,
    jobs: int,
    start_after: int = 2048,
) -> Iterator[tuple[list[Any], Any]]:
    """``(entries, annotated batch)`` for each ``(format, entries)`` of ``batches``, in order.

    ``jobs`` processes share the work: ``jobs - 1`` workers, and this process, which reads the
    batches and annotates one itself whenever every worker already has two queued. So no core
    idles while this one reads, and no batch is pickled that this process can do as soon.
    An input of at most ``start_after`` records is annotated here: starting a worker (~0.5 s)
    would cost more than it saves.
    """
    from .engine import Flat, annotate, annotate_flat

    pending = iter(batches)
    first: list[tuple[str, list[Any]]] = []
    records = 0
    for batch in pending:
        first.append(batch)
        records += len(batch[1])
        if records > start_after:
            break
    else:  # the whole input: not worth starting workers
        for fmt, entries in first:
            yield entries, annotate(name, fmt, entries, rules)
        return
    workers = jobs - 1
    executor = pool(workers)
    # in input order: (entries, future, None) for a worker's batch, (entries, None, annotated)
    # for this process's
    window: deque[tuple[list[Any], Any, Any]] = deque()
    queued = 0  # the workers' batches in the window
    for fmt, entries in itertools.chain(first, pending):
        if queued < 2 * workers:
            future = executor.submit(annotate_flat, name, fmt, Flat.of(entries), rules)
            window.append((entries, future, None))
            queued += 1
        else:
            window.append((entries, None, annotate(name, fmt, entries, rules)))
        # hand back what is done, in order; wait only when the window holds too much
        while window and (len(window) > 4 * jobs or window[0][1] is None or window[0][1].done()):
            done, future, annotated = window.popleft()
            if future is not None:
                queued -= 1
                annotated = future.result()
            yield done, annotated
    for done, future, annotated in window:
        yield done, annotated if future is None else future.result()


def arrow_without_pandas() -> None:
    """Keep pyarrow from importing pandas (~0.25 s) in a process that never needs it.

    pyarrow imports pandas on its first ``pa.array()`` call only to test whether the values
    are pandas objects (apache/arrow#34994), and remembers the answer for the process. The
    commands and the workers hand it lists and NumPy arrays, so they let that import fail.
    """
    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    class NoPandas:
        @staticmethod
        def find_spec(name: str, *args: Any) -> None:
            if name == "pandas":
                raise ModuleNotFoundError("langaudit's commands do not use pandas", name=name)

    sys.meta_path.insert(0, NoPandas)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(NoPandas)
