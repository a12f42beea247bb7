"""The audit report: mergeable statistics, contents, JSON, terminal, CLI."""

from __future__ import annotations

import io
import json
import random
import re
from pathlib import Path

import pytest
from rich.console import Console

import langaudit
from cli_helpers import run
from langaudit.api import sources_of
from langaudit.config import AuditConfig
from langaudit.engine import scan_source_with_turns
from langaudit.judge import FLAGS
from langaudit.report import HISTOGRAM_BINS, SCHEMA_VERSION, AuditStats, Report
from langaudit.report_text import MAX_WIDTH, print_report
from stats_helpers import stats_per_batch

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SHAREGPT = EXAMPLES / "sharegpt_chat.jsonl"


def _records() -> list[dict[str, object]]:
    """Records with every flag, in ShareGPT form."""

    def pair(prompt: str, answer: str) -> dict[str, object]:
        return {
            "conversations": [
                {"from": "human", "value": prompt},
                {"from": "gpt", "value": answer},
            ]
        }

    return [
        pair("介绍一下长城。", "长城是中国古代的军事防御工程，全长两万多公里。"),
        pair("How do I boil an egg?", "把鸡蛋放进沸水里煮八分钟，然后放进冷水里。"),
        pair("怎么学英语？", "学英语最重要的是坚持，然后evaluate一下自己的performance。"),
        pair("你好吗？", "我很好,谢谢你.今天天气不错."),
        pair("台北有什么好吃的？", "台北的夜市非常有名，像士林夜市的大雞排和蚵仔煎都很受欢迎。"),
        pair("在吗？", ""),
        pair("What is the capital of France?", "The capital of France is Paris."),
    ]


def _write_jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    return path


# ---------------------------------------------------------------------------------------------
# Mergeable statistics


@pytest.mark.parametrize("batch_records", [1, 3, 7])
def test_statistics_of_batches_merge_to_those_of_the_whole(batch_records: int) -> None:
    whole = AuditStats.merged(stats_per_batch(SHAREGPT, 10_000, examples=3))
    parts = stats_per_batch(SHAREGPT, batch_records, examples=3)
    assert len(parts) > 1
    random.Random(batch_records).shuffle(parts)  # the order of merging does not matter
    merged = AuditStats.merged(parts)
    assert merged.to_dict() == whole.to_dict()
    assert merged.records == 21
    assert sum(len(v) for v in merged.to_dict()["examples"].values()) > 0


def test_audit_of_several_files_equals_the_merge_of_their_audits(tmp_path: Path) -> None:
    records = _records() * 3
    random.Random(0).shuffle(records)
    files = [
        _write_jsonl(tmp_path / "a.jsonl", records[:8]),
        _write_jsonl(tmp_path / "b.jsonl", records[8:13]),
        _write_jsonl(tmp_path / "c.jsonl", records[13:]),
    ]
    together = langaudit.audit([str(f) for f in files], examples=2).stats
    apart = [langaudit.audit(str(f), examples=2).stats for f in files]
    assert AuditStats.merged(reversed(apart)).to_dict() == together.to_dict()
    assert together.records == len(records)


def test_counts_add_up_to_the_records() -> None:
    report = langaudit.audit(str(EXAMPLES))
    s = report.summary
    assert s["records"] == 102
    for role, counts in s["languages"].items():
        assert sum(counts.values()) == s["records"], role
    assert sum(map(sum, s["matrix"]["counts"])) == s["records"]
    assert sum(s["expected_sources"].values()) == s["records"]
    assert sum(src["records"] for src in s["sources"]) == s["records"]
    table = report.table
    assert table is not None and table.num_rows == s["records"]
    flags = [f for row in table.column("flags").to_pylist() for f in row]
    for flag in FLAGS:
        assert s["flags"][flag]["count"] == flags.count(flag)
    flagged = sum(1 for row in table.column("flags").to_pylist() if row)
    assert s["flagged"] == flagged
    letters = table.column("response_letters").to_pylist()
    assert sum(s["histograms"]["response_han"]) == sum(1 for n in letters if n)
    responses = table.column("response_lang").to_pylist()
    known = [r for r in responses if r not in (None, "und")]
    assert s["zh_share"] == pytest.approx(known.count("zh") / len(known), abs=1e-6)


# ---------------------------------------------------------------------------------------------
# Contents


def test_examples_show_the_worst_records_with_highlights(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "d.jsonl", _records())
    s = langaudit.audit(str(path)).summary
    switch = s["examples"]["code_switch"]
    assert [e["index"] for e in switch] == [2]
    e = switch[0]
    assert [e["response"][a:b] for a, b in e["highlights"]] == ["evaluate", "performance"]
    assert "English inside Chinese" in e["reason"] and "'evaluate'" in e["reason"]
    assert e["prompt"] == "怎么学英语？"
    mismatch = s["examples"]["lang_mismatch"]
    assert [x["index"] for x in mismatch] == [1]
    assert "expected en" in mismatch[0]["reason"] and "answer in zh" in mismatch[0]["reason"]
    punct = s["examples"]["punct_mismatch"][0]
    assert {punct["response"][a:b] for a, b in punct["highlights"]} == {",", "."}
    variant = s["examples"]["zh_variant_mix"][0]
    # one Simplified-only (欢) and one Traditional-only (雞) character: one of them is marked
    assert len({variant["response"][a:b] for a, b in variant["highlights"]} & set("雞欢")) == 1
    assert s["examples"]["empty_response"][0]["index"] == 5


