"""Judging a batch of records from their measured turns: expected response language and flags.

For every assistant turn the expected language comes from the first rule that applies: an
explicit instruction in the user turn or the system prompt, a translation request, the user's
configured expectation, the language of the user's own words. The response is then checked for
``lang_mismatch``, ``code_switch`` (spans), ``zh_variant_mix``, ``punct_mismatch`` and
``empty_response``. The costly checks run only on texts that can fail them: span search only on
texts holding the other script, punctuation only on texts holding the other width.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from . import codeswitch as cs
from .config import Rules
from .instructions import NOTHING, Ask, base_lang, read_prompt
from .langid import UNDETERMINED
from .punctuation import ascii_in_chinese, wide_in_english
from .scripts import Span

FLAGS = ("lang_mismatch", "code_switch", "zh_variant_mix", "punct_mismatch", "empty_response")
EXPECTATION_SOURCES = ("instruction", "translation", "config", "prompt")

#: Responses shorter than this are never a mismatch: too short to carry a language choice.
MIN_CJK_FOR_MISMATCH = 4
MIN_ALPHA_FOR_MISMATCH = 12
#: The model's score below which a language is too uncertain to set or break an expectation.
MIN_SCORE_FOR_MISMATCH = 0.4
# A follow-up that continues the conversation keeps its expectation ("好的，继续", "go on").
_FOLLOW_UP = re.compile(
    r"^\W*(?:(?:好的?|好吧|行|可以|嗯+|谢谢|多谢|继续|接着(?:说|写)?|然后呢|还有呢?|请继续|再来"
    r"|go on|continue|keep going|more|next|ok(?:ay)?|thanks?(?: you)?|sure|yes|yeah|please)\W*)+$",
    re.IGNORECASE,
)

_INVISIBLE = (
    "".join(
        chr(cp)
        for cp in range(0x3400)
        if chr(cp).isspace() or unicodedata.category(chr(cp)) in ("Cf", "Cc")
    )
    + "\u3000\ufeff\ufff9\ufffa\ufffb"
)


def is_blank(text: str) -> bool:
    """Empty, whitespace, or invisible format characters only (zero-width spaces, BOM)."""
    return not text.strip(_INVISIBLE)


@dataclass(frozen=True)
class Turns:
    """The turns of a batch, flattened: one entry per turn, records delimited by ``offsets``.

    ``lang`` is None for turns that are not measured (tool calls and results); the arrays are
    0/False there. ``masked`` holds each turn's code/URL/e-mail/LaTeX regions.
    """

    roles: Sequence[str]
    texts: Sequence[str]
    lang: Sequence[str | None]
    variant: Sequence[str | None]
    score: np.ndarray
    by_model: np.ndarray
    cjk: np.ndarray
    alpha: np.ndarray
    simplified: np.ndarray
    traditional: np.ndarray
    ascii_punct: np.ndarray
    ascii_after_han: np.ndarray
    ascii_maybe: np.ndarray
    cjk_punct: np.ndarray
    masked: Sequence[Sequence[Span]]
    offsets: np.ndarray  # len(records) + 1
    #: Per turn (0 for unmeasured ones), where the marks of ``Measured.maybe_at`` and the words
    #: of ``Measured.word_at`` are: turn ``i``'s at ``mark_at[mark_ptr[i]:mark_ptr[i + 1]]``.
    #: None when not found in advance: the checks then search the text.
    mark_ptr: np.ndarray | None = None
    mark_at: np.ndarray | None = None
    word_ptr: np.ndarray | None = None
    word_at: np.ndarray | None = None

    def marks(self, i: int) -> list[int] | None:
        if self.mark_ptr is None or self.mark_at is None:
            return None
        return self.mark_at[self.mark_ptr[i] : self.mark_ptr[i + 1]].tolist()

    def words(self, i: int) -> list[int] | None:
        if self.word_ptr is None or self.word_at is None:
            return None
        return self.word_at[self.word_ptr[i] : self.word_ptr[i + 1]].tolist()


@dataclass
class Verdicts:
    """Judgements of a batch: per turn and per record, as lists ready to become columns."""

    turn_expected: list[str | None]
    turn_source: list[str | None]
    turn_flags: list[list[str]]
    expected: list[str | None]
    source: list[str | None]
    flags: list[list[str]]
    spans: list[list[dict[str, Any]]]


@dataclass(frozen=True)
class _Expected:
    lang: str  # a code, possibly with a variant: zh-Hant
    source: str
    content: bool = False  # only a requested piece of the answer must be in ``lang``
    base: str = ""  # the code without the variant: zh

    def __post_init__(self) -> None:
        object.__setattr__(self, "base", base_lang(self.lang))


@dataclass
class _Conversation:
    """What a record has said so far about the language of the answers."""

    system: Ask = NOTHING
    current: _Expected | None = None
    requested: set[str] = field(default_factory=set)  # languages of requested content
    prompt_texts: list[str] = field(default_factory=list)
    _words: set[str] = field(default_factory=set)
    _words_upto: int = 0

    def prompt_words(self) -> set[str]:
        """Latin words of the prompt texts so far; extended incrementally, since long
        conversations ask again after every answer."""
        if self._words_upto < len(self.prompt_texts):
            self._words |= cs.latin_words(self.prompt_texts[self._words_upto :])
            self._words_upto = len(self.prompt_texts)
        return self._words

    untargeted: bool = False  # the last request was a translation without a named target
    user_lang: str | None = None  # language of the user's last telling turn


def judge(turns: Turns, rules: Rules | None = None) -> Verdicts:
    """Expected language and flags of every assistant turn and of every record.

    Most records are plain conversations: user and assistant turns, no language instruction,
    translation or content request, no system prompt or configured expectation. There every
    answer is expected in the language of the last telling user turn, which is found for the
    whole batch at once; only the answers that a check may flag are looked at one by one. The
    other records are followed turn by turn.
    """
    rules = rules or Rules()
    n = len(turns.roles)
    roles, texts = turns.roles, turns.texts
    telling = _telling(turns).tolist()
    needs = _needs(turns, rules)
    asks = [
        read_prompt(texts[i]) if role in ("system", "user") else NOTHING
        for i, role in enumerate(roles)
    ]
    # a follow-up only matters where the turn would otherwise set the expectation
    follow_up = [
        role == "user" and telling[i] and bool(_FOLLOW_UP.match(texts[i]))
        for i, role in enumerate(roles)
    ]
    plain = _plain_records(turns, asks, rules)
    prompt_lang = _prompt_expectations(turns, telling, follow_up)
    turn_expected: list[str | None] = [None] * n
    turn_source: list[str | None] = [None] * n
    turn_flags: list[list[str]] = [[] for _ in range(n)]
    out = Verdicts(turn_expected, turn_source, turn_flags, [], [], [], [])
    for r in range(len(turns.offsets) - 1):
        start, end = int(turns.offsets[r]), int(turns.offsets[r + 1])
        spans: list[dict[str, Any]] = []
        record_flags: set[str] = set()
        answered = False
        talk = _Conversation()
        for i in range(start, end):
            role = roles[i]
            if not plain[r]:
                if role in ("system", "user", "context"):
                    _listen(turns, i, asks[i], telling[i] and not follow_up[i], talk, rules)
                    continue
                if role in ("tool_call", "tool_result"):
                    talk.prompt_texts.append(texts[i])  # what the answer may quote
                    continue
            elif role == "user":
                talk.prompt_texts.append(texts[i])
                continue
            if role != "assistant":
                continue
            answered = True
            if plain[r]:
                lang = prompt_lang[i]
                expected = _prompt_expectation(lang) if lang is not None else None
            else:
                expected = talk.current or _fallback(talk, rules)
            if expected is not None:
                turn_expected[i], turn_source[i] = expected.lang, expected.source
            if needs[i] or not plain[r]:
                flags, found = _check(turns, i, expected, telling[i], talk, rules, needs[i])
                spans.extend({"turn": i - start, **s} for s in found)
            elif telling[i] and expected is not None and _mismatch(turns, i, expected):
                flags = ["lang_mismatch"]  # all a plain answer without a candidate can have
            else:
                continue
            turn_flags[i] = flags
            record_flags.update(flags)
        if not answered:
            record_flags.add("empty_response")
        last = next((j for j in range(end - 1, start - 1, -1) if turn_expected[j]), None)
        out.expected.append(turn_expected[last] if last is not None else None)
        out.source.append(turn_source[last] if last is not None else None)
        out.flags.append([f for f in FLAGS if f in record_flags])
        out.spans.append(spans)
    return out


_PLAIN_ROLES = frozenset({"user", "assistant", "reasoning"})


def _plain_records(turns: Turns, asks: Sequence[Ask], rules: Rules) -> list[bool]:
    """Per record: only user and assistant turns, and nothing asked of the answers' language."""
    n_records = len(turns.offsets) - 1
    if rules.expect is not None:
        return [False] * n_records
    other = [
        role not in _PLAIN_ROLES or ask is not NOTHING
        for role, ask in zip(turns.roles, asks, strict=True)
    ]
    record_of = np.repeat(np.arange(n_records), np.diff(turns.offsets))
    spoilt = np.bincount(record_of[np.array(other, dtype=bool)], minlength=n_records)
    return (spoilt == 0).tolist()


