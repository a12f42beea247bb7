"""Record shapes: ``detect_shape`` and ``Shape.turns`` on every SFT record shape."""

from __future__ import annotations

from typing import Any

import pytest

from langaudit.errors import UsageError
from langaudit.formats import (
    COLUMN_PAIRS,
    FORMATS,
    FieldError,
    Shape,
    Turn,
    as_text,
    detect_shape,
    get_path,
)

T = tuple[str, str, str]  # (role, text, field)


def turns_of(record: dict[str, Any], **overrides: Any) -> tuple[Shape, list[T]]:
    shape = detect_shape(record, **overrides)
    return shape, [(t.role, t.text, t.field) for t in shape.turns(record)]


# ---------------------------------------------------------------------------------------------
# Detection and turns, one table per shape: (record, overrides, expected shape, expected turns)

ALPACA_CASES = [
    pytest.param(
        {
            "instruction": "把下面的句子翻译成英文。",
            "input": "我喜欢在周末喝茶。",
            "output": "I like drinking tea on weekends.",
        },
        Shape("alpaca"),
        [
            ("user", "把下面的句子翻译成英文。", "instruction"),
            ("context", "我喜欢在周末喝茶。", "input"),
            ("assistant", "I like drinking tea on weekends.", "output"),
        ],
        id="alpaca-with-input",
    ),
    pytest.param(
        {
            "instruction": "Give three tips for staying healthy.",
            "input": "",
            "output": "1. Eat a balanced diet.\n2. Exercise regularly.\n3. Sleep well.",
        },
        Shape("alpaca"),
        [
            ("user", "Give three tips for staying healthy.", "instruction"),
            (
                "assistant",
                "1. Eat a balanced diet.\n2. Exercise regularly.\n3. Sleep well.",
                "output",
            ),
        ],
        id="alpaca-empty-input",
    ),
    pytest.param(
        {"instruction": "写一首关于秋天的短诗。", "output": "秋风起，落叶黄。"},
        Shape("alpaca"),
        [
            ("user", "写一首关于秋天的短诗。", "instruction"),
            ("assistant", "秋风起，落叶黄。", "output"),
        ],
        id="alpaca-no-input-key",
    ),
    pytest.param(
        {
            "system": "你是一个专业的翻译助手。",
            "instruction": "翻译：早上好",
            "input": "",
            "output": "Good morning",
        },
        Shape("alpaca"),
        [
            ("system", "你是一个专业的翻译助手。", "system"),
            ("user", "翻译：早上好", "instruction"),
            ("assistant", "Good morning", "output"),
        ],
        id="alpaca-system",
    ),
    pytest.param(
        {
            "instruction": "那明天呢？",
            "input": "",
            "output": "明天多云转晴。",
            "system": "You are a weather assistant.",
            "history": [
                ["今天北京天气怎么样？", "今天北京晴，气温25度。"],
                ["需要带伞吗？", "不需要。"],
            ],
        },
        Shape("alpaca"),
        [
            ("system", "You are a weather assistant.", "system"),
            ("user", "今天北京天气怎么样？", "history.0.0"),
            ("assistant", "今天北京晴，气温25度。", "history.0.1"),
            ("user", "需要带伞吗？", "history.1.0"),
            ("assistant", "不需要。", "history.1.1"),
            ("user", "那明天呢？", "instruction"),
            ("assistant", "明天多云转晴。", "output"),
        ],
        id="alpaca-history-system",
    ),
    pytest.param(
        {
            "instruction": "哪种语言更适合数据分析？",
            "input": "",
            "output": ["Python 更适合数据分析，因为它有丰富的库。", "我不知道。"],
        },
        Shape("alpaca"),
        [
            ("user", "哪种语言更适合数据分析？", "instruction"),
            ("assistant", "Python 更适合数据分析，因为它有丰富的库。", "output.0"),
            ("assistant", "我不知道。", "output.1"),
        ],
        id="alpaca-output-list-ranking",
    ),
    pytest.param(
        {"instruction": "计算 2+3", "input": None, "output": 5},
        Shape("alpaca"),
        [("user", "计算 2+3", "instruction"), ("assistant", "5", "output")],
        id="alpaca-null-input-number-output",
    ),
]

