"""Explicit language instructions and translation requests in prompts, in Chinese and English.

``find_expectation(text)`` reads a user turn or system prompt and says which language the answer
(or a requested piece of content) should be in, and why: an explicit instruction ("请用英文回答",
"answer in Chinese"), a request for content in a named language ("造一个英文句子", "write the email
in English"), or a translation request ("翻译成英文", "translate the following sentence").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# Language names -> codes. Longer names first so that 繁体中文 wins over 中文.
_ZH_NAMES: dict[str, str] = {
    "简体中文": "zh-Hans",
    "簡體中文": "zh-Hans",
    "简体字": "zh-Hans",
    "简体": "zh-Hans",
    "繁体中文": "zh-Hant",
    "繁體中文": "zh-Hant",
    "繁体字": "zh-Hant",
    "繁體字": "zh-Hant",
    "繁体": "zh-Hant",
    "繁體": "zh-Hant",
    "中文": "zh",
    "汉语": "zh",
    "漢語": "zh",
    "华语": "zh",
    "華語": "zh",
    "普通话": "zh",
    "普通話": "zh",
    "国语": "zh",
    "國語": "zh",
    "中国话": "zh",
    "英文": "en",
    "英语": "en",
    "英語": "en",
    "日文": "ja",
    "日语": "ja",
    "日語": "ja",
    "韩文": "ko",
    "韩语": "ko",
    "韓語": "ko",
    "韓文": "ko",
    "法语": "fr",
    "法文": "fr",
    "法語": "fr",
    "德语": "de",
    "德文": "de",
    "德語": "de",
    "西班牙语": "es",
    "西班牙文": "es",
    "俄语": "ru",
    "俄文": "ru",
    "俄語": "ru",
    "意大利语": "it",
    "葡萄牙语": "pt",
    "阿拉伯语": "ar",
    "越南语": "vi",
    "泰语": "th",
}
_EN_NAMES: dict[str, str] = {
    "simplified chinese": "zh-Hans",
    "traditional chinese": "zh-Hant",
    "mandarin": "zh",
    "chinese": "zh",
    "english": "en",
    "japanese": "ja",
    "korean": "ko",
    "french": "fr",
    "german": "de",
    "spanish": "es",
    "russian": "ru",
    "italian": "it",
    "portuguese": "pt",
    "arabic": "ar",
    "vietnamese": "vi",
    "thai": "th",
    "dutch": "nl",
    "polish": "pl",
    "romanian": "ro",
    "czech": "cs",
    "swedish": "sv",
    "danish": "da",
    "norwegian": "no",
    "finnish": "fi",
    "hungarian": "hu",
    "greek": "el",
    "turkish": "tr",
    "hebrew": "he",
    "persian": "fa",
    "farsi": "fa",
    "hindi": "hi",
    "bengali": "bn",
    "urdu": "ur",
    "marathi": "mr",
    "gujarati": "gu",
    "tamil": "ta",
    "telugu": "te",
    "malayalam": "ml",
    "kannada": "kn",
    "punjabi": "pa",
    "indonesian": "id",
    "malay": "ms",
    "filipino": "tl",
    "tagalog": "tl",
    "ukrainian": "uk",
    "bulgarian": "bg",
    "serbian": "sr",
    "croatian": "hr",
    "slovak": "sk",
    "slovenian": "sl",
    "lithuanian": "lt",
    "latvian": "lv",
    "estonian": "et",
    "swahili": "sw",
    "catalan": "ca",
    "lao": "lo",
    "khmer": "km",
    "burmese": "my",
    "mongolian": "mn",
    "nepali": "ne",
    "sinhala": "si",
    "armenian": "hy",
    "georgian": "ka",
}
_ZH_LANG = "|".join(sorted(map(re.escape, _ZH_NAMES), key=len, reverse=True))
_EN_LANG = "|".join(sorted(map(re.escape, _EN_NAMES), key=len, reverse=True))
_ANY_LANG = f"(?:{_ZH_LANG}|(?i:{_EN_LANG}))"

_ANSWER_ZH = (
    r"(?:回答|回复|回覆|作答|答复|答覆|回应|答题|解答|解释|說明|说明|描述|表达|输出|輸出|交流|对话"
    r"|写|寫|撰写|讲|說|说|聊)"
)
_ANSWER_EN = (
    r"(?:answer|respond|reply|write|explain|speak|talk|output|describe|communicate|chat"
    r"|answers|responses?|replies)"
)


class _Lazy:
    """A pattern compiled on first use: prompts without a language name or a word for
    translating never need these, and compiling them all costs ~40 ms of every start."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags

    def __getattr__(self, name: str) -> Any:  # search, finditer: then found on the instance
        compiled = re.compile(self.pattern, self.flags)
        self.search = compiled.search
        self.finditer = compiled.finditer
        return getattr(compiled, name)


