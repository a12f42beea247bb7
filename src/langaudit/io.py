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
import itertools
import json
import os
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import orjson

from .errors import InputError, UsageError

#: JSON arrays up to this size are parsed in one go (fast, precise line numbers in errors).
JSON_WHOLE_LIMIT = 64 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"
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
#: What ``langaudit rewrite`` writes beside its output: not data to scan with it.
BY_PRODUCTS = (".manifest.json", ".rejects.jsonl")
SUPPORTED = "JSONL, JSON, CSV, TSV, Parquet, Arrow/Feather, Hugging Face save_to_disk folders"
_BAD_JSON_HINT = "fix the line, or pass --on-error=skip to skip and count bad records"
_UTF8_HINT = "re-encode the file as UTF-8 (e.g. iconv -f GB18030 -t UTF-8 FILE)"


@dataclass
class Item:
    """One record (or the error in its place) and where it is: index, and line when known.

    An item that is not ``parsed`` holds only its ``raw`` JSON line (see :func:`parse`)."""

    index: int
    line: int | None
    value: Any = None
    error: InputError | None = None
    raw: bytes | None = None
    parsed: bool = True


class Source:
    """A named stream of records: a file, an HF folder split, or an in-memory object."""

    def __init__(
        self,
        name: str,
        kind: str,
        items: Iterable[Item],
        size: int | None = None,
        position: Callable[[], int] | None = None,
        unparsed: Iterable[Item] | None = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self._items = items
        #: For JSON lines: the same items not yet parsed (see :func:`parse`), so that parsing
        #: can be left to worker processes; None for other sources. Iterate one or the other.
        self.unparsed = unparsed
        #: Bytes on disk, and how many of them have been read (for progress), when known.
        self.size = size
        self.position = position
        #: The AuditConfig of this source's config file (see langaudit.settings), which takes
        #: the place of the one a scan is called with; None to use that one.
        self.config: Any = None
        #: The name of the registry dataset the source belongs to (see langaudit.registry).
        self.dataset: str | None = None

    def __iter__(self) -> Iterator[Item]:
        return iter(self._items)

    def location(self, item: Item) -> str:
        return f"{self.name}:{item.line}" if item.line is not None else f"{self.name}[{item.index}]"

    def with_items(self, watch: Callable[[Iterable[Item]], Iterable[Item]]) -> Source:
        """This source with its items (parsed or not) passed through ``watch``."""
        unparsed = None if self.unparsed is None else watch(self.unparsed)
        source = Source(self.name, self.kind, watch(self), self.size, self.position, unparsed)
        source.config, source.dataset = self.config, self.dataset
        return source

    def __repr__(self) -> str:
        return f"Source({self.name!r}, kind={self.kind!r})"


# ---------------------------------------------------------------------------------------------
# Opening paths


def open_path(path: str | os.PathLike[str]) -> list[Source]:
    """The sources in a path: one per file, one per split of a Hugging Face folder, one per data
    file of any other directory (metadata such as ``dataset_info.json`` left out), one per
    split of a Hugging Face Hub dataset ``hf:OWNER/NAME[:CONFIG][@SPLIT]`` (see langaudit.hub)."""
    if isinstance(path, str) and path.startswith("hf:"):
        from .hub import open_hub

        return open_hub(path)
    p = Path(path)
    name = os.fspath(path)
    if p.is_dir():
        return _open_dir(p, name)
    if not p.exists():
        raise UsageError(f"{name}: no such file or directory")
    kind, compression = _kind_of(p)
    if kind in ("parquet", "arrow"):
        return [Source(name, kind, _table_items(p, kind))]
    opener = _Opener(p, compression)
    sizes = opener.size, opener.position
    if kind == "json":
        items = _json_items(p, name, opener)
    elif kind in ("csv", "tsv"):
        items = _csv_items(name, opener, "\t" if kind == "tsv" else ",")
    else:
        unparsed = _unbroken(name, _jsonl_items(name, opener, parse=False), compression)
        items = _jsonl_items(name, opener)
        return [Source(name, "jsonl", _unbroken(name, items, compression), *sizes, unparsed)]
    return [Source(name, kind, _unbroken(name, items, compression), *sizes)]


def _unbroken(name: str, items: Iterator[Item], compression: str | None) -> Iterator[Item]:
    """``items``, with a file that cannot be read to its end (a corrupt or cut-off .gz or
    .zst, a disk error) reported as an input error naming it."""
    broken: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error)
    if compression == "zstd":
        import zstandard

        broken += (zstandard.ZstdError,)
    try:
        yield from items
    except broken as exc:
        what = f"{compression} data is corrupt or cut off" if compression else "read error"
        raise InputError(
            name,
            f"cannot read the file to its end ({what}: {exc})",
            hint="check the file; records before the damage can be read with a repaired copy",
        ) from None


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
    """Opens a file, decompressing it, and tells how far into the file on disk reading is."""

    def __init__(self, path: Path, compression: str | None) -> None:
        self.path = path
        self.compression = compression
        self.size = path.stat().st_size
        self._raw: IO[bytes] | None = None

    def position(self) -> int:
        """Bytes of the file on disk read so far (read ahead by buffering)."""
        raw = self._raw
        if raw is None:
            return 0
        return self.size if raw.closed else min(raw.tell(), self.size)

    def __call__(self) -> IO[bytes]:
        # 1 MiB reads: lines average kilobytes, and the default 8 KiB costs a read call for each
        raw: IO[bytes] = open(self.path, "rb", buffering=1 << 20)  # noqa: SIM115 - returned
        self._raw = raw
        if self.compression == "gzip":
            unzipped = gzip.GzipFile(fileobj=raw, mode="rb")
            # closed with the reader, as when GzipFile opens the file itself
            unzipped.myfileobj = cast(Any, raw)
            return cast(IO[bytes], unzipped)
        if self.compression == "zstd":
            import zstandard

            reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
            return io.BufferedReader(reader, 1 << 20)
        return raw


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
    """Files a directory scan picks up: known data suffixes, minus metadata files and the
    manifests and rejects files of ``rewrite``."""
    if f.name.startswith(".") or f.name in _METADATA_FILES or f.name.endswith(BY_PRODUCTS):
        return False
    suffixes = [s.lower() for s in f.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".gzip", ".zst", ".zstd"):
        suffixes.pop()
    return bool(suffixes) and (suffixes[-1] in _TEXT_SUFFIXES or suffixes[-1] in _TABLE_SUFFIXES)


