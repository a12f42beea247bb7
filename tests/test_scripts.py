"""Script-class counting (``langaudit.scripts``): code-point table, counts, masking, variants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from langaudit import scripts as sc

# ---------------------------------------------------------------------------------------------
# The code-point table


def test_class_table_agrees_with_classify_code_point_on_the_whole_bmp() -> None:
    table = sc.class_table()
    assert table.shape == (0x10000,)
    assert table.dtype == np.uint8
    expected = np.array([sc.classify_code_point(cp) for cp in range(0x10000)], np.uint8)
    # the table additionally splits Han into Simplified-only / Traditional-only characters
    merged = table.copy()
    merged[np.isin(merged, (sc.HAN_SIMPLIFIED, sc.HAN_TRADITIONAL))] = sc.HAN
    differing = np.flatnonzero(merged != expected)
    assert [hex(int(cp)) for cp in differing[:20]] == []
    variant = np.isin(table, (sc.HAN_SIMPLIFIED, sc.HAN_TRADITIONAL))
    assert (expected[variant] == sc.HAN).all()


@pytest.mark.parametrize(
    ("char", "cls"),
    [
        ("中", sc.HAN),
        ("〇", sc.HAN),
        ("々", sc.HAN),
        ("𠀀", sc.HAN),
        ("\U0002a700", sc.HAN),
        ("あ", sc.KANA),
        ("ア", sc.KANA),
        ("ー", sc.KANA),
        ("ｱ", sc.KANA),
        ("한", sc.HANGUL),
        ("ㄱ", sc.HANGUL),
        ("a", sc.LATIN),
        ("Z", sc.LATIN),
        ("é", sc.LATIN),
        ("ß", sc.LATIN),
        ("Ａ", sc.LATIN),
        ("Я", sc.CYRILLIC),
        ("ё", sc.CYRILLIC),
        ("α", sc.OTHER_LETTER),
        ("ا", sc.OTHER_LETTER),
        ("ก", sc.OTHER_LETTER),
        ("7", sc.DIGIT),
        ("７", sc.DIGIT),
        ("٣", sc.DIGIT),
        ("，", sc.CJK_PUNCT),
        ("。", sc.CJK_PUNCT),
        ("、", sc.CJK_PUNCT),
        ("「", sc.CJK_PUNCT),
        ("！", sc.CJK_PUNCT),
        ("～", sc.CJK_PUNCT),
        (",", sc.ASCII_PUNCT),
        ("$", sc.ASCII_PUNCT),
        ("+", sc.ASCII_PUNCT),
        ("“", sc.OTHER_PUNCT),
        ("—", sc.OTHER_PUNCT),
        ("…", sc.OTHER_PUNCT),
        (" ", sc.SPACE),
        ("\n", sc.SPACE),
        ("\t", sc.SPACE),
        ("\u3000", sc.SPACE),
        ("\xa0", sc.SPACE),
        ("\x85", sc.SPACE),
        ("😀", sc.OTHER),
        ("\u200b", sc.OTHER),
        ("\x00", sc.OTHER),
        ("\ufeff", sc.OTHER),
        ("①", sc.OTHER),
        ("\ud800", sc.OTHER),
        ("\udfff", sc.OTHER),
    ],
)
def test_classify_code_point(char: str, cls: int) -> None:
    assert sc.classify_code_point(ord(char)) == cls


# ---------------------------------------------------------------------------------------------
# Counts


def counts_of(text: str) -> dict[str, int]:
    """The non-zero count columns of one text."""
    measured = sc.measure([text])
    out = {name: int(measured.column(name)[0]) for name in sc.COUNT_FIELDS}
    return {name: value for name, value in out.items() if value}


COUNT_CASES = [
    ("中文信息处理", {"han": 6, "han_simplified_only": 1}),
    ("這個說法們", {"han": 5, "han_traditional_only": 4}),
    ("这个说法们", {"han": 5, "han_simplified_only": 4}),
    ("Hello, world!", {"latin": 10, "ascii_punct": 2, "space": 1}),
    (
        "我们使用LoRA进行fine-tuning",
        {"han": 6, "han_simplified_only": 2, "latin": 14, "ascii_punct": 1},
    ),
    ("ひらがなとカタカナ", {"kana": 9}),
    ("東京に行きます。", {"han": 3, "han_traditional_only": 1, "kana": 4, "cjk_punct": 1}),
    ("한국어 문장입니다", {"hangul": 8, "space": 1}),
    ("Привет, мир!", {"cyrillic": 9, "ascii_punct": 2, "space": 1}),
    ("αβγ δ", {"other_letter": 4, "space": 1}),
    ("0123456789", {"digit": 10}),
    ("１２３", {"digit": 3}),
    ("2024年3月15日", {"han": 3, "digit": 7}),
    ("你好，世界！", {"han": 4, "cjk_punct": 2}),
    ("你好,世界!", {"han": 4, "ascii_punct": 2}),
    ("Ｈｅｌｌｏ，ｗｏｒｌｄ！", {"latin": 10, "cjk_punct": 2}),
    ("“引号”与‘单引号’—破折号…", {"han": 9, "han_simplified_only": 5, "other_punct": 6}),
    (
        "「書名」、《标题》",
        {"han": 4, "han_traditional_only": 1, "han_simplified_only": 2, "cjk_punct": 5},
    ),
    ("👍😀🎉", {"other": 3}),
    ("𠀀𠀁", {"han": 2}),
    ("好的👍", {"han": 2, "other": 1}),
    ("a\u200bb\x00c", {"latin": 3, "other": 2}),
    ("\u200b\u200b", {"other": 2}),
    ("\ufeff你好", {"han": 2, "other": 1}),
    ("\u3000 \t\n", {"space": 4}),
    ("", {}),
]


@pytest.mark.parametrize(("text", "counts"), COUNT_CASES, ids=[repr(t) for t, _ in COUNT_CASES])
def test_counts(text: str, counts: dict[str, int]) -> None:
    assert counts_of(text) == counts


def test_counts_add_up_to_the_length_and_letters() -> None:
    texts = [t for t, _ in COUNT_CASES]
    measured = sc.measure(texts)
    assert measured.counts.shape == (len(texts), sc.N_CLASSES)
    assert measured.counts.dtype == np.int64
    assert measured.counts.sum(axis=1).tolist() == [len(t) for t in texts]
    letters = [sum(counts.get(name, 0) for name in sc.RATIO_FIELDS) for _, counts in COUNT_CASES]
    assert measured.letters().tolist() == letters


def test_measure_empty_batch_and_empty_texts() -> None:
    assert sc.measure([]).counts.shape == (0, sc.N_CLASSES)
    measured = sc.measure(["", "", ""])
    assert measured.counts.tolist() == [[0] * sc.N_CLASSES] * 3
    assert measured.spans == [[], [], []]


# ---------------------------------------------------------------------------------------------
# Masking

MASK_CASES = [
    pytest.param(
        "代码：\n```python\nprint('你好')\n```\n完毕", [(4, 29, "code")], id="fenced-code"
    ),
    pytest.param("~~~\nls -la\n~~~", [(0, 14, "code")], id="tilde-fence"),
    pytest.param("```bash\npip install torch", [(0, 25, "code")], id="unclosed-fence-to-end"),
    pytest.param("运行 `pip install x` 即可", [(3, 18, "code")], id="inline-code"),
    pytest.param("`a` 和 `b`", [(0, 3, "code"), (6, 9, "code")], id="two-inline-codes"),
    pytest.param("见 https://example.com/a?b=1，谢谢", [(2, 27, "url")], id="url-cjk-comma"),
    pytest.param("访问www.example.org。", [(2, 17, "url")], id="www-url-cjk-period"),
    pytest.param("下载 ftp://files.example.com/x.zip 文件", [(3, 32, "url")], id="ftp-url"),
    pytest.param(
        "文档（https://docs.example.com/zh）里有", [(3, 30, "url")], id="url-in-fullwidth-parens"
    ),
    pytest.param("邮件 a.b@example.com 联系", [(3, 18, "email")], id="email"),
    pytest.param("write to support@example.co.uk.", [(9, 30, "email")], id="email-sentence-period"),
    pytest.param("公式 $x^2$ 成立", [(3, 8, "latex")], id="inline-dollar"),
    pytest.param("公式 $$E=mc^2$$ 成立", [(3, 13, "latex")], id="display-dollars"),
    pytest.param("$$\n\\int_0^1 x\\,dx\n$$", [(0, 20, "latex")], id="display-multiline"),
    pytest.param(
        r"行内 \(a+b\) 和 \[c\]", [(3, 10, "latex"), (13, 18, "latex")], id="paren-and-bracket"
    ),
    pytest.param(r"\begin{align}x&=1\end{align}后", [(0, 28, "latex")], id="begin-end"),
    pytest.param(
        r"矩阵 \begin{pmatrix}1&0\\0&1\end{pmatrix} 是单位阵",
        [(3, 39, "latex")],
        id="begin-end-pmatrix",
    ),
    pytest.param(
        r"\begin{equation*}a=b\end{equation*}", [(0, 35, "latex")], id="begin-end-starred"
    ),
    pytest.param(
        "看 `x` 和 https://a.io 和 $y$ 和 me@a.io",
        [(2, 5, "code"), (8, 20, "url"), (23, 26, "latex"), (29, 36, "email")],
        id="all-kinds",
    ),
    # hard negatives: must not be masked
    pytest.param("It costs $5 and $10 today.", [], id="prices"),
    pytest.param("价格从 $5 涨到 $10", [], id="prices-zh"),
    pytest.param("costs $5-$10", [], id="price-range"),
    pytest.param("echo $HOME and $PATH", [], id="shell-variables"),
    pytest.param("Thanks @alice for the review", [], id="mention"),
    pytest.param("ping @openai and @google", [], id="two-mentions"),
    pytest.param("C:\\path\\to\\file.txt", [], id="windows-path"),
    pytest.param("user@localhost", [], id="no-tld"),
    pytest.param("a single ` backtick", [], id="lone-backtick"),
    pytest.param("x $$ y", [], id="lone-double-dollar"),
    pytest.param("", [], id="empty"),
]


@pytest.mark.parametrize(("text", "spans"), MASK_CASES)
def test_mask_spans(text: str, spans: list[tuple[int, int, str]]) -> None:
    assert sc.mask_spans(text) == spans


@pytest.mark.parametrize(
    ("text", "url"),
    [
        ("See https://example.com/docs.", "https://example.com/docs"),
        ("Docs at https://example.com/docs, then read on.", "https://example.com/docs"),
        ("Read the docs (https://example.com/docs) first.", "https://example.com/docs"),
        ("Is it https://example.com/faq? Yes.", "https://example.com/faq"),
        (
            "See https://en.wikipedia.org/wiki/Python_(programming_language).",
            "https://en.wikipedia.org/wiki/Python_(programming_language)",
        ),
    ],
)
def test_url_span_leaves_out_sentence_punctuation(text: str, url: str) -> None:
    start = text.index(url)
    assert sc.mask_spans(text) == [(start, start + len(url), "url")]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            "运行 `pip install x` 即可",
            {"masked_code": 15, "han": 4, "han_simplified_only": 1, "space": 2},
        ),
        (
            "见 https://example.com，谢谢",
            {"masked_url": 19, "han": 3, "han_simplified_only": 3, "space": 1, "cjk_punct": 1},
        ),
        ("联系 a@b.cn", {"masked_email": 6, "han": 2, "han_simplified_only": 1, "space": 1}),
        ("当 $x>0$ 时", {"masked_latex": 5, "han": 2, "han_simplified_only": 2, "space": 2}),
        ("```\ncode\n```", {"masked_code": 12}),
        ("It costs $5 and $10", {"latin": 10, "digit": 3, "ascii_punct": 2, "space": 4}),
    ],
)
def test_masked_characters_are_counted_apart(text: str, masked: dict[str, int]) -> None:
    assert counts_of(text) == masked


def test_masked_text_replaces_each_span_by_one_space() -> None:
    text = "用 `pip` 安装，见 https://pypi.org 或 $x$"
    spans = sc.mask_spans(text)
    assert sc.masked_text(text, spans) == "用   安装，见   或  "
    assert sc.masked_text("无需遮蔽", []) == "无需遮蔽"


# ---------------------------------------------------------------------------------------------
# Batch == one by one

_TOKENS = st.sampled_from(
    [
        "`",
        "```\n",
        "```",
        "~~~\n",
        "$",
        "$$",
        "\\(",
        "\\)",
        "\\[",
        "\\]",
        "\\begin{x}",
        "\\end{x}",
        "https://",
        "www.",
        "a.b",
        "@",
        "x@y.com",
        ".cn",
        "\n",
        " ",
        "中",
        "這",
        "这",
        "𠀀",
        "𫚔",
        "é",
        "e\u0301",
        "\u200b",
        "\x00",
        "\ud800",
        "😀",
        "，",
        "5",
    ]
)
_TEXT = st.lists(
    st.one_of(_TOKENS, st.text(st.characters(exclude_categories=()), max_size=8)), max_size=12
).map("".join)


def _reference_classes(text: str) -> np.ndarray:
    """Per-code-point classes from classify_code_point, with masks, variants merged into Han."""
    classes = np.array([sc.classify_code_point(ord(c)) for c in text], dtype=np.int64)
    kinds = {
        "code": sc.MASKED_CODE,
        "url": sc.MASKED_URL,
        "email": sc.MASKED_EMAIL,
        "latex": sc.MASKED_LATEX,
    }
    for start, end, kind in sc.mask_spans(text):
        classes[start:end] = kinds[kind]
    return np.bincount(classes, minlength=sc.N_CLASSES)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_TEXT, min_size=1, max_size=8))
def test_batch_equals_one_by_one(texts: list[str]) -> None:
    batch = sc.measure(texts)
    for i, text in enumerate(texts):
        alone = sc.measure([text])
        assert batch.counts[i].tolist() == alone.counts[0].tolist()
        assert batch.spans[i] == alone.spans[0]
        assert int(batch.counts[i].sum()) == len(text)
        merged = batch.counts[i].copy()
        merged[sc.HAN] += merged[sc.HAN_SIMPLIFIED] + merged[sc.HAN_TRADITIONAL]
        merged[[sc.HAN_SIMPLIFIED, sc.HAN_TRADITIONAL]] = 0
        assert merged.tolist() == _reference_classes(text).tolist()


# ---------------------------------------------------------------------------------------------
# Simplified-only / Traditional-only


@pytest.mark.parametrize(
    ("char", "simplified_only", "traditional_only"),
    [
        ("这", True, False),
        ("说", True, False),
        ("们", True, False),
        ("发", True, False),
        ("机", True, False),
        ("为", True, False),
        ("這", False, True),
        ("說", False, True),
        ("們", False, True),
        ("發", False, True),
        ("機", False, True),
        ("為", False, True),
        # legitimate in Traditional text, or the same in both scripts
        ("床", False, False),
        ("秘", False, False),
        ("台", False, False),
        ("后", False, False),
        ("中", False, False),
        ("人", False, False),
        ("着", False, False),
        ("里", False, False),
    ],
)
def test_variant_sets(char: str, simplified_only: bool, traditional_only: bool) -> None:
    simplified, traditional = sc.variant_sets()
    assert (char in simplified) is simplified_only
    assert (char in traditional) is traditional_only
    counts = counts_of(char)
    assert counts.get("han_simplified_only", 0) == int(simplified_only)
    assert counts.get("han_traditional_only", 0) == int(traditional_only)
    assert counts["han"] == 1


def test_variant_sets_are_disjoint_and_large() -> None:
    simplified, traditional = sc.variant_sets()
    assert not simplified & traditional
    assert len(simplified) > 2000
    assert len(traditional) > 2000


def test_every_variant_character_is_counted_as_its_variant() -> None:
    """Including the characters outside the BMP (Extension B and later) that OpenCC lists."""
    simplified, traditional = sc.variant_sets()
    for chars, name in ((simplified, "han_simplified_only"), (traditional, "han_traditional_only")):
        ordered = sorted(chars)
        measured = sc.measure(ordered)
        missed = [c for c, n in zip(ordered, measured.column(name), strict=True) if n != 1]
        assert missed[:10] == [], f"{len(missed)} {name} characters not counted"
        assert measured.column("han").tolist() == [1] * len(ordered)


def test_traditional_text_with_shared_characters_is_not_mixed() -> None:
    # 床, 秘, 台 and 后 are standard in Taiwan/Hong Kong text
    counts = counts_of("臺灣的床很舒服，這是秘密，然後他說台北見。")
    assert "han_simplified_only" not in counts
    assert counts["han_traditional_only"] == 6  # 臺 灣 這 後 說 見
