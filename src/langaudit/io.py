"""Readers for every input kind, streaming records with their position for error messages.

Every reader yields :class:`Item` objects in file order: a parsed record, or the error that stops
it from being one (the caller decides whether that is fatal or skipped and counted). Nothing is
read whole except small JSON arrays; memory stays bounded on JSONL, CSV, Parquet and Arrow files
of any size, and on JSON arrays above :data:`JSON_WHOLE_LIMIT` bytes (parsed incrementally).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import orjson

from .errors import InputError, UsageError

#: JSON arrays up to this size are parsed in one go (fast, precise line numbers in errors).
JSON_WHOLE_LIMIT = 64 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_TABLE_SUFFIXES = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
}
_TEXT_SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
}
#: Dataset registries and metadata that sit beside data files and are not datasets themselves.
_METADATA_FILES = frozenset({"dataset_info.json", "dataset_dict.json", "state.json"})
SUPPORTED = "JSONL, JSON, CSV, TSV, Parquet, Arrow/Feather, Hugging Face save_to_disk folders"
_BAD_JSON_HINT = "fix the line, or pass --on-error=skip to skip and count bad records"
_UTF8_HINT = "re-encode the file as UTF-8 (e.g. iconv -f GB18030 -t UTF-8 FILE)"


@dataclass
class Item:
    """One record (or the error in its place) and where it is: index, and line when known."""

    index: int
    line: int | None
    value: Any = None
    error: InputError | None = None
    raw: bytes | None = None


class Source:
    """A named stream of records: a file, an HF folder split, or an in-memory object."""

    def __init__(self, name: str, kind: str, items: Iterable[Item]) -> None:
        self.name = name
        self.kind = kind
        self._items = items

    def __iter__(self) -> Iterator[Item]:
        return iter(self._items)

    def location(self, item: Item) -> str:
        return f"{self.name}:{item.line}" if item.line is not None else f"{self.name}[{item.index}]"

    def __repr__(self) -> str:
        return f"Source({self.name!r}, kind={self.kind!r})"


# ---------------------------------------------------------------------------------------------
# Opening paths


def open_path(path: str | os.PathLike[str]) -> list[Source]:
    """The sources in a path: one per file, one per split of a Hugging Face folder, one per data
    file of any other directory (metadata such as ``dataset_info.json`` left out)."""
    p = Path(path)
    name = os.fspath(path)
    if p.is_dir():
        return _open_dir(p, name)
    if not p.exists():
        raise UsageError(f"{name}: no such file or directory")
    kind, compression = _kind_of(p)
    if kind in ("parquet", "arrow"):
        return [Source(name, kind, _table_items(p, kind))]
    opener = _opener(p, compression)
    if kind == "json":
        return [Source(name, "json", _json_items(p, name, opener))]
    if kind in ("csv", "tsv"):
        return [Source(name, kind, _csv_items(name, opener, "\t" if kind == "tsv" else ","))]
    return [Source(name, "jsonl", _jsonl_items(name, opener))]


def _kind_of(p: Path) -> tuple[str, str | None]:
    suffixes = [s.lower() for s in p.suffixes]
    compression = None
    if suffixes and suffixes[-1] in (".gz", ".gzip", ".zst", ".zstd"):
        compression = "gzip" if suffixes.pop().startswith(".gz") else "zstd"
    else:
        with open(p, "rb") as f:
            magic = f.read(4)
        if magic.startswith(_GZIP_MAGIC):
            compression = "gzip"
        elif magic == _ZSTD_MAGIC:
            compression = "zstd"
    suffix = suffixes[-1] if suffixes else ""
    if suffix in _TABLE_SUFFIXES and compression is None:
        return _TABLE_SUFFIXES[suffix], None
    if suffix in _TEXT_SUFFIXES:
        return _TEXT_SUFFIXES[suffix], compression
    if suffix in _TABLE_SUFFIXES:
        raise UsageError(
            f"{p}: compressed {suffix} files are not supported",
            "Parquet and Arrow compress internally; decompress the file first",
        )
    if suffix in (".txt", "") or compression:
        return "jsonl", compression  # sniffed again when read: '[' means a JSON array
    raise UsageError(f"{p}: cannot read {suffix} files", f"supported: {SUPPORTED}")


class _Opener:
    def __init__(self, path: Path, compression: str | None) -> None:
        self.path = path
        self.compression = compression

    def __call__(self) -> IO[bytes]:
        if self.compression == "gzip":
            return cast(IO[bytes], gzip.open(self.path, "rb"))
        raw: IO[bytes] = open(self.path, "rb")  # noqa: SIM115 - returned to the caller
        if self.compression == "zstd":
            import zstandard

            reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
            return io.BufferedReader(reader, 1 << 20)
        return raw


def _opener(p: Path, compression: str | None) -> _Opener:
    return _Opener(p, compression)


def _open_dir(p: Path, name: str) -> list[Source]:
    if (p / "dataset_dict.json").is_file():
        splits = orjson.loads((p / "dataset_dict.json").read_bytes()).get("splits", [])
        return [src for split in splits for src in _open_dir(p / split, f"{name}/{split}")]
    if (p / "state.json").is_file():
        state = orjson.loads((p / "state.json").read_bytes())
        files = [p / f["filename"] for f in state.get("_data_files", [])]
        return [Source(name, "hf", _hf_items(files))]
    files = sorted(f for f in p.iterdir() if f.is_file() and _is_data_file(f))
    if not files:
        raise UsageError(f"{name}: no data files in this directory", f"supported: {SUPPORTED}")
    return [src for f in files for src in open_path(os.path.join(name, f.name))]


def _is_data_file(f: Path) -> bool:
    """Files a directory scan picks up: known data suffixes, minus metadata files."""
    if f.name.startswith(".") or f.name in _METADATA_FILES:
        return False
    suffixes = [s.lower() for s in f.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".gzip", ".zst", ".zstd"):
        suffixes.pop()
    return bool(suffixes) and (suffixes[-1] in _TEXT_SUFFIXES or suffixes[-1] in _TABLE_SUFFIXES)


# ---------------------------------------------------------------------------------------------
# JSON lines


def _jsonl_items(name: str, opener: _Opener) -> Iterator[Item]:
    with opener() as f:
        first = _peek_nonspace(f)
        if first == b"[":
            yield from _json_array_stream(name, f)
            return
        index = 0
        for lineno, line in enumerate(f, 1):
            if lineno == 1 and line.startswith(b"\xef\xbb\xbf"):
                line = line[3:]
            if not line.strip():
                continue
            yield _parse_line(name, lineno, index, line)
            index += 1


def _peek_nonspace(f: IO[bytes]) -> bytes:
    if not isinstance(f, io.BufferedReader | gzip.GzipFile):
        return b""
    head = f.peek(4096)[:4096]
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    return head[:1]


def _parse_line(name: str, lineno: int, index: int, line: bytes) -> Item:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        value, error = _parse_lenient(line, exc)
        if error is not None:
            where = f"{name}:{lineno}"
            return Item(index, lineno, error=InputError(where, error[0], hint=error[1]), raw=line)
    if not isinstance(value, dict):
        problem = f"expected a JSON object (one record per line), got {_json_kind(value)}"
        return Item(index, lineno, error=InputError(f"{name}:{lineno}", problem), raw=line)
    return Item(index, lineno, value, raw=line)


def _parse_lenient(line: bytes, exc: Exception) -> tuple[Any, tuple[str, str] | None]:
    """Accept what the standard library accepts (raw control characters, lone surrogates);
    otherwise explain the error, with invalid UTF-8 named as such."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as bad:
        column = len(line[: bad.start].decode("utf-8", "replace")) + 1
        return None, (
            f"invalid UTF-8 (byte 0x{line[bad.start]:02x} at column {column})",
            _UTF8_HINT,
        )
    try:
        return json.loads(text, strict=False), None
    except json.JSONDecodeError as err:
        if err.pos >= len(text.rstrip()):
            return None, (
                "invalid JSON: the record is cut off at the end of the line",
                "JSON lines need one whole record per line; a pretty-printed file "
                "should be a JSON array (.json); or pass --on-error=skip",
            )
        return None, (f"invalid JSON: {err.msg} at column {err.colno}", _BAD_JSON_HINT)
    except RecursionError:
        return None, ("invalid JSON: nested too deeply", _BAD_JSON_HINT)


