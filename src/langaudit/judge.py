"""Judging a record from its measured turns: expected response language and flags.

Flags use a fixed vocabulary (:data:`FLAGS`). This module currently judges the response against
the language of the user's own words (expectation source ``prompt``) and finds empty responses.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from .langid import UNDETERMINED, Language

FLAGS = ("lang_mismatch", "code_switch", "zh_variant_mix", "punct_mismatch", "empty_response")
EXPECTATION_SOURCES = ("instruction", "translation", "config", "prompt")

#: Responses shorter than this are never a mismatch: too short to carry a language choice.
MIN_CJK_FOR_MISMATCH = 4
MIN_ALPHA_FOR_MISMATCH = 12
#: The model's score below which a language is too uncertain to call a mismatch.
MIN_SCORE_FOR_MISMATCH = 0.4


class TurnFacts(NamedTuple):
    """What judging needs of one measured turn."""

    role: str
    text: str
    language: Language | None  # None for tool calls and results, which are not measured
    cjk: int = 0
    alpha: int = 0


@dataclass
class TurnVerdict:
    expected_lang: str | None = None
    expected_source: str | None = None
    flags: list[str] = field(default_factory=list)


@dataclass
class RecordVerdict:
    expected_lang: str | None
    expected_source: str | None
    flags: list[str]
    turns: list[TurnVerdict]
    code_switch_spans: list[dict[str, object]] = field(default_factory=list)


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


def _substantial(turn: TurnFacts) -> bool:
    return turn.cjk >= MIN_CJK_FOR_MISMATCH or turn.alpha >= MIN_ALPHA_FOR_MISMATCH


def _known(language: Language | None) -> bool:
    return language is not None and language.lang != UNDETERMINED


def judge(turns: Sequence[TurnFacts]) -> RecordVerdict:
    """Expected language and flags of every assistant turn, and of the record."""
    verdicts = [TurnVerdict() for _ in turns]
    expected: Language | None = None
    record_expected: tuple[str | None, str | None] = (None, None)
    flags: set[str] = set()
    saw_response = False
    for turn, verdict in zip(turns, verdicts, strict=True):
        if turn.role == "user":
            # a short follow-up ("继续", "go on") keeps the conversation's expectation
            if _telling(turn):
                expected = turn.language
            continue
        if turn.role != "assistant":
            continue
        saw_response = True
        if expected is not None:
            verdict.expected_lang, verdict.expected_source = expected.lang, "prompt"
            record_expected = (expected.lang, "prompt")
        if is_blank(turn.text):
            verdict.flags.append("empty_response")
        elif _mismatch(turn, expected):
            verdict.flags.append("lang_mismatch")
        flags.update(verdict.flags)
    if not saw_response:
        flags.add("empty_response")
    ordered = [f for f in FLAGS if f in flags]
    return RecordVerdict(record_expected[0], record_expected[1], ordered, verdicts)


def _telling(turn: TurnFacts) -> bool:
    """Whether a turn's language is sure and long enough to set or break an expectation."""
    lang = turn.language
    if lang is None or not _known(lang) or not _substantial(turn):
        return False
    return not (lang.by_model and lang.score < MIN_SCORE_FOR_MISMATCH)


def _mismatch(turn: TurnFacts, expected: Language | None) -> bool:
    if expected is None or not _telling(turn):
        return False
    assert turn.language is not None
    return turn.language.lang != expected.lang