# Explicit instructions about the language of the answer.
_INSTRUCTION_PATTERNS = (
    # 请用英文回答 / 用中文回复我 / 以中文作答 / 使用英语来解释 / 全部用英文写
    _Lazy(
        rf"(?:用|以|使用|采用|拿|改用|换成|換成)\s*(?P<lang>{_ANY_LANG})\s*(?:来|來|进行|進行)?\s*{_ANSWER_ZH}"
    ),
    # 回答请用英文 / 回复使用中文 / 请用中文。/ 请使用英文
    _Lazy(
        rf"{_ANSWER_ZH}(?:时|時)?(?:请|請|都|必须|必須|只能|一律)?(?:用|使用|以|采用)\s*(?P<lang>{_ANY_LANG})"
    ),
    _Lazy(
        rf"(?:请|請|务必|務必|必须|必須|只能|只|仅|僅)\s*(?:用|使用|以|采用)\s*(?P<lang>{_ANY_LANG})(?![\u4e00-\u9fff]{{0,2}}(?:句子|例句|单词|單詞|名字|名称|术语))"
    ),
    # 英文回答 / 中文回复即可
    _Lazy(rf"(?P<lang>{_ZH_LANG})\s*{_ANSWER_ZH}(?:即可|就行|就好|吧|。|！|$)"),
    # answer in Chinese / please respond in English / reply in 中文 / write your answer in English
    _Lazy(
        rf"(?i:\b{_ANSWER_EN}\b(?:\s+\w+){{0,4}}?\s+(?:in|using|with)\s+)(?P<lang>{_ANY_LANG})(?i:\b|(?=[\u4e00-\u9fff]))"
    ),
    # in English, please / in English only / use English / please use Chinese
    _Lazy(rf"(?i:\bin\s+)(?P<lang>(?i:{_EN_LANG}))(?i:,?\s+(?:please|only)\b)"),
    _Lazy(
        rf"(?i:\b(?:please\s+)?(?:use|using)\s+)(?P<lang>(?i:{_EN_LANG}))(?i:\s+(?:only|to\s+{_ANSWER_EN})\b)"
    ),
)

# Requests for a piece of content in a named language (the rest of the answer may be in another).
_ZH_CONTENT = (
    r"(?:句子|例句|邮件|郵件|信|短文|文章|段落|诗|詩|单词|單詞|词|詞|表达|表達|版本|名字|名称|口号"
    r"|标题|摘要|简介|介绍|對話|对话|对白|歌词|笑话|故事|文案|简历|回复|演讲|致辞|祝福|评论|说明"
    r"|说法|用法|例子|习语|俗语|谚语)"
)
_EN_CONTENT = (
    r"(?:sentences?|examples?|emails?|letters?|paragraphs?|words?|phrases?|versions?|names?"
    r"|titles?|slogans?|poems?|poetry|story|stories|summary|translation|idioms?|sayings?"
    r"|proverbs?|greetings?|wish(?:es)?|jokes?|songs?|lyrics|captions?|descriptions?)"
)
_CONTENT_PATTERNS = (
    # 造一个英文句子 / 给我一个英文例句 / 写一封英文求职信 / 写一句英文的生日祝福
    _Lazy(
        r"(?:造|写|寫|给我|給我|来|來|列举|列舉|举|舉|提供|生成|起|取|教我|说|說)\s*"
        r"(?:[一二两三四五六七八九十几\d]+\s*)?(?:个|個|句|段|封|篇|首|条|條|组|組|些)?\s*"
        rf"(?P<lang>{_ZH_LANG})(?:的)?[\u4e00-\u9fff]{{0,4}}?{_ZH_CONTENT}"
    ),
    # 用英文怎么说 / 英语里有哪些说法 / 英文中如何表达
    _Lazy(
        rf"(?P<lang>{_ZH_LANG})(?:里|裡|中)?\s*(?:怎么|怎麼|如何|咋)\s*(?:说|說|讲|講|表达|表達|写|寫)"
    ),
    _Lazy(
        rf"(?P<lang>{_ZH_LANG})(?:里|裡|中)[^。？！\n]{{0,12}}?(?:说法|表达|表達|单词|單詞|词|詞)"
    ),
    # 教我几句点餐用的英语 / “头脑风暴”的英文是什么
    _Lazy(rf"(?:教我|告诉我|告訴我|来几句|來幾句)[^。？！\n]{{0,15}}?(?P<lang>{_ZH_LANG})"),
    _Lazy(rf"的(?P<lang>{_ZH_LANG})(?:是|叫|怎么|怎麼|如何)"),
    # write the email in English / give me an English sentence / a short Chinese poem
    _Lazy(
        rf"(?i:\b(?:write|compose|draft|create|make|give|generate|provide|list|suggest|teach)\b"
        rf"(?:\s+[a-z0-9]+){{0,4}}?\s+)"
        rf"(?P<lang>(?i:{_EN_LANG}))(?i:\s+{_EN_CONTENT}\b)"
    ),
    _Lazy(
        rf"(?i:\b(?:write|compose|draft|rewrite|put|say)\b(?:\s+\S+){{0,8}}?\s+in\s+)"
        rf"(?P<lang>(?i:{_EN_LANG}))\b"
    ),
)

