"""Differences between audit reports: ``langaudit diff``, ``audit --baseline``, ``check
--baseline [--no-regress]``, on real files through the real CLI."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

import langaudit
from cli_helpers import modules_after, run
from langaudit.config import ShareRange
from langaudit.diff import change, compare, points, regressions
from langaudit.gate import plan_check, run_check
from langaudit.report import SCHEMA_VERSION
from langaudit.report_json import REPORT_SCHEMA


def alpaca(instruction: str, output: str) -> dict[str, str]:
    return {"instruction": instruction, "input": "", "output": output}


NEURAL = alpaca(  # an English prompt answered in Chinese: lang_mismatch, in both versions
    "Explain what a neural network is.",
    "神经网络是一种模仿人脑结构的计算模型，由许多相互连接的神经元组成，可以从数据中学习规律。",
)
WALL = alpaca(
    "介绍一下长城。", "长城是中国古代的军事防御工程，东起山海关，西至嘉峪关，全长两万多公里。"
)
ENGLISH = alpaca("怎么学英语？", "学英语最重要的是坚持，然后evaluate一下自己的performance。")
ENGLISH_FIXED = alpaca("怎么学英语？", "学英语最重要的是坚持，每天读一点，写一点，再听一点。")
HELLO = alpaca("你好吗？", "我很好，谢谢你。今天天气不错，我们出去走走吧。")
HELLO_SWITCHED = alpaca("你好吗？", "我很好，谢谢你。今天的weather很nice，我们去hiking吧。")
PARIS = alpaca("What is the capital of France?", "The capital of France is Paris.")
EGGS = alpaca(
    "如何做番茄炒蛋？", "先把鸡蛋打散炒熟盛出，再炒番茄，最后把鸡蛋倒回去一起翻炒，加盐调味。"
)
COOK = alpaca(  # flagged in both versions, at another position in the new one
    "Give me one tip for learning to cook.",
    "学做饭最重要的是多练习，然后evaluate一下自己的progress，慢慢就会做了。",
)
LEAF = alpaca(
    "什么是光合作用？", "光合作用是植物利用阳光，把二氧化碳和水变成有机物并释放氧气的过程。"
)
BOOK = alpaca("推荐一本书。", "我推荐《三体》，这本书的story非常amazing，值得一读。")

OLD = [NEURAL, WALL, ENGLISH, HELLO, PARIS, EGGS, COOK]
# one record more in front (every index shifts), ENGLISH fixed, HELLO and BOOK code-switched
NEW = [LEAF, NEURAL, WALL, ENGLISH_FIXED, HELLO_SWITCHED, PARIS, EGGS, COOK, BOOK]
LENIENT = ["--max-rate", "lang_mismatch=1", "--max-rate", "code_switch=1"]


def write_jsonl(path: Path, records: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def audit_json(data: str, report: str, *options: str) -> dict[str, Any]:
    result = run("audit", data, "--json", report, "-q", *options)
    assert result.exit_code == 0, result.output
    return json.loads(Path(report).read_text(encoding="utf-8"))


@pytest.fixture
def reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """old.jsonl and new.jsonl audited to old.json and new.json, in the current folder."""
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "old.jsonl", OLD)
    write_jsonl(tmp_path / "new.jsonl", NEW)
    audit_json("old.jsonl", "old.json")
    audit_json("new.jsonl", "new.json")
    return tmp_path


def _rows(diff: dict[str, Any], key: str) -> list[tuple[str, int, list[str]]]:
    return [(r["source"], r["index"], r["flags"]) for r in diff[key]["records"]]


# ---------------------------------------------------------------------------------------------
# langaudit diff


def test_the_audit_json_lists_the_flagged_records_by_fingerprint(reports: Path) -> None:
    old = json.loads(Path("old.json").read_text(encoding="utf-8"))
    (source,) = old["flagged_records"]
    assert source["source"] == "old.jsonl"
    rows = source["records"]
    assert [(index, flags) for index, _, flags in rows] == [
        (0, ["lang_mismatch"]),
        (2, ["code_switch"]),
        (6, ["lang_mismatch", "code_switch"]),
    ]
    assert all(len(fingerprint) == 16 and int(fingerprint, 16) >= 0 for _, fingerprint, _ in rows)
    new = json.loads(Path("new.json").read_text(encoding="utf-8"))
    by_index = {
        index: fingerprint for index, fingerprint, _ in new["flagged_records"][0]["records"]
    }
    assert by_index[1] == rows[0][1] and by_index[7] == rows[2][1]  # same answers, shifted


def test_diff_shows_the_changes_and_the_newly_failing_records(reports: Path) -> None:
    result = run("diff", "old.json", "new.json", "--json", "diff.json")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("langaudit diff: old.json (7 records) → new.json (9 records)\n")
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 3}
    assert "42.86%" in lines["flagged (any flag)"] and "↑ +1.59 pts" in lines["flagged (any flag)"]
    # code_switch 2 of 7 -> 3 of 9; lang_mismatch 2 of 7 -> 2 of 9
    assert "28.57%" in lines["code_switch"] and "33.33%" in lines["code_switch"]
    assert "↑ +4.76 pts" in lines["code_switch"]
    assert "↓ -6.35 pts" in lines["lang_mismatch"]
    assert "= 0 pts" in lines["empty_response"]
    assert "Only in the old report: old.jsonl" in out and "Only in the new report: new.jsonl" in out
    assert "Newly failing records: 2  (no longer failing: 1)" in out
    assert "new.jsonl[4]  code_switch  English inside Chinese, 3 spans: 'weather'" in out
    assert "new.jsonl[8]  code_switch" in out
    diff = json.loads(Path("diff.json").read_text(encoding="utf-8"))
    # not the fixed record, not the records flagged in both at other positions
    assert _rows(diff, "newly_failing") == [
        ("new.jsonl", 4, ["code_switch"]),
        ("new.jsonl", 8, ["code_switch"]),
    ]
    assert _rows(diff, "no_longer_failing") == [("old.jsonl", 2, ["code_switch"])]
    assert diff["flags"]["code_switch"]["count"] == change(2, 3)
    assert diff["flagged_rate"] == {
        "old": 0.428571,
        "new": 0.444444,
        "change": 0.015873,
        "direction": "up",
    }
    assert [r["rate"] for r in diff["regressions"]] == ["flagged_rate", "code_switch"]


def test_diff_json_is_documented(reports: Path) -> None:
    run("diff", "old.json", "new.json", "--json", "diff.json", "-q")
    diff = json.loads(Path("diff.json").read_text(encoding="utf-8"))
    doc = (Path(__file__).resolve().parents[1] / "docs" / "diff-json.md").read_text("utf-8")
    for key in diff:
        assert f"`{key}`" in doc, key
    for key in diff["newly_failing"]["records"][0]:
        assert f"`{key}`" in doc, key


def test_language_shares_that_moved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "a.jsonl", [WALL, PARIS])
    write_jsonl(tmp_path / "b.jsonl", [WALL, WALL, WALL, PARIS])  # same file name below
    audit_json("a.jsonl", "a.json")
    Path("a.jsonl").replace("a-old.jsonl")
    Path("b.jsonl").replace("a.jsonl")
    audit_json("a.jsonl", "b.json")
    out = run("diff", "a.json", "b.json", "--json", "d.json").stdout
    assert "│ response │ zh       │ 50.00% │ 75.00% │ ↑ +25.00 pts │" in out
    assert "│ prompt   │ en       │ 50.00% │ 25.00% │ ↓ -25.00 pts │" in out
    assert "system" not in out  # no system prompt in either: nothing moved
    diff = json.loads(Path("d.json").read_text(encoding="utf-8"))
    (matched,) = diff["sources"]["matched"]
    assert matched["source"] == "a.jsonl" and matched["records"] == change(2, 4)
    assert diff["sources"]["only_old"] == diff["sources"]["only_new"] == []
    assert diff["zh_share"] == change(0.5, 0.75)


def test_records_whose_prompt_only_got_a_tag_do_not_newly_fail(reports: Path) -> None:
    result = run("rewrite", "old.jsonl", "-o", "tagged.jsonl", "--tag", "instruction",
                 "--tag-when", "always", "-q")  # fmt: skip
    assert result.exit_code == 1  # rewritten
    tagged = [json.loads(line) for line in Path("tagged.jsonl").read_text("utf-8").splitlines()]
    assert all(t["instruction"] != o["instruction"] for t, o in zip(tagged, OLD, strict=True))
    assert [t["output"] for t in tagged] == [o["output"] for o in OLD]
    after = audit_json("tagged.jsonl", "tagged.json")
    assert after["flags"]["code_switch"]["count"] == 2  # still flagged: matched by fingerprint
    run("diff", "old.json", "tagged.json", "--json", "diff.json", "-q")
    diff = json.loads(Path("diff.json").read_text(encoding="utf-8"))
    assert diff["newly_failing"]["count"] == 0
    # the instructions made the answers in Chinese to English prompts intended
    assert _rows(diff, "no_longer_failing") == [
        ("old.jsonl", 0, ["lang_mismatch"]),
        ("old.jsonl", 6, ["lang_mismatch"]),
    ]


def test_repeated_records_newly_fail_beyond_the_old_count() -> None:
    def report(*rows: tuple[str, int, str, list[str]]) -> dict[str, Any]:
        sources: dict[str, list[Any]] = {}
        for source, index, fingerprint, flags in rows:
            sources.setdefault(source, []).append([index, fingerprint, flags])
        return {
            **_empty_report(),
            "flagged_records": [{"source": s, "records": r} for s, r in sources.items()],
        }

    old = report(("a", 3, "f1", ["code_switch"]), ("a", 5, "f2", ["lang_mismatch"]))
    new = report(
        ("b", 0, "f1", ["code_switch"]),
        ("b", 1, "f1", ["code_switch", "punct_mismatch"]),  # a copy, with one more flag
        ("b", 2, "f2", ["code_switch"]),  # same answer, another flag: lang_mismatch gone
    )
    diff = compare(old, new)
    assert _rows(diff, "newly_failing") == [
        ("b", 1, ["code_switch", "punct_mismatch"]),
        ("b", 2, ["code_switch"]),
    ]
    assert diff["newly_failing"]["flags"] == 3
    assert _rows(diff, "no_longer_failing") == [("a", 5, ["lang_mismatch"])]


def test_a_report_without_flagged_records_compares_rates_only(reports: Path) -> None:
    old = json.loads(Path("old.json").read_text(encoding="utf-8"))
    del old["flagged_records"]  # as an older langaudit wrote it
    Path("older.json").write_text(json.dumps(old, ensure_ascii=False), encoding="utf-8")
    result = run("diff", "older.json", "new.json", "--json", "diff.json")
    assert result.exit_code == 0
    assert "Newly failing" not in result.stdout
    assert "Note: the old report has no flagged_records" in result.stdout
    diff = json.loads(Path("diff.json").read_text(encoding="utf-8"))
    assert diff["newly_failing"] is None and diff["flagged_rate"]["direction"] == "up"


def test_diff_lists_the_first_records_in_the_terminal(reports: Path) -> None:
    out = run("diff", "old.json", "new.json", "--max-records", "1").stdout
    assert "new.jsonl[4]" in out and "new.jsonl[8]" not in out
    assert "... and 1 more (all in the JSON: --json FILE)" in out
    assert run("diff", "old.json", "new.json", "-q").stdout == ""


def test_diff_writes_the_new_report_with_the_changes_as_a_page(reports: Path) -> None:
    assert run("diff", "old.json", "new.json", "--html", "diff.html", "-q").exit_code == 0
    page = _Page.of(Path("diff.html"))
    assert "Changes since baseline" in page.headings
    assert "Newly failing records: 2" in page.headings
    assert ["code_switch", "28.57%", "33.33%", "↑ +4.76 pts"] in page.rows
    assert page.rows_starting("new.jsonl [4]")[0][:2] == ["new.jsonl [4]", "code_switch"]


def test_diff_starts_light(reports: Path) -> None:
    """Comparing two JSON files needs neither the language model nor NumPy and Arrow."""
    assert modules_after(
        ["diff", "old.json", "new.json", "-q"], ("numpy", "pyarrow", "pandas")
    ) == ["0"]


def test_diff_refuses_to_write_over_its_inputs(reports: Path) -> None:
    result = run("diff", "old.json", "new.json", "--json", "new.json")
    assert result.exit_code == 2 and "would overwrite an input" in result.stderr
    assert json.loads(Path("new.json").read_text(encoding="utf-8"))["records"] == 9


# ---------------------------------------------------------------------------------------------
# Bad reports


def _empty_report() -> dict[str, Any]:
    return {
        "schema_version": 1,
        "records": 0,
        "skipped": 0,
        "flagged": 0,
        "flagged_rate": 0.0,
        "sources": [],
        "flags": {},
        "languages": {},
        "zh_share": None,
        "examples": {},
    }


BAD_REPORTS = {
    "not-json.json": (
        "{'records': 1",
        "not a langaudit JSON report: bad JSON at line 1, column 2",
    ),
    "list.json": ("[1, 2]", "not a langaudit JSON report (it has no 'schema_version' key)"),
    "scan.json": (
        '{"source": "a.jsonl", "index": 0}',
        "not a langaudit JSON report (it has no 'schema_version' key)",
    ),
    "v2.json": (
        json.dumps({**_empty_report(), "schema_version": 2}),
        "report schema_version 2; this langaudit reads version 1",
    ),
    "no-flags.json": (
        json.dumps({k: v for k, v in _empty_report().items() if k != "flags"}),
        "not a langaudit JSON report: no 'flags' key",
    ),
    "bad-rate.json": (
        json.dumps({**_empty_report(), "flags": {"code_switch": {"count": 1, "rate": "1%"}}}),
        'damaged report: flags.code_switch.rate is "1%"',
    ),
    "bad-row.json": (
        json.dumps({**_empty_report(), "flagged_records": [{"source": "a", "records": [[1]]}]}),
        "damaged report: flagged_records[0].records has a bad row: [1]",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_REPORTS))
@pytest.mark.parametrize("command", ["diff-old", "diff-new", "audit", "check"])
def test_a_bad_report_exits_2_naming_the_file(reports: Path, command: str, name: str) -> None:
    text, problem = BAD_REPORTS[name]
    Path(name).write_text(text, encoding="utf-8")
    args = {
        "diff-old": ["diff", name, "new.json"],
        "diff-new": ["diff", "old.json", name],
        "audit": ["audit", "new.jsonl", "--baseline", name, "--json", "r.json"],
        "check": ["check", "new.jsonl", "--baseline", name, "--no-regress"],
    }[command]
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    first, *rest = result.stderr.splitlines()
    assert first == f"{name}: {problem}" or first.startswith(f"{name}: {problem} ("), first
    if name != "v2.json":
        assert rest == ["  hint: give a report written by: langaudit audit INPUT... --json FILE"]
    assert not Path("r.json").exists()  # nothing audited


def test_the_report_schema_read_is_the_one_written() -> None:
    assert REPORT_SCHEMA == SCHEMA_VERSION


def test_a_missing_or_unreadable_report_exits_2(reports: Path) -> None:
    Path("folder.json").mkdir()
    for name, problem in (("gone.json", "no such file"), ("folder.json", "a directory")):
        result = run("diff", name, "new.json")
        assert result.exit_code == 2 and result.stderr.startswith(f"{name}: {problem}")
    Path("deep.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    result = run("diff", "deep.json", "new.json")
    assert result.exit_code == 2 and result.stderr.startswith("deep.json: not a langaudit JSON")
    Path("latin1.json").write_bytes(b'{"records": "\xe9"}')
    result = run("check", "new.jsonl", "--baseline", "latin1.json")
    assert result.exit_code == 2
    assert result.stderr.startswith("latin1.json: not a langaudit JSON report: not UTF-8 text")


# ---------------------------------------------------------------------------------------------
# audit --baseline


def test_audit_with_a_baseline_shows_the_changes(reports: Path) -> None:
    result = run("audit", "new.jsonl", "--baseline", "old.json", "--json", "r.json", "--html",
                 "r.html")  # fmt: skip
    assert result.exit_code == 0, result.output
    out = result.stdout
    report, changes = out.split("Changes since baseline old.json")
    assert "Recommendations" in report and "Rates (share of records)" not in report
    assert "↑ +4.76 pts" in changes and "new.jsonl[4]  code_switch" in changes
    assert "Newly failing records: 2  (no longer failing: 1)" in changes
    data = json.loads(Path("r.json").read_text(encoding="utf-8"))
    assert list(data)[-2:] == ["recommendations", "baseline"]
    # the same differences as langaudit diff of the two files
    run("diff", "old.json", "new.json", "--json", "diff.json", "-q")
    diff = json.loads(Path("diff.json").read_text(encoding="utf-8"))
    assert diff["new"]["report"] == "new.json" and data["baseline"]["new"]["report"] is None
    diff["new"]["report"] = None
    assert data["baseline"] == diff
    page = _Page.of(Path("r.html"))
    assert page.headings.index("Changes since baseline") < page.headings.index("Flags")
    assert ["flagged (any flag)", "42.86%", "44.44%", "↑ +1.59 pts"] in page.rows
    assert page.cell_classes["↑ +1.59 pts"] == "num worse"
    assert page.cell_classes["↓ -6.35 pts"] == "num better"


def test_audit_without_a_baseline_has_a_null_baseline(reports: Path) -> None:
    data = json.loads(Path("new.json").read_text(encoding="utf-8"))
    assert data["baseline"] is None
    assert "Changes since" not in run("audit", "new.jsonl").stdout


def test_audit_can_write_its_report_over_its_baseline(reports: Path) -> None:
    result = run("audit", "new.jsonl", "--baseline", "new.json", "--json", "new.json", "-q")
    assert result.exit_code == 0
    data = json.loads(Path("new.json").read_text(encoding="utf-8"))
    assert data["baseline"]["newly_failing"]["count"] == 0
    assert data["baseline"]["flagged_rate"]["direction"] == "same"


def test_the_baseline_section_escapes_data_strings(tmp_path: Path) -> None:
    hostile = '<img src=x onerror="alert(1)">'
    old = write_jsonl(tmp_path / f"{hostile}.jsonl", OLD)
    new = write_jsonl(tmp_path / f"new{hostile}.jsonl", NEW)
    langaudit.audit(str(old)).to_json(tmp_path / f"old{hostile}.json")
    html = langaudit.audit(str(new), baseline=tmp_path / f"old{hostile}.json").to_html()
    section = html.split('<h2 id="baseline">')[1].split('<h2 id="flags">')[0]
    assert hostile not in section
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in section
    assert section.count("onerror") == section.count("onerror=&#34;")  # all escaped


# ---------------------------------------------------------------------------------------------
# check --baseline [--no-regress]


def test_check_no_regress_fails_on_a_worse_rate(reports: Path) -> None:
    result = run("check", "new.jsonl", *LENIENT, "--baseline", "old.json", "--no-regress")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    rules = lines.index("langaudit check: all rules hold (1 file, 9 records)")
    assert lines[rules + 1 :] == [
        "REGRESSION flagged rate: 42.86% -> 44.44% (+1.59 pts) since old.json",
        "REGRESSION code_switch rate: 28.57% -> 33.33% (+4.76 pts) since old.json",
        "BETTER lang_mismatch rate: 28.57% -> 22.22% (-6.35 pts) since old.json",
        "NEW new.jsonl[4]: code_switch: newly failing since old.json",
        "NEW new.jsonl[8]: code_switch: newly failing since old.json",
        "note: the files differ (only in the baseline: old.jsonl; not in it: new.jsonl): the "
        "totals are compared",
        "langaudit check --baseline old.json: 2 rates regressed; 2 records newly failing, "
        "1 no longer failing",
    ]


def test_check_no_regress_passes_when_equal_or_better(reports: Path) -> None:
    same = run("check", "old.jsonl", *LENIENT, "--baseline", "old.json", "--no-regress")
    assert same.exit_code == 0, same.output
    assert same.stdout.splitlines()[-1] == (
        "langaudit check --baseline old.json: no rate regressed; 0 records newly failing, "
        "0 no longer failing"
    )
    assert "BETTER" not in same.stdout and "note:" not in same.stdout
    # one code switch fixed, one record with two flags dropped
    write_jsonl(Path("better.jsonl"), [NEURAL, WALL, ENGLISH_FIXED, HELLO, PARIS, EGGS])
    better = run("check", "better.jsonl", *LENIENT, "--baseline", "old.json", "--no-regress")
    assert better.exit_code == 0, better.output
    assert "REGRESSION" not in better.stdout and "NEW" not in better.stdout
    assert "BETTER code_switch rate: 28.57% -> 0.00% (-28.57 pts) since old.json" in better.stdout
    assert (
        "BETTER lang_mismatch rate: 28.57% -> 16.67% (-11.90 pts) since old.json" in better.stdout
    )


def test_check_tolerance_in_points(reports: Path) -> None:
    args = ["check", "new.jsonl", *LENIENT, "--baseline", "old.json", "--no-regress"]
    assert run(*args, "--tolerance", "4.76").exit_code == 1  # code_switch: +4.7619 rounded up
    result = run(*args, "--tolerance", "4.77")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].startswith(
        "langaudit check --baseline old.json: no rate regressed (tolerance +4.77 pts)"
    )


def test_check_baseline_without_no_regress_only_reports(reports: Path) -> None:
    result = run("check", "new.jsonl", *LENIENT, "--baseline", "old.json")
    assert result.exit_code == 0, result.output
    assert "WORSE code_switch rate: 28.57% -> 33.33% (+4.76 pts) since old.json" in result.stdout
    assert "REGRESSION" not in result.stdout
    assert result.stdout.splitlines()[-1].startswith(
        "langaudit check --baseline old.json: 2 rates worse;"
    )
    # the rules still decide
    assert run("check", "new.jsonl", "--baseline", "old.json").exit_code == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--no-regress"], "--no-regress needs --baseline FILE"),
        (["--baseline", "old.json", "--tolerance", "1"], "--tolerance needs --no-regress"),
        (["--baseline", "old.json", "--no-regress", "--tolerance", "-1"], "-1"),
    ],
)
def test_check_baseline_usage_errors(reports: Path, args: list[str], message: str) -> None:
    result = run("check", "new.jsonl", *args)
    assert result.exit_code == 2 and message in result.output


def test_check_counts_as_the_audit_does(reports: Path) -> None:
    """The statistics check computes equal the audit's: the same rates, languages, shares,
    flagged records (everything but the examples, which check does not keep)."""
    Path("messy.jsonl").write_text(
        Path("new.jsonl").read_text("utf-8") + "{not json\n" + json.dumps(HELLO) + "\n", "utf-8"
    )
    audited = langaudit.audit("messy.jsonl", on_error="skip").stats.to_dict()
    checked = run_check(plan_check("messy.jsonl", on_error="skip"), statistics=True).stats
    assert checked is not None
    checked_dict = checked.to_dict()
    assert audited.pop("examples") and checked_dict.pop("examples")
    assert checked_dict == audited
    assert audited["skipped"] == 1 and audited["flagged_records"]
    # and through the CLI: checked against the audit's JSON, nothing moved
    audit_json("messy.jsonl", "messy.json", "--on-error", "skip")
    result = run("check", "messy.jsonl", *LENIENT, "--on-error", "skip", "--baseline",
                 "messy.json", "--no-regress")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "BETTER" not in result.stdout and "NEW" not in result.stdout
    assert result.stdout.splitlines()[-1] == (
        "langaudit check --baseline messy.json: no rate regressed; 0 records newly failing, "
        "0 no longer failing"
    )


def test_check_zh_share_regresses_only_further_outside_its_bounds(reports: Path) -> None:
    # Chinese answers: old 6 of 7 (85.71%), new 8 of 9 (88.89%)
    args = ["check", "new.jsonl", *LENIENT, "--baseline", "old.json", "--no-regress"]
    # both inside: no regression; the rule itself holds
    assert "Chinese share of responses" not in run(*args, "--zh-share", "0.5:0.9").stdout
    # further above 0.8: by 8.89 - 5.71 points
    result = run(*args, "--zh-share", "0.5:0.8", "--tolerance", "3")
    assert result.exit_code == 1
    assert (
        "REGRESSION Chinese share of responses: 85.71% -> 88.89%, 3.17 pts further outside "
        "0.5:0.8 since old.json"
    ) in result.stdout
    within = run(*args, "--zh-share", "0.5:0.8", "--tolerance", "3.2").stdout
    assert "REGRESSION Chinese" not in within
    # below 0.95 both, the new share nearer to it: better, not a regression
    closer = run(*args, "--zh-share", "0.95:", "--tolerance", "5")
    assert "REGRESSION Chinese" not in closer.stdout and closer.exit_code == 1  # the rule fails


def test_regressions_against_bounds() -> None:
    def diff(old: float | None, new: float | None) -> dict[str, Any]:
        same = change(0.1, 0.1)
        return {
            "flagged_rate": same,
            "flags": {},
            "skipped_share": same,
            "zh_share": change(old, new),
        }

    bounds = ShareRange.parse("0.6:0.9")
    assert regressions(diff(0.5, 0.4), 0.0, bounds)[0].change == 0.1
    assert regressions(diff(0.5, 0.95), 0.0, bounds) == []  # nearer the bounds
    assert regressions(diff(0.95, 0.99), 0.0, bounds)[0].change == 0.04
    assert regressions(diff(0.4, 0.5), 0.0, bounds) == []
    assert regressions(diff(0.7, 0.89), 0.0, bounds) == []
    assert regressions(diff(None, 0.95), 0.0, bounds)[0].change == 0.05
    assert regressions(diff(0.95, None), 0.0, bounds) == []
    assert regressions(diff(0.5, 0.4), 0.0, None) == []


@pytest.mark.parametrize(
    ("delta", "shown"),
    [(0.0125, "+1.25 pts"), (-0.000083, "-0.0083 pts"), (0.0, "0 pts"), (None, "")],
)
def test_points(delta: float | None, shown: str) -> None:
    assert points(delta) == shown


# ---------------------------------------------------------------------------------------------
# Reading the HTML page


class _Page(HTMLParser):
    """Headings, table rows (cell texts) and the class of each table cell of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.rows: list[list[str]] = []
        self.cell_classes: dict[str, str] = {}
        self._text: list[str] | None = None
        self._class = ""

    @classmethod
    def of(cls, path: Path) -> _Page:
        page = cls()
        page.feed(path.read_text(encoding="utf-8"))
        return page

    def rows_starting(self, text: str) -> list[list[str]]:
        return [row for row in self.rows if row and row[0] == text]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th", "h2", "h3"):
            self._text = []
            self._class = dict(attrs).get("class") or ""

    def handle_endtag(self, tag: str) -> None:
        if self._text is None:
            return
        text = " ".join("".join(self._text).split())
        if tag in ("td", "th"):
            self.rows[-1].append(text)
            self.cell_classes[text] = self._class
        elif tag in ("h2", "h3"):
            self.headings.append(text)
        self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def test_reports_made_with_other_options_get_a_note(reports: Path) -> None:
    audit_json("new.jsonl", "strict.json", "--strictness", "strict", "--limit", "3")
    result = run("diff", "new.json", "strict.json")
    assert result.exit_code == 0
    assert "other options (limit: not given -> 3; strictness: not given -> strict)" in " ".join(
        result.stdout.split()
    )
    checked = run("check", "new.jsonl", "--baseline", "new.json", "--strictness", "strict")
    assert "other options (strictness: not given -> strict)" in checked.stdout
    same = run("check", "new.jsonl", "--baseline", "new.json")
    assert "other options" not in same.stdout


def test_a_damaged_matrix_is_an_error_not_a_traceback(reports: Path) -> None:
    damaged = json.loads(Path("new.json").read_text(encoding="utf-8"))
    damaged["matrix"]["counts"] = []
    Path("damaged.json").write_text(json.dumps(damaged), encoding="utf-8")
    result = run("diff", "old.json", "damaged.json", "--html", "d.html")
    assert result.exit_code == 2
    assert result.stderr.startswith("damaged.json: cannot show it as a page: damaged report")
    assert not Path("d.html").exists()
