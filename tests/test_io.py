"""Reading every input kind: one row per record, with its index, source, format and languages."""

from __future__ import annotations

import csv
import gzip
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
import zstandard

import langaudit
import langaudit.io
from langaudit.errors import InputError

# Small realistic records with obvious languages: (record, prompt_lang, response_lang).
ALPACA: list[tuple[dict[str, Any], str, str]] = [
    (
        {
            "instruction": "用一句话介绍北京。",
            "input": "",
            "output": "北京是中国的首都，有三千多年的建城历史。",
        },
        "zh",
        "zh",
    ),
    (
        {
            "instruction": "Describe Paris in one sentence.",
            "input": "",
            "output": "Paris is the capital of France, famous for its museums and cafes.",
        },
        "en",
        "en",
    ),
    (
        {
            "instruction": "把下面的句子翻译成英文。",
            "input": "今天天气很好，我们去公园散步吧。",
            "output": "The weather is lovely today, let us take a walk in the park.",
        },
        "zh",
        "en",
    ),
]
SHAREGPT: list[tuple[dict[str, Any], str, str]] = [
    (
        {
            "conversations": [
                {"from": "human", "value": "红烧肉怎么做才能肥而不腻？"},
                {
                    "from": "gpt",
                    "value": "先把五花肉切块焯水，再用冰糖炒出糖色，"
                    "最后加酱油和热水小火慢炖一个小时。",
                },
            ]
        },
        "zh",
        "zh",
    ),
    (
        {
            "conversations": [
                {"from": "human", "value": "How long should I boil an egg for a soft yolk?"},
                {
                    "from": "gpt",
                    "value": "Boil it for about six minutes, then cool it in cold water "
                    "so the yolk stays soft.",
                },
            ]
        },
        "en",
        "en",
    ),
]
MESSAGES: list[tuple[dict[str, Any], str, str]] = [
    (
        {
            "messages": [
                {"role": "system", "content": "你是一个乐于助人的中文助手。"},
                {"role": "user", "content": "煮米饭时米和水的比例一般是多少？"},
                {
                    "role": "assistant",
                    "content": "用电饭锅煮普通大米，米和水的比例大约是一比一点二，"
                    "新米可以少放一点水。",
                },
            ]
        },
        "zh",
        "zh",
    ),
    (
        {
            "messages": [
                {"role": "system", "content": "You are a concise assistant."},
                {"role": "user", "content": "Why is the sky blue during the day?"},
                {
                    "role": "assistant",
                    "content": "Sunlight is scattered by the air, and blue light is scattered "
                    "much more than red light, so the sky looks blue.",
                },
            ]
        },
        "en",
        "en",
    ),
]
PAIRS: list[tuple[dict[str, Any], str, str]] = [
    (
        {
            "question": "什么是通货膨胀？",
            "answer": "通货膨胀是指物价水平在一段时间内普遍而持续地上涨，"
            "同样的钱能买到的东西变少了。",
        },
        "zh",
        "zh",
    ),
    (
        {
            "question": "What does a CPU cache do?",
            "answer": "A CPU cache is a small, fast memory close to the processor.\n"
            "It keeps recently used data so the processor does not wait for main memory.",
        },
        "en",
        "en",
    ),
    (
        {
            "question": "光合作用需要什么条件？",
            "answer": "光合作用需要阳光、水和二氧化碳，\n还需要叶绿体中的叶绿素来吸收光能。",
        },
        "zh",
        "zh",
    ),
]
SHAPES = {"alpaca": ALPACA, "sharegpt": SHAREGPT, "messages": MESSAGES, "pairs": PAIRS}


def records(fmt: str) -> list[dict[str, Any]]:
    return [record for record, _, _ in SHAPES[fmt]]


def expected(source: str, fmt: str) -> list[tuple[Any, ...]]:
    return [(source, i, fmt, p, r) for i, (_, p, r) in enumerate(SHAPES[fmt])]