def test_examples_are_capped_and_ordered_by_severity(tmp_path: Path) -> None:
    short = {
        "conversations": [
            {"from": "human", "value": "怎么样？"},
            {"from": "gpt", "value": "这个idea不错。"},
        ]
    }
    long = {
        "conversations": [
            {"from": "human", "value": "怎么样？"},
            {"from": "gpt", "value": "这个 idea 的 performance 和 quality 都不错。"},
        ]
    }
    path = _write_jsonl(tmp_path / "e.jsonl", [short, long, short, long, short])
    s = langaudit.audit(str(path), examples=3).summary
    indices = [e["index"] for e in s["examples"]["code_switch"]]
    assert indices == [1, 3, 0]  # most switched characters first, then record order


def test_long_responses_are_excerpted_around_the_first_highlight(tmp_path: Path) -> None:
    text = "这是一段很长的中文回答。" * 200 + "然后我们evaluate一下。" + "后面还有很多内容。" * 100
    record = {
        "conversations": [{"from": "human", "value": "说说看"}, {"from": "gpt", "value": text}]
    }
    path = _write_jsonl(tmp_path / "f.jsonl", [record])
    e = langaudit.audit(str(path)).summary["examples"]["code_switch"][0]
    assert len(e["response"]) <= 800 and e["clipped_before"] and e["clipped_after"]
    assert [e["response"][a:b] for a, b in e["highlights"]] == ["evaluate"]


def test_recommendations_name_the_exact_rewrite_command(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "data.jsonl", _records())
    recs = {r["id"]: r for r in langaudit.audit(str(path), expect=None).summary["recommendations"]}
    assert recs["tag_mismatches"]["count"] == 1
    assert recs["tag_mismatches"]["commands"] == [
        f"langaudit rewrite {path} -o {tmp_path / 'data.fixed.jsonl'} "
        "--tag instruction --tag-when mismatch"
    ]
    assert recs["drop_code_switch"]["commands"] == [
        f"langaudit rewrite {path} -o {tmp_path / 'data.fixed.jsonl'} --drop code_switch "
        f"--rejects {tmp_path / 'data.rejects.jsonl'}"
    ]
    # 5 of the 6 responses with a language are Chinese (83%): lopsided, rebalanced to 70%
    assert recs["rebalance"]["commands"] == [
        f"langaudit rewrite {path} -o {tmp_path / 'data.fixed.jsonl'} "
        "--zh-share 0.7 --mode up --seed 0"
    ]


def test_recommendations_carry_the_judging_options(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "data.jsonl", _records())
    report = langaudit.audit(str(path), expect="zh", strictness="strict", zh_share=0.5)
    recs = {r.id: r for r in report.recommendations}
    assert "drop_mismatches" in recs  # answers in English against --expect zh
    assert recs["drop_mismatches"].commands[0].endswith("--expect zh --strictness strict")
    rebalance = recs["rebalance"]
    assert "--zh-share 0.5 --mode up --seed 0" in rebalance.commands[0]


def test_a_clean_dataset_gets_no_recommendation(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "clean.jsonl", [_records()[0], _records()[-1]])
    report = langaudit.audit(str(path))
    assert report.summary["flagged"] == 0
    assert report.recommendations == []
    out = io.StringIO()
    report.print(Console(file=out, width=100))
    assert "nothing to fix" in out.getvalue()


# ---------------------------------------------------------------------------------------------
# JSON


