"""Punctuation of the wrong width: ASCII ``, . ? ! : ;`` in Chinese sentences, full-width
``，。？！：；`` in English ones. Code, URLs, e-mails, LaTeX, numbers (3.14, 1,000, 10:30), file
names and abbreviations (file.py, e.g.) and list markers (1.) are not sentences."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator, Sequence

from .scripts import Span

#: How far back a clause is read to tell a Chinese clause from an English phrase.
CLAUSE_WINDOW = 200
_ASCII_MARK = re.compile(r"[,.?!:;]")
_WIDE_MARK = re.compile(r"[，。？！：；]")
_HAN_OR_WIDE = re.compile(
    r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff01-\uff0f\uff1a-\uff20”’」』》）]"
)
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_CLAUSE_START = re.compile(r"[，。？！：；、,.?!:;\n]")


def _masked(pos: int, masked: Sequence[Span]) -> bool:
    """Whether ``pos`` lies in a masked region (sorted and disjoint, as mask_spans returns)."""
    at = bisect.bisect_right(masked, (pos, float("inf"), "")) - 1
    return at >= 0 and masked[at][0] <= pos < masked[at][1]


def _prev(text: str, pos: int) -> str:
    return text[pos - 1] if pos > 0 else ""


def _next(text: str, pos: int) -> str:
    return text[pos + 1] if pos + 1 < len(text) else ""


def _neighbours(text: str, pos: int, masked: Sequence[Span]) -> tuple[str, str]:
    """The characters before and after ``pos``, skipping spaces ("" at either end; U+FFFD for
    a character of a masked region: part of a URL or code, not of the sentence)."""
    i = pos - 1
    while i >= 0 and text[i] == " ":
        i -= 1
    j = pos + 1
    while j < len(text) and text[j] == " ":
        j += 1
    before = "" if i < 0 else ("\ufffd" if _masked(i, masked) else text[i])
    after = "" if j >= len(text) else ("\ufffd" if _masked(j, masked) else text[j])
    return before, after


def _not_a_sentence_mark(text: str, pos: int) -> bool:
    """Numbers, times, file names, abbreviations, URL schemes, list markers, ellipses."""
    mark, before, after = text[pos], _prev(text, pos), _next(text, pos)
    if before.isdigit() and after.isdigit():
        return True  # 3.14, 1,000, 10:30
    if mark == "." and ((after.isascii() and after.isalnum()) or after == "." or before == "."):
        return True  # file.py, e.g., ..., v1.2
    if mark == ":" and text[pos + 1 : pos + 3] == "//":
        return True
    if mark == "." and before.isdigit():
        line_start = text.rfind("\n", max(0, pos - 12), pos) + 1
        if (line_start > 0 or pos <= 12) and text[line_start:pos].strip().isdigit():
            return True  # "1." list marker
    # a single-letter abbreviation: "e.g.", "U.S."
    return (
        mark == "."
        and before.isascii()
        and before.isalpha()
        and _prev(text, pos - 1) in (" ", "", ".", "\n")
    )


# Necessary for any finding below: an ASCII mark touching Chinese, or ending a line or clause.
# (The Chinese after a mark is looked ahead at, not taken: it may precede the next mark.)
_ASCII_CANDIDATE = re.compile(
    r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff01-\uff0f\uff1a-\uff20”’」』》）] *[,.?!:;]"
    r"|(?:(?<![0-9])\.|[,?!:;])(?= *[\u3400-\u9fff\uf900-\ufaff])|"
    # a letter or digit (of any Latin block, as scripts.measure classes them), then the mark
    r"[A-Za-z\d\u00c0-\u02af\u0300-\u036f\u1e00-\u1eff\u2c60-\u2c7f\ua720-\ua7ff"
    r"\uab30-\uab6f\uff21-\uff3a\uff41-\uff5a][,.?!:;] *$",
    re.M,
)


def ascii_in_chinese(
    text: str, masked: Sequence[Span], first: bool = False, marks: Iterable[int] | None = None
) -> list[int]:
    """Positions of ASCII sentence punctuation that punctuates Chinese text (only the first
    one with ``first``).

    Only marks in a candidate configuration can be findings, and only those are visited:
    ``marks`` are their positions when known (``Measured.maybe_at`` finds them for a whole
    batch at once), else they are searched for here.
    """
    found: list[int] = []
    for pos in _candidate_marks(text) if marks is None else marks:
        if found and pos <= found[-1]:
            continue
        if _masked(pos, masked) or _not_a_sentence_mark(text, pos):
            continue
        before, after = _neighbours(text, pos, masked)
        if _HAN_OR_WIDE.match(before):
            found.append(pos)
        elif before.isalnum() and (after in ("", "\n") or _HAN.match(after)):
            # "我喜欢Python." is a Chinese clause; "这是 Hello, world! 程序" an English phrase
            window = max(0, pos - CLAUSE_WINDOW)
            clause_start = max(
                (c.end() for c in _CLAUSE_START.finditer(text, window, pos)), default=window
            )
            clause = text[clause_start:pos]
            han = len(_HAN.findall(clause))
            if han and han >= 2 * len(_LATIN_WORD.findall(clause)):
                found.append(pos)
        if first and found:
            break
    return found


def _candidate_marks(text: str) -> Iterator[int]:
    for candidate in _ASCII_CANDIDATE.finditer(text):
        m = _ASCII_MARK.search(text, candidate.start(), candidate.end())
        if m is not None:
            yield m.start()


def wide_in_english(text: str, masked: Sequence[Span], first: bool = False) -> list[int]:
    """Positions of full-width punctuation that punctuates English text (only the first one
    with ``first``)."""
    found = []
    for m in _WIDE_MARK.finditer(text):
        pos = m.start()
        if _masked(pos, masked):
            continue
        before, after = _neighbours(text, pos, masked)
        if _HAN.match(before) or _HAN.match(after):
            continue  # punctuates Chinese words inside the English text
        if (before.isascii() and before.isalnum()) or (after.isascii() and after.isalpha()):
            found.append(pos)
            if first:
                break
    return found
