"""Atomic writers for scan results (JSONL, Parquet), reports and skipped input lines."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import orjson

from .errors import UsageError


def result_kind(path: str) -> str:
    """``jsonl`` or ``parquet`` from an output path; ``-`` is JSONL on stdout."""
    if path == "-":
        return "jsonl"
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise UsageError(
        f"cannot write scan results to {path!r}",
        "name the output .jsonl or .parquet, or '-' for JSON lines on stdout",
    )


def refuse_overwriting_inputs(output: str, inputs: Iterable[str], what: str = "output") -> None:
    """Refuse an output that is an input, or that lies inside an input directory (where it
    would be overwritten, or read as data by the next run)."""
    if output == "-":
        return
    target = Path(output).resolve()
    for item in inputs:
        source = Path(item).resolve()
        inside = source.is_dir() and source in target.parents
        if source == target or (inside and target.exists()):
            raise UsageError(
                f"{output}: the {what} would overwrite an input",
                f"write the {'results' if what == 'output' else 'lines'} to another file",
            )
        if inside:
            raise UsageError(
                f"{output}: the {what} would be inside the input directory {item}",
                "write it outside the directories being scanned",
            )


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[Path]:
    """A temporary path beside ``path`` that replaces it only when the block succeeds."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise UsageError(f"{path}: the directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file renamed over it."""
    with atomic_path(os.fspath(path)) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_results(batches: Iterable[Any], path: str, stdout: IO[bytes] | None = None) -> int:
    """Stream result batches to ``path`` (atomically); returns the number of rows written."""
    kind = result_kind(path)
    if path == "-":
        assert stdout is not None
        return _write_jsonl(batches, stdout)
    with atomic_path(path) as tmp:
        if kind == "parquet":
            return _write_parquet(batches, tmp)
        with open(tmp, "wb") as f:
            return _write_jsonl(batches, f)


def _write_jsonl(batches: Iterable[Any], f: IO[bytes]) -> int:
    rows = 0
    for batch in batches:
        f.write(
            b"".join(
                orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE) for row in batch.to_pylist()
            )
        )
        rows += batch.num_rows
    f.flush()
    return rows


#: Rows and bytes a Parquet row group gathers before it is written: the writer keeps every row
#: group's metadata until the file closes, so small ones would make memory grow with the input.
ROW_GROUP_ROWS = 8_192
ROW_GROUP_BYTES = 32_000_000


def _write_parquet(batches: Iterable[Any], path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .engine import result_schema

    schema = result_schema()
    rows = 0
    with pq.ParquetWriter(path, schema) as writer:
        for group in _row_groups(batches):
            table = pa.Table.from_batches(group, schema=schema)
            writer.write_table(table, row_group_size=table.num_rows)
            rows += table.num_rows
    return rows


def _row_groups(batches: Iterable[Any]) -> Iterator[list[Any]]:
    """Consecutive batches gathered into groups of at least :data:`ROW_GROUP_ROWS` rows or
    :data:`ROW_GROUP_BYTES` bytes (the last group may be smaller)."""
    group: list[Any] = []
    rows = size = 0
    for batch in batches:
        group.append(batch)
        rows += batch.num_rows
        size += batch.nbytes
        if rows >= ROW_GROUP_ROWS or size >= ROW_GROUP_BYTES:
            yield group
            group, rows, size = [], 0, 0
    if group:
        yield group


class BadLineWriter:
    """Writes the raw text of skipped records, one per line, to a file (atomically on close)."""

    def __init__(self, path: str) -> None:
        self._ctx = atomic_path(path)
        self._tmp = self._ctx.__enter__()
        self._f = open(self._tmp, "wb")  # noqa: SIM115 - closed in close()

    def __call__(self, item: Any, error: Any) -> None:
        raw = item.raw if item.raw is not None else orjson.dumps(item.value, default=str)
        self._f.write(raw.rstrip(b"\r\n") + b"\n")

    def close(self, ok: bool = True) -> None:
        self._f.close()
        if ok:
            self._ctx.__exit__(None, None, None)
        else:
            self._ctx.__exit__(RuntimeError, RuntimeError(), None)


def derived_name(path: str, tag: str, suffix: str | None = None) -> str:
    """``data.json`` -> ``data.fixed.json`` (``data.jsonl.gz`` -> ``data.fixed.jsonl.gz``)."""
    if path == "INPUT":
        return tag.upper() + (suffix or "")
    p = Path(path)
    compressed = p.suffixes[-1:] in ([".gz"], [".zst"])
    suffixes = "".join(p.suffixes[-2:]) if compressed else p.suffix
    stem = p.name[: len(p.name) - len(suffixes)] if suffixes else p.name
    return str(p.with_name(f"{stem}.{tag}{suffix if suffix is not None else suffixes}"))