def _json_kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


# ---------------------------------------------------------------------------------------------
# JSON arrays


def _json_items(p: Path, name: str, opener: _Opener) -> Iterator[Item]:
    with opener() as f:
        first = _peek_nonspace(f)
        if first == b"" or (first == b"{" and not _single_object(f)):
            # JSON lines saved as .json (common), or an empty file
            yield from _jsonl_items(name, opener)
            return
        if opener.compression is None and p.stat().st_size <= JSON_WHOLE_LIMIT:
            yield from _json_array_whole(name, f.read())
        else:
            yield from _json_array_stream(name, f)


def _single_object(f: IO[bytes]) -> bool:
    """True when a file starting with '{' is one pretty-printed object rather than JSON lines."""
    head = f.peek(1 << 16)[: 1 << 16] if isinstance(f, io.BufferedReader | gzip.GzipFile) else b""
    first_line = head.removeprefix(b"\xef\xbb\xbf").lstrip().split(b"\n", 1)[0]
    return first_line.strip() == b"{"


def _json_array_whole(name: str, data: bytes) -> Iterator[Item]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        value, error = _parse_lenient(data, exc)
        if error is not None:
            where = f"{name}:{_line_of(data, exc)}"
            raise InputError(
                where,
                error[0].replace(" at column", " near column"),
                hint="fix the file; a JSON array cannot be read past a syntax "
                "error (JSON lines can)",
            ) from None
    if not isinstance(value, list):
        raise _not_an_array(name, value)
    for index, record in enumerate(value):
        yield _json_record(name, index, record)