SHAREGPT_CASES = [
    pytest.param(
        {
            "conversations": [
                {"from": "human", "value": "你好，请介绍一下你自己。"},
                {"from": "gpt", "value": "你好！我是一个AI助手。"},
                {"from": "human", "value": "What can you do?"},
                {"from": "gpt", "value": "I can answer questions and help with writing."},
            ]
        },
        Shape("sharegpt"),
        [
            ("user", "你好，请介绍一下你自己。", "conversations.0.value"),
            ("assistant", "你好！我是一个AI助手。", "conversations.1.value"),
            ("user", "What can you do?", "conversations.2.value"),
            ("assistant", "I can answer questions and help with writing.", "conversations.3.value"),
        ],
        id="sharegpt-multiturn",
    ),
    pytest.param(
        {
            "conversations": [
                {"from": "system", "value": "你是一个天气助手。"},
                {"from": "human", "value": "上海今天多少度？"},
                {
                    "from": "function_call",
                    "value": '{"name": "get_weather", "arguments": {"city": "上海"}}',
                },
                {"from": "observation", "value": '{"temperature": 22, "condition": "晴"}'},
                {"from": "gpt", "value": "上海今天晴，气温22度。"},
            ],
            "tools": '[{"name": "get_weather", "description": "查询天气"}]',
        },
        Shape("sharegpt"),
        [
            ("system", "你是一个天气助手。", "conversations.0.value"),
            ("user", "上海今天多少度？", "conversations.1.value"),
            (
                "tool_call",
                '{"name": "get_weather", "arguments": {"city": "上海"}}',
                "conversations.2.value",
            ),
            ("tool_result", '{"temperature": 22, "condition": "晴"}', "conversations.3.value"),
            ("assistant", "上海今天晴，气温22度。", "conversations.4.value"),
        ],
        id="sharegpt-tools-function-call-observation",
    ),
    pytest.param(
        {
            "conversations": [
                {"role": "user", "content": "How do I boil an egg?"},
                {"role": "assistant", "content": "Put it in boiling water for 8 minutes."},
            ]
        },
        Shape("sharegpt"),
        [
            ("user", "How do I boil an egg?", "conversations.0.content"),
            ("assistant", "Put it in boiling water for 8 minutes.", "conversations.1.content"),
        ],
        id="sharegpt-role-content-keys",
    ),
    pytest.param(
        {
            "system": "You are a helpful assistant.",
            "conversations": [
                {"from": "human", "value": "1+1等于几？"},
                {"from": "gpt", "value": "1+1等于2。"},
            ],
        },
        Shape("sharegpt"),
        [
            ("system", "You are a helpful assistant.", "system"),
            ("user", "1+1等于几？", "conversations.0.value"),
            ("assistant", "1+1等于2。", "conversations.1.value"),
        ],
        id="sharegpt-top-level-system",
    ),
    pytest.param(
        {
            "system": "不应出现",
            "conversations": [
                {"from": "system", "value": "对话里的系统提示"},
                {"from": "human", "value": "hi"},
                {"from": "gpt", "value": "hello"},
            ],
        },
        Shape("sharegpt"),
        [
            ("system", "对话里的系统提示", "conversations.0.value"),
            ("user", "hi", "conversations.1.value"),
            ("assistant", "hello", "conversations.2.value"),
        ],
        id="sharegpt-system-turn-wins-over-top-level-system",
    ),
    pytest.param(
        {
            "conversations": [
                {"from": "Human", "value": "早上好"},
                {"from": "ChatGPT", "value": "早上好！"},
            ]
        },
        Shape("sharegpt"),
        [
            ("user", "早上好", "conversations.0.value"),
            ("assistant", "早上好！", "conversations.1.value"),
        ],
        id="sharegpt-role-case-insensitive",
    ),
]