def test_json_report_is_documented_and_typed(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    report = langaudit.audit(str(EXAMPLES))
    text = report.to_json(target)
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data == json.loads(text)
    assert data["schema_version"] == SCHEMA_VERSION
    doc = (ROOT / "docs" / "audit-json.md").read_text(encoding="utf-8")
    for key in data:
        assert f"`{key}`" in doc, f"{key} is not documented in docs/audit-json.md"
    assert isinstance(data["records"], int) and isinstance(data["flagged_rate"], float)
    assert all(isinstance(v["rate"], float) for v in data["flags"].values())
    assert list(data["flags"]) == list(FLAGS)
    assert len(data["histograms"]["response_han"]) == HISTOGRAM_BINS
    assert "中文" not in text or "\\u" not in text  # non-ASCII written as is


def test_json_keys_are_stable_for_an_empty_input(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    full = langaudit.audit(str(EXAMPLES)).summary
    none = langaudit.audit(str(empty)).summary
    assert list(none) == list(full)
    assert none["records"] == 0 and none["zh_share"] is None
    assert none["sources"] == [
        {
            "source": str(empty),
            "records": 0,
            "skipped": 0,
            "flagged": 0,
            "flags": dict.fromkeys(FLAGS, 0),
            "implicit_mismatches": 0,
            "dataset": None,
        }
    ]
    assert none["registry"] is None


# ---------------------------------------------------------------------------------------------
# Terminal


def _terminal(report: Report, **console: object) -> str:
    out = io.StringIO()
    report.print(Console(file=out, width=MAX_WIDTH, **console))  # type: ignore[arg-type]
    return out.getvalue()


def test_terminal_report_fits_100_columns_without_colour_when_not_a_tty() -> None:
    text = _terminal(langaudit.audit(str(EXAMPLES)))
    assert "\x1b[" not in text
    for line in text.splitlines():
        if not line.startswith("   $ langaudit rewrite"):  # commands stay whole, to be copied
            assert len(line) <= MAX_WIDTH, line
    for heading in ("Flags", "Languages per role", "Prompt language", "Recommendations"):
        assert heading in text
    assert "worst code_switch" in text


def test_no_color_turns_colour_off_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    report = langaudit.audit(str(EXAMPLES))
    coloured = _terminal(report, force_terminal=True)
    assert re.search(r"\x1b\[[0-9;]*3[0-7]m|\x1b\[[0-9;]*38;", coloured)
    monkeypatch.setenv("NO_COLOR", "1")
    plain = _terminal(report, force_terminal=True)
    assert not re.search(r"\x1b\[[0-9;]*(?:3[0-7]|38;[0-9;]+|9[0-7])m", plain)


def test_print_report_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    print_report(langaudit.audit(str(SHAREGPT)).summary)
    assert "Flags" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# CLI


def test_audit_command_writes_json_and_html(tmp_path: Path) -> None:
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    result = run("audit", str(EXAMPLES), "--json", str(out_json), "--html", str(out_html))
    assert result.exit_code == 0, result.output
    assert "Recommendations" in result.output
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert data["records"] == 102 and data["inputs"] == [str(EXAMPLES)]
    assert out_html.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_audit_quiet_prints_nothing(tmp_path: Path) -> None:
    result = run("audit", str(SHAREGPT), "-q", "--json", str(tmp_path / "r.json"))
    assert result.exit_code == 0 and result.output == ""


def test_audit_refuses_to_write_a_report_over_an_input(tmp_path: Path) -> None:
    data = _write_jsonl(tmp_path / "d.jsonl", _records())
    result = run("audit", str(data), "--json", str(data))
    assert result.exit_code == 2
    assert "would overwrite an input" in result.output
    assert json.loads(data.read_text(encoding="utf-8").splitlines()[0])


def test_audit_bad_input_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "hi", "output": "ok"}\n{"instruction": \n', encoding="utf-8")
    result = run("audit", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:2:" in result.output
    skipped = run("audit", str(bad), "--on-error", "skip", "--json", str(tmp_path / "r.json"))
    assert skipped.exit_code == 0
    assert json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["skipped"] == 1


@pytest.mark.parametrize("args", [["--zh-share", "1.5"], ["--examples", "-1"]])
def test_audit_rejects_bad_option_values(args: list[str]) -> None:
    result = run("audit", str(SHAREGPT), *args)
    assert result.exit_code == 2


def test_progress_callback_sees_every_record() -> None:
    seen: list[int] = []
    langaudit.audit(str(EXAMPLES), progress=lambda src, n: seen.append(n), keep_table=False)
    assert sum(seen) == 102


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    """On a terminal, stderr shows a progress bar with the record count and rate; it is
    transient and never mixes into stdout."""
    import os
    import pty
    import select
    import subprocess
    import sys

    big = _write_jsonl(tmp_path / "big.jsonl", _records() * 400)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "langaudit", "audit", str(big), "--json", str(tmp_path / "r.json")],
        stdout=subprocess.PIPE,
        stderr=slave,
        env={**os.environ, "COLUMNS": "120", "TERM": "xterm"},
    )
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    stdout = proc.stdout.read() if proc.stdout else b""
    proc.wait(timeout=60)
    os.close(master)
    assert proc.returncode == 0
    text = seen.decode("utf-8", "replace")
    assert "auditing" in text and "records," in text and "/s" in text, text[-2000:]
    assert b"auditing" not in stdout and b"Flags" in stdout


def test_a_batch_holding_several_sources_counts_each(tmp_path: Path) -> None:
    """Batches from elsewhere (a Ray dataset, a concatenated table) may mix sources."""
    import pyarrow as pa

    records = _records()
    files = [
        _write_jsonl(tmp_path / "x.jsonl", records),
        _write_jsonl(tmp_path / "y.jsonl", records[:4]),
    ]
    separate = AuditStats(examples=3)
    pieces, entries = [], []
    for f in files:
        for src in sources_of(f):
            separate.add_source(src.name)
            for batch_entries, batch in scan_source_with_turns(src, AuditConfig()):
                separate.add_batch(batch, batch_entries)
                pieces.append(batch)
                entries.extend(batch_entries)
    mixed_batch = pa.Table.from_batches(pieces).combine_chunks().to_batches()[0]
    assert mixed_batch.num_rows == len(records) + 4
    mixed = AuditStats(examples=3)
    mixed.add_batch(mixed_batch, entries)
    assert mixed.to_dict() == separate.to_dict()
