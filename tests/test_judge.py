"""The judge's rules one by one: expectations, code-switched spans, punctuation, variants, and
inputs built to make regular expressions backtrack."""

from __future__ import annotations

from typing import Any

import pytest

import langaudit
from langaudit.instructions import read_prompt


def judged(record: dict[str, Any], **options: Any) -> dict[str, Any]:
    [row] = langaudit.scan([record], **options).to_pylist()
    return row


def spans(row: dict[str, Any]) -> list[str]:
    return [s["text"] for s in row["code_switch_spans"]]


@pytest.mark.parametrize(
    ("prompt", "lang", "source", "translation", "content"),
    [
        ("请用英文回答：什么是机器学习？", "en", "instruction", False, ()),
        ("什么是机器学习？Answer in Chinese.", "zh", "instruction", False, ()),
        ("Please respond in English.", "en", "instruction", False, ()),
        ("reply in 中文", "zh", "instruction", False, ()),
        ("以中文作答：光合作用是什么？", "zh", "instruction", False, ()),
        ("用英语回复我", "en", "instruction", False, ()),
        ("请用繁体中文回答", "zh-Hant", "instruction", False, ()),
        ("把下面这句话翻译成英文：我爱你", "en", "translation", True, ()),
        (
            "Translate the following sentence into Chinese: I love you",
            "zh",
            "translation",
            True,
            (),
        ),
        ("Translate the following sentence: 我爱你", None, "translation", True, ()),
        ("翻译一下：I love you", None, "translation", True, ()),
        ("造一个英文句子", None, None, False, ("en",)),
        ("Write a short Chinese poem about the moon.", None, None, False, ("zh",)),
        (
            "Give me an English example sentence and explain it in Chinese.",
            "zh",
            "instruction",
            False,
            ("en",),
        ),
        ("机器翻译的原理是什么？", None, None, False, ()),
        ("What is machine translation?", None, None, False, ()),
        ("Q: 检查老挝语句子是否是日语的翻译。", None, None, False, ()),
        ("用Python写一个快速排序", None, None, False, ()),
    ],
)
def test_read_prompt(
    prompt: str, lang: str | None, source: str | None, translation: bool, content: tuple[str, ...]
) -> None:
    ask = read_prompt(prompt)
    assert (ask.lang, ask.source, ask.translation, ask.content) == (
        lang,
        source,
        translation,
        content,
    )


@pytest.mark.parametrize(
    ("record", "options", "flags", "expected", "source"),
    [
        (
            {
                "prompt": "What is overfitting in machine learning?",
                "response": "过拟合是指模型在训练集上表现很好，但在新数据上表现很差的现象。",
            },
            {},
            ["lang_mismatch"],
            "en",
            "prompt",
        ),
        (
            {
                "prompt": "请用英文回答：什么是过拟合？",
                "response": "Overfitting means a model fits its training data too closely.",
            },
            {},
            [],
            "en",
            "instruction",
        ),
        (
            {
                "prompt": "Translate into Chinese: The weather is nice today.",
                "response": "今天天气很好。",
            },
            {},
            [],
            "zh",
            "translation",
        ),
        (
            {
                "prompt": "Translate the following sentence: 今天天气很好。",
                "response": "今天天气很好。",
            },
            {},
            ["lang_mismatch"],
            "en",
            "translation",
        ),
        (
            {"prompt": "介绍一下长城。", "response": "长城是中国古代的军事防御工程。"},
            {"expect": "en"},
            ["lang_mismatch"],
            "en",
            "config",
        ),
        (
            {"prompt": "介绍一下长城。", "response": "長城是中國古代的軍事防禦工程。"},
            {"expect": "zh-Hans"},
            ["lang_mismatch"],
            "zh-Hans",
            "config",
        ),
        (
            {
                "messages": [
                    {"role": "system", "content": "Always answer in English."},
                    {"role": "user", "content": "光合作用是什么？"},
                    {
                        "role": "assistant",
                        "content": "Photosynthesis turns light into chemical energy.",
                    },
                ]
            },
            {},
            [],
            "en",
            "instruction",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "What causes inflation in an economy?"},
                    {
                        "role": "assistant",
                        "content": "Inflation is caused by demand outpacing supply.",
                    },
                    {"role": "user", "content": "好的，继续"},
                    {
                        "role": "assistant",
                        "content": "Expectations of future prices matter as well.",
                    },
                ]
            },
            {},
            [],
            "en",
            "prompt",
        ),
        (
            {"prompt": "What is two plus two? Show the steps.", "response": "4"},
            {},
            [],
            "en",
            "prompt",
        ),
        ({"prompt": "你好吗？今天过得怎么样？", "response": "OK"}, {}, [], "zh", "prompt"),
    ],
)
def test_expectations(
    record: dict[str, Any], options: dict[str, Any], flags: list[str], expected: str, source: str
) -> None:
    row = judged(record, **options)
    assert (row["flags"], row["expected_lang"], row["expected_source"]) == (flags, expected, source)