MESSAGES_CASES = [
    pytest.param(
        {
            "messages": [
                {"role": "system", "content": "Answer briefly."},
                {"role": "user", "content": "中国的首都是哪里？"},
                {"role": "assistant", "content": "北京。"},
            ]
        },
        Shape("messages"),
        [
            ("system", "Answer briefly.", "messages.0.content"),
            ("user", "中国的首都是哪里？", "messages.1.content"),
            ("assistant", "北京。", "messages.2.content"),
        ],
        id="messages-string-content",
    ),
    pytest.param(
        {
            "messages": [
                {"role": "developer", "content": "用中文回答。"},
                {"role": "user", "content": "What is 2+2?"},
                {"role": "model", "content": "等于4。"},
            ]
        },
        Shape("messages"),
        [
            ("system", "用中文回答。", "messages.0.content"),
            ("user", "What is 2+2?", "messages.1.content"),
            ("assistant", "等于4。", "messages.2.content"),
        ],
        id="messages-developer-and-model-roles",
    ),
    pytest.param(
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "请描述这张图片。"},
                        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                        {"type": "image", "image": "cat.png"},
                        {"type": "text", "value": "要简短。"},
                    ],
                },
                {"role": "assistant", "content": [{"type": "text", "text": "一只猫在睡觉。"}]},
            ]
        },
        Shape("messages"),
        [
            ("user", "请描述这张图片。\n要简短。", "messages.0.content"),
            ("assistant", "一只猫在睡觉。", "messages.1.content"),
        ],
        id="messages-content-parts-text-value-image",
    ),
    pytest.param(
        {
            "messages": [
                {"role": "user", "content": "9.11和9.9哪个大？"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "reasoning", "text": "比较小数部分：0.11 < 0.9。"},
                        {"type": "text", "text": "9.9更大。"},
                    ],
                },
            ]
        },
        Shape("messages"),
        [
            ("user", "9.11和9.9哪个大？", "messages.0.content"),
            ("reasoning", "比较小数部分：0.11 < 0.9。", "messages.1.content"),
            ("assistant", "9.9更大。", "messages.1.content"),
        ],
        id="messages-reasoning-part",
    ),
    pytest.param(
        {
            "messages": [
                {"role": "user", "content": "Is 17 a prime number?"},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "17 has no divisors other than 1 and 17."},
                        {"type": "text", "text": "Yes, 17 is prime."},
                    ],
                },
            ]
        },
        Shape("messages"),
        [
            ("user", "Is 17 a prime number?", "messages.0.content"),
            ("reasoning", "17 has no divisors other than 1 and 17.", "messages.1.content"),
            ("assistant", "Yes, 17 is prime.", "messages.1.content"),
        ],
        id="messages-thinking-part",
    ),
    pytest.param(
        {
            "messages": [
                {"role": "user", "content": "草莓的英文是什么？"},
                {
                    "role": "assistant",
                    "content": "Strawberry。",
                    "reasoning_content": "用户问草莓的英文单词。",
                },
            ]
        },
        Shape("messages"),
        [
            ("user", "草莓的英文是什么？", "messages.0.content"),
            ("reasoning", "用户问草莓的英文单词。", "messages.1.reasoning_content"),
            ("assistant", "Strawberry。", "messages.1.content"),
        ],
        id="messages-reasoning-content",
    ),
    pytest.param(
        {
            "messages": [
                {"role": "user", "content": "Translate 谢谢 into English."},
                {"role": "assistant", "content": "Thank you.", "reasoning": "谢谢 means thanks."},
            ]
        },
        Shape("messages"),
        [
            ("user", "Translate 谢谢 into English.", "messages.0.content"),
            # the text is at messages.1.reasoning: the field must name the key it came from
            ("reasoning", "谢谢 means thanks.", "messages.1.reasoning"),
            ("assistant", "Thank you.", "messages.1.content"),
        ],
        id="messages-reasoning-key",
    ),
    pytest.param(
        {
            "messages": [
                {"role": "user", "content": "北京现在几点？"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_time", "arguments": '{"city": "北京"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": '{"time": "14:30"}'},
                {"role": "assistant", "content": "北京现在是下午两点半。"},
            ]
        },
        Shape("messages"),
        [
            ("user", "北京现在几点？", "messages.0.content"),
            ("tool_call", "", "messages.1.tool_calls"),
            ("tool_result", '{"time": "14:30"}', "messages.2.content"),
            ("assistant", "北京现在是下午两点半。", "messages.3.content"),
        ],
        id="messages-tool-calls-null-content-and-tool-role",
    ),
]

