"""Ray Data: scan and audit a ``ray.data.Dataset`` on a Ray cluster.

::

    import ray
    from langaudit.integrations import ray as langaudit_ray

    ds = ray.data.read_json("s3://bucket/sft/")
    report = langaudit_ray.audit(ds, source="sft")   # the Report langaudit.audit returns
    report.to_html("report.html")
    annotated = langaudit_ray.scan(ds)                # ds with langaudit_* columns, lazily

Both run :func:`langaudit.api.annotate_records`, the batch function of the local scan, in
``map_batches`` tasks: every Ray worker process loads the language model once and keeps it for
the batches it is given. :func:`audit` turns each batch into :class:`~langaudit.report.AuditStats`
on the workers and merges them on the driver in dataset order, so the report equals the local
audit of the same records (same counts, histograms and examples) while only the statistics,
a few kilobytes per batch, travel to the driver. Needs ``pip install "langaudit[ray]"``.
"""

from __future__ import annotations

import dataclasses
import functools
import pickle
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..api import COLUMN_PREFIX, _judging_options, annotate_records
from ..config import AuditConfig, ShareRange
from ..engine import ScanLog, result_schema
from ..errors import InputError, MissingDependencyError, UsageError
from ..report import AuditStats, Report

if TYPE_CHECKING:
    import pyarrow as pa
    import ray.data

#: Records per ``map_batches`` call (the scan still annotates them in its own smaller batches).
BATCH_SIZE = 4096
#: The source name of a dataset's records in reports and errors, unless ``source=`` names one.
DEFAULT_SOURCE = "<ray.data.Dataset>"


def scan(
    ds: ray.data.Dataset,
    config: AuditConfig | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    **options: Any,
) -> ray.data.Dataset:
    """``ds`` with the scan's columns added, each named ``langaudit_*`` (lazy, like any
    ``map_batches``). The columns are those of :func:`langaudit.scan` except ``source`` and
    ``index``; rows keep their order and their own columns. A record that cannot be read fails
    the dataset's execution with an :class:`~langaudit.errors.InputError`, as
    :func:`langaudit.scan_batch` does (a map cannot drop rows). Extra ``map_batches`` arguments
    (``concurrency``, ``num_cpus``, ...) go in ``ray_options={...}``."""
    ray_options = options.pop("ray_options", None) or {}
    cfg = _config(config, options, on_error="raise")
    return ds.map_batches(
        functools.partial(_scan_batch, config=cfg),
        batch_format="pyarrow",
        batch_size=batch_size,
        **ray_options,
    )


def audit(
    ds: ray.data.Dataset,
    config: AuditConfig | None = None,
    *,
    source: str = DEFAULT_SOURCE,
    examples: int = 5,
    zh_share: float | str | ShareRange | None = None,
    batch_size: int = BATCH_SIZE,
    **options: Any,
) -> Report:
    """Audit ``ds`` and return the :class:`~langaudit.report.Report` of all its records.

    ``source`` names the records in the report (records are numbered from 0 in dataset
    order, as :func:`langaudit.audit` numbers a file's). ``examples``, ``zh_share`` and
    ``options`` are as for :func:`langaudit.audit`; with ``on_error="skip"`` unreadable records
    are counted as skipped, otherwise the first one raises an
    :class:`~langaudit.errors.InputError` naming its position. Extra ``map_batches`` arguments go
    in ``ray_options={...}``.
    """
    ray_options = options.pop("ray_options", None) or {}
    cfg = _config(config, options)
    target = zh_share
    if target is not None and not isinstance(target, ShareRange):
        target = ShareRange.parse(str(target))
    parts = ds.map_batches(
        functools.partial(_audit_batch, config=cfg, source=source, examples=examples),
        batch_format="pyarrow",
        batch_size=batch_size,
        **ray_options,
    )
    stats = AuditStats(examples)
    stats.add_source(source)
    offset = 0
    for rows, part in _in_order(parts):
        if isinstance(part, _Failure):
            raise part.error(source, offset)
        stats.merge(_shifted(part, offset))
        offset += rows
    return Report(stats, [], _judging_options(cfg), None, target)


