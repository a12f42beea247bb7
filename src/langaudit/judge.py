"""Judging a batch of records from their measured turns: expected response language and flags.

Works on the flat turn arrays of a whole batch: expectations are carried forward from the user
turns that set them to the assistant turns after them (within a record) with numpy, so the cost per
turn stays a few array operations. Flags use a fixed vocabulary (:data:`FLAGS`). This module
currently judges responses against the language of the user's own words (expectation source
``prompt``) and finds empty responses.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .langid import UNDETERMINED

FLAGS = ("lang_mismatch", "code_switch", "zh_variant_mix", "punct_mismatch", "empty_response")
EXPECTATION_SOURCES = ("instruction", "translation", "config", "prompt")

#: Responses shorter than this are never a mismatch: too short to carry a language choice.
MIN_CJK_FOR_MISMATCH = 4
MIN_ALPHA_FOR_MISMATCH = 12
#: The model's score below which a language is too uncertain to set or break an expectation.
MIN_SCORE_FOR_MISMATCH = 0.4

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

    ``lang`` is None for turns that are not measured (tool calls and results); ``score``,
    ``by_model``, ``cjk`` and ``alpha`` are 0/False there.
    """

    roles: Sequence[str]
    texts: Sequence[str]
    lang: Sequence[str | None]
    score: np.ndarray
    by_model: np.ndarray
    cjk: np.ndarray
    alpha: np.ndarray
    offsets: np.ndarray  # len(records) + 1


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


def judge(turns: Turns) -> Verdicts:
    """Expected language and flags of every assistant turn and of every record."""
    n_turns, n_records = len(turns.roles), len(turns.offsets) - 1
    roles = np.array(turns.roles, dtype=object)
    user = roles == "user"
    assistant = roles == "assistant"
    record_of = np.repeat(np.arange(n_records), np.diff(turns.offsets))
    telling = _telling(turns)
    codes, lang_id = _codes(turns.lang)

    # carry each telling user turn's language forward to the assistant turns after it; a short
    # follow-up ("继续", "go on") is not telling and keeps the conversation's expectation
    position = np.arange(n_turns)
    setter = np.maximum.accumulate(np.where(user & telling, position, -1)) if n_turns else position
    has_expected = assistant & (setter >= turns.offsets[record_of])
    expected_id = np.where(has_expected, lang_id[np.maximum(setter, 0)], -1)

    blank = np.zeros(n_turns, dtype=bool)
    for i in np.flatnonzero(assistant).tolist():
        blank[i] = is_blank(turns.texts[i])
    empty = assistant & blank
    mismatch = has_expected & ~blank & telling & (lang_id != expected_id)

    turn_flags = _flag_lists(mismatch, empty)
    no_response = np.bincount(record_of, weights=assistant, minlength=n_records) == 0
    record_mismatch = np.bincount(record_of, weights=mismatch, minlength=n_records) > 0
    record_empty = (np.bincount(record_of, weights=empty, minlength=n_records) > 0) | no_response
    last = np.full(n_records, -1)
    np.maximum.at(last, record_of, np.where(has_expected, position, -1))
    expected = [codes[expected_id[i]] if i >= 0 else None for i in last.tolist()]
    return Verdicts(
        turn_expected=[codes[e] if e >= 0 else None for e in expected_id.tolist()],
        turn_source=["prompt" if h else None for h in has_expected.tolist()],
        turn_flags=turn_flags,
        expected=expected,
        source=["prompt" if e is not None else None for e in expected],
        flags=_flag_lists(record_mismatch, record_empty),
        spans=[[] for _ in range(n_records)],
    )


def _telling(turns: Turns) -> np.ndarray:
    """Turns whose language is sure and long enough to set or break an expectation."""
    known = np.array([lang is not None and lang != UNDETERMINED for lang in turns.lang], bool)
    substantial = (turns.cjk >= MIN_CJK_FOR_MISMATCH) | (turns.alpha >= MIN_ALPHA_FOR_MISMATCH)
    sure = ~turns.by_model | (turns.score >= MIN_SCORE_FOR_MISMATCH)
    return known & substantial & sure


def _codes(langs: Sequence[str | None]) -> tuple[list[str], np.ndarray]:
    """Distinct language codes and each turn's index into them (-1 for None)."""
    codes: dict[str, int] = {}
    ids = [codes.setdefault(lang, len(codes)) if lang is not None else -1 for lang in langs]
    return list(codes), np.array(ids, dtype=np.int64)


def _flag_lists(mismatch: np.ndarray, empty: np.ndarray) -> list[list[str]]:
    """Per-row flag lists, in :data:`FLAGS` order, from boolean flag arrays."""
    table: tuple[list[str], ...] = (
        [],
        ["lang_mismatch"],
        ["empty_response"],
        ["lang_mismatch", "empty_response"],
    )
    combo = mismatch.astype(np.int8) + 2 * empty.astype(np.int8)
    return [list(table[c]) for c in combo.tolist()]