PREFERENCE_CASES = [
    pytest.param(
        {
            "prompt": "怎样才能睡得更好？",
            "chosen": "保持规律的作息，睡前少看手机。",
            "rejected": "Just drink coffee.",
        },
        Shape("preference", "prompt"),
        [
            ("user", "怎样才能睡得更好？", "prompt"),
            ("assistant", "保持规律的作息，睡前少看手机。", "chosen"),
            ("assistant", "Just drink coffee.", "rejected"),
        ],
        id="preference-strings-prompt",
    ),
    pytest.param(
        {
            "question": "What is the boiling point of water?",
            "chosen": "100 degrees Celsius at sea level.",
            "rejected": "水的沸点是50度。",
        },
        Shape("preference", "question"),
        [
            ("user", "What is the boiling point of water?", "question"),
            ("assistant", "100 degrees Celsius at sea level.", "chosen"),
            ("assistant", "水的沸点是50度。", "rejected"),
        ],
        id="preference-strings-question",
    ),
    pytest.param(
        {
            "system": "你是一个严谨的助手。",
            "prompt": "地球是平的吗？",
            "chosen": "不是，地球近似球体。",
            "rejected": "是的。",
        },
        Shape("preference", "prompt"),
        [
            ("system", "你是一个严谨的助手。", "system"),
            ("user", "地球是平的吗？", "prompt"),
            ("assistant", "不是，地球近似球体。", "chosen"),
            ("assistant", "是的。", "rejected"),
        ],
        id="preference-system",
    ),
    pytest.param(
        {
            "conversations": [{"from": "human", "value": "推荐一本入门的机器学习书。"}],
            "chosen": {"from": "gpt", "value": "推荐周志华的《机器学习》。"},
            "rejected": {"from": "gpt", "value": "I don't know any books."},
        },
        Shape("preference", "conversations"),
        [
            ("user", "推荐一本入门的机器学习书。", "conversations.0.value"),
            ("assistant", "推荐周志华的《机器学习》。", "chosen.value"),
            ("assistant", "I don't know any books.", "rejected.value"),
        ],
        id="preference-sharegpt-message-dicts",
    ),
    pytest.param(
        {
            "chosen": [
                {"role": "user", "content": "天空为什么是蓝色的？"},
                {"role": "assistant", "content": "因为瑞利散射。"},
            ],
            "rejected": [
                {"role": "user", "content": "天空为什么是蓝色的？"},
                {"role": "assistant", "content": "Because it reflects the sea."},
            ],
        },
        Shape("preference"),
        [
            ("user", "天空为什么是蓝色的？", "chosen.0.content"),
            ("assistant", "因为瑞利散射。", "chosen.1.content"),
            ("assistant", "Because it reflects the sea.", "rejected.1.content"),
        ],
        id="preference-trl-conversational-implicit-prompt",
    ),
    pytest.param(
        {
            "chosen": [
                {"role": "system", "content": "Reply in English."},
                {"role": "user", "content": "你好"},
                {"role": "assistant", "content": "Hello! How can I help?"},
                {"role": "user", "content": "讲个笑话"},
                {"role": "assistant", "content": "Why did the chicken cross the road?"},
            ],
            "rejected": [
                {"role": "system", "content": "Reply in English."},
                {"role": "user", "content": "你好"},
                {"role": "assistant", "content": "Hello! How can I help?"},
                {"role": "user", "content": "讲个笑话"},
                {"role": "assistant", "content": "不会。"},
            ],
        },
        Shape("preference"),
        # the shared prompt (system, user, assistant, user) once, in record order
        [
            ("system", "Reply in English.", "chosen.0.content"),
            ("user", "你好", "chosen.1.content"),
            ("assistant", "Hello! How can I help?", "chosen.2.content"),
            ("user", "讲个笑话", "chosen.3.content"),
            ("assistant", "Why did the chicken cross the road?", "chosen.4.content"),
            ("assistant", "不会。", "rejected.4.content"),
        ],
        id="preference-trl-conversational-multiturn",
    ),
    pytest.param(
        {
            "prompt": [{"role": "user", "content": "Name a primary colour."}],
            "chosen": [{"role": "assistant", "content": "Red."}],
            "rejected": [{"role": "assistant", "content": "绿色。"}],
        },
        Shape("preference", "prompt"),
        [
            ("user", "Name a primary colour.", "prompt.0.content"),
            ("assistant", "Red.", "chosen.0.content"),
            ("assistant", "绿色。", "rejected.0.content"),
        ],
        id="preference-trl-explicit-prompt",
    ),
    pytest.param(
        {
            "messages": [{"role": "user", "content": "用一句话总结《红楼梦》。"}],
            "chosen": "一部描写贾府兴衰的长篇小说。",
            "rejected": "",
        },
        Shape("preference", "messages"),
        [
            ("user", "用一句话总结《红楼梦》。", "messages.0.content"),
            ("assistant", "一部描写贾府兴衰的长篇小说。", "chosen"),
            ("assistant", "", "rejected"),
        ],
        id="preference-messages-prompt",
    ),
]