# ---------------------------------------------------------------------------------------------
# JSON lines


def _jsonl_items(name: str, opener: _Opener, parse: bool = True) -> Iterator[Item]:
    """The file's records; with ``parse=False``, its lines as items to :func:`parse` later
    (a file that turns out to be a JSON array is parsed all the same)."""
    with opener() as f:
        if _peek_nonspace(f) == b"[":
            yield from _json_array_stream(name, f)
            return
        index = 0
        for lineno, line in enumerate(f, 1):
            if lineno == 1:
                line = line.removeprefix(_BOM)
            if not line.strip():
                continue
            yield (
                _parse_line(name, lineno, index, line)
                if parse
                else Item(index, lineno, raw=line, parsed=False)
            )
            index += 1


def parse(name: str, item: Item) -> Item:
    """``item`` of source ``name`` parsed (or the error in its place), if it is not yet."""
    if item.parsed:
        return item
    assert item.line is not None and item.raw is not None
    return _parse_line(name, item.line, item.index, item.raw)


def _peek(f: IO[bytes], size: int) -> bytes:
    if not isinstance(f, io.BufferedReader | gzip.GzipFile):
        return b""
    return f.peek(size)[:size].removeprefix(_BOM)


def _peek_nonspace(f: IO[bytes]) -> bytes:
    return _peek(f, 4096).lstrip()[:1]


def _parse_line(name: str, lineno: int, index: int, line: bytes) -> Item:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        value, bad = _parse_lenient(line)
        if bad is not None:
            problem, hint, _, column = bad
            error = InputError(f"{name}:{lineno}", problem.format(at=f"column {column}"), hint=hint)
            return Item(index, lineno, error=error, raw=line)
    if not isinstance(value, dict):
        problem = f"expected a JSON object (one record per line), got {_json_kind(value)}"
        return Item(index, lineno, error=InputError(f"{name}:{lineno}", problem), raw=line)
    return Item(index, lineno, value, raw=line)


#: Why a JSON text could not be read: problem (with an ``{at}`` slot), hint, line, column.
_Bad = tuple[str, str, int, int]