@pytest.mark.parametrize(
    ("response", "found"),
    [
        ("它 softly 以其温柔的光芒照亮了夜空。", ["softly"]),
        ("我们使用LoRA进行fine-tuning，然后evaluate一下performance。", ["evaluate", "performance"]),
        ("Sure! Here is the answer. 首先，我们需要准备数据。", ["Sure! Here is the answer."]),
        ("这个idea很好，但是impact不大。", ["idea", "impact"]),
        ("ok，没问题，我这就去办。", ["ok"]),
        # benign: names, code, URLs, units, glosses, quotes, jargon, formulas, placeholders
        ("用Python调用OpenAI的API，再把结果存到GitHub上。", []),
        ("运行 `pip install torch` 即可，详见 https://pytorch.org/get-started 。", []),
        ("机器学习（machine learning）是人工智能的一个分支。", []),
        ("单词“resilient”的意思是有韧性的。", []),
        ("这个benchmark的baseline是多少？把batch size调小一点。", []),
        ("模型有7B参数，推理时需要16 GB显存，可以用4 bit量化。", []),
        ("设首项为a₁，公差为d，则aₙ = a₁ + (n − 1)d。", []),
        ("你好，我是{{name}}，由{{author}}开发的助手。", []),
        ("用pip安装numpy和pandas即可。", []),
        ("以下是《Talk to Transformer》这个扩展的介绍。", []),
    ],
)
def test_english_in_chinese(response: str, found: list[str]) -> None:
    row = judged({"prompt": "请介绍一下。", "response": response})
    assert spans(row) == found
    assert ("code_switch" in row["flags"]) == bool(found)
    for span in row["code_switch_spans"]:
        assert response[span["start"] : span["end"]] == span["text"]
        assert span["turn"] == 1 and span["lang"] == "en"


@pytest.mark.parametrize(
    ("response", "found"),
    [
        ("The company's 立场 is clear on this matter.", ["立场"]),
        ("The character 爱 means love in Chinese.", []),
        ("Tofu (豆腐) is made from soybeans.", []),
        ('He greeted me with "你好" and a smile.', []),
    ],
)
def test_chinese_in_english(response: str, found: list[str]) -> None:
    row = judged({"prompt": "Tell me something about it.", "response": response})
    assert spans(row) == found


def test_terms_from_the_prompt_and_the_glossary_are_benign() -> None:
    record = {"prompt": "什么是 deadline？", "response": "deadline 指截止日期，要按时完成工作。"}
    assert judged(record)["flags"] == []
    record = {"prompt": "怎么写周报？", "response": "最后记得 circle back 一下之前的承诺。"}
    assert judged(record)["flags"] == ["code_switch"]
    assert judged(record, allow_terms=("circle back",))["flags"] == []


def test_strictness() -> None:
    jargon = {"prompt": "怎么评估模型？", "response": "先跑一遍benchmark，再和baseline比较。"}
    assert judged(jargon)["flags"] == []
    assert spans(judged(jargon, strictness="strict")) == ["benchmark", "baseline"]
    single = {"prompt": "你觉得怎么样？", "response": "我觉得这个方案很solid，可以执行。"}
    assert judged(single)["flags"] == ["code_switch"]
    assert judged(single, strictness="lenient")["flags"] == []


@pytest.mark.parametrize(
    ("response", "flags"),
    [
        ("我们今天去公园,然后回家.", ["punct_mismatch"]),
        ("我喜欢Python.", ["punct_mismatch"]),
        ("圆周率约为3.14，会议在10:30开始，共1,000人参加。", []),
        ("请打开 file.py 文件，例如 e.g. 这样。", []),
        ("1. 首先准备材料\n2. 然后开始制作", []),
        ("推荐阅读 Clean Code, Refactoring 等书。", []),
        ("这个说法很常见，这些說法也有人用。", ["zh_variant_mix"]),
        ("臺灣的床很舒服，這是秘密，後來我們去了台北。", []),
    ],
)
def test_punctuation_and_variants(response: str, flags: list[str]) -> None:
    assert judged({"prompt": "请说明一下。", "response": response})["flags"] == flags


def test_full_width_punctuation_in_english() -> None:
    row = judged({"prompt": "Say hello.", "response": "Hello，how are you today？"})
    assert row["flags"] == ["punct_mismatch"]


@pytest.mark.parametrize(
    "text",
    [
        "`" * 200_000,
        "a" * 200_000 + "@b.com",
        "\\begin{x}" * 20_000,
        "$$a" * 50_000,
        "我们使用LoRA进行fine-tuning，然后evaluate一下performance。" * 4000,
        "我们今天去公园,然后回家." * 10_000,
        "x = foo(bar);\n" * 20_000,
    ],
    ids=["backticks", "email-run", "latex-envs", "dollars", "mixed-line", "ascii-punct", "code"],
)
def test_inputs_that_backtrack_are_linear(text: str) -> None:
    # Quadratic patterns take minutes on these; linear ones take well under a second.
    row = judged({"prompt": "请回答这个问题。", "response": text})
    assert row["n_turns"] == 2


@pytest.mark.parametrize(
    "text",
    [
        "我们今天去公园,然后回家.",
        "明确病因再治疗.半边出汗的原因有很多",
        "好的...我们继续",
        "请打开文件.py看看",
        "见 `代码,注释` 和 https://例子.com/路径 这里",
        "圆周率是3.14，约等于22/7。",
    ],
)
def test_vectorised_punctuation_agrees_with_the_rules(text: str) -> None:
    from langaudit.punctuation import ascii_in_chinese
    from langaudit.scripts import measure

    measured = measure([text])
    assert measured.ascii_after_han is not None
    if measured.ascii_after_han[0] > 0:
        assert ascii_in_chinese(text, measured.spans[0])
