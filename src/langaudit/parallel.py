"""Worker processes that annotate batches, for ``jobs`` > 1.

The reading process gathers records into batches; ``jobs`` workers annotate them (the script
counts, the language model, the judgement: nearly all the work) and the results come back in
input order, for the reading process to write or count. JSON lines travel unparsed, so the
workers parse them too (see :class:`langaudit.engine.Lines`) and the reading process is left
with little but reading and writing. At most two batches per worker are in flight, so memory
stays bounded whatever the input size. The workers start only when a source has more records
than one ordinary batch, so small inputs pay nothing, and they stay for the process's later
scans (each loads the model once).

Measured on 2 cores (benchmarks/bench_jobs.py), this beat having the reading process annotate
too whenever the workers were busy: that process then answers the workers late, and with JSON
lines it has little else to do.
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
    """``config`` with batches of at most :data:`SHARE` records (a quarter of the characters;
    of the bytes, for JSON lines sent unparsed), so that the workers finish together: at the
    end of the input the last batches to wait for are short. The price is each batch's set-up:
    ~2.5% more instructions per record than batches of 2,048 (callgrind)."""
    import dataclasses

    return dataclasses.replace(
        config,
        batch_records=min(config.batch_records, SHARE),
        batch_chars=max(1, config.batch_chars // 4),
    )


def annotate_in_order(
    tasks: Iterable[Any], rules: Any, jobs: int, start_after: int = 2048
) -> Iterator[tuple[Any, Any]]:
    """``(task, done)`` for each of ``tasks`` (:class:`langaudit.engine.Lines` or ``Parsed``),
    in order: ``done`` is what ``task.run(rules)`` gives, run on ``task.there()`` by one of
    ``jobs`` workers, each with up to two tasks in flight.

    An input of at most ``start_after`` records is done here (``task.here``): starting the
    workers (~0.5 s) would cost more than it saves.
    """
    from .engine import work

    failure: list[Exception] = []
    pending = _reading(tasks, failure)
    first: list[Any] = []
    records = 0
    for task in pending:
        first.append(task)
        records += len(task)
        if records > start_after:
            break
    else:  # the whole input: not worth starting workers
        for task in first:
            yield task, task.here(rules)
        _reraise(failure)
        return
    executor = pool(jobs)
    window: deque[tuple[Any, Any]] = deque()  # (task, future), in input order
    for task in itertools.chain(first, pending):
        window.append((task, executor.submit(work, task.there(), rules)))
        # hand back what is done, in order; wait only when the window is full
        while window and (len(window) > 2 * jobs or window[0][1].done()):
            task, future = window.popleft()
            yield task, future.result()
    for task, future in window:
        yield task, future.result()
    _reraise(failure)


def _reading(tasks: Iterable[Any], failure: list[Exception]) -> Iterator[Any]:
    """``tasks``, ending early where reading them fails, the error kept in ``failure``: the
    batches read before it are handed back first, so that an unreadable record in them (found
    by a worker) is reported before a later read error (a cut-off .gz), as in one process."""
    try:
        yield from tasks
    except Exception as error:
        failure.append(error)


def _reraise(failure: list[Exception]) -> None:
    if failure:
        raise failure[0]


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