def _prompt_expectations(
    turns: Turns, telling: Sequence[bool], follow_up: Sequence[bool]
) -> list[str | None]:
    """Per turn, the language of the last telling user turn before it in its record (None if
    there is none): what a plain conversation expects."""
    n = len(turns.roles)
    tells = np.array(
        [
            role == "user" and t and not f
            for role, t, f in zip(turns.roles, telling, follow_up, strict=True)
        ],
        dtype=bool,
    )
    last = np.maximum.accumulate(np.where(tells, np.arange(n), -1)) if n else np.zeros(0, int)
    record_start = np.repeat(turns.offsets[:-1], np.diff(turns.offsets))
    langs = turns.lang
    return [
        langs[j] if j >= first else None
        for j, first in zip(last.tolist(), record_start.tolist(), strict=True)
    ]


def _listen(
    turns: Turns, i: int, ask: Ask, telling: bool, talk: _Conversation, rules: Rules
) -> None:
    """Update what the conversation expects from a system, user or context turn (``ask``: what
    :func:`read_prompt` found in it)."""
    role, text = turns.roles[i], turns.texts[i]
    talk.prompt_texts.append(text)
    if role == "context":  # Alpaca input: the material an untargeted translation is about
        if talk.untargeted and (lang := turns.lang[i]) not in (None, UNDETERMINED):
            talk.current = _translation(lang, talk, rules)
        return
    if ask.content:
        talk.requested.update(base_lang(c) for c in ask.content)
    if role == "system":
        talk.system = ask
        return
    talk.untargeted = False
    if telling:
        talk.user_lang = turns.lang[i]
    if ask.lang is not None and ask.source is not None:
        talk.current = _Expected(ask.lang, ask.source)
    elif ask.translation:
        talk.untargeted = True
        talk.current = _translation(_material_lang(text, turns.lang[i]), talk, rules)
    elif ask.content and not telling:
        talk.current = _Expected(ask.content[0], "instruction", content=True)
    elif telling:
        talk.current = _fallback(talk, rules) or _prompt_expectation(str(turns.lang[i]))
        if ask.content and talk.current.source == "prompt":
            talk.current = _Expected(ask.content[0], "instruction", content=True)