@pytest.mark.parametrize(
    ("record", "shape", "turns"),
    ALPACA_CASES + SHAREGPT_CASES + MESSAGES_CASES + PREFERENCE_CASES,
)
def test_detect_and_read(record: dict[str, Any], shape: Shape, turns: list[T]) -> None:
    got_shape, got_turns = turns_of(record)
    assert got_shape == shape
    assert got_turns == turns


def _pair_record(prompt_key: str, response_key: str) -> dict[str, str]:
    return {
        prompt_key: "请用一句话解释什么是光合作用。",
        response_key: "Photosynthesis turns light into chemical energy.",
    }


# instruction/output records are detected as Alpaca (see test_overrides for format="pairs")
AUTO_PAIRS = [pair for pair in COLUMN_PAIRS if pair != ("instruction", "output")]


@pytest.mark.parametrize(
    ("prompt_key", "response_key"), AUTO_PAIRS, ids=[f"{p}-{r}" for p, r in AUTO_PAIRS]
)
def test_column_pairs(prompt_key: str, response_key: str) -> None:
    record = _pair_record(prompt_key, response_key)
    shape, turns = turns_of(record)
    assert shape == Shape("pairs", prompt_key, response_key)
    assert turns == [
        ("user", "请用一句话解释什么是光合作用。", prompt_key),
        ("assistant", "Photosynthesis turns light into chemical energy.", response_key),
    ]


def test_column_pairs_preference_order_and_system() -> None:
    record = {"system_prompt": "简短回答", "question": "1+1?", "answer": "2", "response": "等于二"}
    shape, turns = turns_of(record)
    assert shape == Shape("pairs", "question", "answer")
    assert turns == [
        ("system", "简短回答", "system_prompt"),
        ("user", "1+1?", "question"),
        ("assistant", "2", "answer"),
    ]


def test_first_record_without_the_pair_fields_is_a_field_error() -> None:
    shape = detect_shape(_pair_record("query", "response"))
    with pytest.raises(FieldError) as info:
        shape.turns({"query": "你好"})
    assert info.value.field == "response"
    assert "missing" in info.value.problem
    assert "query" in info.value.problem


# ---------------------------------------------------------------------------------------------
# Overrides


