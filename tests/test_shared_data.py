"""Real third-party SFT data (``../shared/data``, not part of the project): every file is read
without flags, one row per record, and a few facts about tool calls, content parts and
preference data hold. Skipped when the folder is absent (a fresh clone)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
from click.testing import Result

import langaudit
from cli_helpers import run

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if not DATA.is_dir():
    pytest.skip(f"{DATA} is absent", allow_module_level=True)

REGISTRY = DATA / "llamafactory" / "dataset_info.json"
DATA_FILES = sorted(
    p
    for p in DATA.rglob("*")
    if p.is_file() and p.suffix != ".md" and p.name != "dataset_info.json"
)
SHAREGPT_ROLES = {
    "human": "user",
    "gpt": "assistant",
    "system": "system",
    "function_call": "tool_call",
    "observation": "tool_result",
}


def load_records(path: Path) -> list[dict[str, Any]]:
    """The records of a file, parsed independently of langaudit."""
    if path.suffix == ".jsonl":
        text = path.read_text(encoding="utf-8")
        return [json.loads(x) for x in text.splitlines() if x.strip()]
    if path.suffix == ".json":
        records = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(records, list)
        return records
    pytest.fail(f"no independent reader for {path.name}: add one")


class Scans:
    """CLI scans of the shared files, each run once per test session."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.cache: dict[Path, tuple[Result, list[dict[str, Any]]]] = {}

    def __call__(self, path: Path) -> tuple[Result, list[dict[str, Any]]]:
        if path not in self.cache:
            out = self.out_dir / f"{path.parent.name}-{path.stem}.jsonl"
            result = run("scan", str(path), "-o", str(out))
            rows = [orjson.loads(x) for x in out.read_bytes().splitlines()] if out.exists() else []
            self.cache[path] = (result, rows)
        return self.cache[path]


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> Scans:
    return Scans(tmp_path_factory.mktemp("shared-scans"))


def test_the_shared_data_is_there() -> None:
    assert len(DATA_FILES) >= 9, DATA_FILES


@pytest.mark.parametrize("path", DATA_FILES, ids=[f"{p.parent.name}/{p.name}" for p in DATA_FILES])
def test_scan_reads_every_file_one_row_per_record(scans: Scans, path: Path) -> None:
    result, rows = scans(path)
    n = len(load_records(path))
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[0] == f"{path}: {n} records"
    assert len(rows) == n
    assert [r["index"] for r in rows] == list(range(n))
    assert {r["source"] for r in rows} == {str(path)}
    assert len({r["format"] for r in rows}) == 1


EXPECTED_FORMATS = {
    "identity.json": "alpaca",
    "glaive_toolcall_zh_demo.json": "sharegpt",
    "glaive_toolcall_en_demo.json": "sharegpt",
    "dpo_zh_demo.json": "preference",
    "kto_en_demo.json": "messages",
    "v1_sft_demo.jsonl": "messages",
    "reason_tool_use_demo_50.jsonl": "messages",
    "sharegpt_zh_1K_format.jsonl": "sharegpt",
    "medical_sft_1K_format.jsonl": "sharegpt",
}


@pytest.mark.parametrize(("name", "fmt"), sorted(EXPECTED_FORMATS.items()))
def test_detected_format(scans: Scans, name: str, fmt: str) -> None:
    path = next((p for p in DATA_FILES if p.name == name), None)
    if path is None:
        pytest.skip(f"{name} is not in {DATA}")
    _, rows = scans(path)
    assert {r["format"] for r in rows} == {fmt}


def test_registry_gives_the_registry_error() -> None:
    if not REGISTRY.is_file():
        pytest.skip("no dataset_info.json")
    result = run("scan", str(REGISTRY), "-o", "-")
    assert result.exit_code == 2
    assert result.stdout == ""
    first, hint = result.stderr.splitlines()
    assert first.startswith(
        f"{REGISTRY}: expected an array of records, found an object with keys "
        "{'identity', 'alpaca_en_demo', "
    )
    assert hint == (
        "  hint: this is a LLaMA-Factory dataset registry, not a dataset: read its datasets "
        "with --registry FILE [NAME...]"
    )