def rows(table: pa.Table) -> list[tuple[Any, ...]]:
    """(source, index, format, prompt_lang, response_lang) of every row, in order."""
    cols = ["source", "index", "format", "prompt_lang", "response_lang"]
    return [tuple(row[c] for c in cols) for row in table.select(cols).to_pylist()]


def jsonl_bytes(recs: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs).encode()


def array_bytes(recs: list[dict[str, Any]]) -> bytes:
    return json.dumps(recs, ensure_ascii=False, indent=2).encode()


def csv_bytes(recs: list[dict[str, Any]], delimiter: str = ",") -> bytes:
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(recs[0]), delimiter=delimiter)
    writer.writeheader()
    writer.writerows(recs)
    return buffer.getvalue().encode()


def zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


# ---------------------------------------------------------------------------------------------
# Text files: (file name, shape, bytes of the file)

TEXT_FILES: list[tuple[str, str, Callable[[], bytes]]] = [
    ("chat.jsonl", "sharegpt", lambda: jsonl_bytes(records("sharegpt"))),
    ("chat.ndjson", "messages", lambda: jsonl_bytes(records("messages"))),
    ("alpaca.json", "alpaca", lambda: array_bytes(records("alpaca"))),
    ("minified.json", "alpaca", lambda: json.dumps(records("alpaca")).encode()),
    ("lines.json", "messages", lambda: jsonl_bytes(records("messages"))),
    ("qa.csv", "pairs", lambda: csv_bytes(records("pairs"))),
    ("qa.tsv", "pairs", lambda: csv_bytes(records("pairs"), "\t")),
    ("bom.tsv", "pairs", lambda: b"\xef\xbb\xbf" + csv_bytes(records("pairs"), "\t")),
    ("bom.csv", "pairs", lambda: b"\xef\xbb\xbf" + csv_bytes(records("pairs"))),
    ("bom.jsonl", "alpaca", lambda: b"\xef\xbb\xbf" + jsonl_bytes(records("alpaca"))),
    ("chat.jsonl.gz", "sharegpt", lambda: gzip.compress(jsonl_bytes(records("sharegpt")))),
    ("chat.jsonl.zst", "sharegpt", lambda: zstd(jsonl_bytes(records("sharegpt")))),
    ("alpaca.json.gz", "alpaca", lambda: gzip.compress(array_bytes(records("alpaca")))),
    ("alpaca.json.zst", "alpaca", lambda: zstd(array_bytes(records("alpaca")))),
    ("qa.csv.gz", "pairs", lambda: gzip.compress(csv_bytes(records("pairs")))),
    # no known suffix: the gzip / zstd magic decides, then the content ('[' is an array)
    ("export", "messages", lambda: gzip.compress(jsonl_bytes(records("messages")))),
    ("export_array", "alpaca", lambda: gzip.compress(array_bytes(records("alpaca")))),
    ("dump.bin", "sharegpt", lambda: gzip.compress(jsonl_bytes(records("sharegpt")))),
    ("export_zstd", "sharegpt", lambda: zstd(jsonl_bytes(records("sharegpt")))),
    # no suffix, not compressed: JSON lines, or a JSON array when it starts with '['
    ("plain", "alpaca", lambda: jsonl_bytes(records("alpaca"))),
    ("plain.txt", "alpaca", lambda: array_bytes(records("alpaca"))),
]


@pytest.mark.parametrize(
    ("name", "fmt", "content"), TEXT_FILES, ids=[name for name, _, _ in TEXT_FILES]
)
def test_text_files(tmp_path: Path, name: str, fmt: str, content: Callable[[], bytes]) -> None:
    path = tmp_path / name
    path.write_bytes(content())
    assert rows(langaudit.scan(str(path))) == expected(str(path), fmt)


def test_path_objects_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    path.write_bytes(jsonl_bytes(records("sharegpt")))
    assert rows(langaudit.scan(path)) == expected(str(path), "sharegpt")


