"""Fast paths agree with the straightforward code they replace: the searches done once per
batch in ``scripts.measure`` (English-word candidates, ASCII marks that may punctuate Chinese),
the batch cue test of prompts, unfenced code lines, the LaTeX mask, the lexicon loader."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from langaudit import codeswitch as cs
from langaudit import scripts as sc
from langaudit.punctuation import ascii_in_chinese

# Pieces that make the searched-for configurations likely: words of the lexicon in every case,
# words glued to letters, digits and masked regions, marks next to Chinese, spaces and line ends.
_PIECES = st.sampled_from(
    [
        "the",
        "The",
        "THE",
        "however",
        "performance",
        "evaluate",
        "softly",
        "is",
        "qz",
        "café",
        "naïve",
        "x",
        "ok",
        "中",
        "文",
        "這",
        "我们",
        "，",
        "。",
        "”",
        "’",
        "\u3000",
        "」",
        "（",
        "）",
        "(",
        ")",
        '"',
        "'",
        ",",
        ".",
        "?",
        "!",
        ":",
        ";",
        "...",
        "e.g.",
        "1.",
        "3.14",
        "file.py",
        "`",
        "`code`",
        "```\nprint(x)\n```",
        "https://example.com/the",
        "a@b.com",
        "$x$",
        "x = 1;",
        "\n",
        " ",
        "  ",
        "\t",
        "5",
        "_",
        "-",
    ]
)
_TEXT = st.lists(_PIECES, max_size=30).map("".join)
_BATCH = st.lists(_TEXT, min_size=1, max_size=6)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_BATCH)
def test_batch_word_candidates_equal_the_per_text_search(texts: list[str]) -> None:
    measured = sc.measure(texts, cs.vocabulary_hashes())
    assert measured.word_ptr is not None and measured.word_at is not None
    for i, text in enumerate(texts):
        batch = measured.word_at[measured.word_ptr[i] : measured.word_ptr[i + 1]].tolist()
        # only texts with Han outside masked regions can be Chinese and are searched
        has_han = int(measured.column("han")[i]) > 0
        alone = cs.vocabulary_words(text, measured.spans[i]) if has_han else []
        assert batch == alone, text


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_BATCH)
@example(["我们café,"])  # a Latin letter outside ASCII before the mark (found by hypothesis)
def test_batch_marks_find_what_the_per_text_search_finds(texts: list[str]) -> None:
    measured = sc.measure(texts)
    assert measured.maybe_ptr is not None and measured.maybe_at is not None
    assert measured.ascii_after_han is not None
    for i, text in enumerate(texts):
        marks = measured.maybe_at[measured.maybe_ptr[i] : measured.maybe_ptr[i + 1]].tolist()
        searched = ascii_in_chinese(text, measured.spans[i])
        given_marks = ascii_in_chinese(text, measured.spans[i], marks=marks)
        # what the batch search rules out is either certain already or no finding
        assert set(given_marks) <= set(searched), text
        certain = int(measured.ascii_after_han[i]) > 0
        assert bool(searched) == (certain or bool(given_marks)), text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("然后evaluate一下performance", ["evaluate", "performance"]),
        ("它 softly 以其", ["softly"]),
        ("用Python调用OpenAI的API", []),
        ("见 `the code` 和 https://example.com/the 这里", []),
        ("咖啡馆叫 café 和 naïve", []),
        ("THE 和 The 都不是小写词", []),
    ],
)
def test_batch_word_candidates(text: str, words: list[str]) -> None:
    measured = sc.measure([text], cs.vocabulary_hashes())
    assert measured.word_at is not None
    found = [text[at : cs._word_end(text, at)] for at in measured.word_at.tolist()]
    assert found == words


def test_word_hashes_keep_only_lower_case_ascii_words() -> None:
    hashes = sc.word_hashes(["the", "The", "café", "a", "x" * (sc.MAX_WORD + 1), "hello"])
    assert len(hashes) == 2
    assert list(hashes) == sorted(hashes)
    assert set(sc.word_hashes(["hello"])) <= set(hashes)


# The line search of _code_lines as multi-line regexes (what it was before it went line by line
# and looked at the ends of lines without a regex): both must find the same lines.
_CODE_LINE_REFERENCE = re.compile(
    r"^[^\n]*(?:[;{}\]=]|\),)[^\n]*$|^[ \t]*(?:def|class|import|from|return|with|for|if|while"
    r"|elif|else|try|except|#include|public|private|static|const|let|var|function|SELECT|INSERT"
    r"|UPDATE|CREATE|@)\b[^\n]*$",
    re.M,
)


_CODE_LINE_END_REFERENCE = re.compile(
    r"[;{}]\s*$|[\]}],?\s*$|\),\s*$|^[}\])]|^(?:with|for|if|while|elif|else|try|except|def|class)\b.*:$"
    r"|^[\w\"']+:\s*[\[{\"'\w].*,$"
)


def _reference_code_lines(text: str) -> list[sc.Span]:
    spans: list[sc.Span] = []
    for m in _CODE_LINE_REFERENCE.finditer(text):
        line = m.group()
        body = line.strip()
        if not body or re.search(r"[\u3400-\u9fff\uf900-\ufaff]", body):
            continue
        if not (_CODE_LINE_END_REFERENCE.search(body) or sc._CODE_LINE_START.match(line)):
            continue
        start, end = m.start() + len(line) - len(line.lstrip()), m.start() + len(line.rstrip())
        if spans and not text[spans[-1][1] : start].strip():
            spans[-1] = (spans[-1][0], end, "code")
        else:
            spans.append((start, end, "code"))
    return spans


_CODE_PIECES = st.sampled_from(
    [
        "],",
        "},",
        ",",
        "else:",
        "with open(f) as g:",
        "class",
        "x:",
        "]",
        "[",
        "x = 1;",
        "def f():",
        "import os",
        "中文;",
        "if x:",
        "a",
        "}",
        "{",
        "),",
        " ",
        "\t",
        "\r",
        "return",
        "returned",
        "@app",
        "key: 'v',",
        "print(x)",
        "SELECT *",
        "é",
        "=",
        "\n",
        "\n",
    ]
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_CODE_PIECES, max_size=20).map("".join))
def test_code_lines_equal_the_multiline_search(text: str) -> None:
    found = sc._code_lines(text)
    assert found == _reference_code_lines(text)
    for start, end, _ in found:
        assert not any("\u4e00" <= c <= "\u9fff" for c in text[start:end])


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (
            "说明如下\nx = compute(a, b);\nresult = x + 1\n以上",
            ["x = compute(a, b);\nresult = x + 1"],
        ),
        ("import numpy as np\nimport pandas as pd", ["import numpy as np\nimport pandas as pd"]),
        ("第一步：设置 x = 1;\n然后运行", []),
        ("He said: yes; and left.\nThat is all", []),
        ("for i in range(10):\n    total += i", ["for i in range(10):\n    total += i"]),
        ("for i in range(10):\n    print(i)", ["for i in range(10):"]),
        # Chinese in string literals and comments does not make a line prose
        ('说明：\nmsg = "你好，世界"\nx = 1  # 计数器', ['msg = "你好，世界"\nx = 1  # 计数器']),
        # shell commands with options
        (
            '删除前先确认：\nread -p "确定删除吗？(y/n)" confirm\nkubectl get pods -l app=web',
            ['read -p "确定删除吗？(y/n)" confirm\nkubectl get pods -l app=web'],
        ),
        ("你可以用 -v 参数查看详细信息", []),
        ("This is a well-known trade-off, not a command.", []),
    ],
)
def test_code_lines(text: str, code: list[str]) -> None:
    assert [text[s:e] for s, e, _ in sc._code_lines(text)] == code


_PROMPT_PIECES = st.sampled_from(
    [
        "Translate",
        "translation",
        "TRANSLATED",
        "translator",
        "English",
        "english",
        "Chinese",
        "french",
        "Frenchman",
        "中文",
        "英语",
        "英",
        "翻",
        "译",
        "西班牙",
        "西班牙语",
        "请",
        "hello",
        "in",
        " ",
        "\n",
        "é",
        "5",
        ":",
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_PROMPT_PIECES, max_size=12).map("".join), min_size=1, max_size=6))
def test_batch_cue_test_equals_the_per_text_one(texts: list[str]) -> None:
    from langaudit import instructions

    assert instructions.have_cues(texts).tolist() == [instructions._maybe(t) for t in texts]


# The LaTeX mask as it was, its inline formula's lookbehind first: every position was tried.
_LATEX_REFERENCE = re.compile(
    r"\$\$.{1,20000}?\$\$|\\\[.{1,20000}?\\\]|\\\(.{1,20000}?\\\)"
    r"|(?<![$\w])\$(?=[^\s$])[^$\n]{1,300}?(?<=[^\s$\\])\$(?![\w$])",
    re.DOTALL,
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(["$", "$$", "\\[", "\\]", "\\(", "\\)", "x", "a_1", " ", "\n", "中", "\\"]),
        max_size=25,
    ).map("".join)
)
def test_latex_mask_equals_its_reference(text: str) -> None:
    latex = next(pattern for kind, _, pattern in sc._MASKS if kind == "latex")
    assert [m.span() for m in latex.finditer(text)] == [
        m.span() for m in _LATEX_REFERENCE.finditer(text)
    ]


def test_the_fast_lexicon_load_equals_the_json_parser() -> None:
    import gzip
    import json
    from importlib.util import find_spec
    from pathlib import Path

    from langaudit import lexicon

    spec = find_spec("spellchecker")
    assert spec is not None and spec.origin is not None
    path = Path(spec.origin).parent / "resources" / "en.json.gz"
    full = json.loads(gzip.decompress(path.read_bytes()))
    expected = {w: c for w, c in full.items() if c >= lexicon.MIN_ENGLISH_FREQUENCY}
    assert lexicon.english_lexicon() == expected
    assert len(expected) > 10_000


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(["-", "--", "p", "all", " ", "\t", "=", "x-y", "中", "1"]), max_size=12
    ).map("".join)
)
def test_option_search_equals_its_pattern(line: str) -> None:
    assert sc._has_option(line) == bool(re.search(sc.SHELL_OPTION, line))
