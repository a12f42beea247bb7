"""The ``langaudit`` command line: exit codes, exact stderr summaries, outputs, options, docs."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import langaudit
from cli_helpers import run
from langaudit.cli import cli, main

ROOT = Path(__file__).resolve().parents[1]

ALPACA = [
    {
        "instruction": "请用中文介绍一下长城。",
        "input": "",
        "output": "The Great Wall is a series of ancient fortifications built across "
        "northern China.",
    },
    {"instruction": "什么是光合作用？", "input": "", "output": ""},
    {
        "instruction": "Describe Paris in one sentence, please.",
        "input": "",
        "output": "Paris is the capital of France, famous for its museums and cafes.",
    },
    {
        "instruction": "西红柿炒鸡蛋怎么做？",
        "input": "",
        "output": "Beat the eggs, fry them, then add chopped tomatoes, salt and a little sugar.",
    },
]
QA = [
    ("什么是通货膨胀？", "通货膨胀是指物价水平普遍而持续地上涨，同样的钱能买到的东西变少了。"),
    ("What does a CPU cache do?", "It keeps recently used data close to the processor cores."),
]


def summary(stderr: str) -> str:
    return re.sub(r" in \d+\.\ds -> ", " in Xs -> ", stderr)


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    return path


def write_csv(path: Path, pairs: list[tuple[str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["question", "answer"])
        writer.writerows(pairs)
    return path


def letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in path.read_bytes().splitlines()]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


# ---------------------------------------------------------------------------------------------
# scan: outputs and summary


def test_scan_writes_jsonl_one_row_per_record() -> None:
    write_jsonl(Path("alpaca.jsonl"), ALPACA)
    result = run("scan", "alpaca.jsonl", "-o", "out.jsonl")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert summary(result.stderr) == (
        "alpaca.jsonl: 4 records\n"
        "scanned 4 records in Xs -> out.jsonl; flags: lang_mismatch 2, empty_response 1\n"
    )
    rows = read_jsonl(Path("out.jsonl"))
    assert [(r["source"], r["index"], r["format"]) for r in rows] == [
        ("alpaca.jsonl", i, "alpaca") for i in range(4)
    ]
    assert [r["flags"] for r in rows] == [
        ["lang_mismatch"],
        ["empty_response"],
        [],
        ["lang_mismatch"],
    ]
    assert [r["prompt_lang"] for r in rows] == ["zh", "zh", "en", "zh"]
    assert [r["response_lang"] for r in rows] == ["en", "und", "en", "en"]
    # the same rows as the library, field for field
    assert rows == langaudit.scan("alpaca.jsonl").to_pylist()
    assert list(rows[0]) == langaudit.result_schema().names


def test_scan_writes_parquet_with_the_result_schema() -> None:
    write_jsonl(Path("alpaca.jsonl"), ALPACA)
    result = run("scan", "alpaca.jsonl", "-o", "out.parquet")
    assert result.exit_code == 0
    assert summary(result.stderr).splitlines()[-1] == (
        "scanned 4 records in Xs -> out.parquet; flags: lang_mismatch 2, empty_response 1"
    )
    table = pq.read_table("out.parquet")
    assert table.schema.remove_metadata() == langaudit.result_schema()
    assert table.num_rows == 4
    assert table.column("index").to_pylist() == [0, 1, 2, 3]
    assert table.to_pylist() == langaudit.scan("alpaca.jsonl").to_pylist()


def test_parquet_row_groups_gather_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each row group's metadata stays in memory until the file closes: batches are gathered
    into large row groups, not written one by one."""
    from langaudit import output

    write_jsonl(Path("alpaca.jsonl"), ALPACA * 15)  # 60 records
    table = langaudit.scan("alpaca.jsonl", batch_records=5)
    assert len(table.to_batches()) == 12
    monkeypatch.setattr(output, "ROW_GROUP_ROWS", 25)
    assert output.write_results(iter(table.to_batches()), "out.parquet") == 60
    parquet = pq.ParquetFile("out.parquet")
    assert [parquet.metadata.row_group(i).num_rows for i in range(3)] == [25, 25, 10]
    assert parquet.read().to_pylist() == table.to_pylist()