def test_large_json_array_is_streamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(langaudit.io, "JSON_WHOLE_LIMIT", 0)
    path = tmp_path / "alpaca.json"
    path.write_bytes(array_bytes(records("alpaca")))
    assert rows(langaudit.scan(str(path))) == expected(str(path), "alpaca")


def test_large_json_array_with_nested_records_is_streamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(langaudit.io, "JSON_WHOLE_LIMIT", 0)
    path = tmp_path / "chat.json"
    path.write_bytes(array_bytes(records("messages")))
    table = langaudit.scan(str(path))
    assert rows(table) == expected(str(path), "messages")
    assert table.column("system_lang").to_pylist() == ["zh", "en"]


@pytest.mark.parametrize(("limit", "location"), [(0, "[2]"), (64 * 1024 * 1024, ":3")])
def test_json_array_reader_choice_shows_in_error_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int, location: str
) -> None:
    """Whole arrays report the line of a syntax error; streamed arrays the record position.
    This proves that the limit chooses the reader."""
    monkeypatch.setattr(langaudit.io, "JSON_WHOLE_LIMIT", limit)
    path = tmp_path / "broken.json"
    path.write_text(
        '[{"instruction": "你好", "output": "你好！"},\n'
        ' {"instruction": "hi", "output": "hello"},\n'
        ' {"instruction": "bye", "output": }]\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError) as info:
        langaudit.scan(str(path))
    assert info.value.location == f"{path}{location}"


def test_tsv_multiline_quoted_fields_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "qa.tsv"
    answers = [
        "光合作用是植物利用阳光，\n把二氧化碳和水变成葡萄糖的过程。",
        "Rain is water that falls from clouds.\nIt comes from condensed vapour.",
        "长城全长两万多公里，是世界上最长的防御工程。",
    ]
    path.write_bytes(
        (
            "\ufeffquestion\tanswer\n"
            f'什么是光合作用？\t"{answers[0]}"\n'
            f'What is rain?\t"{answers[1]}"\n'
            f"长城有多长？\t{answers[2]}\n"
        ).encode()
    )
    table = langaudit.scan(str(path))
    assert rows(table) == [
        (str(path), 0, "pairs", "zh", "zh"),
        (str(path), 1, "pairs", "en", "en"),
        (str(path), 2, "pairs", "zh", "zh"),
    ]
    # the BOM is not part of the first column name, and the line break stays in the answer
    fields = [[t["field"] for t in turns] for turns in table.column("turns").to_pylist()]
    assert fields == [["question", "answer"]] * 3
    assert [c["space"] for c in table.column("response_counts").to_pylist()] == [
        sum(ch.isspace() for ch in answer) for answer in answers
    ]
    assert table.column("response_letters").to_pylist() == [
        sum(ch.isalpha() for ch in answer) for answer in answers
    ]


# ---------------------------------------------------------------------------------------------
# Arrow tables on disk


def _table(fmt: str) -> pa.Table:
    return pa.Table.from_pylist(records(fmt))


def write_parquet(path: Path, fmt: str) -> None:
    pq.write_table(_table(fmt), path)


def write_arrow_file(path: Path, fmt: str) -> None:
    table = _table(fmt)
    with ipc.new_file(path, table.schema) as writer:
        writer.write_table(table)


def write_arrow_stream(path: Path, fmt: str) -> None:
    table = _table(fmt)
    with ipc.new_stream(path, table.schema) as writer:
        writer.write_table(table, max_chunksize=1)


def write_feather(path: Path, fmt: str) -> None:
    feather.write_feather(_table(fmt), path)


TABLE_FILES: list[tuple[str, str, Callable[[Path, str], None]]] = [
    ("data.parquet", "messages", write_parquet),
    ("data.pq", "alpaca", write_parquet),
    ("data.arrow", "sharegpt", write_arrow_file),
    ("stream.arrow", "messages", write_arrow_stream),
    ("stream.ipc", "alpaca", write_arrow_stream),
    ("data.feather", "pairs", write_feather),
]


@pytest.mark.parametrize(
    ("name", "fmt", "write"), TABLE_FILES, ids=[name for name, _, _ in TABLE_FILES]
)
def test_table_files(
    tmp_path: Path, name: str, fmt: str, write: Callable[[Path, str], None]
) -> None:
    path = tmp_path / name
    write(path, fmt)
    assert rows(langaudit.scan(str(path))) == expected(str(path), fmt)


def test_parquet_in_several_row_groups(tmp_path: Path) -> None:
    recs = records("alpaca") * 700  # 2100 rows: several reader batches and row groups
    path = tmp_path / "big.parquet"
    pq.write_table(pa.Table.from_pylist(recs), path, row_group_size=500)
    table = langaudit.scan(str(path))
    assert table.num_rows == 2100
    assert table.column("index").to_pylist() == list(range(2100))
    assert table.column("response_lang").to_pylist() == ["zh", "en", "en"] * 700


# ---------------------------------------------------------------------------------------------
# Hugging Face folders


def test_save_to_disk_folder(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    folder = tmp_path / "hf"
    datasets.Dataset.from_list(records("messages")).save_to_disk(str(folder))
    assert rows(langaudit.scan(str(folder))) == expected(str(folder), "messages")
    assert [(s.name, s.kind) for s in langaudit.io.open_path(folder)] == [(str(folder), "hf")]


def test_dataset_dict_folder(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    folder = tmp_path / "hfdict"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_list(records("alpaca")),
            "test": datasets.Dataset.from_list(records("alpaca")[:2]),
        }
    ).save_to_disk(str(folder))
    sources = langaudit.io.open_path(folder)
    assert [(s.name, s.kind) for s in sources] == [
        (f"{folder}/train", "hf"),
        (f"{folder}/test", "hf"),
    ]
    table = langaudit.scan(str(folder))
    assert (
        rows(table)
        == expected(f"{folder}/train", "alpaca") + expected(f"{folder}/test", "alpaca")[:2]
    )


def test_save_to_disk_folder_with_several_shards(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    folder = tmp_path / "sharded"
    recs = records("sharegpt") * 3
    datasets.Dataset.from_list(recs).save_to_disk(str(folder), num_shards=3)
    assert len(list(folder.glob("*.arrow"))) == 3
    table = langaudit.scan(str(folder))
    assert table.column("index").to_pylist() == list(range(6))
    assert table.column("prompt_lang").to_pylist() == ["zh", "en"] * 3


# ---------------------------------------------------------------------------------------------
# Directories


def test_directory_of_files(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "b_chat.jsonl").write_bytes(jsonl_bytes(records("sharegpt")))
    (folder / "a_alpaca.json").write_bytes(array_bytes(records("alpaca")))
    (folder / "c_qa.csv").write_bytes(csv_bytes(records("pairs")))
    (folder / "d_msgs.jsonl.gz").write_bytes(gzip.compress(jsonl_bytes(records("messages"))))
    pq.write_table(_table("alpaca"), folder / "e_table.parquet")
    # not data: a registry, HF metadata, hidden files, documentation, sub-directories
    (folder / "dataset_info.json").write_text(
        json.dumps({"chat": {"file_name": "b_chat.jsonl", "formatting": "sharegpt"}}),
        encoding="utf-8",
    )
    (folder / ".b_chat.jsonl.swp").write_bytes(b"\x00\x01garbage")
    (folder / ".hidden.jsonl").write_text("not json at all\n", encoding="utf-8")
    (folder / "README.md").write_text("# my data\n", encoding="utf-8")
    (folder / "notes.txt").write_text("to do: more data\n", encoding="utf-8")
    (folder / "old").mkdir()
    (folder / "old" / "x.jsonl").write_text("broken\n", encoding="utf-8")

    names = [s.name for s in langaudit.io.open_path(folder)]
    assert names == [
        os.path.join(str(folder), n)
        for n in ["a_alpaca.json", "b_chat.jsonl", "c_qa.csv", "d_msgs.jsonl.gz", "e_table.parquet"]
    ]
    table = langaudit.scan(str(folder))
    assert rows(table) == (
        expected(names[0], "alpaca")
        + expected(names[1], "sharegpt")
        + expected(names[2], "pairs")
        + expected(names[3], "messages")
        + expected(names[4], "alpaca")
    )


def test_several_paths_in_one_call(tmp_path: Path) -> None:
    a = tmp_path / "a.jsonl"
    b = tmp_path / "b.csv"
    a.write_bytes(jsonl_bytes(records("messages")))
    b.write_bytes(csv_bytes(records("pairs")))
    table = langaudit.scan([str(a), b])
    assert rows(table) == expected(str(a), "messages") + expected(str(b), "pairs")


# ---------------------------------------------------------------------------------------------
# In-memory objects


def test_datasets_dataset() -> None:
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_list(records("sharegpt"))
    assert rows(langaudit.scan(ds)) == expected("<Dataset>", "sharegpt")


def test_datasets_iterable_dataset() -> None:
    datasets = pytest.importorskip("datasets")
    ids = datasets.Dataset.from_list(records("messages")).to_iterable_dataset()
    assert rows(langaudit.scan(ids)) == expected("<IterableDataset>", "messages")


def test_pandas_dataframe() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(records("alpaca"))
    assert rows(langaudit.scan(df)) == expected("<DataFrame>", "alpaca")


def test_pandas_dataframe_with_nested_conversations() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(records("sharegpt"))
    assert rows(langaudit.scan(df)) == expected("<DataFrame>", "sharegpt")


def test_pandas_dataframe_with_mixed_column_types() -> None:
    """An object column holding text and numbers cannot become Arrow: read as Python values."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {
            "question": ["什么是通货膨胀？", "What is 2 + 2?"],
            "answer": ["通货膨胀是指物价水平普遍而持续地上涨。", 4],
        }
    )
    table = langaudit.scan(df)
    assert table.column("index").to_pylist() == [0, 1]
    assert table.column("response_lang").to_pylist() == ["zh", "und"]
    assert table.column("response_counts").to_pylist()[1]["digit"] == 1


def test_pyarrow_table() -> None:
    assert rows(langaudit.scan(_table("pairs"))) == expected("<Table>", "pairs")


def test_list_of_dicts() -> None:
    # docs/scan-output.md: in-memory sources are named <DataFrame>, <Dataset>, <records>
    assert rows(langaudit.scan(records("alpaca"))) == expected("<records>", "alpaca")


def test_generator_of_dicts() -> None:
    table = langaudit.scan(r for r in records("messages"))
    assert [row[1:] for row in rows(table)] == [row[1:] for row in expected("", "messages")]


def test_empty_list_gives_an_empty_table() -> None:
    table = langaudit.scan([])
    assert table.num_rows == 0
    assert table.schema == langaudit.result_schema()


def test_scan_batches_yields_the_same_rows(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    path.write_bytes(jsonl_bytes(records("sharegpt") * 3))
    batches = list(langaudit.scan_batches(str(path), batch_records=2))
    assert [b.num_rows for b in batches] == [2, 2, 2]
    table = pa.Table.from_batches(batches)
    assert table.column("index").to_pylist() == list(range(6))
    assert table.equals(langaudit.scan(str(path)).replace_schema_metadata(None))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts /proc/self/fd")
def test_compressed_files_are_closed_when_read(tmp_path: Path) -> None:
    """A gzip file read to its end leaves no open file (nor its read buffer) behind: a folder
    of thousands of shards is read in one command."""
    import gzip

    for i in range(30):
        (tmp_path / f"{i:02d}.jsonl.gz").write_bytes(gzip.compress(b'{"text": "hi"}\n' * 3))
    sources = langaudit.io.open_path(tmp_path)
    before = len(os.listdir("/proc/self/fd"))
    assert sum(1 for source in sources for _ in source) == 90
    unparsed = [source.unparsed or () for source in langaudit.io.open_path(tmp_path)]
    assert sum(1 for items in unparsed for _ in items) == 90
    assert len(os.listdir("/proc/self/fd")) == before