_TRANSLATE_TARGET = (
    # 翻译成英文 / 译为中文 / 翻成日语 / 用英文翻译
    _Lazy(rf"(?:翻译|翻譯|译|譯|翻)\s*(?:成|为|為|到|至)\s*(?P<lang>{_ANY_LANG})"),
    _Lazy(rf"(?:用|以)\s*(?P<lang>{_ANY_LANG})\s*(?:翻译|翻譯)"),
    _Lazy(rf"(?P<lang>{_ZH_LANG})\s*(?:翻译|翻譯)(?:一下|下)?\s*[:：]"),
    # translate ... into Chinese / translate to English / translation in French
    _Lazy(
        rf"(?i:\btranslat(?:e|ed|ing|ion)\b.{{0,80}}?\b(?:in)?to\s+)(?P<lang>(?i:{_EN_LANG}))\b",
        re.S,
    ),
    _Lazy(rf"(?i:\b(?:from\s+\w+\s+)?in)(?i:to)\s+(?P<lang>(?i:{_EN_LANG}))(?i:\s*:)"),
)
# "French translation": tried only on texts with that word (the names would be tried at every
# letter of every prompt)
_NAMED_TRANSLATION = _Lazy(rf"(?P<lang>(?i:{_EN_LANG}))(?i:\s+translation\b)")
# Every pattern above contains a language name or a word for translating. Chinese names start
# with rare characters, so their literal alternation is cheap to search; English names would
# be tried at nearly every letter, so the prompt's words are looked up in a set instead.
# (翻 alone is no cue: 外翻 and 翻身 are common words; every pattern with 翻 and no 译 / 譯
# has 翻 then 成 / 为 / 為 / 到 / 至)
_MAYBE_ZH = re.compile(rf"{_ZH_LANG}|译|譯|翻\s*[成为為到至]")
_ASCII_WORDS = re.compile(r"[a-z]+")
_NAME_WORDS = frozenset(word for name in _EN_NAMES for word in name.split())


_TRANSLATE_WORDS = frozenset(["translate", "translated", "translating", "translation"])
#: The English words any English pattern needs one of (each begins with a ``\b``).
CUE_WORDS = _NAME_WORDS | _TRANSLATE_WORDS


def have_cues(texts: Sequence[str]) -> np.ndarray:
    """Whether each text passes the cheap test of :func:`read_prompt` (a language name or a
    word for translating), for many texts at once: texts without are NOTHING."""
    from .scripts import texts_with_words

    found = texts_with_words(texts, sorted(CUE_WORDS))
    joined = "\n".join(texts)
    starts = [m.start() for m in _MAYBE_ZH.finditer(joined)]
    if starts:
        offsets = np.cumsum([0, *(len(t) + 1 for t in texts)])[:-1]
        found[np.searchsorted(offsets, starts, side="right") - 1] = True
    return found


