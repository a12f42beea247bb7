"""Public entry points: ``scan`` (a table), ``scan_batches`` (a stream), ``scan_batch`` (map)
and ``audit`` (a report)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from .config import AuditConfig, ShareRange
from .engine import Entries, ScanLog, result_schema, scan_source, scan_source_with_turns
from .errors import UsageError
from .io import Item, Source, from_object, open_path

#: Prefix of the columns :func:`scan_batch` adds; user columns with this prefix are refused.
COLUMN_PREFIX = "langaudit_"


def sources_of(source: Any, config: AuditConfig | None = None) -> list[Source]:
    """Sources for a path, a list of paths, a registry (:class:`langaudit.registry.Registry`:
    its datasets' files, each read with ``config`` and its declared shape), or an in-memory
    dataset/table/list of records."""
    from .registry import Registry

    if isinstance(source, Registry):
        from dataclasses import asdict

        from .settings import for_inputs

        given = {k: v for k, v in asdict(config or AuditConfig()).items() if k != "shape"}
        return [src for src, _, _ in for_inputs([], given, False, source)]
    if isinstance(source, str | os.PathLike):
        return open_path(source)
    if isinstance(source, Source):
        return [source]
    if isinstance(source, list) and source and all(isinstance(s, Source) for s in source):
        return list(source)
    if (
        isinstance(source, Sequence)
        and source
        and all(isinstance(s, str | os.PathLike) for s in source)
    ):
        return [src for path in source for src in open_path(path)]
    return [from_object(source)]


def scan_batches(
    source: Any,
    config: AuditConfig | None = None,
    log: ScanLog | None = None,
    **options: Any,
) -> Iterator[Any]:
    """Annotated Arrow record batches, source after source, each in record order.

    Memory stays bounded: records are read, annotated and released batch by batch.
    """
    cfg = AuditConfig.from_options(config, **options)
    for src in sources_of(source, cfg):
        yield from scan_source(src, src.config or cfg, log)


def scan(source: Any, config: AuditConfig | None = None, **options: Any) -> Any:
    """Scan ``source`` and return one annotated row per record as a ``pyarrow.Table``.

    ``source`` is a path (any supported file or a Hugging Face ``save_to_disk`` folder), a list
    of paths, a LLaMA-Factory registry (``langaudit.read_registry("data/dataset_info.json")``:
    its local datasets, each read as declared), a ``datasets.Dataset`` / ``IterableDataset``, a
    pandas DataFrame, an Arrow table or an iterable of dicts. ``options`` are
    :class:`AuditConfig` fields. With ``on_error="skip"``, the number of skipped records is in
    the schema metadata (``table.schema.metadata[b"langaudit.skipped"]``). Call
    ``.to_pandas()`` for a DataFrame.
    """
    import pyarrow as pa

    log = ScanLog()
    batches = list(scan_batches(source, config, log, **options))
    table = pa.Table.from_batches(batches, schema=result_schema())
    return table.replace_schema_metadata({"langaudit.skipped": str(log.skipped)})


def scan_batch(
    batch: Mapping[str, Sequence[Any]],
    indices: Sequence[int] | None = None,
    **options: Any,
) -> dict[str, list[Any]]:
    """Annotate one columnar batch; for ``datasets.Dataset.map(scan_batch, batched=True)``.

    Returns only new columns, all named ``langaudit_*`` so they cannot collide with the user's
    (a batch that already has such a column is refused). Pass ``with_indices=True`` to ``map``
    to fill ``langaudit_index`` with dataset positions. ``options`` as for :func:`scan`
    (``fn_kwargs={"format": "alpaca"}``).
    """
    clash = [name for name in batch if str(name).startswith(COLUMN_PREFIX)]
    if clash:
        raise UsageError(
            f"the batch already has langaudit columns: {', '.join(clash)}",
            "remove them first (ds.remove_columns) or scan the original data",
        )
    import pyarrow as pa

    cfg = AuditConfig.from_options(**options, on_error="raise")  # map cannot drop rows
    names = list(batch)
    size = len(batch[names[0]]) if names else 0
    rows = ({name: batch[name][i] for name in names} for i in range(size))
    batches = [b for _, b in annotate_records(rows, cfg, indices=indices)]
    table = pa.Table.from_batches(batches, schema=result_schema())
    return {
        COLUMN_PREFIX + name: table.column(name).to_pylist()
        for name in table.schema.names
        if name != "source"
    }


def annotate_records(
    records: Iterable[Any],
    config: AuditConfig,
    source: str = "<batch>",
    indices: Iterable[int] | None = None,
    log: ScanLog | None = None,
) -> Iterator[tuple[Entries, Any]]:
    """The batch function of :func:`scan_batch` and of the Ray integration: ``(entries,
    annotated batch)`` for in-memory records, indexed by ``indices`` (default 0, 1, ...)."""
    pairs = (
        zip(itertools.count(), records) if indices is None else zip(indices, records, strict=True)
    )
    items = (Item(pos, None, record) for pos, record in pairs)
    return scan_source_with_turns(Source(source, "batch", items), config, log)


def audit(
    source: Any,
    config: AuditConfig | None = None,
    *,
    examples: int = 5,
    keep_table: bool = True,
    zh_share: float | str | ShareRange | None = None,
    log: ScanLog | None = None,
    progress: Callable[[Source, int], None] | None = None,
    baseline: str | os.PathLike[str] | None = None,
    **options: Any,
) -> Any:
    """Scan ``source`` and return a :class:`langaudit.report.Report` of the whole dataset.

    ``source`` and ``options`` are as for :func:`scan`. ``examples`` worst records are kept per
    flag; ``keep_table=False`` keeps only the statistics (memory bounded at any size but for
    17 bytes per flagged record, kept to tell which records newly fail against a baseline);
    ``zh_share`` is the Chinese share of responses you want, for the recommendations: one
    share (``0.7``) or a range (``"0.6:0.9"``, see :class:`langaudit.config.ShareRange`).
    ``progress(source, records)`` is called after every batch. ``baseline``: an earlier
    report's JSON file, read before anything is scanned; the report then holds the changes
    since it (its ``baseline`` key, see docs/diff-json.md).
    """
    import pyarrow as pa

    from .diff import Baseline
    from .report import AuditStats, Report

    target = zh_share
    if target is not None and not isinstance(target, ShareRange):
        target = ShareRange.parse(str(target))
    cfg = AuditConfig.from_options(config, **options)
    earlier = Baseline.load(baseline) if baseline is not None else None
    log = log if log is not None else ScanLog()
    stats = AuditStats(examples)
    batches: list[Any] = []
    sources = sources_of(source, cfg)
    for src in sources:
        stats.add_source(src.name)
        for entries, batch in scan_source_with_turns(src, src.config or cfg, log):
            stats.add_batch(batch, entries)
            if keep_table:
                batches.append(batch)
            if progress is not None:
                progress(src, batch.num_rows)
    for name, count in log.skipped_by_source.items():
        stats.add_skipped(name, count)
    table = pa.Table.from_batches(batches, schema=result_schema()) if keep_table else None
    report = Report(stats, _input_names(source), _judging_options(cfg), table, target)
    report.baseline = earlier
    from .registry import Registry

    if isinstance(source, Registry):
        report.registry = source
        report.inputs = [src.name for src in sources]
        report.datasets = {src.name: src.dataset for src in sources if src.dataset}
    return report


def _input_names(source: Any) -> list[str]:
    if isinstance(source, str | os.PathLike):
        return [os.fspath(source)]
    if (
        isinstance(source, Sequence)
        and source
        and all(isinstance(s, str | os.PathLike) for s in source)
    ):
        return [os.fspath(s) for s in source]
    return []


def _judging_options(cfg: AuditConfig) -> dict[str, Any]:
    """The options that change what a scan finds, for the report and its commands."""
    return {
        "format": cfg.format,
        "prompt_field": cfg.prompt_field,
        "response_field": cfg.response_field,
        "system_field": cfg.system_field,
        "expect": cfg.expect,
        "strictness": cfg.strictness,
        "allow_terms": cfg.allow_terms,
    }