OVERRIDE_CASES = [
    pytest.param(
        {"data": {"question": "黄河有多长？", "answer": "约5464公里。"}, "id": 7},
        {"prompt_field": "data.question", "response_field": "data.answer"},
        Shape("pairs", "data.question", "data.answer"),
        [("user", "黄河有多长？", "data.question"), ("assistant", "约5464公里。", "data.answer")],
        id="dotted-fields",
    ),
    pytest.param(
        {
            "dialogue": [
                {"speaker": "A", "text": "Where is the station?"},
                {"speaker": "B", "text": "车站在前面左转。"},
            ],
            "meta": {"system_prompt": "Be polite."},
        },
        {
            "prompt_field": "dialogue.0.text",
            "response_field": "dialogue.1.text",
            "system_field": "meta.system_prompt",
        },
        Shape("pairs", "dialogue.0.text", "dialogue.1.text", "meta.system_prompt"),
        [
            ("system", "Be polite.", "meta.system_prompt"),
            ("user", "Where is the station?", "dialogue.0.text"),
            ("assistant", "车站在前面左转。", "dialogue.1.text"),
        ],
        id="list-indices-and-system-field",
    ),
    pytest.param(
        {"instruction": "Summarise: 今天下雨了。", "input": "", "output": "It rained today."},
        {"prompt_field": "instruction", "response_field": "output"},
        Shape("pairs", "instruction", "output"),
        [
            ("user", "Summarise: 今天下雨了。", "instruction"),
            ("assistant", "It rained today.", "output"),
        ],
        id="fields-win-over-alpaca-detection",
    ),
    pytest.param(
        {"instruction": "用中文解释 overfitting。", "output": "过拟合是指模型在训练集上表现好。"},
        {"format": "pairs"},
        Shape("pairs", "instruction", "output"),
        [
            ("user", "用中文解释 overfitting。", "instruction"),
            ("assistant", "过拟合是指模型在训练集上表现好。", "output"),
        ],
        id="format-pairs-instruction-output",
    ),
    pytest.param(
        {
            "prompt": "How do I make tea?",
            "chosen": [
                {"role": "user", "content": "How do I make tea?"},
                {"role": "assistant", "content": "Steep the leaves in hot water."},
            ],
            "rejected": [
                {"role": "user", "content": "How do I make tea?"},
                {"role": "assistant", "content": "不知道。"},
            ],
            "messages": [
                {"role": "user", "content": "How do I make tea?"},
                {"role": "assistant", "content": "Steep the leaves in hot water."},
            ],
            "score_chosen": 8.0,
            "score_rejected": 2.0,
        },
        {"format": "messages"},
        Shape("messages"),
        [
            ("user", "How do I make tea?", "messages.0.content"),
            ("assistant", "Steep the leaves in hot water.", "messages.1.content"),
        ],
        id="format-messages-on-preference-record",
    ),
    pytest.param(
        {
            "context": "介绍一下苏州园林。",
            "chosen": "苏州园林以精巧著称。",
            "rejected": "Suzhou is a city.",
        },
        {"format": "preference", "prompt_field": "context"},
        Shape("preference", "context"),
        [
            ("user", "介绍一下苏州园林。", "context"),
            ("assistant", "苏州园林以精巧著称。", "chosen"),
            ("assistant", "Suzhou is a city.", "rejected"),
        ],
        id="format-preference-prompt-field",
    ),
    pytest.param(
        {
            "question": "什么是量子计算？",
            "response": "量子计算利用量子比特进行计算。",
            "sys": {"text": "请用中文回答。"},
        },
        {"system_field": "sys.text"},
        Shape("pairs", "question", "response", "sys.text"),
        [
            ("system", "请用中文回答。", "sys.text"),
            ("user", "什么是量子计算？", "question"),
            ("assistant", "量子计算利用量子比特进行计算。", "response"),
        ],
        id="system-field-on-detected-pairs",
    ),
    pytest.param(
        {"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "嗨"}]},
        {"format": "sharegpt"},
        Shape("sharegpt"),
        [("user", "hi", "conversations.0.value"), ("assistant", "嗨", "conversations.1.value")],
        id="format-equal-to-detected",
    ),
]


@pytest.mark.parametrize(("record", "overrides", "shape", "turns"), OVERRIDE_CASES)
def test_overrides(
    record: dict[str, Any], overrides: dict[str, str], shape: Shape, turns: list[T]
) -> None:
    got_shape, got_turns = turns_of(record, **overrides)
    assert got_shape == shape
    assert got_turns == turns


def test_negative_list_index_in_path() -> None:
    record = {"turns": ["第一问", "第一答", "第二问", "最后的回答"]}
    _, turns = turns_of(record, prompt_field="turns.0", response_field="turns.-1")
    assert turns == [("user", "第一问", "turns.0"), ("assistant", "最后的回答", "turns.-1")]


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"data": {"question": "只有问题"}}, "data.answer"),
        ({"data": {"question": "问", "answer": "答"}, "dialogue": []}, None),
        ({"data": "不是对象"}, "data.question"),
    ],
)
def test_dotted_path_missing(record: dict[str, Any], field: str | None) -> None:
    shape = Shape("pairs", "data.question", "data.answer")
    if field is None:
        assert [t.text for t in shape.turns(record)] == ["问", "答"]
        return
    with pytest.raises(FieldError) as info:
        shape.turns(record)
    assert info.value.field == field