@lru_cache(maxsize=256)
def _prompt_expectation(lang: str) -> _Expected:
    return _Expected(lang, "prompt")


def _fallback(talk: _Conversation, rules: Rules) -> _Expected | None:
    """Rules that apply without a telling user turn: the system prompt, then the config."""
    if talk.system.lang is not None:
        return _Expected(talk.system.lang, "instruction")
    if rules.expect is not None:
        return _Expected(rules.expect, "config")
    return None


def _translation(source_lang: str | None, talk: _Conversation, rules: Rules) -> _Expected | None:
    """The target of a translation without a named target: the other language of the source."""
    other = {"zh": "en", "en": "zh"}.get(source_lang or "")
    if other is not None:
        return _Expected(other, "translation")
    return _fallback(talk, rules)


def _material_lang(text: str, whole: str | None) -> str | None:
    """Language of the text to translate: what follows a colon or newline, else the prompt's."""
    for sep in ("：", ":", "\n"):
        _, found, rest = text.partition(sep)
        if found and rest.strip():
            han = sum(1 for c in rest if "\u3400" <= c <= "\u9fff")
            latin = sum(1 for c in rest if c.isascii() and c.isalpha())
            if han >= 2 and han * 4 >= latin:
                return "zh"
            if latin >= 3:
                return "en"
    return whole if whole not in (None, UNDETERMINED) else None


def _check(
    turns: Turns,
    i: int,
    expected: _Expected | None,
    telling: bool,
    talk: _Conversation,
    rules: Rules,
    needs: int = ~0,
) -> tuple[list[str], list[dict[str, Any]]]:
    """Flags and code-switch spans of one assistant turn. ``needs`` (see :func:`_needs`) rules
    out checks that cannot fail."""
    if needs & _MAYBE_BLANK and is_blank(turns.texts[i]):
        return ["empty_response"], []
    flags: set[str] = set()
    lang = turns.lang[i]
    if telling and expected is not None and _mismatch(turns, i, expected):
        flags.add("lang_mismatch")
    # content requested in another language than the user's makes a bilingual answer: mixing
    # is the point
    bilingual = bool(talk.requested) and bool((talk.requested | {talk.user_lang}) - {lang})
    found = []
    if needs & _MAYBE_CODE_SWITCH and lang in ("zh", "en") and not bilingual:
        found = _code_switch(turns, i, talk, rules)
    if found:
        flags.add("code_switch")
    if needs & _VARIANT_MIX and lang == "zh":
        flags.add("zh_variant_mix")
    if needs & _MAYBE_PUNCT and not bilingual and _punct_mismatch(turns, i):
        flags.add("punct_mismatch")
    return [f for f in FLAGS if f in flags], found


