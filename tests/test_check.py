"""``langaudit check`` and ``langaudit.check``: rules, exit codes, the exact output format."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import langaudit
from cli_helpers import modules_after, run
from langaudit.errors import UsageError


def alpaca(instruction: str, output: str) -> dict[str, str]:
    return {"instruction": instruction, "input": "", "output": output}


GOOD_ZH = alpaca(
    "请介绍一下长城。", "长城是中国古代的军事防御工程，东起山海关，西至嘉峪关，全长两万多公里。"
)
GOOD_EN = alpaca("Name three primary colors.", "The three primary colors are red, blue and yellow.")
MISMATCH = alpaca("What is the capital of France?", "巴黎是法国的首都，也是法国最大的城市。")
SWITCHED = alpaca(
    "如何保持健康？", "保持健康需要均衡饮食，然后evaluate一下自己的performance，每天坚持运动。"
)

MISMATCH_REASON = "lang_mismatch: answer in zh (1.00), expected en (the prompt's language)"
SWITCH_REASON = "code_switch: English inside Chinese, 2 spans: 'evaluate', 'performance'"


def write_jsonl(path: Path, records: list[dict[str, str] | None]) -> Path:
    """One record per line; None leaves a blank line (line numbers must still be right)."""
    lines = ["" if r is None else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "mixed.jsonl", [GOOD_ZH, MISMATCH, None, SWITCHED, GOOD_EN])
    write_jsonl(tmp_path / "clean.jsonl", [GOOD_ZH, GOOD_EN, GOOD_ZH])
    return tmp_path


# ---------------------------------------------------------------------------------------------
# The CLI: exact output, exit codes


def test_failing_rules_exact_output(data: Path) -> None:
    result = run("check", "mixed.jsonl")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"mixed.jsonl:2: {MISMATCH_REASON}",
        f"mixed.jsonl:4: {SWITCH_REASON}",  # line 3 is blank: ROW is the line, not the index
        "FAIL lang_mismatch (max count 0): mixed.jsonl 1 of 4 records (25%)",
        "FAIL code_switch (max count 0): mixed.jsonl 1 of 4 records (25%)",
        "PASS zh_variant_mix (max count 0): none",
        "PASS punct_mismatch (max count 0): none",
        "PASS empty_response (max count 0): none",
        "langaudit check: 2 of 5 rules failed (1 file, 4 records)",
    ]
    assert result.stderr == ""


def test_rules_that_hold_exit_0_and_list_no_records(data: Path) -> None:
    result = run(
        "check", "mixed.jsonl", "--max-rate", "code_switch=0.25", "--max-count", "lang_mismatch=1"
    )
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "PASS lang_mismatch (max count 1): 1 of 4 records (25%)",
        "PASS code_switch (max rate 25%): 1 of 4 records (25%)",  # at the limit holds
        "PASS zh_variant_mix (max count 0): none",
        "PASS punct_mismatch (max count 0): none",
        "PASS empty_response (max count 0): none",
        "langaudit check: all rules hold (1 file, 4 records)",
    ]


def test_only_the_failing_rules_list_their_records(data: Path) -> None:
    result = run("check", "mixed.jsonl", "--max-rate", "code_switch=1%")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[:3] == [
        f"mixed.jsonl:2: {MISMATCH_REASON}",
        f"mixed.jsonl:4: {SWITCH_REASON}",
        "FAIL lang_mismatch (max count 0): mixed.jsonl 1 of 4 records (25%)",
    ]
    result = run("check", "mixed.jsonl", "--max-rate", "code_switch=0.3")
    assert [line for line in result.stdout.splitlines() if ": code_switch:" in line] == []


def test_rules_hold_per_file(data: Path) -> None:
    result = run("check", "clean.jsonl", "mixed.jsonl", "--max-rate", "code_switch=0.2")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "FAIL code_switch (max rate 20%): mixed.jsonl 1 of 4 records (25%)" in lines
    assert "FAIL lang_mismatch (max count 0): mixed.jsonl 1 of 4 records (25%)" in lines
    assert lines[-1] == "langaudit check: 2 of 5 rules failed (2 files, 7 records)"
    assert run("check", "clean.jsonl").exit_code == 0


def test_findings_are_capped_with_a_count_of_the_rest(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "many.jsonl", [MISMATCH] * 7)
    result = run("check", str(path), "--max-lines", "3")
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        f"{path}:1: {MISMATCH_REASON}",
        f"{path}:2: {MISMATCH_REASON}",
        f"{path}:3: {MISMATCH_REASON}",
        "... and 4 more (--max-lines to see them)",
    ]
    assert run("check", str(path), "--max-lines", "0").stdout.startswith("... and 7 more")


def test_zh_share_bounds(data: Path) -> None:
    # mixed.jsonl: responses zh, zh, zh, en -> 0.75
    result = run("check", "mixed.jsonl", "--zh-share", "0.8:", "--max-rate", "code_switch=1")
    assert result.exit_code == 1
    assert "FAIL zh_share (Chinese share 0.8:): mixed.jsonl 0.75" in result.stdout.splitlines()
    result = run(
        "check",
        "mixed.jsonl",
        "--zh-share",
        "0.6:0.9",
        "--max-rate",
        "code_switch=1",
        "--max-rate",
        "lang_mismatch=1",
    )
    assert result.exit_code == 0
    assert "PASS zh_share (Chinese share 0.6:0.9): 0.75" in result.stdout.splitlines()


def test_options_take_exactly_one_value_and_never_swallow_file_names(data: Path) -> None:
    # as pre-commit appends them: options first, then every file
    result = run("check", "--zh-share", "0.5:1", "--max-rate", "code_switch=1", "clean.jsonl",
                 "mixed.jsonl")  # fmt: skip
    assert result.stdout.splitlines()[-1].endswith("(2 files, 7 records)")
    # a limit without FLAG= is an error, not a flag taking the next file name as its value
    result = run("check", "--max-count", "mixed.jsonl", "clean.jsonl")
    assert result.exit_code == 2
    assert "expected FLAG=N" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--max-rate", "code_swtch=0.1"], "unknown flag 'code_swtch' (did you mean 'code_switch"),
        (["--max-rate", "code_switch=2"], "expected a rate between 0 and 1"),
        (["--max-rate", "code_switch=200%"], "a rate is between 0 and 1"),
        (["--max-count", "lang_mismatch=-1"], "expected a whole number >= 0"),
        (["--max-count", "lang_mismatch=0.5"], "expected a whole number >= 0"),
        (["--zh-share", "0.9:0.6"], "0.9 is above 0.6"),
        (["--zh-share", "lots"], "bad Chinese share 'lots'"),
        (["--expect", "klingon"], "unknown language 'klingon'"),
        (["--max-lines", "-1"], "-1 is not in the range"),
    ],
)
def test_usage_errors_exit_2(data: Path, args: list[str], message: str) -> None:
    result = run("check", "mixed.jsonl", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_input_errors_exit_2_with_the_location(data: Path) -> None:
    (data / "broken.jsonl").write_text(json.dumps(GOOD_ZH) + "\n{not json\n", encoding="utf-8")
    result = run("check", "broken.jsonl")
    assert result.exit_code == 2
    assert result.stderr.startswith("broken.jsonl:2: invalid JSON")
    assert run("check", "missing.jsonl").exit_code == 2


def test_skipped_records_are_counted_on_stderr(data: Path) -> None:
    text = json.dumps(GOOD_ZH, ensure_ascii=False) + "\n{not json\n"
    (data / "broken.jsonl").write_text(text, encoding="utf-8")
    result = run("check", "broken.jsonl", "--on-error", "skip", "--bad-lines", "bad.txt")
    assert result.exit_code == 0
    assert result.stderr == "skipped 1 unreadable record\n"
    assert Path("bad.txt").read_text(encoding="utf-8") == "{not json\n"


def test_rows_of_csv_json_and_parquet(tmp_path: Path) -> None:
    rows = [GOOD_ZH, MISMATCH]
    with open(tmp_path / "d.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["instruction", "input", "output"])
        writer.writeheader()
        writer.writerow({**GOOD_ZH, "output": "长城很长。\n它在中国北方，全长两万多公里。"})
        writer.writerow(MISMATCH)
    (tmp_path / "d.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "d.parquet")
    found = langaudit.check(
        [tmp_path / "d.csv", tmp_path / "d.json", tmp_path / "d.parquet"], config=False
    ).findings
    # CSV: the line the record starts on (the first record spans lines 2-3); arrays: from 1
    assert [(Path(f.path).name, f.row) for f in found] == [
        ("d.csv", 4),
        ("d.json", 2),
        ("d.parquet", 2),
    ]


def test_a_file_without_records_to_check_fails(tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_text("[]\n", encoding="utf-8")
    (tmp_path / "garbage.jsonl").write_bytes(b"\x00\xff garbage\n{broken\n")
    result = run("check", str(tmp_path / "empty.json"))
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        f"FAIL records (at least 1): {tmp_path / 'empty.json'} no records"
    )
    result = run("check", str(tmp_path / "garbage.jsonl"), "--on-error", "skip")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].endswith("no records, 2 unreadable records skipped")
    assert result.stdout.splitlines()[-1] == (
        "langaudit check: 1 of 6 rules failed (1 file, 0 records, 2 unreadable skipped)"
    )


def test_a_count_exactly_at_a_percentage_limit_holds(tmp_path: Path) -> None:
    empty = alpaca("请介绍一下长城。", "")
    path = write_jsonl(tmp_path / "d.jsonl", [empty] * 7 + [GOOD_ZH] * 993)
    for limit in ("0.7%", "0.007"):
        result = langaudit.check(path, max_rate={"empty_response": limit}, config=False)
        assert result.ok, limit  # 7 of 1,000: 0.7% is a float just under 7 / 1000
    assert not langaudit.check(path, max_rate={"empty_response": "0.6%"}, config=False).ok


def test_the_same_file_twice_is_checked_once(data: Path) -> None:
    result = run("check", "mixed.jsonl", "./mixed.jsonl", str(data / "mixed.jsonl"))
    assert result.stdout.splitlines()[-1].endswith("(1 file, 4 records)")


def test_a_corrupt_compressed_file_is_an_input_error(tmp_path: Path) -> None:
    text = "\n".join(json.dumps(GOOD_ZH, ensure_ascii=False) for _ in range(500)) + "\n"
    data = gzip.compress(text.encode())
    (tmp_path / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    result = run("check", str(tmp_path / "cut.jsonl.gz"))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{tmp_path / 'cut.jsonl.gz'}: cannot read the file to its end")


def test_multi_turn_findings_name_the_turn(tmp_path: Path) -> None:
    record = {
        "messages": [
            {"role": "user", "content": "今天天气怎么样？"},
            {"role": "assistant", "content": "今天是晴天，气温二十度左右，适合出门散步。"},
            {"role": "user", "content": "那明天呢？会下雨吗？"},
            {"role": "assistant", "content": "Tomorrow it will probably rain in the afternoon."},
        ]
    }
    path = write_jsonl(tmp_path / "chat.jsonl", [record])
    (finding,) = langaudit.check(path, config=False).findings
    assert str(finding) == (
        f"{path}:1: lang_mismatch: turn 3: answer in en (0.95), expected zh (the prompt's language)"
    )


def test_check_does_not_import_datasets_or_pandas(data: Path) -> None:
    assert modules_after(["check", "mixed.jsonl"], ("datasets", "pandas")) == ["1"]


# ---------------------------------------------------------------------------------------------
# The Python API


def test_check_api_result(data: Path) -> None:
    result = langaudit.check(["mixed.jsonl", "clean.jsonl"], max_rate={"code_switch": "30%"})
    assert not result.ok and result.exit_code == 1
    assert [str(f) for f in result.findings] == [f"mixed.jsonl:2: {MISMATCH_REASON}"]
    assert result.more == 0 and result.records == 7
    (failure,) = result.failures
    assert (failure.path, failure.rule.name, failure.rule.kind, failure.count) == (
        "mixed.jsonl",
        "lang_mismatch",
        "max_count",
        1,
    )
    files = {f.path: f for f in result.files}
    assert files["mixed.jsonl"].zh_share == 0.75
    assert files["clean.jsonl"].zh_share == pytest.approx(2 / 3)
    assert (
        result.lines()
        == run(
            "check", "mixed.jsonl", "clean.jsonl", "--max-rate", "code_switch=30%"
        ).stdout.splitlines()
    )


def test_check_api_refuses_unknown_options_and_flags(data: Path) -> None:
    with pytest.raises(UsageError, match="unknown option"):
        langaudit.check("mixed.jsonl", expct="zh")
    with pytest.raises(UsageError, match="did you mean 'lang_mismatch'"):
        langaudit.check("mixed.jsonl", max_count={"lang_mismatc": 0})


def test_expect_makes_english_answers_mismatches(data: Path) -> None:
    result = langaudit.check("clean.jsonl", expect="zh", config=False)
    assert [str(f) for f in result.findings] == [
        "clean.jsonl:2: lang_mismatch: answer in en (0.97), expected zh (--expect)"
    ]


def test_the_readme_example_is_real_output(monkeypatch: pytest.MonkeyPatch) -> None:
    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    block = readme.split("$ cd examples && langaudit check ", 1)[1].split("```", 1)[0]
    command, *shown = block.replace("\\\n", "").splitlines()
    monkeypatch.chdir(root / "examples")
    result = run("check", *command.split())
    assert result.exit_code == 1
    assert result.stdout.splitlines() == shown