def test_out_of_range_list_index_is_missing() -> None:
    shape = Shape("pairs", "turns.0", "turns.5")
    with pytest.raises(FieldError) as info:
        shape.turns({"turns": ["问", "答"]})
    assert info.value.field == "turns.5"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"format": "jsonl"}, "unknown format 'jsonl'"),
        ({"format": "ShareGPT"}, "unknown format 'ShareGPT'"),
        ({"prompt_field": "q"}, "--prompt-field and --response-field go together"),
        ({"response_field": "a"}, "--prompt-field and --response-field go together"),
        (
            {"format": "pairs", "prompt_field": "q"},
            "--prompt-field and --response-field go together",
        ),
    ],
)
def test_bad_overrides_are_usage_errors(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as info:
        detect_shape({"q": "问", "a": "答"}, **kwargs)
    assert info.value.message == message
    if "format" in message:
        assert info.value.hint == "choose one of: " + ", ".join(FORMATS)


# ---------------------------------------------------------------------------------------------
# Unknown roles and unknown shapes


@pytest.mark.parametrize(
    ("record", "field", "role"),
    [
        (
            {
                "conversations": [
                    {"from": "human", "value": "你好"},
                    {"from": "narrator", "value": "他笑了。"},
                ]
            },
            "conversations.1.from",
            "narrator",
        ),
        ({"messages": [{"role": "critic", "content": "Too long."}]}, "messages.0.role", "critic"),
        ({"messages": [{"role": "", "content": "空角色"}]}, "messages.0.role", ""),
    ],
)
def test_unknown_role(record: dict[str, Any], field: str, role: str) -> None:
    shape = detect_shape(record)
    with pytest.raises(FieldError) as info:
        shape.turns(record)
    assert info.value.field == field
    assert info.value.problem == f"unknown role {role!r}"
    assert info.value.hint is not None
    for known in (
        "human",
        "gpt",
        "user",
        "assistant",
        "system",
        "function_call",
        "observation",
        "tool",
    ):
        assert known in info.value.hint


@pytest.mark.parametrize(
    ("record", "field"),
    [
        ({"messages": [{"content": "没有角色"}]}, "messages.0"),
        ({"messages": [42]}, "messages.0"),
        ({"conversations": [{"from": "human", "value": "你好"}, ["gpt", "嗨"]]}, "conversations.1"),
    ],
)
def test_broken_messages(record: dict[str, Any], field: str) -> None:
    shape = detect_shape(record)
    with pytest.raises(FieldError) as info:
        shape.turns(record)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("record", "keys"),
    [
        ({"text": "这是一段预训练语料。", "meta": {"source": "wiki"}}, "'text', 'meta'"),
        ({"title": "Hello", "body": "World"}, "'title', 'body'"),
        ({"instruction": "只有指令"}, "'instruction'"),
        ({}, "none"),
    ],
)
def test_unknown_shape_lists_keys_and_flags(record: dict[str, Any], keys: str) -> None:
    with pytest.raises(FieldError) as info:
        detect_shape(record)
    error = info.value
    assert error.field is None
    assert error.problem == f"cannot tell the record shape from its keys ({keys})"
    assert error.hint is not None
    assert "--prompt-field" in error.hint
    assert "--response-field" in error.hint
    assert "--format {alpaca,sharegpt,messages,pairs,preference}" in error.hint


def test_unknown_shape_with_format_pairs() -> None:
    with pytest.raises(FieldError) as info:
        detect_shape({"title": "标题", "body": "正文"}, format="pairs")
    assert info.value.problem == "cannot tell the record shape from its keys ('title', 'body')"


@pytest.mark.parametrize("record", [["instruction", "output"], "一段文字", None, 3])
def test_non_object_record(record: Any) -> None:
    with pytest.raises(FieldError) as info:
        detect_shape(record)
    assert info.value.problem.startswith("expected a record (an object), got ")
    with pytest.raises(FieldError):
        Shape("alpaca").turns(record)


@pytest.mark.parametrize(
    ("history", "field"),
    [("不是列表", "history"), ([["只有问题"]], "history.0"), ([["问", "答", "多余"]], "history.0")],
)
def test_bad_alpaca_history(history: Any, field: str) -> None:
    record = {"instruction": "问题", "output": "回答", "history": history}
    with pytest.raises(FieldError) as info:
        detect_shape(record).turns(record)
    assert info.value.field == field


# ---------------------------------------------------------------------------------------------
# as_text coercions


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("你好 world", "你好 world"),
        ("", ""),
        (None, ""),
        (0, "0"),
        (42, "42"),
        (-7, "-7"),
        (3.5, "3.5"),
        (True, "True"),
        (False, "False"),
        (["第一段", "第二段"], "第一段\n第二段"),
        ([], ""),
        (["a", None, "b"], "a\nb"),
        ([{"type": "text", "text": "看"}, {"type": "image_url", "image_url": {"url": "u"}}], "看"),
        ({"text": "对象里的文字"}, "对象里的文字"),
        ({"value": "value 键"}, "value 键"),
        ({"content": "content 键"}, "content 键"),
        ({"content": ["嵌套", "列表"]}, "嵌套\n列表"),
    ],
)
def test_as_text(value: Any, text: str) -> None:
    assert as_text(value, "output") == text


