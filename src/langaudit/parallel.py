"""Worker processes that annotate batches, for ``jobs`` > 1.

The reading process parses records and gathers them into batches; workers annotate them (the
script counts, the language model, the judgement: nearly all the work) and the results come
back in input order. At most two batches per worker are in flight, so memory stays bounded
whatever the input size. The workers start only when a source has a second batch, so small
inputs pay nothing, and they stay for the process's later scans (each loads the model once).
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


def annotate_in_order(
    name: str, batches: Iterable[tuple[str, list[Any]]], rules: Any, jobs: int
) -> Iterator[tuple[list[Any], Any]]:
    """``(entries, annotated batch)`` for each ``(format, entries)`` of ``batches``, in order."""
    from .engine import annotate

    pending = iter(batches)
    first = next(pending, None)
    if first is None:
        return
    second = next(pending, None)
    if second is None:  # one batch: not worth starting workers
        yield first[1], annotate(name, first[0], first[1], rules)
        return
    executor = pool(jobs)
    window: deque[tuple[list[Any], Any]] = deque()
    for fmt, entries in itertools.chain((first, second), pending):
        window.append(
            (entries, executor.submit(_annotate_packed, name, fmt, _pack(entries), rules))
        )
        while len(window) > 2 * jobs:
            done, future = window.popleft()
            yield done, future.result()
    while window:
        done, future = window.popleft()
        yield done, future.result()


def _pack(entries: list[Any]) -> tuple[Any, ...]:
    """A batch's entries as a few flat values: pickling one long string and a few lists is
    several times faster than pickling a tuple per turn."""
    turns = [turn for _, record in entries for turn in record]
    return (
        [index for index, _ in entries],
        [len(record) for _, record in entries],
        [turn.role for turn in turns],
        [turn.field for turn in turns],
        [len(turn.text) for turn in turns],
        "".join(turn.text for turn in turns),
    )


def _annotate_packed(name: str, fmt: str, packed: tuple[Any, ...], rules: Any) -> Any:
    from .engine import annotate
    from .formats import Turn

    indices, sizes, roles, fields, lengths, joined = packed
    turns, at = [], 0
    for role, field, length in zip(roles, fields, lengths, strict=True):
        turns.append(Turn(role, joined[at : at + length], field))
        at += length
    entries, start = [], 0
    for index, size in zip(indices, sizes, strict=True):
        entries.append((index, turns[start : start + size]))
        start += size
    return annotate(name, fmt, entries, rules)


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