def _line_of(data: bytes, exc: orjson.JSONDecodeError) -> int:
    return data.count(b"\n", 0, exc.pos) + 1 if exc.pos is not None else exc.lineno


def _not_an_array(name: str, value: Any) -> InputError:
    if isinstance(value, dict):
        keys = ", ".join(list(map(repr, value))[:8])
        registry = any(
            isinstance(v, dict) and {"file_name", "hf_hub_url"} & set(v) for v in value.values()
        )
        hint = (
            "this is a LLaMA-Factory dataset registry, not a dataset: pass the data files it names"
            if registry and value
            else "if the records sit under one key, extract them, e.g. jq '.data' FILE"
        )
        return InputError(
            name, f"expected an array of records, found an object with keys {{{keys}}}", hint=hint
        )
    return InputError(name, f"expected an array of records, found {_json_kind(value)}")


def _json_record(name: str, index: int, record: Any) -> Item:
    if isinstance(record, dict):
        return Item(index, None, record)
    problem = f"expected a record (an object), got {_json_kind(record)}"
    return Item(
        index, None, error=InputError(f"{name}[{index}]", problem), raw=orjson.dumps(record)
    )


def _json_array_stream(name: str, f: IO[bytes]) -> Iterator[Item]:
    import ijson

    index = 0
    try:
        for index, record in enumerate(ijson.items(f, "item", use_float=True)):
            yield _json_record(name, index, record)
    except ijson.JSONError as exc:
        raise InputError(
            f"{name}[{index + 1}]",
            f"invalid JSON after record {index}: {exc}",
            hint="fix the file; a JSON array cannot be read past a syntax error (JSON lines can)",
        ) from None


# ---------------------------------------------------------------------------------------------
# CSV / TSV


def _csv_items(name: str, opener: _Opener, delimiter: str) -> Iterator[Item]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with opener() as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        reader = csv.reader(text, delimiter=delimiter)
        try:
            header = next(reader, None)
            if header is None:
                return
            index, start = 0, reader.line_num + 1
            for row in reader:
                if not row or row == [""]:
                    start = reader.line_num + 1
                    continue
                yield _csv_record(name, header, row, index, start)
                index, start = index + 1, reader.line_num + 1
        except UnicodeDecodeError:
            raise InputError(
                f"{name}:{reader.line_num + 1}", "invalid UTF-8", hint=_UTF8_HINT
            ) from None
        except csv.Error as exc:
            raise InputError(f"{name}:{reader.line_num}", f"malformed CSV: {exc}") from None


