"""``langaudit rewrite``: tags, rebalance, quarantine, fidelity, safety; nothing lost."""

from __future__ import annotations

import csv
import json
import shlex
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import langaudit
from cli_helpers import run
from langaudit.errors import UsageError
from langaudit.tags import language_names

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def alpaca(instruction: str, output: str, **extra: Any) -> dict[str, Any]:
    return {"instruction": instruction, "input": "", "output": output, **extra}


GOOD_ZH = alpaca("请介绍一下长城。", "长城是中国古代的军事防御工程，东起山海关，西至嘉峪关。")
GOOD_EN = alpaca("Name three primary colors.", "The three primary colors are red, blue and yellow.")
EN_TO_ZH = alpaca("What is the capital of France?", "巴黎是法国的首都，也是法国最大的城市。")
ZH_TO_EN = alpaca(
    "小孩发烧需要马上吃退烧药吗？",
    "Not necessarily. It depends more on how the child feels than on the exact number.",
)
SWITCHED = alpaca(
    "如何保持健康？", "保持健康需要均衡饮食，然后evaluate一下自己的performance，每天坚持运动。"
)
EMPTY = alpaca("请写一首诗。", "")


def jsonl(path: Path, records: list[dict[str, Any]], **dumps: Any) -> Path:
    dumps.setdefault("ensure_ascii", False)
    path.write_text("".join(json.dumps(r, **dumps) + "\n" for r in records), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# ---------------------------------------------------------------------------------------------
# Quarantine and fidelity


def test_drop_to_rejects_untouched_lines_stay_byte_identical(here: Path) -> None:
    src = jsonl(here / "d.jsonl", [GOOD_ZH, SWITCHED, GOOD_EN, EMPTY, EN_TO_ZH])
    result = run("rewrite", "d.jsonl", "-o", "out.jsonl", "--drop", "code_switch,empty_response")
    assert result.exit_code == 1  # records were rejected
    lines = src.read_bytes().splitlines(keepends=True)
    assert (here / "out.jsonl").read_bytes() == lines[0] + lines[2] + lines[4]
    rejects = read_jsonl(here / "out.rejects.jsonl")
    assert [(r["index"], r["line"], r["flags"]) for r in rejects] == [
        (1, 2, ["code_switch"]),
        (3, 4, ["empty_response"]),
    ]
    assert rejects[0]["reasons"] == {
        "code_switch": "English inside Chinese, 2 spans: 'evaluate', 'performance'"
    }
    assert rejects[0]["record"] == SWITCHED
    manifest = json.loads((here / "out.manifest.json").read_text(encoding="utf-8"))
    assert (manifest["input"]["records"], manifest["kept"], manifest["rejects"]["records"]) == (
        5,
        3,
        2,
    )
    assert manifest["rejected_by_reason"] == {"code_switch": 1, "empty_response": 1}
    assert result.stderr.splitlines()[0] == (
        "d.jsonl: 5 records: 3 written to out.jsonl, 2 rejected to out.rejects.jsonl"
    )


def test_nothing_to_do_exits_0_and_copies_the_data(here: Path) -> None:
    src = jsonl(here / "d.jsonl", [GOOD_ZH, GOOD_EN])
    result = run("rewrite", "d.jsonl", "-o", "out.jsonl", "--drop", "code_switch")
    assert result.exit_code == 0
    assert (here / "out.jsonl").read_bytes() == src.read_bytes()
    assert (here / "out.rejects.jsonl").read_bytes() == b""


def test_edited_jsonl_lines_keep_their_style(here: Path) -> None:
    jsonl(here / "compact.jsonl", [EN_TO_ZH], separators=(",", ":"))
    jsonl(here / "ascii.jsonl", [EN_TO_ZH], ensure_ascii=True)
    for name in ("compact", "ascii"):
        langaudit.rewrite(f"{name}.jsonl", f"{name}.out.jsonl", tag="instruction")
        line = (here / f"{name}.out.jsonl").read_text(encoding="utf-8")
        assert ("Please answer in Chinese." in line) and line.endswith("}\n")
        assert ('":"' in line) is (name == "compact")
        assert ("\\u5df4" in line) is (name == "ascii")


def test_json_arrays_keep_their_indentation_byte_for_byte(here: Path) -> None:
    records = [GOOD_ZH, EN_TO_ZH, GOOD_EN]
    text = json.dumps(records, ensure_ascii=False, indent=2) + "\n"
    (here / "d.json").write_text(text, encoding="utf-8")
    assert run("rewrite", "d.json", "-o", "same.json").exit_code == 0
    assert (here / "same.json").read_text(encoding="utf-8") == text
    langaudit.rewrite("d.json", "tagged.json", tag="instruction")
    edited = json.loads((here / "tagged.json").read_text(encoding="utf-8"))
    assert edited[1]["instruction"] == "What is the capital of France? Please answer in Chinese."
    expected = [records[0], edited[1], records[2]]
    assert (here / "tagged.json").read_text(encoding="utf-8") == (
        json.dumps(expected, ensure_ascii=False, indent=2) + "\n"
    )


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")
@pytest.mark.parametrize("name", ["dpo_zh_demo.json", "identity.json", "kto_en_demo.json"])
def test_llamafactory_files_come_back_byte_identical(here: Path, name: str) -> None:
    shutil.copy(SHARED / "llamafactory" / name, here / name)
    out = name.replace(".json", ".out.json")
    result = langaudit.rewrite(name, out, drop=())
    assert (here / out).read_bytes() == (here / name).read_bytes()
    assert result.records == result.written


def test_csv_rows_and_a_lang_column(here: Path) -> None:
    with open(here / "d.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["question", "answer"])
        writer.writeheader()
        writer.writerow({"question": "请介绍一下长城。", "answer": "长城很长。\n它在中国北方。"})
        writer.writerow(
            {"question": "What is the capital of France?", "answer": EN_TO_ZH["output"]}
        )
    original = (here / "d.csv").read_bytes()
    langaudit.rewrite("d.csv", "tagged.csv", tag="instruction")
    out = (here / "tagged.csv").read_bytes()
    assert out.startswith(original.split(b"\r\n", 1)[0])  # header and first row as they were
    rows = read_csv(here / "tagged.csv")
    assert rows[1]["question"] == "What is the capital of France? Please answer in Chinese."
    langaudit.rewrite("d.csv", "column.csv", tag="column", tag_when="always")
    rows = read_csv(here / "column.csv")
    assert [r["lang"] for r in rows] == ["zh", "zh"]
    assert rows[0]["answer"] == "长城很长。\n它在中国北方。"


def test_parquet_keeps_its_schema(here: Path) -> None:
    table = pa.table(
        {
            "instruction": [
                GOOD_ZH["instruction"],
                EN_TO_ZH["instruction"],
                SWITCHED["instruction"],
            ],
            "input": ["", "", ""],
            "output": [GOOD_ZH["output"], EN_TO_ZH["output"], SWITCHED["output"]],
            "score": pa.array([1, 2, 3], pa.int32()),
        }
    )
    pq.write_table(table, here / "d.parquet")
    langaudit.rewrite("d.parquet", "out.parquet", tag=["column", "instruction"], drop="code_switch")
    out = pq.read_table(here / "out.parquet")
    assert out.schema.names == ["instruction", "input", "output", "score", "lang"]
    assert out.schema.field("score").type == pa.int32()
    assert out.column("instruction").to_pylist() == [
        GOOD_ZH["instruction"],
        "What is the capital of France? Please answer in Chinese.",
    ]
    assert out.column("lang").to_pylist() == [None, "zh"]


def test_hugging_face_folders_stay_folders(here: Path) -> None:
    import datasets

    rows = [GOOD_ZH, EN_TO_ZH, SWITCHED]
    features = datasets.Features(
        {name: datasets.Value("string") for name in ("instruction", "input", "output")}
    )
    splits = datasets.DatasetDict({"train": datasets.Dataset.from_list(rows, features=features)})
    splits.save_to_disk(str(here / "hf"))
    with pytest.raises(UsageError, match="each split of a DatasetDict folder"):
        langaudit.rewrite("hf", "out")
    result = langaudit.rewrite("hf/train", "out", tag=["instruction", "column"], drop="code_switch")
    assert (result.written, result.rejected_records) == (2, 1)
    fixed = datasets.load_from_disk(str(here / "out"))
    assert fixed.column_names == ["instruction", "input", "output", "lang"]
    assert fixed.features["lang"] == datasets.Value("string")
    assert fixed[1]["instruction"] == "What is the capital of France? Please answer in Chinese."
    assert fixed[0] == {**GOOD_ZH, "lang": None}
    assert read_jsonl(here / "out.rejects.jsonl")[0]["record"] == SWITCHED
    langaudit.rewrite("hf/train", "out", drop="code_switch")  # over an existing folder
    assert datasets.load_from_disk(str(here / "out")).column_names == list(GOOD_ZH)
    assert sorted(p.name for p in here.iterdir()) == [
        "hf", "out", "out.manifest.json", "out.rejects.jsonl"
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Tags, in every shape


TOFU = "What is tofu made of?"


def shapes() -> dict[str, list[dict[str, Any]]]:
    return {
        "alpaca": [GOOD_ZH, EN_TO_ZH, ZH_TO_EN],
        "sharegpt": [
            {
                "conversations": [
                    {"from": "human", "value": "今天天气怎么样？"},
                    {"from": "gpt", "value": "今天是晴天，气温二十度左右，适合出门散步。"},
                    {"from": "human", "value": "那明天呢？会下雨吗？"},
                    {"from": "gpt", "value": "Tomorrow it will probably rain in the afternoon."},
                ]
            }
        ],
        "messages": [
            {
                "messages": [
                    {"role": "system", "content": "You are a helpful assistant."},
                    {
                        "role": "user",
                        "content": [{"type": "text", "text": "What is tofu made of?"}],
                    },
                    {"role": "assistant", "content": "豆腐是用黄豆做的，先磨成豆浆，再点卤凝固。"},
                ]
            }
        ],
        "pairs": [{"question": "What is the capital of France?", "answer": EN_TO_ZH["output"]}],
        "preference": [
            {
                "prompt": "What is the capital of France?",
                "chosen": "巴黎是法国的首都，也是法国最大的城市。",
                "rejected": "Paris is the capital of France and its largest city.",
            }
        ],
    }


@pytest.mark.parametrize("shape", list(shapes()))
def test_instructions_fix_implicit_mismatches_in_every_shape(here: Path, shape: str) -> None:
    jsonl(here / "d.jsonl", shapes()[shape])
    before = langaudit.audit("d.jsonl").stats
    assert before.implicit_mismatch > 0
    result = langaudit.rewrite("d.jsonl", "out.jsonl", tag="instruction")
    assert result.tagged["instruction"] == before.implicit_mismatch
    after = langaudit.audit("out.jsonl").stats
    if shape == "preference":  # the rejected answer is meant to ignore the prompt
        assert after.flags["lang_mismatch"] == 1 and after.expected_sources["instruction"] == 1
    else:
        assert after.implicit_mismatch == 0 and after.flags["lang_mismatch"] == 0


def test_the_instruction_is_in_the_prompts_language(here: Path) -> None:
    jsonl(here / "d.jsonl", [EN_TO_ZH, ZH_TO_EN])
    langaudit.rewrite("d.jsonl", "out.jsonl", tag="instruction")
    out = read_jsonl(here / "out.jsonl")
    assert out[0]["instruction"] == "What is the capital of France? Please answer in Chinese."
    assert out[1]["instruction"] == "小孩发烧需要马上吃退烧药吗？请用英文回答。"


def test_multi_turn_tags_the_turn_that_was_answered(here: Path) -> None:
    jsonl(here / "d.jsonl", shapes()["sharegpt"])
    langaudit.rewrite("d.jsonl", "out.jsonl", tag="instruction")
    turns = read_jsonl(here / "out.jsonl")[0]["conversations"]
    assert [t["value"] for t in turns if t["from"] == "human"] == [
        "今天天气怎么样？",
        "那明天呢？会下雨吗？请用英文回答。",
    ]


def test_content_parts_get_the_instruction_in_their_text(here: Path) -> None:
    jsonl(here / "d.jsonl", shapes()["messages"])
    langaudit.rewrite("d.jsonl", "out.jsonl", tag=["instruction", "system"])
    messages = read_jsonl(here / "out.jsonl")[0]["messages"]
    assert messages[1]["content"] == [
        {"type": "text", "text": "What is tofu made of? Please answer in Chinese."}
    ]
    assert messages[0]["content"] == "You are a helpful assistant. Please answer in Chinese."


def test_prefix_column_and_system_tags(here: Path) -> None:
    jsonl(here / "d.jsonl", [GOOD_ZH, EN_TO_ZH])
    langaudit.rewrite("d.jsonl", "out.jsonl", tag="prefix,column,system", tag_when="always")
    out = read_jsonl(here / "out.jsonl")
    assert out[0]["instruction"].startswith("[zh] 请介绍")
    assert out[1]["instruction"] == "[zh] What is the capital of France?"
    assert [r["lang"] for r in out] == ["zh", "zh"]
    assert [r["system"] for r in out] == ["请用中文回答。", "Please answer in Chinese."]
    langaudit.rewrite("d.jsonl", "p.jsonl", tag="prefix", prefix="<{lang}>")
    assert read_jsonl(here / "p.jsonl")[1]["instruction"].startswith("<zh>What")
    assert read_jsonl(here / "p.jsonl")[0] == GOOD_ZH  # tag_when=mismatch: no mismatch here


def test_tag_when_implicit_and_mismatch(here: Path) -> None:
    explicit = alpaca("Answer in English: what is tofu made of?", "Tofu is made from soybeans.")
    jsonl(here / "d.jsonl", [GOOD_ZH, EN_TO_ZH, explicit])
    counts = {
        when: langaudit.rewrite("d.jsonl", f"{when}.jsonl", tag="column", tag_when=when).tagged
        for when in ("always", "implicit", "mismatch")
    }
    assert counts == {
        "always": Counter(column=3),
        "implicit": Counter(column=2),
        "mismatch": Counter(column=1),
    }


# ---------------------------------------------------------------------------------------------
# Rebalance


def mixed(zh: int, en: int) -> list[dict[str, Any]]:
    return [dict(GOOD_ZH, id=i) for i in range(zh)] + [dict(GOOD_EN, id=zh + i) for i in range(en)]


@pytest.mark.parametrize(
    ("zh", "en", "target", "mode"),
    [
        (30, 70, 0.7, "down"),
        (30, 70, 0.7, "up"),
        (80, 20, 0.5, "down"),
        (80, 20, 0.5, "up"),
        (10, 3, 0.25, "down"),
    ],
)
def test_rebalance_reaches_the_share_within_one_record(
    here: Path, zh: int, en: int, target: float, mode: str
) -> None:
    jsonl(here / "d.jsonl", mixed(zh, en))
    result = langaudit.rewrite("d.jsonl", "out.jsonl", zh_share=target, mode=mode, seed=7)
    out = read_jsonl(here / "out.jsonl")
    n_zh = sum(r["instruction"] == GOOD_ZH["instruction"] for r in out)
    assert abs(n_zh - target * len(out)) <= 1
    assert result.zh_share_after == pytest.approx(n_zh / len(out))
    if mode == "up":
        assert result.rejected_records == 0 and len(out) == zh + en + result.added
        ids = [r["id"] for r in out]
        assert ids == sorted(ids)  # a copy comes right after its record: the order stays
    else:
        assert result.added == 0 and len(out) + result.rejected_records == zh + en
        rejects = read_jsonl(here / "out.rejects.jsonl")
        assert {r["reasons"]["rebalance"] for r in rejects} == {
            "down-sampled to reach the Chinese share asked for"
        }
    again = langaudit.rewrite("d.jsonl", "again.jsonl", zh_share=target, mode=mode, seed=7)
    assert (here / "again.jsonl").read_bytes() == (here / "out.jsonl").read_bytes()
    assert again.zh_share_after == result.zh_share_after


def test_max_rows_keeps_the_share(here: Path) -> None:
    jsonl(here / "d.jsonl", mixed(30, 70))
    result = langaudit.rewrite("d.jsonl", "out.jsonl", zh_share=0.5, mode="up", max_rows=40)
    out = read_jsonl(here / "out.jsonl")
    assert len(out) == 40
    assert sum(r["id"] < 30 for r in out) == 20
    assert result.written == 40


def test_rebalance_that_cannot_be_done(here: Path) -> None:
    jsonl(here / "d.jsonl", mixed(0, 5))
    with pytest.raises(UsageError, match="no Chinese records to repeat"):
        langaudit.rewrite("d.jsonl", "out.jsonl", zh_share=0.5, mode="up")
    assert not (here / "out.jsonl").exists()


# ---------------------------------------------------------------------------------------------
# Safety


def test_refuses_to_overwrite_the_input_and_in_place_keeps_a_backup(here: Path) -> None:
    src = jsonl(here / "d.jsonl", [GOOD_ZH, EN_TO_ZH])
    original = src.read_bytes()
    result = run("rewrite", "d.jsonl", "-o", "d.jsonl", "--tag", "instruction")
    assert result.exit_code == 2 and "would overwrite an input" in result.stderr
    assert src.read_bytes() == original
    assert run("rewrite", "d.jsonl", "-o", "d.json").exit_code == 2  # another format
    result = run("rewrite", "d.jsonl", "--in-place", "--tag", "instruction")
    assert result.exit_code == 1
    assert (here / "d.jsonl.bak").read_bytes() == original
    assert "Please answer in Chinese." in src.read_text(encoding="utf-8")
    manifest = json.loads((here / "d.manifest.json").read_text(encoding="utf-8"))
    assert manifest["parameters"]["backup"] == "d.jsonl.bak"
    assert manifest["input"]["sha256"] != manifest["output"]["sha256"]


def test_dry_run_writes_nothing(here: Path) -> None:
    jsonl(here / "d.jsonl", [GOOD_ZH, EN_TO_ZH, SWITCHED])
    result = run("rewrite", "d.jsonl", "--dry-run", "--tag", "instruction", "--drop", "code_switch")
    assert result.exit_code == 1
    assert sorted(p.name for p in here.iterdir()) == ["d.jsonl"]
    assert result.stdout.splitlines() == [
        "d.jsonl:2: tagged: instruction ends 'tal of France? Please answer in Chinese.'",
        "d.jsonl:3: rejected (code_switch: English inside Chinese, 2 spans: 'evaluate', "
        "'performance')",
    ]
    assert result.stderr.splitlines()[:3] == [
        "d.jsonl: 3 records: 2 would be written, 1 rejected (dry run: nothing written)",
        "tagged: instruction 1",
        "rejected: code_switch 1",
    ]


def test_bad_options_exit_2(here: Path) -> None:
    jsonl(here / "d.jsonl", [GOOD_ZH])
    for args, message in (
        (["--tag", "colour"], "unknown tag 'colour'"),
        (["--drop", "code_swich"], "did you mean 'code_switch'?"),
        (["--zh-share", "lots"], "bad Chinese share"),
        (["--prefix-template", "[x] "], "has no {lang}"),
        (["--bad-lines", "b.txt"], "No such option '--bad-lines'"),
    ):
        result = run("rewrite", "d.jsonl", "-o", "out.jsonl", *args)
        assert result.exit_code == 2, args
        assert message in result.stderr
    assert run("rewrite", "d.jsonl").exit_code == 2  # no -o
    assert not (here / "out.jsonl").exists()


def test_unreadable_records_go_to_the_rejects_file(here: Path) -> None:
    text = json.dumps(GOOD_ZH, ensure_ascii=False) + "\n{not json\n"
    (here / "d.jsonl").write_text(text, encoding="utf-8")
    assert run("rewrite", "d.jsonl", "-o", "out.jsonl").exit_code == 2  # strict by default
    result = langaudit.rewrite("d.jsonl", "out.jsonl", on_error="skip")
    assert (result.records, result.written, result.rejected_records) == (2, 1, 1)
    (reject,) = read_jsonl(here / "out.rejects.jsonl")
    assert reject["raw"] == "{not json" and reject["line"] == 2
    assert reject["reasons"]["unreadable"].startswith("d.jsonl:2: invalid JSON")


# ---------------------------------------------------------------------------------------------
# Nothing lost, whatever the data and options


POOL = [GOOD_ZH, GOOD_EN, EN_TO_ZH, ZH_TO_EN, SWITCHED, EMPTY]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    picks=st.lists(st.integers(0, len(POOL) - 1), min_size=1, max_size=30),
    drop=st.sets(st.sampled_from(["lang_mismatch", "code_switch", "empty_response"])),
    tags=st.sets(st.sampled_from(["column", "prefix", "instruction", "system"])),
    when=st.sampled_from(["always", "implicit", "mismatch"]),
    share=st.one_of(st.none(), st.sampled_from([0.2, 0.5, 0.8])),
    mode=st.sampled_from(["down", "up"]),
    max_rows=st.one_of(st.none(), st.integers(0, 40)),
    seed=st.integers(0, 3),
)
def test_kept_plus_rejected_is_the_input(
    tmp_path_factory: pytest.TempPathFactory,
    picks: list[int],
    drop: set[str],
    tags: set[str],
    when: str,
    share: float | None,
    mode: str,
    max_rows: int | None,
    seed: int,
) -> None:
    here = tmp_path_factory.mktemp("rewrite")
    records = [dict(POOL[p], id=i) for i, p in enumerate(picks)]
    jsonl(here / "d.jsonl", records)
    try:
        result = langaudit.rewrite(
            here / "d.jsonl",
            here / "out.jsonl",
            tag=sorted(tags),
            tag_when=when,
            drop=drop,
            zh_share=share,
            mode=mode,
            max_rows=max_rows,
            seed=seed,
        )
    except UsageError as error:  # a language the data has none of
        assert "cannot reach a Chinese share" in str(error)
        return
    out = read_jsonl(here / "out.jsonl")
    rejects = read_jsonl(here / "out.rejects.jsonl")
    kept = set(r["id"] for r in out)
    rejected = [r["record"]["id"] for r in rejects]
    assert kept.isdisjoint(rejected)
    assert sorted(kept | set(rejected)) == list(range(len(records)))
    assert len(out) == result.written == len(kept) + result.added
    assert len(rejected) == result.rejected_records
    assert result.records == len(records) == len(kept) + len(rejected)
    if max_rows is not None:
        assert len(out) <= max_rows
    for record in rejects:
        assert record["record"] == records[record["record"]["id"]]  # rejects as they were
    untouched = {json.dumps(r, ensure_ascii=False) for r in records}
    for line in (here / "out.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if not tags:
            assert line in untouched
        assert {k: v for k, v in record.items() if k not in ("lang", "system", "instruction")} == {
            k: v for k, v in records[record["id"]].items() if k not in ("instruction",)
        }


# ---------------------------------------------------------------------------------------------
# Proof that the fixes work: the README's before and after, and the real data


def test_the_readme_before_and_after_on_the_examples(here: Path) -> None:
    (here / "fixed").mkdir()
    examples = sorted((ROOT / "examples").glob("*.*"))
    for path in (p for p in examples if p.suffix in (".json", ".jsonl", ".csv")):
        args = ["--tag", "instruction", "--drop", "code_switch,empty_response,zh_variant_mix"]
        result = run("rewrite", str(path), "-o", f"fixed/{path.name}", *args, "-q")
        assert result.exit_code == 1, path
    before = langaudit.audit(str(ROOT / "examples")).summary
    after = langaudit.audit("fixed").summary

    def row(s: dict[str, Any]) -> tuple[Any, ...]:
        flags = {name: flag["count"] for name, flag in s["flags"].items()}
        return (s["records"], flags, s["implicit_mismatches"], round(s["zh_share"], 3))

    counts = {"lang_mismatch": 20, "code_switch": 16, "zh_variant_mix": 2}
    assert row(before) == (102, {**counts, "punct_mismatch": 3, "empty_response": 7}, 19, 0.588)
    counts = {"lang_mismatch": 3, "code_switch": 0, "zh_variant_mix": 0}
    assert row(after) == (77, {**counts, "punct_mismatch": 3, "empty_response": 0}, 2, 0.545)
    rejected = sum(len(read_jsonl(p)) for p in (here / "fixed").glob("*.rejects.jsonl"))
    assert rejected == 102 - 77


def test_the_share_asked_for_is_what_an_audit_finds(here: Path) -> None:
    jsonl(here / "d.jsonl", mixed(12, 30))
    langaudit.rewrite("d.jsonl", "out.jsonl", zh_share="0.6", mode="up")
    stats = langaudit.audit("out.jsonl").stats
    assert abs(stats.zh_share() - 0.6) <= 1 / stats.records


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent")
@pytest.mark.parametrize(
    "name",
    [
        "llamafactory/dpo_zh_demo.json",
        "llamafactory/glaive_toolcall_zh_demo.json",
        "llamafactory/kto_en_demo.json",
        "medicalgpt/sharegpt_zh_1K_format.jsonl",
    ],
)
def test_real_data_fixed_and_re_audited(here: Path, name: str) -> None:
    src = SHARED / name
    out = here / Path(name).name
    result = langaudit.rewrite(src, out, tag="instruction", drop="code_switch,zh_variant_mix")
    assert result.written - result.added + result.rejected_records == result.records
    assert len(read_jsonl(here / out.name.replace(out.suffix, ".rejects.jsonl"))) == (
        result.rejected_records
    )
    after = langaudit.audit(str(out)).stats
    assert after.records == result.written
    assert after.flags["code_switch"] == after.flags["zh_variant_mix"] == 0
    before = langaudit.audit(str(src)).stats
    assert after.implicit_mismatch < before.implicit_mismatch
    # what is left: rejected answers of preference pairs (meant to be wrong), and answers in a
    # language the instructions have no name for
    table = langaudit.audit(str(out)).table
    names = language_names()
    for row in table.to_pylist():
        first_answer = True
        for turn in row["turns"]:
            if turn["role"] == "user":
                first_answer = True
            elif turn["role"] == "assistant":
                implicit = turn["expected_source"] == "prompt"
                if implicit and "lang_mismatch" in (turn["flags"] or []):
                    assert not first_answer or turn["lang"] not in names["en"], (row["index"], turn)
                first_answer = False


def test_every_command_the_audit_recommends_runs(here: Path) -> None:
    shutil.copytree(ROOT / "examples", here / "examples")
    report = langaudit.audit(["examples/messages.jsonl", "examples/alpaca_zh_en.json"])
    commands = [c for r in report.recommendations for c in r.commands]
    assert len(commands) >= 4
    for command in commands:
        program, name, *args = shlex.split(command)
        assert (program, name) == ("langaudit", "rewrite")
        result = run("rewrite", *args, "-q")
        assert result.exit_code == 1, (command, result.stderr)


# ---------------------------------------------------------------------------------------------
# Found by review: each a case that lost, changed or refused data wrongly


def test_a_hugging_face_output_never_replaces_other_folders(here: Path) -> None:
    import datasets

    datasets.Dataset.from_list([GOOD_ZH, EN_TO_ZH]).save_to_disk(str(here / "hf"))
    (here / "important").mkdir()
    (here / "important" / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(UsageError, match="is not a Hugging Face dataset folder"):
        langaudit.rewrite("hf", "important", tag="instruction")
    assert (here / "important" / "notes.txt").read_text(encoding="utf-8") == "keep me"
    with pytest.raises(UsageError, match="holds the input"):
        langaudit.rewrite("hf", ".", tag="instruction")


def test_a_settings_file_zh_share_does_not_rebalance(here: Path) -> None:
    jsonl(here / "d.jsonl", mixed(30, 70))
    (here / "langaudit.toml").write_text('zh-share = "0.6:0.9"\n', encoding="utf-8")
    result = langaudit.rewrite("d.jsonl", "out.jsonl", tag="instruction")
    assert result.rejected_records == 0 and result.written == 100


def test_value_parts_and_bare_string_parts_get_the_instruction(here: Path) -> None:
    records = [
        {"messages": [
            {"role": "user", "content": [{"type": "text", "value": "What is tofu made of?"}]},
            {"role": "assistant", "content": "豆腐是用黄豆做的，先磨成豆浆，再点卤凝固。"},
        ]},
        {"messages": [
            {"role": "user", "content": ["What is tofu made of?"]},
            {"role": "assistant", "content": "豆腐是用黄豆做的，先磨成豆浆，再点卤凝固。"},
        ]},
    ]  # fmt: skip
    jsonl(here / "d.jsonl", records)
    langaudit.rewrite("d.jsonl", "out.jsonl", tag=["prefix", "instruction"])
    out = read_jsonl(here / "out.jsonl")
    asked = "[zh] What is tofu made of? Please answer in Chinese."
    assert out[0]["messages"][0]["content"] == [{"type": "text", "value": asked}]
    assert out[1]["messages"][0]["content"] == [asked]
    assert langaudit.audit("out.jsonl").stats.flags["lang_mismatch"] == 0


def test_system_prompts_reach_parquet_and_content_parts(here: Path) -> None:
    pq.write_table(pa.Table.from_pylist([EN_TO_ZH]), here / "d.parquet")
    langaudit.rewrite("d.parquet", "out.parquet", tag="system")
    assert pq.read_table(here / "out.parquet").column("system").to_pylist() == [
        "Please answer in Chinese."
    ]
    record = {"messages": [
        {"role": "user", "content": [{"type": "text", "text": "What is tofu made of?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "豆腐是用黄豆做的。"}]},
    ]}  # fmt: skip
    pq.write_table(pa.Table.from_pylist([record]), here / "m.parquet")
    langaudit.rewrite("m.parquet", "m.out.parquet", tag="system")
    messages = pq.read_table(here / "m.out.parquet").to_pylist()[0]["messages"]
    assert messages[0] == {
        "role": "system",
        "content": [{"type": "text", "text": "Please answer in Chinese."}],
    }


def test_a_pair_of_message_lists_keeps_one_prompt(here: Path) -> None:
    prompt = {"role": "user", "content": "What is the capital of France?"}
    record = {
        "chosen": [prompt, {"role": "assistant", "content": "巴黎是法国的首都，也是最大的城市。"}],
        "rejected": [prompt, {"role": "assistant", "content": "I don't know."}],
    }
    jsonl(here / "d.jsonl", [record])
    langaudit.rewrite("d.jsonl", "out.jsonl", tag="instruction")
    (out,) = read_jsonl(here / "out.jsonl")
    asked = "What is the capital of France? Please answer in Chinese."
    assert out["chosen"][0]["content"] == out["rejected"][0]["content"] == asked


def test_mode_down_refuses_to_empty_a_side(here: Path) -> None:
    jsonl(here / "d.jsonl", mixed(10, 0))
    with pytest.raises(UsageError, match="no other-language records"):
        langaudit.rewrite("d.jsonl", "out.jsonl", zh_share=0.7)
    assert not (here / "out.jsonl").exists()


def test_multi_turn_tags_create_no_new_mismatch(here: Path) -> None:
    record = {"conversations": [
        {"from": "human", "value": "Tell me a fun fact about cats."},
        {"from": "gpt", "value": "猫一天大约要睡十二到十六个小时，所以它们看起来总是很困。"},
        {"from": "human", "value": "And about dogs?"},
        {"from": "gpt", "value": "Dogs can learn more than a hundred words and gestures."},
    ]}  # fmt: skip
    jsonl(here / "d.jsonl", [record])
    assert langaudit.audit("d.jsonl").stats.flags["lang_mismatch"] == 1
    result = langaudit.rewrite("d.jsonl", "out.jsonl", tag=["instruction", "system"])
    humans = [t["value"] for t in read_jsonl(here / "out.jsonl")[0]["conversations"][::2]]
    # the instruction added to turn 1 would carry over: turn 3 says which language it wants
    assert humans == [
        "Tell me a fun fact about cats. Please answer in Chinese.",
        "And about dogs? Please answer in English.",
    ]
    assert result.tagged["system"] == 0  # answered in two languages: no one system prompt
    assert langaudit.audit("out.jsonl").stats.flags["lang_mismatch"] == 0


def test_explicit_instructions_are_not_contradicted(here: Path) -> None:
    explicit = alpaca(
        "Answer in English: 豆腐是什么做的？", "豆腐是用黄豆做的。先磨成豆浆，再点卤。"
    )
    jsonl(here / "d.jsonl", [explicit])
    langaudit.rewrite("d.jsonl", "out.jsonl", tag=["instruction", "prefix"], tag_when="always")
    assert read_jsonl(here / "out.jsonl") == [explicit]


def test_prefix_once_and_an_existing_lang_field(here: Path) -> None:
    jsonl(here / "d.jsonl", [EN_TO_ZH])
    langaudit.rewrite("d.jsonl", "once.jsonl", tag="prefix")
    langaudit.rewrite("once.jsonl", "twice.jsonl", tag="prefix", tag_when="always")
    assert read_jsonl(here / "twice.jsonl")[0]["instruction"].count("[zh]") == 1
    jsonl(here / "l.jsonl", [dict(EN_TO_ZH, lang="fr")])
    with pytest.raises(UsageError, match="already has a 'lang' field"):
        langaudit.rewrite("l.jsonl", "l.out.jsonl", tag="column")
    assert not (here / "l.out.jsonl").exists()


def test_more_refusals_instead_of_tracebacks(here: Path) -> None:
    jsonl(here / "d.jsonl", [EN_TO_ZH])
    (here / "folder.jsonl").mkdir()
    for args, message in (
        (["-o", "folder.jsonl"], "is a folder"),
        (["-o", "o.jsonl", "--prefix-template", "{lang} {x}"], "bad prefix template"),
        (["-o", "o.jsonl", "--prefix-template", "{lang}}"], "bad prefix template"),
        (["-o", "o.jsonl", "--rejects", "o.manifest.json"], "its manifest"),
    ):
        result = run("rewrite", "d.jsonl", "--tag", "prefix", *args)
        assert result.exit_code == 2, args
        assert message in result.stderr
    with pytest.raises(UsageError, match="unknown option"):
        langaudit.rewrite("d.jsonl", "o.jsonl", strictnes="strict")


def test_in_place_twice_keeps_both_rejects(here: Path) -> None:
    jsonl(here / "d.jsonl", [GOOD_ZH, SWITCHED, EN_TO_ZH, EMPTY])
    run("rewrite", "d.jsonl", "--in-place", "--drop", "code_switch")
    run("rewrite", "d.jsonl", "--in-place", "--drop", "empty_response")
    assert [r["flags"] for r in read_jsonl(here / "d.rejects.jsonl")] == [["code_switch"]]
    assert [r["flags"] for r in read_jsonl(here / "d.rejects.1.jsonl")] == [["empty_response"]]
    assert (here / "d.jsonl.bak").is_file() and (here / "d.jsonl.bak1").is_file()


def array(records: list[dict[str, Any]], **dumps: Any) -> bytes:
    return json.dumps(records, ensure_ascii=False, **dumps).encode()


def per_line(records: list[dict[str, Any]], end: str = "\n]") -> bytes:
    lines = ",\n".join(json.dumps(r, ensure_ascii=False) for r in records)
    return ("[\n" + lines + end).encode()


def crlf(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\r\n" for r in records).encode()


BOM = b"\xef\xbb\xbf"
TWO = [GOOD_ZH, GOOD_EN]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("bom.json", BOM + array([GOOD_ZH], indent=2)),
        ("tabs.json", array(TWO, indent="\t")),
        ("lines.json", per_line(TWO)),
        ("crlf.jsonl", crlf(TWO)),
        ("floats.json", b'[{"instruction": "x\\/y", "input": "", "output": "1.50"}]'),
    ],
)
def test_files_come_back_as_they_were(here: Path, name: str, data: bytes) -> None:
    (here / name).write_bytes(data)
    out = "out" + Path(name).suffix
    assert langaudit.rewrite(name, out).changed is False
    assert (here / out).read_bytes() == data


EDITED = [GOOD_ZH, EN_TO_ZH]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("bom.json", BOM + array(EDITED, indent=2) + b"\n"),
        ("tabs.json", array(EDITED, indent="\t")),
        ("lines.json", per_line(EDITED, end="\n]\n")),
        ("crlf.jsonl", crlf(EDITED)),
    ],
)
def test_edited_files_keep_their_layout(here: Path, name: str, data: bytes) -> None:
    (here / name).write_bytes(data)
    out = "out" + Path(name).suffix
    langaudit.rewrite(name, out, tag="instruction")
    question = EN_TO_ZH["instruction"].encode()
    edited = data.replace(question, question + b" Please answer in Chinese.")
    assert (here / out).read_bytes() == edited