def test_scanning_the_llamafactory_directory_skips_the_registry(tmp_path: Path) -> None:
    folder = DATA / "llamafactory"
    if not REGISTRY.is_file():
        pytest.skip("no llamafactory folder")
    out = tmp_path / "out.parquet"
    result = run("scan", str(folder), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    files = sorted(p for p in DATA_FILES if p.parent == folder)
    counts = [len(load_records(p)) for p in files]
    lines = result.stderr.splitlines()
    assert lines[: len(files)] == [
        f"{folder}/{p.name}: {n} records" for p, n in zip(files, counts, strict=True)
    ]
    assert lines[len(files)].startswith(f"scanned {sum(counts)} records in ")
    assert "dataset_info" not in result.stderr
    table = pq.read_table(out, columns=["source", "index"])
    assert table.num_rows == sum(counts)


# ---------------------------------------------------------------------------------------------
# Facts about particular files


def _file(name: str) -> Path:
    path = next((p for p in DATA_FILES if p.name == name), None)
    if path is None:
        pytest.skip(f"{name} is not in {DATA}")
    return path


RESPONSE_COLUMNS = [
    "response_lang",
    "response_letters",
    "response_counts",
    "response_han_ratio",
    "response_latin_ratio",
]


def test_glaive_tool_calls_and_results_are_turns_but_not_responses(scans: Scans) -> None:
    path = _file("glaive_toolcall_zh_demo.json")
    records = load_records(path)
    _, rows = scans(path)
    # every message is a turn, with its role; tool calls and results are not measured
    for record, row in zip(records, rows, strict=True):
        expected_roles = [SHAREGPT_ROLES[m["from"]] for m in record["conversations"]]
        assert [t["role"] for t in row["turns"]] == expected_roles
        for turn in row["turns"]:
            if turn["role"] in ("tool_call", "tool_result"):
                assert (turn["lang"], turn["letters"]) == (None, None), turn
    roles = [t["role"] for row in rows for t in row["turns"]]
    froms = [m["from"] for r in records for m in r["conversations"]]
    assert roles.count("tool_call") == froms.count("function_call") > 0
    assert roles.count("tool_result") == froms.count("observation") > 0
    # the same records without their tool turns have exactly the same response measurements
    stripped = [
        {
            "conversations": [
                m for m in r["conversations"] if m["from"] not in ("function_call", "observation")
            ]
        }
        for r in records
    ]
    without_tools = langaudit.scan(stripped).select(RESPONSE_COLUMNS).to_pylist()
    assert [{c: row[c] for c in RESPONSE_COLUMNS} for row in rows] == without_tools


def test_glaive_tool_json_would_change_the_counts_if_it_were_a_response(scans: Scans) -> None:
    """Guard for the test above: the tool turns carry letters that would show."""
    path = _file("glaive_toolcall_zh_demo.json")
    records = load_records(path)
    as_responses = [
        {
            "conversations": [
                {**m, "from": "gpt"} if m["from"] in ("function_call", "observation") else m
                for m in r["conversations"]
            ]
        }
        for r in records
    ]
    _, rows = scans(path)
    inflated = langaudit.scan(as_responses).column("response_letters").to_pylist()
    real = [r["response_letters"] for r in rows]
    with_tools = [
        i
        for i, r in enumerate(records)
        if any(m["from"] == "function_call" for m in r["conversations"])
    ]
    assert with_tools
    assert all(inflated[i] > real[i] for i in with_tools)


def test_v1_sft_content_part_lists_are_read(scans: Scans) -> None:
    path = _file("v1_sft_demo.jsonl")
    records = load_records(path)
    _, rows = scans(path)
    assert all(
        isinstance(m["content"], list) for r in records for m in r["messages"]
    )  # the file is what this test is about
    for record, row in zip(records, rows, strict=True):
        assert [(t["role"], t["field"]) for t in row["turns"]] == [
            (m["role"], f"messages.{i}.content") for i, m in enumerate(record["messages"])
        ]
    # an answer with letters in its parts has letters in the row (some answers are just "3")
    for record, row in zip(records, rows, strict=True):
        text = "".join(p["value"] for p in record["messages"][1]["content"])
        assert (row["response_letters"] > 0) == any(ch.isalpha() for ch in text), text
    # reading the parts equals reading the same text given as plain strings
    flattened = [
        {
            "messages": [
                {"role": m["role"], "content": "\n".join(p["value"] for p in m["content"])}
                for m in r["messages"]
            ]
        }
        for r in records
    ]
    columns = ["prompt_lang", "prompt_counts", *RESPONSE_COLUMNS]
    plain = langaudit.scan(flattened).select(columns).to_pylist()
    assert [{c: row[c] for c in columns} for row in rows] == plain
    assert rows[0]["response_lang"] == "en"


def test_dpo_chosen_and_rejected_are_assistant_turns(scans: Scans) -> None:
    path = _file("dpo_zh_demo.json")
    records = load_records(path)
    _, rows = scans(path)
    assert {r["format"] for r in rows} == {"preference"}
    for record, row in zip(records, rows, strict=True):
        conversation = record["conversations"]
        turns = row["turns"]
        assert row["n_turns"] == len(conversation) + 2
        assert [(t["role"], t["field"]) for t in turns] == [
            (SHAREGPT_ROLES[m["from"]], f"conversations.{i}.value")
            for i, m in enumerate(conversation)
        ] + [("assistant", "chosen.value"), ("assistant", "rejected.value")]
        assistant_letters = sum(t["letters"] for t in turns if t["role"] == "assistant")
        assert row["response_letters"] == assistant_letters
    # a Chinese preference set: almost all chosen answers are Chinese
    chosen = [next(t for t in r["turns"] if t["field"] == "chosen.value")["lang"] for r in rows]
    assert chosen.count("zh") > 0.9 * len(rows)


def test_the_real_registry_reads_every_local_dataset_as_declared(tmp_path: Path) -> None:
    """LLaMA-Factory's own dataset_info.json: every dataset whose file is here is read with its
    columns and tags, record for record, and not one record is unreadable."""
    out = tmp_path / "registry.json"
    result = run("audit", "--registry", str(REGISTRY), "--json", str(out), "-q")
    assert result.exit_code == 0, result.stderr
    datasets = {d["name"]: d for d in json.loads(out.read_text("utf-8"))["registry"]["datasets"]}
    info = json.loads(REGISTRY.read_text("utf-8"))
    assert list(datasets) == list(info)
    for name, entry in info.items():
        data = datasets[name]
        local = "file_name" in entry and (REGISTRY.parent / entry["file_name"]).is_file()
        remote = {"hf_hub_url", "ms_hub_url", "script_url"} & set(entry)
        if local and not remote and entry["file_name"].endswith((".json", ".jsonl")):
            assert data["status"] == "audited", data
            assert data["records"] == len(load_records(REGISTRY.parent / entry["file_name"]))
            assert data["skipped_records"] == 0
        else:
            assert data["status"] == "skipped" and data["reason"], data
    assert sum(d["status"] == "audited" for d in datasets.values()) >= 5