def test_scan_to_stdout_writes_json_lines() -> None:
    write_jsonl(Path("alpaca.jsonl"), ALPACA[:2])
    result = run("scan", "alpaca.jsonl", "-o", "-")
    assert result.exit_code == 0
    lines = result.stdout_bytes.splitlines()
    assert len(lines) == 2
    rows = [orjson.loads(x) for x in lines]
    assert [r["index"] for r in rows] == [0, 1]
    assert rows == langaudit.scan("alpaca.jsonl").to_pylist()
    assert summary(result.stderr) == (
        "alpaca.jsonl: 2 records\n"
        "scanned 2 records in Xs -> stdout; flags: lang_mismatch 1, empty_response 1\n"
    )


def test_jsonl_output_keeps_non_ascii_unescaped() -> None:
    write_jsonl(Path("数据.jsonl"), ALPACA[:1])
    result = run("scan", "数据.jsonl", "-o", "结果.jsonl")
    assert result.exit_code == 0
    assert '"source":"数据.jsonl"'.encode() in Path("结果.jsonl").read_bytes()
    assert summary(result.stderr).splitlines()[0] == "数据.jsonl: 1 record"


def test_summary_for_a_clean_single_record() -> None:
    write_csv(Path("qa.csv"), QA[:1])
    result = run("scan", "qa.csv", "-o", "out.jsonl")
    assert result.exit_code == 0
    assert summary(result.stderr) == (
        "qa.csv: 1 record\nscanned 1 record in Xs -> out.jsonl; flags: none\n"
    )


def test_quiet_prints_nothing() -> None:
    write_jsonl(Path("alpaca.jsonl"), ALPACA)
    result = run("scan", "alpaca.jsonl", "-o", "out.jsonl", "--quiet")
    assert result.exit_code == 0
    assert (result.stdout, result.stderr) == ("", "")
    assert len(read_jsonl(Path("out.jsonl"))) == 4


def test_existing_output_is_replaced() -> None:
    write_jsonl(Path("alpaca.jsonl"), ALPACA)
    Path("out.jsonl").write_text("old results\n" * 100, encoding="utf-8")
    assert run("scan", "alpaca.jsonl", "-o", "out.jsonl").exit_code == 0
    assert [r["index"] for r in read_jsonl(Path("out.jsonl"))] == [0, 1, 2, 3]
    assert sorted(p.name for p in Path(".").iterdir()) == ["alpaca.jsonl", "out.jsonl"]


def test_several_inputs_in_one_run() -> None:
    write_jsonl(Path("alpaca.jsonl"), ALPACA)
    write_csv(Path("qa.csv"), QA)
    pq.write_table(pa.Table.from_pylist([{"prompt": q, "response": a} for q, a in QA]), "qa.pq")
    result = run("scan", "qa.csv", "alpaca.jsonl", "qa.pq", "-o", "out.jsonl")
    assert result.exit_code == 0
    assert summary(result.stderr) == (
        "qa.csv: 2 records\n"
        "alpaca.jsonl: 4 records\n"
        "qa.pq: 2 records\n"
        "scanned 8 records in Xs -> out.jsonl; flags: lang_mismatch 2, empty_response 1\n"
    )
    rows = read_jsonl(Path("out.jsonl"))
    assert [(r["source"], r["index"], r["format"]) for r in rows] == [
        ("qa.csv", 0, "pairs"),
        ("qa.csv", 1, "pairs"),
        *[("alpaca.jsonl", i, "alpaca") for i in range(4)],
        ("qa.pq", 0, "pairs"),
        ("qa.pq", 1, "pairs"),
    ]
    assert [r["response_lang"] for r in rows[:2]] == ["zh", "en"]


def test_directory_input_lists_every_file_in_the_summary() -> None:
    Path("data").mkdir()
    write_jsonl(Path("data/b.jsonl"), ALPACA[2:])
    write_csv(Path("data/a.csv"), QA)
    Path("data/dataset_info.json").write_text('{"a": {"file_name": "a.csv"}}', "utf-8")
    result = run("scan", "data", "-o", "out.jsonl")
    assert result.exit_code == 0
    assert summary(result.stderr) == (
        "data/a.csv: 2 records\n"
        "data/b.jsonl: 2 records\n"
        "scanned 4 records in Xs -> out.jsonl; flags: lang_mismatch 1\n"
    )


# ---------------------------------------------------------------------------------------------
# scan: record shape options