def _csv_record(name: str, header: list[str], row: list[str], index: int, line: int) -> Item:
    if len(row) != len(header):
        problem = f"expected {len(header)} fields (as in the header), found {len(row)}"
        raw = (",".join(row) + "\n").encode()
        return Item(
            index,
            line,
            error=InputError(
                f"{name}:{line}",
                problem,
                hint="quote fields that contain the delimiter or newlines",
            ),
            raw=raw,
        )
    return Item(index, line, dict(zip(header, row, strict=True)))


# ---------------------------------------------------------------------------------------------
# Parquet, Arrow, Hugging Face folders


def _table_items(p: Path, kind: str) -> Iterator[Item]:
    import pyarrow as pa

    try:
        batches = _parquet_batches(p) if kind == "parquet" else _arrow_batches(p)
        yield from _batch_items(batches)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(str(p), f"cannot read as {kind}: {exc}") from None


def _parquet_batches(p: Path) -> Iterator[Any]:
    import pyarrow.parquet as pq

    with pq.ParquetFile(p) as pf:
        yield from pf.iter_batches(batch_size=1024)


def _arrow_batches(p: Path) -> Iterator[Any]:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    with pa.memory_map(str(p)) as source:
        try:
            reader = ipc.open_file(source)
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i)
        except pa.ArrowInvalid:
            source.seek(0)
            yield from ipc.open_stream(source)


def _hf_items(files: list[Path]) -> Iterator[Item]:
    def batches() -> Iterator[Any]:
        for f in files:
            yield from _arrow_batches(f)

    yield from _batch_items(batches())


def _batch_items(batches: Iterable[Any], start: int = 0) -> Iterator[Item]:
    index = start
    for batch in batches:
        for record in batch.to_pylist():
            yield Item(index, None, record)
            index += 1


# ---------------------------------------------------------------------------------------------
# In-memory objects


def from_object(obj: Any, name: str | None = None) -> Source:
    """A source over a Dataset, IterableDataset, DataFrame, Arrow table or iterable of dicts."""
    module = type(obj).__module__.split(".")[0]
    type_name = type(obj).__name__
    label = name or f"<{type_name}>"
    if module == "datasets" and type_name == "Dataset":
        batches = (t for t in obj.with_format("arrow").iter(batch_size=1024))
        return Source(label, "dataset", _batch_items(batches))
    if module == "pandas" and type_name == "DataFrame":
        return Source(label, "dataframe", _dataframe_items(obj))
    if module == "pyarrow" and type_name in ("Table", "RecordBatch"):
        return Source(
            label,
            "arrow",
            _batch_items(obj.to_batches(max_chunksize=1024) if type_name == "Table" else [obj]),
        )
    if isinstance(obj, Mapping):
        raise UsageError(
            "expected records, got one mapping", "pass a list of records, e.g. [record]"
        )
    if isinstance(obj, Iterable) and not isinstance(obj, str | bytes):
        kind = "iterable_dataset" if module == "datasets" else "records"
        return Source(label, kind, (_json_record(label, i, r) for i, r in enumerate(obj)))
    raise UsageError(
        f"cannot read records from {type_name}",
        "pass a path, a datasets.Dataset, a pandas DataFrame, an Arrow table or a list of dicts",
    )


def _dataframe_items(df: Any) -> Iterator[Item]:
    import pyarrow as pa

    for start in range(0, len(df), 1024):
        part = df.iloc[start : start + 1024]
        try:
            batch = pa.RecordBatch.from_pandas(part, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # mixed-type object columns: fall back to plain Python values
            rows = part.astype(object).where(part.notna(), None).to_dict("records")
            for i, row in enumerate(rows):
                yield Item(start + i, None, row)
            continue
        yield from _batch_items([batch], start)