def _parse_lenient(data: bytes) -> tuple[Any, _Bad | None]:
    """Accept what the standard library accepts (raw control characters, lone surrogates);
    otherwise explain the error, with invalid UTF-8 named as such."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as bad:
        line = data.count(b"\n", 0, bad.start) + 1
        line_start = data.rfind(b"\n", 0, bad.start) + 1
        column = len(data[line_start : bad.start].decode("utf-8", "replace")) + 1
        problem = f"invalid UTF-8 (byte 0x{data[bad.start]:02x} at {{at}})"
        return None, (problem, _UTF8_HINT, line, column)
    try:
        return json.loads(text, strict=False), None
    except json.JSONDecodeError as err:
        if err.pos >= len(text.rstrip()) and "\n" not in text.rstrip():
            return None, (
                "invalid JSON: the record is cut off at the end of the line",
                "JSON lines need one whole record per line; a pretty-printed file "
                "should be a JSON array (.json); or pass --on-error=skip",
                err.lineno,
                err.colno,
            )
        return None, (f"invalid JSON: {err.msg} at {{at}}", _BAD_JSON_HINT, err.lineno, err.colno)
    except RecursionError:
        return None, ("invalid JSON: nested too deeply ({at})", _BAD_JSON_HINT, 1, 1)
    except ValueError as err:  # an integer of more than sys.get_int_max_str_digits() digits
        return None, (f"invalid JSON: {err} ({{at}})", _BAD_JSON_HINT, 1, 1)


def _json_kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


# ---------------------------------------------------------------------------------------------
# JSON arrays (and .json files holding JSON lines)


def _json_items(p: Path, name: str, opener: _Opener) -> Iterator[Item]:
    with opener() as f:
        first = _peek_nonspace(f)
        if first == b"" or (first == b"{" and _json_lines(f)):
            # JSON lines saved as .json (common), or an empty file
            yield from _jsonl_items(name, opener)
            return
        if opener.compression is None and p.stat().st_size <= JSON_WHOLE_LIMIT:
            yield from _json_whole(name, f.read())
        else:
            yield from _json_array_stream(name, f)


def _json_lines(f: IO[bytes]) -> bool:
    """Whether a .json file starting with '{' holds JSON lines: a first line that is a whole
    object, followed by more. One object alone, pretty-printed or not, is a JSON document."""
    head = _peek(f, 1 << 20).lstrip()
    first, newline, rest = head.partition(b"\n")
    if not newline or not rest.strip():
        return False
    try:
        return isinstance(orjson.loads(first), dict)
    except orjson.JSONDecodeError:
        return False


def _json_whole(name: str, data: bytes) -> Iterator[Item]:
    data = data.removeprefix(_BOM)
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        value, bad = _parse_lenient(data)
        if bad is not None:
            problem, hint, line, column = bad
            if hint == _BAD_JSON_HINT:
                hint = (
                    "fix the file; a JSON array cannot be read past a syntax error (JSON lines can)"
                )
            raise InputError(
                f"{name}:{line}", problem.format(at=f"column {column}"), hint=hint
            ) from None
    if not isinstance(value, list):
        raise _not_an_array(name, value)
    for index, record in enumerate(value):
        yield _json_record(name, index, record)


def _not_an_array(name: str, value: Any) -> InputError:
    if isinstance(value, dict):
        registry = any(isinstance(v, dict) and _REGISTRY_KEYS & set(v) for v in value.values())
        return _object_error(name, list(value), registry)
    return InputError(name, f"expected an array of records, found {_json_kind(value)}")


_REGISTRY_KEYS = frozenset({"file_name", "hf_hub_url"})


def _object_error(name: str, keys: list[str], registry: bool) -> InputError:
    shown = ", ".join(map(repr, keys[:8]))
    hint = (
        "this is a LLaMA-Factory dataset registry, not a dataset: read its datasets with "
        "--registry FILE [NAME...]"
        if registry
        else "if the records sit under one key, extract them, e.g. jq '.data' FILE"
    )
    return InputError(
        name, f"expected an array of records, found an object with keys {{{shown}}}", hint=hint
    )


def _streamed_object_error(name: str, events: Iterator[tuple[str, str, Any]]) -> InputError:
    """The error for a top-level object read as a stream: its keys, without loading values."""
    keys: list[str] = []
    registry = False
    for prefix, event, value in events:
        if event != "map_key":
            continue
        if prefix == "":
            keys.append(value)
        elif "." not in prefix and value in _REGISTRY_KEYS:
            registry = True
        if len(keys) > 8 and registry:
            break
    return _object_error(name, keys, registry)


def _json_record(name: str, index: int, record: Any) -> Item:
    if isinstance(record, dict):
        return Item(index, None, record)
    problem = f"expected a record (an object), got {_json_kind(record)}"
    return Item(
        index, None, error=InputError(f"{name}[{index}]", problem), raw=orjson.dumps(record)
    )


def _json_array_stream(name: str, f: IO[bytes]) -> Iterator[Item]:
    import ijson

    if isinstance(f, io.BufferedReader | gzip.GzipFile) and f.peek(3)[:3] == _BOM:
        f.read(len(_BOM))
    events = ijson.parse(f, use_float=True)
    index = 0
    try:
        first = next(events, ("", "end", None))
        event = first[1]
        if event == "start_map":
            raise _streamed_object_error(name, events)
        if event != "start_array":
            raise InputError(name, f"expected an array of records, found a {event}")
        for index, record in enumerate(ijson.items(itertools.chain([first], events), "item")):
            yield _json_record(name, index, record)
    except ijson.JSONError as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            f"{name}[{index + 1}]",
            f"invalid JSON after record {index}: {detail}",
            hint="fix the file; a JSON array cannot be read past a syntax error (JSON lines can)",
        ) from None
    except UnicodeDecodeError:
        raise InputError(
            f"{name}[{index + 1}]", f"invalid UTF-8 after record {index}", hint=_UTF8_HINT
        ) from None


# ---------------------------------------------------------------------------------------------
# CSV / TSV


def _csv_items(name: str, opener: _Opener, delimiter: str) -> Iterator[Item]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with opener() as f:
        lines = _CsvLines(name, f)
        reader = csv.reader(lines, delimiter=delimiter)
        try:
            header = next(reader, None)
            if header is None:
                return
            lines.take()
            index = 0
            for row in reader:
                start, raw = lines.take()
                if not row or row == [""]:
                    continue
                yield _csv_record(name, header, row, index, start, raw)
                index += 1
        except csv.Error as exc:
            raise InputError(f"{name}:{reader.line_num}", f"malformed CSV: {exc}") from None


class _CsvLines:
    """Decoded lines for the csv module, keeping each record's raw bytes and first line."""

    def __init__(self, name: str, f: IO[bytes]) -> None:
        self.name = name
        self.lines = enumerate(f, 1)
        self.raw: list[bytes] = []
        self.start = 1

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        lineno, line = next(self.lines)
        if lineno == 1:
            line = line.removeprefix(_BOM)
        if not self.raw:
            self.start = lineno
        self.raw.append(line)
        try:
            return line.decode("utf-8")
        except UnicodeDecodeError as bad:
            column = len(line[: bad.start].decode("utf-8", "replace")) + 1
            raise InputError(
                f"{self.name}:{lineno}",
                f"invalid UTF-8 (byte 0x{line[bad.start]:02x} at column {column})",
                hint=_UTF8_HINT,
            ) from None

    def take(self) -> tuple[int, bytes]:
        """First line number and raw bytes of the lines read since the last call."""
        raw, self.raw = b"".join(self.raw), []
        return self.start, raw


def _csv_record(
    name: str, header: list[str], row: list[str], index: int, line: int, raw: bytes
) -> Item:
    if len(row) != len(header):
        problem = f"expected {len(header)} fields (as in the header), found {len(row)}"
        hint = "quote fields that contain the delimiter or newlines"
        return Item(index, line, error=InputError(f"{name}:{line}", problem, hint=hint), raw=raw)
    return Item(index, line, dict(zip(header, row, strict=True)), raw=raw)


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
        except pa.ArrowInvalid:
            reader = None
        if reader is not None:
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i)
            return
        source.seek(0)
        try:
            stream = ipc.open_stream(source)
        except pa.ArrowInvalid:
            stream = None
        if stream is not None:
            yield from stream
            return
    import pyarrow.feather as feather

    yield from feather.read_table(str(p)).to_batches(max_chunksize=1024)  # Feather V1


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
    label = name or (
        f"<{type_name}>" if module in ("datasets", "pandas", "pyarrow") else "<records>"
    )
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