def test_format_overrides_detection() -> None:
    records = [
        {
            "instruction": "把下面的句子翻译成英文。",
            "input": "今天天气很好，我们去公园散步吧。",
            "output": "The weather is lovely today, let us take a walk in the park.",
        }
    ]
    write_jsonl(Path("t.jsonl"), records)
    assert run("scan", "t.jsonl", "-o", "auto.jsonl").exit_code == 0
    assert run("scan", "t.jsonl", "-o", "pairs.jsonl", "--format", "pairs").exit_code == 0
    (auto,) = read_jsonl(Path("auto.jsonl"))
    (pairs,) = read_jsonl(Path("pairs.jsonl"))
    assert auto["format"] == "alpaca"
    assert [t["field"] for t in auto["turns"]] == ["instruction", "input", "output"]
    instruction, extra = records[0]["instruction"], records[0]["input"]
    # the prompt is the user's own words; the input is a context turn of its own
    assert auto["prompt_letters"] == letters(instruction)
    assert auto["turns"][1]["letters"] == letters(extra)

    assert pairs["format"] == "pairs"
    assert [t["field"] for t in pairs["turns"]] == ["input", "output"]
    assert pairs["prompt_letters"] == letters(extra)


def test_format_that_does_not_fit_names_the_missing_field() -> None:
    write_jsonl(
        Path("chat.jsonl"),
        [
            {
                "messages": [
                    {"role": "user", "content": "你好"},
                    {"role": "assistant", "content": "你好！"},
                ]
            }
        ],
    )
    result = run("scan", "chat.jsonl", "-o", "out.jsonl", "--format", "sharegpt")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "chat.jsonl:1: field 'conversations': missing (the record has an object with keys "
        "{messages})"
    )


def test_unknown_format_is_a_usage_error() -> None:
    write_jsonl(Path("alpaca.jsonl"), ALPACA)
    result = run("scan", "alpaca.jsonl", "-o", "out.jsonl", "--format", "openai")
    assert result.exit_code == 2
    assert "Invalid value for '--format': 'openai' is not one of 'alpaca', 'sharegpt', " in (
        result.stderr
    )


NESTED = [
    {
        "id": 1,
        "data": {
            "question": "长城有多长？",
            "answers": [{"text": "长城全长两万多公里，是世界上最长的防御工程。", "votes": 3}],
        },
        "meta": {"system": "你是一个严谨的历史老师。"},
    },
    {
        "id": 2,
        "data": {
            "question": "Who painted the Mona Lisa?",
            "answers": [{"text": "Leonardo da Vinci painted it in the early sixteenth century."}],
        },
        "meta": {"system": "You are a helpful art history teacher."},
    },
]