def _english_cue(text: str) -> bool:
    """Whether the text holds one of CUE_WORDS (an English pattern can match)."""
    return not CUE_WORDS.isdisjoint(_ASCII_WORDS.findall(text.lower()))


def _maybe(text: str) -> bool:
    """Cheap test: can any pattern match? (A language name, or a word for translating.)"""
    return bool(_MAYBE_ZH.search(text)) or _english_cue(text)


# A request to translate, not a task that mentions translation ("check whether B is a
# translation of A"): an imperative, a "translate:" label, or the text starting with it.
_TRANSLATE_ANY = _Lazy(
    r"(?i:^\W*(?:please\s+)?translat(?:e|ion)\b|\btranslate\s+(?:the\s+following|this|these|that"
    r"|it|them|the\s+(?:text|sentence|paragraph|passage|phrase|word|words|below))\b"
    r"|\btranslat(?:e|ion)\s*:)"
    r"|^\W*(?:翻译|翻譯)|(?:请|帮我|帮忙|麻烦你?)\s*(?:翻译|翻譯)"
    r"|(?:把|将)[^\n。？！]{1,30}?(?:翻译|翻譯)"
    r"|(?:翻译|翻譯)(?:一下)?(?:以下|下面|下列|这|這|如下)|(?:翻译|翻譯)\s*[:：]",
    re.M,
)


@dataclass(frozen=True)
class Ask:
    """What a prompt asks of the answer's language.

    ``lang`` is the language the whole answer should be in (an explicit instruction, or the
    named target of a translation), ``source`` says which (``instruction`` / ``translation``).
    ``translation`` is set for any translation request, also one without a named target, whose
    target is then the other language of the source text. ``content`` lists languages of
    requested pieces of content ("造一个英文句子"): they may appear in an answer in another
    language without being code-switching, and an answer must contain them.
    """

    lang: str | None = None
    source: str | None = None
    translation: bool = False
    content: tuple[str, ...] = ()
    evidence: str = ""


NOTHING = Ask()


def _code(name: str) -> str:
    return _ZH_NAMES.get(name) or _EN_NAMES[name.lower()]


def _named_translation(text: str) -> re.Match[str] | None:
    return _NAMED_TRANSLATION.search(text) if "translation" in text.lower() else None


def _first(patterns: tuple[_Lazy, ...], text: str, skip: frozenset[_Lazy]) -> re.Match[str] | None:
    for pattern in patterns:
        if pattern not in skip and (m := pattern.search(text)):
            return m
    return None


# Patterns that can only match with an English language name or word for translating: not
# tried on texts without one (their alternations of names are costly to search).
_ENGLISH_ONLY = frozenset(
    p
    for p in (*_CONTENT_PATTERNS, *_INSTRUCTION_PATTERNS, *_TRANSLATE_TARGET)
    if _EN_LANG in p.pattern and _ANY_LANG not in p.pattern
)
_NOTHING_SKIPPED: frozenset[_Lazy] = frozenset()


def read_prompt(text: str) -> Ask:
    """The language instruction, content requests and translation request in ``text``."""
    english = _english_cue(text)
    if not english and not _MAYBE_ZH.search(text):
        return NOTHING
    skip = _NOTHING_SKIPPED if english else _ENGLISH_ONLY
    content = tuple(
        dict.fromkeys(
            _code(m.group("lang"))
            for p in _CONTENT_PATTERNS
            if p not in skip
            for m in p.finditer(text)
        )
    )
    if m := _first(_INSTRUCTION_PATTERNS, text, skip):
        return Ask(_code(m.group("lang")), "instruction", False, content, m.group())
    if m := _first(_TRANSLATE_TARGET, text, skip) or (
        _named_translation(text) if english else None
    ):
        return Ask(_code(m.group("lang")), "translation", True, content, m.group())
    if m := _TRANSLATE_ANY.search(text):
        return Ask(None, "translation", True, content, m.group())
    if content:
        return Ask(None, None, False, content, "")
    return NOTHING


def base_lang(code: str) -> str:
    """``zh`` for ``zh-Hans``/``zh-Hant``, the code itself otherwise."""
    return code.split("-", 1)[0]
