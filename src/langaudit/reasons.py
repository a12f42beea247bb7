"""Why a record carries a flag, in words and as the ranges of its text to highlight.

Shared by the audit report (its worst examples) and ``langaudit check`` (its ``PATH:ROW:
FLAG: reason`` lines), from one annotated row of a scan and the record's turns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: The scan columns :func:`explain` reads (``batch.column(name)[row].as_py()`` for each).
RECORD_COLUMNS = (
    "source",
    "index",
    "response_lang",
    "response_lang_score",
    "expected_lang",
    "expected_source",
    "code_switch_spans",
    "response_counts",
    "turns",
)

_SOURCE_WORDS = {
    "instruction": "the prompt asks for it",
    "translation": "a translation into it",
    "config": "--expect",
    "prompt": "the prompt's language",
}


@dataclass(frozen=True)
class Explanation:
    """A flag of one record: the turn it is on, that turn's text and the user turn before it,
    the ranges of the text to highlight, and the reason in words."""

    turn: int | None
    text: str
    prompt: str
    marks: list[tuple[int, int]]
    reason: str
    lang: str | None
    expected_lang: str | None
    expected_source: str | None


def explain(flag: str, record: dict[str, Any], turns: Sequence[Any]) -> Explanation:
    """Why ``record`` (the :data:`RECORD_COLUMNS` of its scan row) has ``flag``; ``turns`` are
    the record's turns as read (they hold the texts)."""
    turn_rows = record["turns"] or []
    flagged = next((t for t in turn_rows if flag in (t["flags"] or [])), None)
    turn = flagged["turn"] if flagged else None
    if flag == "code_switch" and record["code_switch_spans"]:
        turn = record["code_switch_spans"][0]["turn"]
        flagged = turn_rows[turn]
    text = turns[turn].text if turn is not None else ""
    before = turns[:turn] if turn is not None else turns
    prompt = next((t.text for t in reversed(before) if t.role == "user"), "")
    marks, reason = _highlights(flag, record, flagged, turn, text)
    return Explanation(
        turn=turn,
        text=text,
        prompt=prompt,
        marks=marks,
        reason=reason,
        lang=(flagged or {}).get("lang", record["response_lang"]),
        expected_lang=(flagged or {}).get("expected_lang", record["expected_lang"]),
        expected_source=(flagged or {}).get("expected_source", record["expected_source"]),
    )


def _highlights(
    flag: str, record: dict[str, Any], flagged: dict[str, Any] | None, turn: int | None, text: str
) -> tuple[list[tuple[int, int]], str]:
    """The ranges of ``text`` to highlight and the reason shown with the example."""
    lang = (flagged or {}).get("lang") or record["response_lang"]
    if flag == "lang_mismatch":
        expected = (flagged or {}).get("expected_lang") or record["expected_lang"]
        source = (flagged or {}).get("expected_source") or record["expected_source"]
        score = (flagged or {}).get("lang_score") or record["response_lang_score"] or 0.0
        return [], (
            f"answer in {lang} ({score:.2f}), expected {expected} "
            f"({_SOURCE_WORDS.get(source or '', source or 'unknown')})"
        )
    if flag == "code_switch":
        spans = [s for s in record["code_switch_spans"] if s["turn"] == turn]
        words = ", ".join(repr(s["text"]) for s in spans[:5])
        more = f" and {len(spans) - 5} more" if len(spans) > 5 else ""
        direction = (
            "Chinese inside English"
            if spans and spans[0]["lang"] == "zh"
            else ("English inside Chinese")
        )
        count = f"{len(spans)} span" + ("s" if len(spans) != 1 else "")
        return [(s["start"], s["end"]) for s in spans], f"{direction}, {count}: {words}{more}"
    if flag == "zh_variant_mix":
        from .scripts import variant_sets

        simplified, traditional = variant_sets()
        simp = [i for i, c in enumerate(text) if c in simplified]
        trad = [i for i, c in enumerate(text) if c in traditional]
        minority = simp if len(simp) <= len(trad) else trad
        return [(i, i + 1) for i in minority], (
            f"{len(simp)} Simplified-only and {len(trad)} Traditional-only characters "
            f"(the {'Simplified' if minority is simp else 'Traditional'} ones highlighted)"
        )
    if flag == "punct_mismatch":
        from .punctuation import ascii_in_chinese, wide_in_english
        from .scripts import mask_spans

        masked = mask_spans(text)
        if lang == "en":
            marks = wide_in_english(text, masked)
            what = "full-width punctuation in English sentences"
        else:
            marks = ascii_in_chinese(text, masked)
            what = "ASCII punctuation in Chinese sentences"
        return [(i, i + 1) for i in marks], f"{len(marks)} × {what}"
    if turn is None:
        return [], "no assistant turn: nothing answers the prompt"
    return [], "the response is empty (or only spaces and invisible characters)"
