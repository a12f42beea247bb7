"""``--limit``: the first N records of a source, or a seeded random sample of N of them.

The first N are read and the source is closed: the rest of the file is never read. A sample
reads the whole source once, keeping N records (reservoir sampling, Algorithm L: the random
draws are few, O(N log(total/N))), and yields them in their original order with their original
indices, so that errors and reports point at the right record. The sample depends only on the
seed and the records' order: the same seed and data give the same sample, with any --jobs.
Unreadable records count as records: they are sampled (and raised or skipped) like the others.
"""

from __future__ import annotations

import itertools
import math
import random
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

from .errors import UsageError
from .io import Item, Source, parse

T = TypeVar("T")


def limited(source: Source, limit: int, seed: int | None = None) -> Source:
    """``source`` cut to its first ``limit`` records, or with a ``seed`` to a random sample of
    ``limit`` records in their original order."""
    if limit < 1:
        raise UsageError(f"--limit must be at least 1, not {limit}")

    def take(items: Iterable[Item]) -> Iterator[Item]:
        return first(items, limit) if seed is None else sample(items, limit, seed)

    out = source.with_items(take)
    if out.unparsed is not None:
        # JSON lines: a one-process scan parses the lines kept, not every line read
        out._items = (parse(out.name, item) for item in out.unparsed)
    # the bytes read say little of the records left: progress counts records only
    out.size = out.position = None
    return out


def first(items: Iterable[T], n: int) -> Iterator[T]:
    """The first ``n`` of ``items``; the reader is closed then, not read on."""
    iterator = iter(items)
    try:
        yield from itertools.islice(iterator, n)
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def sample(items: Iterable[T], k: int, seed: int) -> Iterator[T]:
    """A uniform random sample of ``k`` of ``items`` (all of them if there are fewer), in their
    order: Algorithm L (Li, 1994), from ``random.Random(seed)``."""
    rng = random.Random(seed)
    stream = enumerate(items)
    kept = list(itertools.islice(stream, k))
    if len(kept) == k:
        w = math.exp(math.log(_unit(rng)) / k)
        while True:
            skip = math.floor(math.log(_unit(rng)) / math.log1p(-w)) if 0 < w < 1 else 0
            chosen = next(itertools.islice(stream, min(skip, sys.maxsize), None), None)
            if chosen is None:
                break
            kept[rng.randrange(k)] = chosen
            w *= math.exp(math.log(_unit(rng)) / k)
    kept.sort(key=lambda pair: pair[0])
    for _, item in kept:
        yield item


def _unit(rng: random.Random) -> float:
    """A uniform draw from (0, 1]: never 0, whose logarithm does not exist."""
    return 1.0 - rng.random()


def describe(limit: int, seed: int | None = None) -> str:
    """What ``--limit`` read, for reports: ``the first 100 records of each input``."""
    if seed is None:
        return f"the first {limit:,} records of each input"
    return f"a random sample of {limit:,} records of each input (seed {seed})"
