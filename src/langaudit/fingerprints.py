"""Record fingerprints, and the flagged records of an audit kept by fingerprint.

A record's fingerprint is a 64-bit BLAKE2b hash of its answers (the texts of its assistant turns,
joined with NUL characters, as UTF-8), written as 16 hex digits: the scan's ``fingerprint``
column of flagged records (docs/scan-output.md), and the reports' (docs/audit-json.md).
``langaudit rewrite`` tags and instructs prompts, adds system prompts, drops and repeats records,
so neither the prompt nor the position identifies a record across a rewrite; the answer does. A
record without an answer that has text (none, or only empty ones) is fingerprinted by all its
turns instead, so that empty answers to different prompts stay apart.

:class:`FlaggedRecords` keeps, per source, the index, fingerprint and flags of every flagged
record in NumPy arrays (17 bytes a record), so that two audits can tell which records newly
fail (see :mod:`langaudit.diff`). It merges exactly, as the rest of
:class:`langaudit.report.AuditStats` does.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from hashlib import blake2b
from typing import Any

import numpy as np

from .judge import FLAGS

#: The answer turns' role: the fingerprint's text.
ANSWER_ROLE = "assistant"
#: One row per flagged record; ``flags`` has bit k set for ``FLAGS[k]``.
ROW = np.dtype([("index", np.int64), ("fingerprint", np.uint64), ("flags", np.uint8)])
assert len(FLAGS) <= 8, "a flag more: widen ROW's flags"


def fingerprints(
    sizes: Sequence[int],
    roles: Sequence[str],
    texts: Sequence[str],
    wanted: Sequence[bool] | None = None,
) -> list[str | None]:
    """The fingerprint (16 hex digits) of each record of a batch given as flat lists:
    ``sizes[r]`` turns per record, then the ``roles`` and ``texts`` of all turns, record after
    record; None for the records not ``wanted``."""
    ends = list(itertools.accumulate(sizes))
    out: list[str | None] = [None] * len(ends)
    for r in range(len(ends)) if wanted is None else itertools.compress(range(len(ends)), wanted):
        start, end = ends[r] - sizes[r], ends[r]
        turns = texts[start:end]
        answers: Sequence[str] = [
            t for t, role in zip(turns, roles[start:end], strict=True) if role == ANSWER_ROLE
        ]
        if not any(a.strip() for a in answers):
            answers = turns
        joined = "\0".join(answers).encode("utf-8", "surrogatepass")
        out[r] = blake2b(joined, digest_size=8).hexdigest()
    return out


def as_numbers(hexes: Sequence[str]) -> np.ndarray:
    """Fingerprints as uint64, the way :class:`FlaggedRecords` keeps them."""
    return np.frombuffer(bytes.fromhex("".join(hexes)), dtype=">u8").astype(np.uint64)


def as_hex(fingerprint: int) -> str:
    """A fingerprint as it is written in reports: 16 hex digits."""
    return f"{fingerprint:016x}"


def flag_names(mask: int) -> list[str]:
    return [flag for k, flag in enumerate(FLAGS) if mask >> k & 1]


class FlaggedRecords:
    """The flagged records of a set of batches: per source, rows of :data:`ROW`."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {}

    def __len__(self) -> int:
        return sum(len(p) for parts in self.parts.values() for p in parts)

    def add_batch(self, batch: Any) -> None:
        """The flagged rows of an annotated batch (its ``flags`` and ``fingerprint`` columns)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        flags = batch.column("flags")
        flat = pc.list_flatten(flags)
        if not len(flat):
            return
        codes = np.asarray(
            pc.index_in(flat, value_set=pa.array(FLAGS)).to_numpy(zero_copy_only=False)
        )
        rows = np.asarray(pc.list_parent_indices(flags).to_numpy(zero_copy_only=False))
        mask = np.zeros(batch.num_rows, np.uint8)
        np.bitwise_or.at(mask, rows, np.left_shift(np.uint8(1), codes.astype(np.uint8)))
        flagged = np.flatnonzero(mask)
        out = np.empty(len(flagged), ROW)
        out["index"] = batch.column("index").to_numpy(zero_copy_only=False)[flagged]
        hexes = batch.column("fingerprint").take(pa.array(flagged)).to_pylist()
        out["fingerprint"] = as_numbers(hexes)
        out["flags"] = mask[flagged]
        sources = batch.column("source")
        names = pc.unique(sources).to_pylist()
        if len(names) == 1:
            self.parts.setdefault(names[0], []).append(out)
            return
        of_row = np.asarray(sources.to_pylist(), dtype=object)[flagged]
        for name in names:
            self.parts.setdefault(name, []).append(out[of_row == name])

    def merge(self, other: FlaggedRecords) -> None:
        for name, parts in other.parts.items():
            self.parts.setdefault(name, []).extend(parts)

    def shift(self, offset: int) -> None:
        """Number the records from ``offset`` instead of 0 (parts audited apart, as Ray's)."""
        for parts in self.parts.values():
            for k, part in enumerate(parts):
                parts[k] = part.copy()  # merged statistics share arrays: never change one
                parts[k]["index"] += offset

    def rows(self, source: str) -> np.ndarray:
        """The rows of ``source`` in a total order (index, then fingerprint and flags), so that
        merged parts read as the whole does whatever the order of merging."""
        parts = self.parts.get(source, [])
        rows = np.concatenate(parts) if parts else np.empty(0, ROW)
        return rows[np.lexsort((rows["flags"], rows["fingerprint"], rows["index"]))]

    def to_list(self) -> list[dict[str, Any]]:
        """Per source (by name) with flagged records: ``records``, ``[index, fingerprint,
        flags]`` rows by index (see docs/audit-json.md)."""
        out = []
        for name in sorted(self.parts):
            rows = self.rows(name)
            if not len(rows):
                continue
            names = {int(m): flag_names(int(m)) for m in np.unique(rows["flags"])}
            out.append(
                {
                    "source": name,
                    "records": [
                        [index, as_hex(fingerprint), list(names[mask])]
                        for index, fingerprint, mask in zip(
                            rows["index"].tolist(),
                            rows["fingerprint"].tolist(),
                            rows["flags"].tolist(),
                            strict=True,
                        )
                    ],
                }
            )
        return out