# ---------------------------------------------------------------------------------------------
# The batch functions (run on the workers)


def _scan_batch(table: pa.Table, config: AuditConfig) -> pa.Table:
    import pyarrow as pa

    clash = [name for name in table.column_names if name.startswith(COLUMN_PREFIX)]
    if clash:
        raise UsageError(
            f"the dataset already has langaudit columns: {', '.join(clash)}",
            "drop them first (ds.drop_columns) or scan the original data",
        )
    batches = [b for _, b in annotate_records(_records(table), config, "<ray batch>")]
    annotated = pa.Table.from_batches(batches, schema=result_schema())
    for name in annotated.column_names:
        if name not in ("source", "index"):
            table = table.append_column(COLUMN_PREFIX + name, annotated.column(name))
    return table


def _audit_batch(table: pa.Table, config: AuditConfig, source: str, examples: int) -> pa.Table:
    """One row: the batch's record count and its pickled statistics (records numbered from 0
    within the batch; the driver shifts them), or the first unreadable record."""
    import pyarrow as pa

    stats = AuditStats(examples)
    unreadable: list[tuple[int, InputError]] = []
    log = ScanLog(sink=lambda item, error: unreadable.append((item.index, error)))
    reading = dataclasses.replace(config, on_error="skip")  # the driver raises, where it knows
    for entries, batch in annotate_records(_records(table), reading, source, log=log):
        stats.add_batch(batch, entries)
    part: AuditStats | _Failure = stats
    if unreadable and config.on_error == "raise":
        part = _Failure.of(*unreadable[0])
    for name, count in log.skipped_by_source.items():
        stats.add_skipped(name, count)
    return pa.table({"rows": [table.num_rows], "part": [pickle.dumps(part)]})


def _records(table: pa.Table) -> Iterator[dict[str, Any]]:
    for chunk in table.to_batches(max_chunksize=1024):
        yield from chunk.to_pylist()


# ---------------------------------------------------------------------------------------------
# Merging (on the driver)


def _in_order(parts: ray.data.Dataset) -> Iterator[tuple[int, Any]]:
    """``(records, statistics)`` of every batch, in dataset order: the offsets of the records'
    numbers depend on it, so the execution preserves the order of the blocks."""
    options = parts.context.execution_options
    before = options.preserve_order
    options.preserve_order = True
    try:
        for row in parts.iter_rows():
            yield row["rows"], pickle.loads(row["part"])
    finally:
        options.preserve_order = before


def _shifted(part: AuditStats, offset: int) -> AuditStats:
    """``part`` with its examples and flagged records numbered from ``offset`` instead of 0."""
    if offset:
        part.worst = {
            flag: [dataclasses.replace(e, index=e.index + offset) for e in kept]
            for flag, kept in part.worst.items()
        }
        part.flagged_records.shift(offset)
    return part


@dataclasses.dataclass
class _Failure:
    """An unreadable record, sent back so that the driver can say where it is."""

    row: int
    problem: str
    field: str | None
    hint: str | None

    @classmethod
    def of(cls, row: int, error: InputError) -> _Failure:
        return cls(row, error.problem, error.field, error.hint)

    def error(self, source: str, offset: int) -> InputError:
        return InputError(
            f"{source}[{offset + self.row}]", self.problem, field=self.field, hint=self.hint
        )


def _config(config: AuditConfig | None, options: dict[str, Any], **fixed: Any) -> AuditConfig:
    try:
        import ray.data  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            "langaudit.integrations.ray needs Ray Data", 'pip install "langaudit[ray]"'
        ) from None
    # one process per Ray task: Ray spreads the batches, langaudit must not start its own pool
    return AuditConfig.from_options(config, **{**options, **fixed, "jobs": 1})
