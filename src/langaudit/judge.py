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
from .instructions import NOTHING, Ask, base_lang, have_cues, read_prompt
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
    r"|続き(?:を)?(?:お願いします)?|続けて(?:ください)?"
    r"|go on|continue|keep going|more|next|ok(?:ay)?|thanks?(?: you)?|sure|yes|yeah|please"
    r"|to be continued)\W*)+$",
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
    answer is expected in the language of the last telling user turn, and can only be a
    mismatch or hold what the batch-wide searches found; that is all worked out for the whole
    batch at once, and only the answers holding candidates are checked one by one. The other
    records are followed turn by turn.
    """
    rules = rules or Rules()
    n, n_records = len(turns.roles), len(turns.offsets) - 1
    roles, texts, langs = turns.roles, turns.texts, turns.lang
    telling = _telling(turns)
    needs = _needs(turns, rules)
    prompts = [i for i, role in enumerate(roles) if role in ("system", "user")]
    cued = have_cues([texts[i] for i in prompts])
    asks = {
        i: ask
        for i, cue in zip(prompts, cued.tolist(), strict=True)
        if cue and (ask := read_prompt(texts[i])) is not NOTHING
    }
    user = np.array([role == "user" for role in roles], dtype=bool)
    answer = np.array([role == "assistant" for role in roles], dtype=bool)
    record_of = np.repeat(np.arange(n_records), np.diff(turns.offsets))
    plain = _plain_records(turns, asks, rules, record_of)
    # a follow-up only matters where the turn would otherwise set the expectation
    follow_up = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(user & telling).tolist():
        follow_up[i] = bool(_FOLLOW_UP.match(texts[i]))
    # plain records: the expectation of each answer is the language of the last telling user
    # turn before it in its record
    tells = user & telling & ~follow_up
    last = np.maximum.accumulate(np.where(tells, np.arange(n), -1)) if n else np.zeros(0, int)
    cue = np.where(last >= turns.offsets[record_of], last, -1)
    lang_of = np.array(langs, dtype=object)
    expectation = np.full(n, None, dtype=object)
    expectation[cue >= 0] = lang_of[cue[cue >= 0]]
    plain_answer = answer & plain[record_of]
    mismatch = plain_answer & telling & (cue >= 0) & (lang_of != expectation)

    turn_expected: list[str | None] = [None] * n
    turn_source: list[str | None] = [None] * n
    turn_flags: list[list[str]] = [[] for _ in range(n)]
    expected_at = np.flatnonzero(plain_answer & (cue >= 0))
    for i, lang in zip(expected_at.tolist(), expectation[expected_at].tolist(), strict=True):
        turn_expected[i], turn_source[i] = lang, "prompt"
    for i in np.flatnonzero(mismatch & (needs == 0)).tolist():
        turn_flags[i] = ["lang_mismatch"]  # all a plain answer without candidates can have
    record_flags: list[set[str]] = [set() for _ in range(n_records)]
    for r in sorted(set(record_of[mismatch].tolist())):
        record_flags[r].add("lang_mismatch")
    spans: list[list[dict[str, Any]]] = [[] for _ in range(n_records)]
    # plain answers holding candidates: the full checks, with the prompts before them
    for i in np.flatnonzero(plain_answer & (needs != 0)).tolist():
        r = int(record_of[i])
        start = int(turns.offsets[r])
        talk = _Conversation(prompt_texts=[texts[j] for j in range(start, i) if user[j]])
        lang = expectation[i]
        expected = _prompt_expectation(lang) if lang is not None else None
        flags, found = _check(turns, i, expected, bool(telling[i]), talk, rules, int(needs[i]))
        turn_flags[i] = flags
        record_flags[r].update(flags)
        spans[r].extend({"turn": i - start, **s} for s in found)
    # the other records, turn by turn
    telling_list, needs_list = telling.tolist(), needs.tolist()
    for r in np.flatnonzero(~plain).tolist():
        start, end = int(turns.offsets[r]), int(turns.offsets[r + 1])
        talk = _Conversation()
        for i in range(start, end):
            role = roles[i]
            if role in ("system", "user", "context"):
                tells_here = telling_list[i] and not follow_up[i]
                _listen(turns, i, asks.get(i, NOTHING), tells_here, talk, rules)
            elif role in ("tool_call", "tool_result"):
                talk.prompt_texts.append(texts[i])  # what the answer may quote
            elif role == "assistant":
                expected = talk.current or _fallback(talk, rules)
                if expected is not None:
                    turn_expected[i], turn_source[i] = expected.lang, expected.source
                flags, found = _check(
                    turns, i, expected, telling_list[i], talk, rules, needs_list[i]
                )
                turn_flags[i] = flags
                record_flags[r].update(flags)
                spans[r].extend({"turn": i - start, **s} for s in found)
    # per record: empty without an answer; the expectation of its last answer that has one
    answered = np.bincount(record_of[answer], minlength=n_records) > 0
    for r in np.flatnonzero(~answered).tolist():
        record_flags[r].add("empty_response")
    with_expectation = np.flatnonzero([e is not None for e in turn_expected])
    last_expected = np.full(n_records, -1)
    np.maximum.at(last_expected, record_of[with_expectation], with_expectation)
    expected_out = [turn_expected[j] if j >= 0 else None for j in last_expected.tolist()]
    source_out = [turn_source[j] if j >= 0 else None for j in last_expected.tolist()]
    flags_out = [[f for f in FLAGS if f in fs] if fs else [] for fs in record_flags]
    return Verdicts(
        turn_expected, turn_source, turn_flags, expected_out, source_out, flags_out, spans
    )


_PLAIN_ROLES = frozenset({"user", "assistant", "reasoning"})


def _plain_records(
    turns: Turns, asks: dict[int, Ask], rules: Rules, record_of: np.ndarray
) -> np.ndarray:
    """Per record: only user and assistant turns, and nothing asked of the answers' language."""
    n_records = len(turns.offsets) - 1
    if rules.expect is not None:
        return np.zeros(n_records, dtype=bool)
    other = np.array([role not in _PLAIN_ROLES for role in turns.roles], dtype=bool)
    other[list(asks)] = True
    return np.bincount(record_of[other], minlength=n_records) == 0


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


def _needs(turns: Turns, rules: Rules) -> np.ndarray:
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
    return needs


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
