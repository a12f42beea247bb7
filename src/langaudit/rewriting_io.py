"""Writers for ``rewrite``: records out in the input's own format, untouched ones as they were.

JSON lines keep each untouched record's line byte for byte; an edited record is written in the
style of its line (``", "`` / ``": "`` separators or compact, non-ASCII escaped or not). A JSON
array is written with the input's indentation (LLaMA-Factory's files, ``json.dump(indent=2,
ensure_ascii=False)``, come out byte-identical). CSV keeps untouched rows' bytes unless a column
is added. Parquet keeps the schema (plus any added column). All writes are atomic.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from .errors import UsageError
from .output import atomic_path

#: Input kinds rewrite writes back in their own format (``hf``: a save_to_disk folder).
WRITABLE = ("jsonl", "json", "csv", "tsv", "parquet", "hf")


def check_writable(kind: str, name: str, compressed: bool) -> None:
    if kind not in WRITABLE or compressed:
        what = f"compressed {kind}" if compressed else kind
        raise UsageError(
            f"{name}: rewrite cannot yet write {what} files back in their format",
            "rewrite reads and writes JSONL, JSON arrays, CSV/TSV, Parquet and Hugging Face "
            "save_to_disk folders; convert the input to one of them first",
        )


class RecordWriter:
    """Writes records (``raw`` bytes when untouched, else the value) to one file atomically."""

    def __init__(
        self, path: str, kind: str, sample: bytes, columns: list[str] | None, tail: bytes = b"\n"
    ) -> None:
        self.kind = kind
        self.count = 0
        self._ctx = atomic_path(path)
        self._path = self._ctx.__enter__()
        self._columns = columns
        self._rows: list[dict[str, Any]] = []
        self._style = _JsonStyle(sample, tail)
        self._parquet: Any = None
        self._f: IO[bytes] | None = None
        if kind != "parquet":
            self._f = open(self._path, "wb")  # noqa: SIM115 - closed in close()
        if kind == "json":
            self._f.write(self._style.opening())  # type: ignore[union-attr]
        elif kind in ("csv", "tsv") and columns is not None:
            if self._style.bom:
                self._f.write(_BOM)  # type: ignore[union-attr]
            self._csv_row(columns)

    def write(self, value: Any, raw: bytes | None) -> None:
        f = self._f
        newline = self._style.newline.encode()
        if self.kind == "jsonl":
            assert f is not None
            if raw is None:
                raw = self._style.dumps(value).encode()
            f.write(raw if raw.endswith(b"\n") else raw + newline)
        elif self.kind == "json":
            assert f is not None
            text = self._style.dumps(value).encode()
            f.write((self._style.between() if self.count else b"") + text)
        elif self.kind in ("csv", "tsv"):
            assert f is not None
            if raw is not None and self._columns is None:
                f.write(raw if raw.endswith(b"\n") else raw + b"\n")
            else:
                self._csv_row([_cell(value.get(c)) for c in self._columns or list(value)])
        else:
            self._rows.append(value)
            if len(self._rows) >= 1024:
                self._flush_parquet()
        self.count += 1

    def header(self, raw: bytes) -> None:
        """A CSV file's header line, as it was."""
        assert self._f is not None
        self._f.write(raw if raw.endswith(b"\n") else raw + b"\n")

    def _csv_row(self, cells: list[str]) -> None:
        assert self._f is not None
        buffer = io.StringIO()
        writer = csv.writer(
            buffer,
            delimiter="\t" if self.kind == "tsv" else ",",
            lineterminator=self._style.newline,
        )
        writer.writerow(cells)
        self._f.write(buffer.getvalue().encode())

    def set_schema(self, schema: Any) -> None:
        self._schema = schema

    def _flush_parquet(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._rows:
            return
        table = pa.Table.from_pylist(self._rows, schema=self._schema)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(str(self._path), self._schema)
        self._parquet.write_table(table)
        self._rows = []

    def close(self, ok: bool = True) -> None:
        try:
            if ok and self.kind == "json" and self._f is not None:
                self._f.write(self._style.closing(empty=self.count == 0))
            if ok and self.kind == "parquet":
                self._flush_parquet()
                if self._parquet is None:  # no rows: an empty file with the schema
                    import pyarrow.parquet as pq

                    pq.write_table(self._schema.empty_table(), str(self._path))
        finally:
            if self._f is not None:
                self._f.close()
            if self._parquet is not None:
                self._parquet.close()
        if ok:
            self._ctx.__exit__(None, None, None)
        else:
            self._ctx.__exit__(RuntimeError, RuntimeError(), None)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


class _JsonStyle:
    """How the input wrote its JSON, read from its first and last bytes: a BOM, the line ending,
    separators, escaping of non-ASCII, and for an array where records start (the indentation
    before each) and whether each spans lines (with what indentation inside) or takes one."""

    def __init__(self, head: bytes, tail: bytes) -> None:
        self.bom = head.startswith(_BOM)
        body = head.removeprefix(_BOM)
        self.newline = "\r\n" if b"\r\n" in body else "\n"
        self.separators = (",", ":") if b'":' in body and b'": ' not in body else (", ", ": ")
        self.ascii_only = b"\\u" in body and not any(b >= 0x80 for b in body)
        self.final_newline = tail.endswith(b"\n")
        #: Array layout: records each on new lines (with ``record_indent`` before them) or all
        #: on one line; a record over several lines has ``inner`` indentation per level.
        self.lines = False
        self.record_indent = ""
        self.inner: str | None = None
        m = _ARRAY_START.match(body)
        if m:
            self.lines = True
            self.record_indent = m.group(1).decode()
            inner = _INNER.match(m.group(2))
            if inner and inner.group(1).startswith(m.group(1)):
                self.inner = inner.group(1)[len(m.group(1)) :].decode() or None

    def dumps(self, value: Any) -> str:
        """One record: in an array, as the array's records are; alone, as a JSON line."""
        if self.inner is not None:
            text = json.dumps(value, ensure_ascii=self.ascii_only, indent=self.inner)
            return textwrap.indent(text, self.record_indent).replace("\n", self.newline)
        text = json.dumps(value, ensure_ascii=self.ascii_only, separators=self.separators)
        return self.record_indent + text

    def opening(self) -> bytes:
        return (_BOM if self.bom else b"") + (b"[" + self.newline.encode() if self.lines else b"[")

    def between(self) -> bytes:
        return ("," + self.newline).encode() if self.lines else self.separators[0].encode()

    def closing(self, empty: bool) -> bytes:
        end = b"]" if empty or not self.lines else self.newline.encode() + b"]"
        return end + (self.newline.encode() if self.final_newline else b"")


_BOM = b"\xef\xbb\xbf"
# "[" and a line break, the indentation before the first record, and what follows its "{"
_ARRAY_START = re.compile(rb"\s*\[[ \t]*\r?\n([ \t]*)[{\[]([^\n]*\n?[ \t]*)")
_INNER = re.compile(rb"\r?\n([ \t]+)")


def sample_of(path: str | Path) -> tuple[bytes, bytes]:
    """The first 4 KB of a file and its last bytes (for the style of what is written back)."""
    with open(path, "rb") as f:
        head = f.read(4096)
        f.seek(max(0, os.fstat(f.fileno()).st_size - 4))
        return head, f.read()


class RejectWriter:
    """The rejects file: JSON lines of the record (or its raw text), its flags and reasons."""

    def __init__(self, path: str) -> None:
        from .output import atomic_path

        self._ctx = atomic_path(path)
        self._f = open(self._ctx.__enter__(), "wb")  # noqa: SIM115 - closed in close()

    def write(self, item: Any, flags: list[str], reasons: Mapping[str, str]) -> None:
        import orjson

        entry: dict[str, Any] = {"index": item.index}
        if item.line is not None:
            entry["line"] = item.line
        entry["flags"] = flags
        entry["reasons"] = dict(reasons)
        if item.value is not None and item.error is None:
            entry["record"] = item.value
        else:
            entry["raw"] = (item.raw or b"").decode("utf-8", "replace").rstrip("\r\n")
        self._f.write(orjson.dumps(entry, default=_jsonable) + b"\n")

    def close(self, ok: bool = True) -> None:
        self._f.close()
        self._ctx.__exit__(*((None, None, None) if ok else (RuntimeError, RuntimeError(), None)))


class HfWriter:
    """A Hugging Face ``save_to_disk`` folder (one split), written beside the output and moved
    into place when complete: the Arrow stream of the records, ``state.json`` and
    ``dataset_info.json`` copied from the input with the new data file (and any added column
    in the features)."""

    def __init__(self, path: str, source_folder: str, added: list[str]) -> None:
        import tempfile

        self.kind = "hf"
        self.count = 0
        self._out = Path(path)
        self._source = Path(source_folder)
        if self._out.exists() and not self._out.is_dir():
            raise UsageError(f"{path}: exists and is not a folder", "name a new folder")
        if not self._out.parent.is_dir():
            raise UsageError(f"{path}: the folder {self._out.parent} does not exist")
        self._tmp = Path(tempfile.mkdtemp(dir=self._out.parent, prefix=f".{self._out.name}."))
        self._schema = _hf_schema(self._source, added)
        self._rows: list[dict[str, Any]] = []
        self._stream: Any = None
        self._sink: Any = None

    def write(self, value: Any, raw: bytes | None) -> None:
        self._rows.append(value)
        self.count += 1
        if len(self._rows) >= 1024:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._stream is None:
            self._sink = pa.OSFile(str(self._tmp / _HF_DATA_FILE), "wb")
            self._stream = pa.ipc.new_stream(self._sink, self._schema)
        if self._rows:
            self._stream.write_table(pa.Table.from_pylist(self._rows, schema=self._schema))
        self._rows = []

    def close(self, ok: bool = True) -> None:
        import shutil

        try:
            if ok:
                self._flush()
                self._stream.close()
                self._sink.close()
                self._write_metadata()
                old = None
                if self._out.exists():
                    old = self._out.with_name(f".{self._out.name}.old-{os.getpid()}")
                    os.replace(self._out, old)
                os.replace(self._tmp, self._out)
                if old is not None:
                    shutil.rmtree(old, ignore_errors=True)
        finally:
            if self._tmp.exists():
                shutil.rmtree(self._tmp, ignore_errors=True)

    def _write_metadata(self) -> None:
        state = json.loads((self._source / "state.json").read_text(encoding="utf-8"))
        state["_data_files"] = [{"filename": _HF_DATA_FILE}]
        state["_fingerprint"] = os.urandom(8).hex()
        (self._tmp / "state.json").write_text(json.dumps(state, indent=2) + "\n", "utf-8")
        info_path = self._source / "dataset_info.json"
        if info_path.is_file():
            info = json.loads(info_path.read_text(encoding="utf-8"))
            features = _hf_features(self._schema)
            if features is not None:
                info["features"] = features
            info.pop("splits", None)  # sizes of the old data
            (self._tmp / "dataset_info.json").write_text(json.dumps(info, indent=2), "utf-8")


_HF_DATA_FILE = "data-00000-of-00001.arrow"


def _hf_schema(folder: Path, added: list[str]) -> Any:
    import pyarrow as pa

    state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    first = folder / state["_data_files"][0]["filename"]
    with pa.memory_map(str(first)) as source:
        try:
            schema = pa.ipc.open_stream(source).schema
        except pa.ArrowInvalid:
            source.seek(0)
            schema = pa.ipc.open_file(source).schema
    if "lang" in added and "lang" in schema.names:
        raise UsageError(
            f"{folder}: the data already has a 'lang' column",
            "--tag column adds one: rename the existing column, or leave out --tag column",
        )
    metadata = dict(schema.metadata or {})
    hf = json.loads(metadata[b"huggingface"]) if b"huggingface" in metadata else None
    for column in added:
        if column in schema.names:
            continue
        schema = schema.append(pa.field(column, pa.string()))
        if hf is not None:
            features = hf.setdefault("info", {}).setdefault("features", {})
            features[column] = {"dtype": "string", "_type": "Value"}
    if hf is not None:
        metadata[b"huggingface"] = json.dumps(hf).encode()
    return schema.with_metadata(metadata)


def _hf_features(schema: Any) -> Any:
    raw = (schema.metadata or {}).get(b"huggingface")
    return json.loads(raw).get("info", {}).get("features") if raw else None


def _jsonable(value: Any) -> Any:
    """Values JSON has no type for, in the rejects file: bytes as base64, others as text."""
    if isinstance(value, bytes | bytearray | memoryview):
        import base64

        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    return str(value)
