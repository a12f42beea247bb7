"""Shared by the statistics tests: audit statistics one batch at a time, to merge."""

from __future__ import annotations

from pathlib import Path

from langaudit.api import sources_of
from langaudit.config import AuditConfig
from langaudit.engine import scan_source_with_turns
from langaudit.report import AuditStats


def stats_per_batch(path: Path, batch_records: int, examples: int) -> list[AuditStats]:
    """The statistics of each batch of ``path``'s records, as separate parts."""
    cfg = AuditConfig(batch_records=batch_records)
    parts = []
    for src in sources_of(path):
        for entries, batch in scan_source_with_turns(src, cfg):
            part = AuditStats(examples=examples)
            part.add_source(src.name)
            part.add_batch(batch, entries)
            parts.append(part)
    return parts