def test_dotted_prompt_and_response_fields() -> None:
    write_jsonl(Path("nested.jsonl"), NESTED)
    result = run(
        "scan", "nested.jsonl", "-o", "out.jsonl",
        "--prompt-field", "data.question", "--response-field", "data.answers.0.text",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = read_jsonl(Path("out.jsonl"))
    assert [(r["index"], r["format"], r["n_turns"]) for r in rows] == [
        (0, "pairs", 2),
        (1, "pairs", 2),
    ]
    assert [[(t["role"], t["field"]) for t in r["turns"]] for r in rows] == [
        [("user", "data.question"), ("assistant", "data.answers.0.text")]
    ] * 2
    assert [(r["prompt_lang"], r["response_lang"]) for r in rows] == [("zh", "zh"), ("en", "en")]
    assert [r["system_lang"] for r in rows] == [None, None]


def test_system_field() -> None:
    write_jsonl(Path("nested.jsonl"), NESTED)
    result = run(
        "scan", "nested.jsonl", "-o", "out.jsonl", "--prompt-field", "data.question",
        "--response-field", "data.answers.0.text", "--system-field", "meta.system",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = read_jsonl(Path("out.jsonl"))
    assert [r["n_turns"] for r in rows] == [3, 3]
    assert [(r["turns"][0]["role"], r["turns"][0]["field"]) for r in rows] == [
        ("system", "meta.system")
    ] * 2
    assert [r["system_lang"] for r in rows] == ["zh", "en"]
    assert rows[0]["system_letters"] == letters(NESTED[0]["meta"]["system"])


def test_system_field_with_a_detected_shape() -> None:
    records = [{**ALPACA[0], "meta": {"persona": "你是一个乐于助人的中文助手。"}}]
    write_jsonl(Path("alpaca.jsonl"), records)
    result = run("scan", "alpaca.jsonl", "-o", "out.jsonl", "--system-field", "meta.persona")
    assert result.exit_code == 0, result.stderr
    (row,) = read_jsonl(Path("out.jsonl"))
    assert row["format"] == "alpaca"
    assert [t["role"] for t in row["turns"]] == ["system", "user", "assistant"]
    assert row["system_lang"] == "zh"


def test_dotted_field_missing_in_a_later_record() -> None:
    write_jsonl(Path("nested.jsonl"), [NESTED[0], {"id": 3, "data": {"question": "你好"}}])
    result = run(
        "scan", "nested.jsonl", "-o", "out.jsonl",
        "--prompt-field", "data.question", "--response-field", "data.answers.0.text",
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "nested.jsonl:2: field 'data.answers.0.text': missing (the record has an object with "
        "keys {id, data})"
    )


def test_prompt_field_without_response_field() -> None:
    write_jsonl(Path("nested.jsonl"), NESTED)
    result = run("scan", "nested.jsonl", "-o", "out.jsonl", "--prompt-field", "data.question")
    assert result.exit_code == 2
    assert result.stderr == "langaudit: --prompt-field and --response-field go together\n"
    assert not Path("out.jsonl").exists()


# ---------------------------------------------------------------------------------------------
# main() return codes, --version, --help


def test_main_return_codes(capsys: pytest.CaptureFixture[str]) -> None:
    write_jsonl(Path("alpaca.jsonl"), ALPACA)
    Path("bad.jsonl").write_text('{"instruction": "hi", "output": \n', encoding="utf-8")
    assert main(["scan", "alpaca.jsonl", "-o", "out.jsonl"]) == 0
    assert main(["scan", "bad.jsonl", "-o", "out2.jsonl"]) == 2  # input error
    assert main(["scan", "missing.jsonl", "-o", "out2.jsonl"]) == 2  # usage error
    assert main(["scan", "alpaca.jsonl"]) == 2  # -o is required
    assert main(["scan", "alpaca.jsonl", "-o", "x.jsonl", "--no-such-option"]) == 2
    assert main(["no-such-command"]) == 2
    assert main(["--version"]) == 0
    assert main(["--help"]) == 0
    assert main(["scan", "--help"]) == 0
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    assert not Path("out2.jsonl").exists()


def test_python_m_langaudit_version() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "langaudit", "--version"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"langaudit, version {langaudit.__version__}\n"


def test_python_m_langaudit_input_error_exit_code(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "hi", "output": \n', encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "langaudit", "scan", str(bad), "-o", str(tmp_path / "o.jsonl")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"{bad}:1: invalid JSON: the record is cut off")
    assert "Traceback" not in proc.stderr


def _scan_options() -> list[click.Option]:
    return [p for p in cli.commands["scan"].params if isinstance(p, click.Option)]


def test_scan_help_lists_every_option() -> None:
    result = run("scan", "--help")
    assert result.exit_code == 0
    assert "[INPUTS]..." in result.stdout
    for option in _scan_options():
        for name in option.opts + option.secondary_opts:
            assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", result.stdout), name
    assert len(_scan_options()) == 16  # a new option must come with a test and docs


# ---------------------------------------------------------------------------------------------
# Docs that cannot drift


def _readme_sections() -> dict[str, str]:
    """README sections by their '## ' heading."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    parts = re.split(r"^## ", readme, flags=re.MULTILINE)
    return {part.split("\n", 1)[0].strip(): part for part in parts[1:]}


def test_every_command_has_a_readme_section() -> None:
    sections = _readme_sections()
    for name in cli.commands:
        assert f"`langaudit {name}`" in sections, (name, list(sections))


_ALL_OPTIONS = [
    (command, p)
    for command, cmd in cli.commands.items()
    for p in cmd.params
    if isinstance(p, click.Option)
]


@pytest.mark.parametrize(
    ("command", "option"), _ALL_OPTIONS, ids=[f"{c}-{o.name}" for c, o in _ALL_OPTIONS]
)
def test_every_option_is_in_its_commands_readme_section(command: str, option: click.Option) -> None:
    section = _readme_sections()[f"`langaudit {command}`"]
    names = option.opts + option.secondary_opts
    assert any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", section) for n in names), names
    help_text = run(command, "--help").stdout
    assert any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", help_text) for n in names)