@pytest.mark.parametrize(
    ("value", "field", "problem"),
    [
        (
            {"url": "https://example.com", "alt": "图"},
            "output",
            "expected text, got an object with keys {url, alt}",
        ),
        ({}, "output", "expected text, got an object with keys {}"),
        (b"bytes", "output", "expected text, got bytes b'bytes'"),
        (["ok", 5], "output.1", "expected a text part, got int 5"),
        (["ok", ["nested"]], "output.1", "expected a text part, got a list of 1 items"),
        ({"text": {"url": "x"}}, "output.text", "expected text, got an object with keys {url}"),
    ],
)
def test_as_text_errors(value: Any, field: str, problem: str) -> None:
    with pytest.raises(FieldError) as info:
        as_text(value, "output")
    assert info.value.field == field
    assert info.value.problem == problem


def test_object_output_is_an_error_with_the_field() -> None:
    record = {"instruction": "画一只猫", "output": {"image": "cat.png"}}
    with pytest.raises(FieldError) as info:
        detect_shape(record).turns(record)
    assert info.value.field == "output"
    assert info.value.problem == "expected text, got an object with keys {image}"
    assert info.value.hint == "point --prompt-field/--response-field at a text field"


def test_turn_is_frozen() -> None:
    turn = Turn("user", "你好", "instruction")
    with pytest.raises(AttributeError):
        turn.text = "改"  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# ms-swift's dataset formats (its "Custom Dataset" documentation)

_SWIFT = {
    "messages": {
        "messages": [
            {"role": "system", "content": "你是一个乐于助人的助手。"},
            {"role": "user", "content": "你好"},
            {"role": "assistant", "content": "你好！有什么可以帮你？"},
            {"role": "user", "content": "介绍一下你自己"},
            {"role": "assistant", "content": "我是一个语言模型。"},
        ],
        "rejected_response": "I am a language model.",
    },
    "query-response": {
        "system": "你是一个乐于助人的助手。",
        "query": "介绍一下你自己",
        "response": "我是一个语言模型。",
        "history": [["你好", "你好！有什么可以帮你？"]],
    },
    "sharegpt": {
        "system": "你是一个乐于助人的助手。",
        "conversation": [
            {"human": "你好", "assistant": "你好！有什么可以帮你？"},
            {"human": "介绍一下你自己", "assistant": "我是一个语言模型。"},
        ],
    },
    "alpaca": {
        "system": "你是一个乐于助人的助手。",
        "instruction": "介绍一下你自己",
        "input": "",
        "output": "我是一个语言模型。",
    },
}


@pytest.mark.parametrize("name", list(_SWIFT))
def test_ms_swift_formats_read_every_turn(name: str) -> None:
    record = _SWIFT[name]
    turns = detect_shape(record).turns(record)
    texts = [(t.role, t.text) for t in turns]
    assert texts[0] == ("system", "你是一个乐于助人的助手。")
    expected = [("user", "介绍一下你自己"), ("assistant", "我是一个语言模型。")]
    if name != "alpaca":
        expected = [("user", "你好"), ("assistant", "你好！有什么可以帮你？"), *expected]
    if name == "messages":
        expected.append(("assistant", "I am a language model."))
    assert texts[1:] == expected
    for turn in turns:  # every field path leads back to its text (rewrite writes through them)
        assert as_text(get_path(record, turn.field), turn.field) == turn.text


def test_ms_swift_preference_and_broken_rounds() -> None:
    record = {**_SWIFT["query-response"], "rejected_response": "I am a language model."}
    turns = detect_shape(record).turns(record)
    assert (turns[-1].role, turns[-1].field) == ("assistant", "rejected_response")
    with pytest.raises(FieldError) as err:
        detect_shape(record).turns({**record, "rejected_response": {"score": 1}})
    assert err.value.field == "rejected_response"
    alpaca = {**_SWIFT["alpaca"], "rejected_response": "I am a language model."}
    assert detect_shape(alpaca).turns(alpaca)[-1].field == "rejected_response"
    broken = {"conversation": [{"user": "你好", "bot": "你好！"}]}
    with pytest.raises(FieldError) as err:
        detect_shape(broken).turns(broken)
    assert err.value.field == "conversation.0"