_MAYBE_BLANK, _MAYBE_CODE_SWITCH, _VARIANT_MIX, _MAYBE_PUNCT = 1, 2, 4, 8


def _needs(turns: Turns, rules: Rules) -> list[int]:
    """Per turn, the checks that can find something (bits), from the batch's arrays at once."""
    zh = np.array([lang == "zh" for lang in turns.lang], dtype=bool)
    en = np.array([lang == "en" for lang in turns.lang], dtype=bool)
    if rules.strictness == "strict" or turns.word_ptr is None:
        english = turns.alpha > 0
    else:
        english = np.diff(turns.word_ptr) > 0
    needs = np.where((turns.cjk == 0) & (turns.alpha == 0), _MAYBE_BLANK, 0)
    needs |= np.where((zh & english) | (en & (turns.cjk > 0)), _MAYBE_CODE_SWITCH, 0)
    # Simplified-only and Traditional-only characters in one text (both at least once)
    needs |= np.where((turns.simplified > 0) & (turns.traditional > 0), _VARIANT_MIX, 0)
    punct = zh & ((turns.ascii_after_han > 0) | (turns.ascii_maybe > 0))
    needs |= np.where(punct | (en & (turns.cjk_punct > 0)), _MAYBE_PUNCT, 0)
    return needs.tolist()


def _mismatch(turns: Turns, i: int, expected: _Expected) -> bool:
    lang, want = turns.lang[i], expected.base
    if expected.content:
        # a requested piece of content: the answer may be in another language if it holds some
        return lang != want and not _holds(turns, i, want)
    if lang != want:
        return True
    if want == "zh" and "-" in expected.lang:
        # --expect zh-Hans / zh-Hant: a response in the other variant is a mismatch
        return turns.variant[i] not in (None, expected.lang)
    return False


def _holds(turns: Turns, i: int, lang: str) -> bool:
    if lang == "zh":
        return int(turns.cjk[i]) >= MIN_CJK_FOR_MISMATCH
    return int(turns.alpha[i]) >= MIN_ALPHA_FOR_MISMATCH


def _code_switch(turns: Turns, i: int, talk: _Conversation, rules: Rules) -> list[dict[str, Any]]:
    lang, text, masked = turns.lang[i], turns.texts[i], turns.masked[i]
    if lang == "zh" and turns.alpha[i] > 0:
        found = cs.english_in_chinese(
            text,
            masked,
            allowed=rules.allow_terms,
            prompt_words=talk.prompt_words,
            strictness=rules.strictness,
            words=turns.words(i),
        )
    elif lang == "en" and turns.cjk[i] > 0:
        found = cs.chinese_in_english(
            text,
            masked,
            allowed=rules.allow_terms,
            prompt_text="\n".join(talk.prompt_texts),
            strictness=rules.strictness,
        )
    else:
        return []
    return [{"start": s.start, "end": s.end, "text": s.text, "lang": s.lang} for s in found]


def _punct_mismatch(turns: Turns, i: int) -> bool:
    lang, text, masked = turns.lang[i], turns.texts[i], turns.masked[i]
    if lang == "zh" and turns.ascii_after_han[i] > 0:
        return True  # found in the vectorised pass: "公园,然后"
    if lang == "zh" and turns.ascii_maybe[i] > 0:
        return bool(ascii_in_chinese(text, masked, first=True, marks=turns.marks(i)))
    if lang == "en" and turns.cjk_punct[i] > 0:
        return bool(wide_in_english(text, masked, first=True))
    return False


def _telling(turns: Turns) -> np.ndarray:
    """Turns whose language is sure and long enough to set or break an expectation."""
    known = np.array([lang is not None and lang != UNDETERMINED for lang in turns.lang], bool)
    substantial = (turns.cjk >= MIN_CJK_FOR_MISMATCH) | (turns.alpha >= MIN_ALPHA_FOR_MISMATCH)
    sure = ~turns.by_model | (turns.score >= MIN_SCORE_FOR_MISMATCH)
    return known & substantial & sure
